/// Reductions along one axis (sum, mean, max, argmax), the sum of all elements, and
/// `summed(toShape:)`, the adjoint of broadcasting.
///
/// An axis reduction views the tensor as `[outer, n, inner]` and produces `[outer, inner]`.

/// Sums `[outer, n, inner]` over the middle axis into `[outer, inner]`.
func sumKernel(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
               outer: Int, n: Int, inner: Int) {
    if n == 0 {
        y.update(repeating: 0, count: outer * inner)
        return
    }
    if inner == 1 {
        Parallel.forEach(outer, cost: n) { range in
            for o in range { y[o] = rowSum(x + o * n, n) }
        }
        return
    }
    Parallel.forEach(outer * inner, cost: n) { range in
        // Split on whole [o, inner] blocks where possible; the loop over n stays in order.
        var idx = range.lowerBound
        while idx < range.upperBound {
            let o = idx / inner, i0 = idx % inner
            let i1 = min(inner, i0 + (range.upperBound - idx))
            let out = y + o * inner
            let base = x + o * n * inner
            for i in i0..<i1 { out[i] = base[i] }
            for r in 1..<n {
                let row = base + r * inner
                for i in i0..<i1 { out[i] += row[i] }
            }
            idx += i1 - i0
        }
    }
}

/// The sum of `n` contiguous floats with 16 partial sums (vectorises; order fixed by `n`).
@inline(__always)
func rowSum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD16<Float>()
    var i = 0
    while i + 16 <= n {
        for l in 0..<16 { acc[l] += p[i + l] }
        i += 16
    }
    var s = acc.sum()
    while i < n { s += p[i]; i += 1 }
    return s
}

extension Tensor {
    func axisSplit(_ axis: Int) -> (outer: Int, n: Int, inner: Int) {
        let a = Shape.axis(axis, rank: rank)
        return (Shape.count(Array(shape[..<a])), shape[a], Shape.count(Array(shape[(a + 1)...])))
    }

    func reducedShape(_ axis: Int, keepDims: Bool) -> [Int] {
        let a = Shape.axis(axis, rank: rank)
        var s = shape
        if keepDims { s[a] = 1 } else { s.remove(at: a) }
        return s
    }

    /// The sum along `axis` (negative counts from the end).
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor {
        let (outer, n, inner) = axisSplit(axis)
        let out = Tensor(uninitializedShape: reducedShape(axis, keepDims: keepDims))
        sumKernel(pointer, out.pointer, outer: outer, n: n, inner: inner)
        let kept = reducedShape(axis, keepDims: true), inputShape = shape
        return out.recorded(from: [self]) { g in [g.reshaped(kept).broadcast(to: inputShape)] }
    }

    /// The sum of all elements, as a scalar tensor.
    public func sum() -> Tensor {
        let out = Tensor(uninitializedShape: [])
        out.pointer[0] = rowSum(pointer, count)
        let inputShape = shape
        return out.recorded(from: [self]) { g in [g.broadcast(to: inputShape)] }
    }

    /// The mean along `axis`.
    public func mean(axis: Int, keepDims: Bool = false) -> Tensor {
        let n = shape[Shape.axis(axis, rank: rank)]
        return sum(axis: axis, keepDims: keepDims) * (1 / Float(Swift.max(n, 1)))
    }

    /// The mean of all elements, as a scalar tensor.
    public func mean() -> Tensor { sum() * (1 / Float(Swift.max(count, 1))) }

    /// The maximum along `axis`; the gradient goes to the first maximal element.
    public func max(axis: Int, keepDims: Bool = false) -> Tensor {
        let (outer, n, inner) = axisSplit(axis)
        precondition(n > 0, "max over an empty axis of shape \(shape)")
        let out = Tensor(uninitializedShape: reducedShape(axis, keepDims: keepDims))
        let index = [Int32](unsafeUninitializedCapacity: outer * inner) { buf, done in
            for o in 0..<outer {
                for i in 0..<inner {
                    var best = pointer[o * n * inner + i], at = 0
                    for r in 1..<n where pointer[(o * n + r) * inner + i] > best {
                        best = pointer[(o * n + r) * inner + i]
                        at = r
                    }
                    out.pointer[o * inner + i] = best
                    buf[o * inner + i] = Int32(at)
                }
            }
            done = outer * inner
        }
        let inputShape = shape
        return out.recorded(from: [self]) { g in
            let dx = Tensor.zeros(inputShape)
            for o in 0..<outer {
                for i in 0..<inner {
                    dx.pointer[(o * n + Int(index[o * inner + i])) * inner + i] = g.pointer[o * inner + i]
                }
            }
            return [dx]
        }
    }

    /// Indices of the first maximum along `axis`, as a Float tensor (not differentiable).
    public func argmax(axis: Int, keepDims: Bool = false) -> Tensor {
        let (outer, n, inner) = axisSplit(axis)
        precondition(n > 0, "argmax over an empty axis of shape \(shape)")
        let out = Tensor(uninitializedShape: reducedShape(axis, keepDims: keepDims))
        let p = pointer, po = out.pointer
        Parallel.forEach(outer, cost: n * inner) { range in
            for o in range {
                for i in 0..<inner {
                    var best = p[o * n * inner + i], at = 0
                    for r in 1..<n where p[(o * n + r) * inner + i] > best {
                        best = p[(o * n + r) * inner + i]
                        at = r
                    }
                    po[o * inner + i] = Float(at)
                }
            }
        }
        return out
    }

    /// Sums this tensor down to `target`, a shape it was broadcast from (the adjoint of
    /// broadcasting; every binary op's backward uses it).
    public func summed(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        precondition(target.count <= rank, "cannot sum \(shape) down to \(target)")
        var t = self
        let offset = rank - target.count
        for _ in 0..<offset { t = t.sum(axis: 0) }
        for d in 0..<target.count where target[d] == 1 && t.shape[d] != 1 {
            t = t.sum(axis: d, keepDims: true)
        }
        precondition(t.shape == target, "cannot sum \(shape) down to \(target)")
        return t
    }
}
