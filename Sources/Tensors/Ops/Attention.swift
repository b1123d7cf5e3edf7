/// Scaled dot-product attention, fused per (batch, head): scores, softmax and mixing in one
/// pass. The probabilities are not kept: backward recomputes each head's (one small GEMM and a
/// softmax, about 2 % of a block's backward), which saves `[batch, heads, N, N]` floats per
/// layer of training memory, as flash attention does.
///
/// Layout `[batch, positions, heads, headDimension]` for q, k, v and the output, i.e. exactly
/// what a fused `qkv` projection produces and what the output projection reads, so no
/// transposes are needed: each head's matrices are read with row stride `heads·d`.
/// Each (batch, head) pair's GEMMs run as single-threaded BLAS calls, the pairs split across
/// cores (notes §1.5: 2× faster than threaded BLAS on these small products).

/// Softmax(q·kᵀ / √d) · v per head; non-causal unless `causal` (then position i sees j ≤ i).
///
/// Backward, per head with P the probabilities and s = 1/√d:
///     dV = Pᵀ·dO,  dP = dO·Vᵀ,  dS = P ⊙ (dP − rowsum(dP ⊙ P)),  dQ = s·dS·K,  dK = s·dSᵀ·Q
public func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor,
                                      causal: Bool = false) -> Tensor {
    precondition(query.rank == 4 && query.shape == key.shape && key.shape == value.shape,
                 "attention expects equal [batch, positions, heads, dim] shapes; got \(query.shape), \(key.shape), \(value.shape)")
    let (b, n, h, d) = (query.shape[0], query.shape[1], query.shape[2], query.shape[3])
    let scale = 1 / Float(d).squareRoot()
    let out = Tensor(uninitializedShape: query.shape)
    let ld = h * d
    let q = query.pointer, k = key.pointer, v = value.pointer, o = out.pointer
    /// Writes head `item`'s probabilities softmax(q·kᵀ·s) into `pi` ([n, n]).
    @inline(__always) func probabilities(_ item: Int, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                                         into pi: UnsafeMutablePointer<Float>) {
        let base = (item / h) * n * ld + (item % h) * d
        GEMM.raw(transposeA: false, transposeB: true, m: n, n: n, k: d, alpha: scale,
                 a: q + base, lda: ld, b: k + base, ldb: ld, c: pi, ldc: n)
        for r in 0..<n {
            let row = pi + r * n
            if causal {
                softmaxRow(row, row, r + 1)
                for j in (r + 1)..<n { row[j] = 0 }
            } else {
                softmaxRow(row, row, n)
            }
        }
    }
    do {
        let scratch = Tensor(uninitializedShape: [b * h, n, n])
        let p = scratch.pointer
        Parallel.forEach(b * h, cost: n * n * d) { range in
            for item in range {
                let base = (item / h) * n * ld + (item % h) * d
                let pi = p + item * n * n
                probabilities(item, q: q, k: k, into: pi)
                GEMM.raw(transposeA: false, transposeB: false, m: n, n: d, k: n,
                         a: pi, lda: n, b: v + base, ldb: ld, c: o + base, ldc: ld)
            }
        }
    }
    return out.recorded(from: [query, key, value], saving: [query, key, value]) { g, saved in
        let (query, key, value) = (saved[0], saved[1], saved[2])
        let q = query.pointer, k = key.pointer, v = value.pointer
        let dq = Tensor(uninitializedShape: query.shape)
        let dk = Tensor(uninitializedShape: key.shape)
        let dv = Tensor(uninitializedShape: value.shape)
        let probabilityScratch = Tensor(uninitializedShape: [b * h, n, n])
        let scratch = Tensor(uninitializedShape: [b * h, n, n])
        let pg = g.pointer, pdq = dq.pointer, pdk = dk.pointer, pdv = dv.pointer
        let ps = scratch.pointer, p = probabilityScratch.pointer
        Parallel.forEach(b * h, cost: n * n * d * 4) { range in
            for item in range {
                let (bi, hi) = (item / h, item % h)
                let base = bi * n * ld + hi * d
                let pi = p + item * n * n, ds = ps + item * n * n
                probabilities(item, q: q, k: k, into: pi)
                // dV = Pᵀ · dO
                GEMM.raw(transposeA: true, transposeB: false, m: n, n: d, k: n,
                         a: pi, lda: n, b: pg + base, ldb: ld, c: pdv + base, ldc: ld)
                // dP = dO · Vᵀ
                GEMM.raw(transposeA: false, transposeB: true, m: n, n: n, k: d,
                         a: pg + base, lda: ld, b: v + base, ldb: ld, c: ds, ldc: n)
                // dS = P ⊙ (dP − rowsum(dP ⊙ P))
                for r in 0..<n {
                    let prow = pi + r * n, drow = ds + r * n
                    let dot = dotProduct(prow, drow, n)
                    for j in 0..<n { drow[j] = prow[j] * (drow[j] - dot) }
                }
                // dQ = s · dS · K,  dK = s · dSᵀ · Q
                GEMM.raw(transposeA: false, transposeB: false, m: n, n: d, k: n, alpha: scale,
                         a: ds, lda: n, b: k + base, ldb: ld, c: pdq + base, ldc: ld)
                GEMM.raw(transposeA: true, transposeB: false, m: n, n: d, k: n, alpha: scale,
                         a: ds, lda: n, b: q + base, ldb: ld, c: pdk + base, ldc: ld)
            }
        }
        return [dq, dk, dv]
    }
}
