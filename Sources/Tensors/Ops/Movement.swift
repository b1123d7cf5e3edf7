/// Ops that move values without arithmetic: reshape, permute/transpose, slice, concatenate,
/// gather rows, broadcast. All but `reshaped` copy (every tensor is contiguous).

extension Tensor {
    /// The same values viewed with another shape (shares storage; one axis may be -1).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            s[i] = count / known
        }
        precondition(Shape.count(s) == count, "cannot reshape \(shape) to \(newShape)")
        let out = Tensor(shape: s, storage: storage)
        out.exactBF16 = exactBF16  // the same values
        let inputShape = shape
        return out.recorded(from: [self]) { g in [g.reshaped(inputShape)] }
    }

    /// Axes reordered: result axis `i` is this tensor's axis `axes[i]`.
    public func permuted(_ axes: [Int]) -> Tensor {
        precondition(axes.count == rank && Set(axes) == Set(0..<rank),
                     "permutation \(axes) does not fit shape \(shape)")
        if axes == Array(0..<rank) { return reshaped(shape) }
        let outShape = axes.map { shape[$0] }
        let out = Tensor(uninitializedShape: outShape)
        let inStrides = Shape.strides(shape)
        let src = axes.map { inStrides[$0] }
        permuteKernel(pointer, out.pointer, outShape: outShape, sourceStrides: src)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, a) in axes.enumerated() { inverse[a] = i }
        return out.recorded(from: [self]) { g in [g.permuted(inverse)] }
    }

    /// Two axes swapped.
    public func transposed(_ a: Int, _ b: Int) -> Tensor {
        var axes = Array(0..<rank)
        axes.swapAt(Shape.axis(a, rank: rank), Shape.axis(b, rank: rank))
        return permuted(axes)
    }

    /// The elements with index in `range` along `axis`.
    public func sliced(axis: Int, _ range: Range<Int>) -> Tensor {
        let a = Shape.axis(axis, rank: rank)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[a],
                     "slice \(range) is out of bounds for axis \(a) of \(shape)")
        let (outer, n, inner) = axisSplit(a)
        var outShape = shape
        outShape[a] = range.count
        let out = Tensor(uninitializedShape: outShape)
        let m = range.count
        copyBlocks(from: pointer, fromRow: n * inner, fromOffset: range.lowerBound * inner,
                   to: out.pointer, toRow: m * inner, toOffset: 0, rows: outer, length: m * inner)
        let inputShape = shape
        return out.recorded(from: [self]) { g in
            let dx = Tensor.zeros(inputShape)
            copyBlocks(from: g.pointer, fromRow: m * inner, fromOffset: 0,
                       to: dx.pointer, toRow: n * inner, toOffset: range.lowerBound * inner,
                       rows: outer, length: m * inner)
            return [dx]
        }
    }

    /// Copies of this tensor's values repeated to `target` shape (NumPy broadcasting).
    public func broadcast(to target: [Int]) -> Tensor {
        if target == shape { return self }
        let out = Tensor(uninitializedShape: target)
        let strides = Shape.broadcastStrides(shape, to: target)
        permuteKernel(pointer, out.pointer, outShape: target, sourceStrides: strides)
        let inputShape = shape
        return out.recorded(from: [self]) { g in [g.summed(toShape: inputShape)] }
    }

    /// Rows of this tensor (indices into axis 0), stacked: `[indices.count, shape[1...]...]`.
    ///
    /// The backward adds each row's gradient into the rows it came from (repeats accumulate).
    public func gathered(rows indices: [Int32]) -> Tensor {
        precondition(rank >= 1, "gathered(rows:) needs rank ≥ 1; shape is \(shape)")
        let rowSize = count / Swift.max(shape[0], 1)
        let rows = shape[0]
        for i in indices {
            precondition(i >= 0 && Int(i) < rows, "row index \(i) out of range 0..<\(rows)")
        }
        let out = Tensor(uninitializedShape: [indices.count] + shape.dropFirst())
        let src = pointer, dst = out.pointer
        Parallel.forEach(indices.count, cost: rowSize) { range in
            for r in range { (dst + r * rowSize).update(from: src + Int(indices[r]) * rowSize, count: rowSize) }
        }
        let inputShape = shape
        return out.recorded(from: [self]) { g in
            let dx = Tensor.zeros(inputShape)
            for (r, i) in indices.enumerated() {
                let d = dx.pointer + Int(i) * rowSize, s = g.pointer + r * rowSize
                for j in 0..<rowSize { d[j] += s[j] }
            }
            return [dx]
        }
    }
}

