import Foundation

/// Softmax and log-softmax along the last axis, fused (one pass per row; polynomial exp).

/// Writes the softmax of the `n` floats at `x` into `y` (which may be `x` itself).
///
/// Separate simple passes (max, exp, sum, scale): each is a loop the compiler vectorises.
@inline(__always)
func softmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    let m = rowMax(x, n)
    for i in 0..<n { y[i] = fastExp(x[i] - m) }
    let inv = 1 / rowSum(y, n)
    for i in 0..<n { y[i] *= inv }
}

/// The softmax of `x` along its last axis.
///
/// Backward: dx = y ⊙ (dy − Σ(dy ⊙ y)) per row.
public func softmax(_ x: Tensor) -> Tensor {
    let n = x.shape.last ?? 1
    let rows = x.count / Swift.max(n, 1)
    let y = Tensor(uninitializedShape: x.shape)
    let px = x.pointer, py = y.pointer
    Parallel.forEach(rows, cost: n * 4) { range in
        for r in range { softmaxRow(px + r * n, py + r * n, n) }
    }
    // Backward reads the output only: keep it (not x) alive.
    let (saved, shape) = (y.detached(), x.shape)
    return y.recorded(from: [x]) { g in
        withExtendedLifetime(saved) {}
        let dx = Tensor(uninitializedShape: shape)
        let pg = g.pointer, pd = dx.pointer
        Parallel.forEach(rows, cost: n * 2) { range in
            for r in range {
                let yr = py + r * n, gr = pg + r * n, dr = pd + r * n
                var dot: Float = 0
                for i in 0..<n { dot += yr[i] * gr[i] }
                for i in 0..<n { dr[i] = yr[i] * (gr[i] - dot) }
            }
        }
        return [dx]
    }
}

/// The log-softmax of `x` along its last axis: x − max − log Σ exp(x − max).
///
/// Backward: dx = dy − softmax(x) · Σ dy per row.
public func logSoftmax(_ x: Tensor) -> Tensor {
    let n = x.shape.last ?? 1
    let rows = x.count / Swift.max(n, 1)
    let y = Tensor(uninitializedShape: x.shape)
    let px = x.pointer, py = y.pointer
    Parallel.forEach(rows, cost: n * 4) { range in
        for r in range {
            let xr = px + r * n, yr = py + r * n
            let m = rowMax(xr, n)
            for i in 0..<n { yr[i] = fastExp(xr[i] - m) }  // scratch: a reduction over exp
            let shift = m + Float(Foundation.log(Double(rowSum(yr, n))))  // would not vectorise
            for i in 0..<n { yr[i] = xr[i] - shift }
        }
    }
    let (saved, shape) = (y.detached(), x.shape)
    return y.recorded(from: [x]) { g in
        withExtendedLifetime(saved) {}
        let dx = Tensor(uninitializedShape: shape)
        let pg = g.pointer, pd = dx.pointer
        Parallel.forEach(rows, cost: n * 4) { range in
            for r in range {
                let yr = py + r * n, gr = pg + r * n, dr = pd + r * n
                let s = rowSum(gr, n)
                for i in 0..<n { dr[i] = gr[i] - fastExp(yr[i]) * s }
            }
        }
        return [dx]
    }
}
