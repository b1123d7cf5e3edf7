/// Shape arithmetic: element counts, row-major strides, broadcasting and axis normalisation.
///
/// Every tensor is contiguous and row-major, so a shape alone defines its layout.
public enum Shape {
    /// Number of elements of `shape` (1 for a scalar `[]`).
    @inlinable public static func count(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    /// Row-major strides (in elements) of `shape`.
    public static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var s = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = s
            s *= shape[i]
        }
        return strides
    }

    /// Maps a possibly negative axis onto `0..<rank`; traps when it is out of range.
    public static func axis(_ axis: Int, rank: Int) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < rank, "axis \(axis) is out of range for rank \(rank)")
        return a
    }

    /// The NumPy broadcast of two shapes; traps with both shapes when they are incompatible.
    public static func broadcast(_ a: [Int], _ b: [Int]) -> [Int] {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            precondition(da == db || da == 1 || db == 1,
                         "shapes \(a) and \(b) cannot be broadcast together")
            out[i] = max(da, db)
        }
        return out
    }

    /// Strides that read a tensor of `shape` as if it had `target` shape (0 on broadcast axes).
    static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        let own = strides(shape)
        let offset = target.count - shape.count
        precondition(offset >= 0, "cannot broadcast \(shape) to \(target)")
        var out = [Int](repeating: 0, count: target.count)
        for i in 0..<shape.count {
            precondition(shape[i] == target[i + offset] || shape[i] == 1,
                         "cannot broadcast \(shape) to \(target)")
            out[i + offset] = shape[i] == 1 ? 0 : own[i]
        }
        return out
    }
}