/// Tensors joined along `axis`; all other axes must agree.
public func concatenated(_ tensors: [Tensor], axis: Int) -> Tensor {
    precondition(!tensors.isEmpty, "concatenated needs at least one tensor")
    let first = tensors[0]
    let a = Shape.axis(axis, rank: first.rank)
    for t in tensors {
        precondition(t.rank == first.rank && t.shape.enumerated().allSatisfy { $0.offset == a || $0.element == first.shape[$0.offset] },
                     "cannot concatenate \(t.shape) with \(first.shape) along axis \(a)")
    }
    let sizes = tensors.map { $0.shape[a] }
    let total = sizes.reduce(0, +)
    var outShape = first.shape
    outShape[a] = total
    let out = Tensor(uninitializedShape: outShape)
    let (outer, _, inner) = first.axisSplit(a)
    var offset = 0
    for (t, n) in zip(tensors, sizes) {
        copyBlocks(from: t.pointer, fromRow: n * inner, fromOffset: 0, to: out.pointer,
                   toRow: total * inner, toOffset: offset * inner, rows: outer, length: n * inner)
        offset += n
    }
    return out.recorded(from: tensors) { g in
        var start = 0
        return sizes.map { n in
            defer { start += n }
            return g.sliced(axis: a, start..<(start + n))
        }
    }
}

// MARK: - Kernels

/// Copies `rows` blocks of `length` floats between two row-strided layouts.
func copyBlocks(from src: UnsafePointer<Float>, fromRow: Int, fromOffset: Int,
                to dst: UnsafeMutablePointer<Float>, toRow: Int, toOffset: Int,
                rows: Int, length: Int) {
    Parallel.forEach(rows, cost: length) { range in
        for r in range {
            (dst + r * toRow + toOffset).update(from: src + r * fromRow + fromOffset, count: length)
        }
    }
}

/// Writes `out` (contiguous, `outShape`) from `src` read with `sourceStrides` per output axis.
func permuteKernel(_ src: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                   outShape: [Int], sourceStrides: [Int]) {
    let count = Shape.count(outShape)
    if count == 0 { return }
    let rank = outShape.count
    if rank == 0 { out[0] = src[0]; return }
    let inner = outShape[rank - 1], sInner = sourceStrides[rank - 1]
    let outer = Array(outShape.dropLast()), outerStrides = Array(sourceStrides.dropLast())
    let rows = count / inner
    Parallel.forEach(rows, cost: inner) { range in
        var coord = [Int](repeating: 0, count: outer.count)
        var r = range.lowerBound
        for d in stride(from: outer.count - 1, through: 0, by: -1) {
            coord[d] = r % outer[d]
            r /= outer[d]
        }
        var off = 0
        for d in 0..<outer.count { off += coord[d] * outerStrides[d] }
        for row in range {
            let po = out + row * inner, ps = src + off
            if sInner == 1 {
                po.update(from: ps, count: inner)
            } else {
                for i in 0..<inner { po[i] = ps[i * sInner] }
            }
            var d = outer.count - 1
            while d >= 0 {
                coord[d] += 1
                off += outerStrides[d]
                if coord[d] < outer[d] { break }
                off -= coord[d] * outerStrides[d]
                coord[d] = 0
                d -= 1
            }
        }
    }
}
