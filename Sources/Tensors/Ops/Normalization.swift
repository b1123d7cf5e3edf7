/// RMSNorm without a learned gain, along the last axis (the reference has no norm weights).

/// Scales each row of `x` to unit root-mean-square; there is no learned gain.
///
/// `x` is `[..., hiddenSize]`; the result has the same shape.
///
///     forward:  y = x · r,  r = 1 / sqrt(mean(x²) + epsilon)
///     backward: dx = r · (dy − y · mean(dy ⊙ y))
///
/// - Parameters:
///   - x: Activations to normalise along the last axis.
///   - epsilon: Added to the mean square before the square root (reference: 1e-5).
public func rmsNorm(_ x: Tensor, epsilon: Float = 1e-5) -> Tensor {
    let n = x.shape.last ?? 1
    let rows = x.count / Swift.max(n, 1)
    let y = Tensor(uninitializedShape: x.shape)
    let scales = Tensor(uninitializedShape: [rows])  // r per row, kept for backward
    let px = x.pointer, py = y.pointer, pr = scales.pointer
    Parallel.forEach(rows, cost: n * 2) { range in
        for row in range {
            let xr = px + row * n, yr = py + row * n
            let r = 1 / (sumOfSquares(xr, n) / Float(n) + epsilon).squareRoot()
            pr[row] = r
            for i in 0..<n { yr[i] = xr[i] * r }
        }
    }
    // Backward reads y and r only, so x itself can be freed (it usually is a residual sum
    // nothing else keeps).
    let shape = x.shape
    return y.recorded(from: [x], saving: [y.detached()]) { [scales] g, saved in
        let py = saved[0].pointer
        withExtendedLifetime(scales) {}
        let dx = Tensor(uninitializedShape: shape)
        let pg = g.pointer, pd = dx.pointer
        Parallel.forEach(rows, cost: n * 3) { range in
            for row in range {
                let yr = py + row * n, gr = pg + row * n, dr = pd + row * n
                let meanDot = dotProduct(gr, yr, n) / Float(n)
                let r = pr[row]
                for i in 0..<n { dr[i] = r * (gr[i] - yr[i] * meanDot) }
            }
        }
        return [dx]
    }
}

/// Σ x² over `n` floats, 16 partial sums.
@inline(__always)
func sumOfSquares(_ p: UnsafePointer<Float>, _ n: Int) -> Float { dotProduct(p, p, n) }

/// Σ a ⊙ b over `n` floats, 16 partial sums (vectorises without fast-math).
@inline(__always)
func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD16<Float>()
    var i = 0
    while i + 16 <= n {
        for l in 0..<16 { acc[l] += a[i + l] * b[i + l] }
        i += 16
    }
    var s = acc.sum()
    while i < n { s += a[i] * b[i]; i += 1 }
    return s
}
