#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif
import Dispatch
import Foundation

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
///
/// Precision: fp32 by default; in `.bf16` (mixed precision) both inputs are rounded to bfloat16
/// and multiplied with fp32 accumulation into an fp32 result, through oneDNN where it can run,
/// or emulated with fp32 BLAS (same products, for tests and CPUs without bf16 kernels).
public enum GEMM {
    /// The precision of `multiply` and `batched` (the products of `matmul`, so of every
    /// linear layer) in the current task: fp32 by default. Attention's score and value products
    /// (`GEMM.raw`) stay fp32. Set it for a scope with `GEMM.$precision.withValue(...)`, after
    /// checking `unavailability(of:)`.
    @TaskLocal public static var precision: MatmulPrecision = .fp32

    /// nil when `precision` can run here, else why not (one sentence for the user).
    public static func unavailability(of precision: MatmulPrecision) -> String? {
        switch precision {
        case .fp32, .bf16(.emulated): return nil
        case .bf16(.oneDNN): return OneDNN.bf16Unavailability
        }
    }

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

    /// `C = alpha · op(A) · op(B) + beta · C`, split across threads when large, at the
    /// current `precision`.
    ///
    /// `aBF16`, `bBF16`: where the caller already has A's or B's values as bf16 bit patterns,
    /// laid out as A or B are stored (row stride `lda` = the stored row length), the bf16 path
    /// reads them instead of converting A or B (a parameter's copy for one training step, or
    /// an activation kept packed for backward). Only a bf16 precision reads them; they must be
    /// exactly `A`'s and `B`'s values rounded to bf16.
    public static func multiply(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
        aBF16: UnsafePointer<UInt16>? = nil, bBF16: UnsafePointer<UInt16>? = nil
    ) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0..<m {
                for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] }
            }
            return
        }
        switch precision {
        case .fp32:
            split(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                  a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc) { m, n, a, b, c in
                raw(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                    a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            }
        case .bf16(let backend):
            multiplyBF16(backend: backend, transposeA: transposeA, transposeB: transposeB,
                         m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                         beta: beta, c: c, ldc: ldc, aBF16: aBF16, bBF16: bBF16)
        }
    }

    /// `C = op(A) · op(B)` in fp32 through oneDNN's own fp32 kernels (it picks its ISA itself,
    /// whatever `OPENBLAS_CORETYPE` says), split over the engine's threads as `multiply` splits
    /// BLAS calls. For `hrm bench kernels`' comparison with OpenBLAS; the engine's fp32
    /// products go to BLAS. Throws where the build has no oneDNN.
    public static func multiplyThroughOneDNN(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) throws {
        var failure: Error?
        let lock = NSLock()
        split(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
              a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc) { m, n, a, b, c in
            do {
                try OneDNN.multiply(type: .f32, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                    a: UnsafeRawPointer(a), lda: lda, b: UnsafeRawPointer(b), ldb: ldb, c: c, ldc: ldc)
            } catch {
                lock.lock(); failure = error; lock.unlock()
            }
        }
        if let failure { throw failure }
    }

    /// Splits a product over the engine's threads by rows of C (or by columns when C is wide
    /// and short) and calls `part(m, n, a, b, c)` for each block, pointers offset to it.
    @inline(__always)
    static func split<T>(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        part: (Int, Int, UnsafePointer<T>, UnsafePointer<T>, UnsafeMutablePointer<Float>) -> Void
    ) {
        let threads = Parallel.threadCount
        if threads <= 1 || m * n * k < parallelThreshold {
            part(m, n, a, b, c)
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
                part(hi - lo, n, transposeA ? a + lo : a + lo * lda, b, c + lo * ldc)
            } else {
                part(m, hi - lo, a, transposeB ? b + lo * ldb : b + lo, c + lo)
            }
        }
    }

    /// The bf16 product: A and B rounded to bf16 (copied, as stored), multiplied with fp32
    /// accumulation into fp32 C. `.oneDNN` runs oneDNN's bf16 kernels; `.emulated` multiplies
    /// the rounded values with fp32 BLAS, which forms the same products (exact in fp32) and
    /// differs only in the order of the sums.
    static func multiplyBF16(
        backend: BF16Backend, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
        aBF16: UnsafePointer<UInt16>? = nil, bBF16: UnsafePointer<UInt16>? = nil
    ) {
        let (aRows, aColumns) = transposeA ? (k, m) : (m, k)
        let (bRows, bColumns) = transposeB ? (n, k) : (k, n)
        precondition(aBF16 == nil || lda == aColumns, "bf16 bits of A must be stored as A is, unstrided")
        precondition(bBF16 == nil || ldb == bColumns, "bf16 bits of B must be stored as B is, unstrided")
        switch backend {
        case .emulated:
            // Given bits are expanded (the same rounded values), so that the code that hands
            // them over runs, and is checked, on any CPU.
            let a16 = Tensor(uninitializedShape: [aRows * aColumns])
            let b16 = Tensor(uninitializedShape: [bRows * bColumns])
            if let aBF16 { BFloat16.expand(aBF16, count: aRows * aColumns, into: a16.pointer) }
            else { BFloat16.roundBlock(a, rows: aRows, columns: aColumns, ld: lda, into: a16.pointer) }
            if let bBF16 { BFloat16.expand(bBF16, count: bRows * bColumns, into: b16.pointer) }
            else { BFloat16.roundBlock(b, rows: bRows, columns: bColumns, ld: ldb, into: b16.pointer) }
            split(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                  a: UnsafePointer(a16.pointer), lda: aColumns, b: UnsafePointer(b16.pointer),
                  ldb: bColumns, c: c, ldc: ldc) { m, n, a, b, c in
                raw(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                    a: a, lda: aColumns, b: b, ldb: bColumns, beta: beta, c: c, ldc: ldc)
            }
        case .oneDNN:
            let (aScratch, a16) = bits(of: a, rows: aRows, columns: aColumns, ld: lda, given: aBF16)
            let (bScratch, b16) = bits(of: b, rows: bRows, columns: bColumns, ld: ldb, given: bBF16)
            defer { withExtendedLifetime((aScratch, bScratch)) {} }
            // oneDNN writes op(A)·op(B); alpha and beta are applied here when they are not 1, 0.
            let direct = alpha == 1 && beta == 0
            let product = direct ? nil : Tensor(uninitializedShape: [m * n])
            let out = product?.pointer ?? c
            let ldo = direct ? ldc : n
            split(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                  a: a16, lda: aColumns, b: b16, ldb: bColumns,
                  c: out, ldc: ldo) { m, n, a, b, c in
                do {
                    try OneDNN.multiply(type: .bf16, transposeA: transposeA, transposeB: transposeB,
                                        m: m, n: n, k: k, a: a, lda: aColumns, b: b, ldb: bColumns,
                                        c: c, ldc: ldo)
                } catch {
                    // Only reachable if the precision was set without checking availability.
                    preconditionFailure("bf16 product through oneDNN failed (\(error)); " +
                        (OneDNN.bf16Unavailability ?? "see GEMM.unavailability(of:)"))
                }
            }
            if let product {
                for i in 0..<m {
                    for j in 0..<n {
                        let p = alpha * product.pointer[i * n + j]
                        c[i * ldc + j] = beta == 0 ? p : p + beta * c[i * ldc + j]
                    }
                }
            }
        }
    }

    /// An operand's bf16 bits: `given` when the caller has them, else `src` converted into
    /// scratch (half of a pooled fp32 buffer), which the caller keeps alive while it reads them.
    private static func bits(of src: UnsafePointer<Float>, rows: Int, columns: Int, ld: Int,
                             given: UnsafePointer<UInt16>?) -> (scratch: Tensor?, bits: UnsafePointer<UInt16>) {
        if let given { return (nil, given) }
        let scratch = Tensor(uninitializedShape: [(rows * columns + 1) / 2])
        let bits = UnsafeMutableRawPointer(scratch.pointer).assumingMemoryBound(to: UInt16.self)
        BFloat16.convertBlock(src, rows: rows, columns: columns, ld: ld, into: bits)
        return (scratch, UnsafePointer(bits))
    }

    /// `count` independent products, the i-th reading A, B and writing C at the given element
    /// offsets `i·strideA` etc.; the batch is split across threads, one BLAS call per item.
    public static func batched(
        count: Int, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, strideA: Int,
        b: UnsafePointer<Float>, ldb: Int, strideB: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int
    ) {
        if case .bf16 = precision {
            // Each item through the bf16 path (it splits large items over the threads itself).
            for i in 0..<count {
                multiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                         alpha: alpha, a: a + i * strideA, lda: lda, b: b + i * strideB, ldb: ldb,
                         beta: beta, c: c + i * strideC, ldc: ldc)
            }
            return
        }
        Parallel.forEach(count, cost: m * n * k / 8 + 1) { range in
            for i in range {
                raw(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                    a: a + i * strideA, lda: lda, b: b + i * strideB, ldb: ldb, beta: beta,
                    c: c + i * strideC, ldc: ldc)
            }
        }
    }
}

/// The arithmetic of matrix products.
public enum MatmulPrecision: Equatable, Sendable, CaseIterable, CustomStringConvertible {
    /// fp32 inputs, fp32 accumulation (the reference's `forward_dtype=float32`).
    case fp32
    /// Mixed precision: inputs rounded to bf16, products accumulated and stored in fp32.
    case bf16(BF16Backend)

    public static let allCases: [MatmulPrecision] = [.fp32, .bf16(.oneDNN), .bf16(.emulated)]

    /// The command line's spelling: fp32, bf16, bf16-emulated.
    public var description: String {
        switch self {
        case .fp32: return "fp32"
        case .bf16(.oneDNN): return "bf16"
        case .bf16(.emulated): return "bf16-emulated"
        }
    }

    /// The precision spelled `name` (see `description`), or nil.
    public init?(named name: String) {
        guard let p = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = p
    }
}

/// Where bf16 products run.
public enum BF16Backend: Sendable {
    /// oneDNN's bf16 kernels (package trait `OneDNN`, a CPU with AVX512_BF16): the fast path.
    case oneDNN
    /// fp32 BLAS over bf16-rounded inputs: the same numbers at fp32 speed, on any CPU.
    case emulated
}
