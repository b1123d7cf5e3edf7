/// Matrix products through `cblas_sgemm` (see `GEMM`), 2-D and batched, with transpose flags.
///
/// Shapes: `op(a)` is `[..., m, k]`, `op(b)` is `[..., k, n]`, the result `[..., m, n]`, where
/// `op` transposes the last two axes when its flag is set. Two cases:
/// - `b` is 2-D: `a`'s leading axes are folded into `m` (a `Linear` layer: `x · Wᵀ` with
///   `transposeB: true`); `a` must then not be transposed if it has more than 2 axes;
/// - otherwise `a` and `b` have the same rank and the same leading (batch) axes.
///
/// Backward (C = op(A)·op(B), G = dC):
///   dA = G·op(B)ᵀ  (or op(B)·Gᵀ when A is transposed),
///   dB = op(A)ᵀ·G  (or Gᵀ·op(A) when B is transposed).
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false)
    -> Tensor
{
    precondition(a.rank >= 2 && b.rank >= 2, "matmul needs rank ≥ 2; got \(a.shape) and \(b.shape)")
    let out: Tensor
    if b.rank == 2 && !(transposeA && a.rank > 2) {
        let k = transposeA ? a.shape[0] : a.shape[a.rank - 1]
        let m = a.count / Swift.max(k, 1)
        let (bk, n) = transposeB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        precondition(k == bk, "matmul: \(a.shape)\(transposeA ? "ᵀ" : "") and \(b.shape)\(transposeB ? "ᵀ" : "") do not align")
        let outShape = transposeA ? [a.shape[1], n] : Array(a.shape.dropLast()) + [n]
        out = Tensor(uninitializedShape: outShape)
        // Under bf16, operands whose bf16 bits exist already (a parameter's copy for this step,
        // an activation kept packed for backward) are not converted again.
        var aBits: PackedBF16? = nil, bBits: PackedBF16? = nil
        if case .bf16 = GEMM.precision {
            aBits = BF16ParameterCache.bits(for: a, partner: b.count)
            bBits = BF16ParameterCache.bits(for: b, partner: a.count)
        }
        GEMM.multiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                      a: a.pointer, lda: a.shape[a.rank - 1], b: b.pointer, ldb: b.shape[1],
                      c: out.pointer, ldc: n, aBF16: aBits?.bits, bBF16: bBits?.bits)
        withExtendedLifetime((aBits, bBits)) {}
    } else {
        precondition(a.rank == b.rank && a.shape.dropLast(2) == b.shape.dropLast(2),
                     "batched matmul needs equal batch axes; got \(a.shape) and \(b.shape)")
        let r = a.rank
        let (m, k) = transposeA ? (a.shape[r - 1], a.shape[r - 2]) : (a.shape[r - 2], a.shape[r - 1])
        let (bk, n) = transposeB ? (b.shape[r - 1], b.shape[r - 2]) : (b.shape[r - 2], b.shape[r - 1])
        precondition(k == bk, "matmul: \(a.shape)\(transposeA ? "ᵀ" : "") and \(b.shape)\(transposeB ? "ᵀ" : "") do not align")
        let batch = Shape.count(Array(a.shape.dropLast(2)))
        out = Tensor(uninitializedShape: Array(a.shape.dropLast(2)) + [m, n])
        GEMM.batched(count: batch, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                     a: a.pointer, lda: a.shape[r - 1], strideA: m * k,
                     b: b.pointer, ldb: b.shape[r - 1], strideB: k * n,
                     c: out.pointer, ldc: n, strideC: m * n)
    }
    // dA reads B and dB reads A: save only what a wanted gradient reads.
    let (aShape, bShape) = (a.shape, b.shape)
    let (wantA, wantB) = (a.requiresGradient, b.requiresGradient)
    return out.recorded(from: [a, b], saving: (wantB ? [a] : []) + (wantA ? [b] : [])) { g, saved in
        var da: Tensor? = nil, db: Tensor? = nil
        if wantA {
            let b = saved[saved.count - 1]
            da = transposeA
                ? matmul(b, g, transposeA: transposeB, transposeB: true)
                : matmul(g, b, transposeB: !transposeB)
            if da!.shape != aShape { da = da!.reshaped(aShape) }
        }
        if wantB {
            let a = saved[0]
            if bShape.count == 2 && aShape.count > 2 && !transposeA {
                // Fold the batch axes into the product's inner dimension.
                let a2 = a.reshaped([-1, aShape[aShape.count - 1]])
                let g2 = g.reshaped([-1, g.shape[g.rank - 1]])
                db = transposeB ? matmul(g2, a2, transposeA: true) : matmul(a2, g2, transposeA: true)
            } else {
                db = transposeB
                    ? matmul(g, a, transposeA: true, transposeB: transposeA)
                    : matmul(a, g, transposeA: !transposeA)
            }
        }
        return [da, db]
    }
}
