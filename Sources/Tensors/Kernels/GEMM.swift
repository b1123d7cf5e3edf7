#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif
import Dispatch

/// The engine's single entry to matrix products: `C = alpha · op(A) · op(B) + beta · C`,
/// row-major, through `cblas_sgemm`.
///
/// Shapes: op(A) is `[m, k]`, op(B) is `[k, n]`, C is `[m, n]`; `lda`, `ldb`, `ldc` are the row
/// strides of A, B and C as stored (so A stored is `[m, k]`, or `[k, m]` when transposed).
///
/// Threading: BLAS itself runs on one thread and this function splits large products over the
/// engine's threads by rows of C (or by columns when C is wide and short), so BLAS's own worker
/// threads never compete with the engine's loops (notes §1.5, §3). Each part is a plain
/// `cblas_sgemm` call on a sub-block, so results do not depend on the split.
public enum GEMM {
    private static let configured: Void = {
        #if !canImport(Accelerate)
        openblas_set_num_threads(1)
        #endif
    }()

    /// Products below this many multiply-adds run as one call on the calling thread.
    public static let parallelThreshold = 1 << 21

    /// Sets BLAS's own thread count (used by the benchmark to measure raw BLAS) and returns the
    /// previous value. On Apple platforms this does nothing and returns 1.
    @discardableResult
    public static func setBLASThreads(_ n: Int) -> Int {
        _ = configured
        #if canImport(Accelerate)
        return 1
        #else
        let old = Int(openblas_get_num_threads())
        openblas_set_num_threads(Int32(n))
        return old
        #endif
    }

    /// One `cblas_sgemm` call on the calling thread, with no splitting.
    @inline(__always)
    public static func raw(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        _ = configured
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `C = alpha · op(A) · op(B) + beta · C`, split across threads when large.
    public static func multiply(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0..<m {
                for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] }
            }
            return
        }
        let threads = Parallel.threadCount
        if threads <= 1 || m * n * k < parallelThreshold {
            raw(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        let splitRows = m >= n
        let extent = splitRows ? m : n
        let parts = min(threads, extent)
        DispatchQueue.concurrentPerform(iterations: parts) { t in
            // Boundaries on multiples of 16 keep each part's micro-kernel panels whole.
            let lo = (extent * t / parts) & ~15
            let hi = t == parts - 1 ? extent : (extent * (t + 1) / parts) & ~15
            if lo >= hi { return }
            if splitRows {
                let aPart = transposeA ? a + lo : a + lo * lda
                raw(transposeA: transposeA, transposeB: transposeB, m: hi - lo, n: n, k: k,
                    alpha: alpha, a: aPart, lda: lda, b: b, ldb: ldb, beta: beta,
                    c: c + lo * ldc, ldc: ldc)
            } else {
                let bPart = transposeB ? b + lo * ldb : b + lo
                raw(transposeA: transposeA, transposeB: transposeB, m: m, n: hi - lo, k: k,
                    alpha: alpha, a: a, lda: lda, b: bPart, ldb: ldb, beta: beta,
                    c: c + lo, ldc: ldc)
            }
        }
    }

    /// `count` independent products, the i-th reading A, B and writing C at the given element
    /// offsets `i·strideA` etc.; the batch is split across threads, one BLAS call per item.
    public static func batched(
        count: Int, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, strideA: Int,
        b: UnsafePointer<Float>, ldb: Int, strideB: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int
    ) {
        Parallel.forEach(count, cost: m * n * k / 8 + 1) { range in
            for i in range {
                raw(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                    a: a + i * strideA, lda: lda, b: b + i * strideB, ldb: ldb, beta: beta,
                    c: c + i * strideC, ldc: ldc)
            }
        }
    }
}
