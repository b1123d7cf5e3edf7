import Foundation

/// Softmax and log-softmax along the last axis, fused (one pass per row; polynomial exp).

/// Writes softmax of each `n`-wide row of `x` into `y` (may alias).
@inline(__always)
func softmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    var m = -Float.infinity
    for i in 0..<n { m = x[i] > m ? x[i] : m }
    var sum: Float = 0
    var acc = SIMD16<Float>()
    var i = 0
    while i + 16 <= n {
        for l in 0..<16 {
            let e = fastExp(x[i + l] - m)
            y[i + l] = e
            acc[l] += e
        }
        i += 16
    }
    sum = acc.sum()
    while i < n { let e = fastExp(x[i] - m); y[i] = e; sum += e; i += 1 }
    let inv = 1 / sum
    for j in 0..<n { y[j] *= inv }
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
    return y.recorded(from: [x]) { g in
        let dx = Tensor(uninitializedShape: x.shape)
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
            var m = -Float.infinity
            for i in 0..<n { m = xr[i] > m ? xr[i] : m }
            var s: Float = 0
            for i in 0..<n { s += fastExp(xr[i] - m) }
            let shift = m + Float(Foundation.log(Double(s)))
            for i in 0..<n { yr[i] = xr[i] - shift }
        }
    }
    return y.recorded(from: [x]) { g in
        let dx = Tensor(uninitializedShape: x.shape)
        let pg = g.pointer, pd = dx.pointer
        Parallel.forEach(rows, cost: n * 4) { range in
            for r in range {
                let yr = py + r * n, gr = pg + r * n, dr = pd + r * n
                var s: Float = 0
                for i in 0..<n { s += gr[i] }
                for i in 0..<n { dr[i] = gr[i] - fastExp(yr[i]) * s }
            }
        }
        return [dx]
    }
}
