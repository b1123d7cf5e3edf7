import Tensors

/// The result of comparing two arrays element by element with a relative + absolute tolerance.
public struct Comparison: CustomStringConvertible {
    public var isClose: Bool
    public var largestDifference: Float
    public var firstMismatches: [(index: Int, actual: Float, expected: Float)]
    public var shape: [Int]

    public var description: String {
        let shown = firstMismatches.map { "[\($0.index)] \($0.actual) vs \($0.expected)" }
            .joined(separator: ", ")
        return "shape \(shape): largest difference \(largestDifference); first mismatches: \(shown)"
    }
}

/// Compares `actual` with `expected`: element i passes when
/// `|a − e| ≤ absolute + relative · |e|`.
public func compare(_ actual: [Float], _ expected: [Float], shape: [Int] = [],
                    relative: Float, absolute: Float) -> Comparison {
    precondition(actual.count == expected.count,
                 "compare: \(actual.count) values vs \(expected.count) expected")
    var result = Comparison(isClose: true, largestDifference: 0, firstMismatches: [],
                            shape: shape.isEmpty ? [actual.count] : shape)
    for i in 0..<actual.count {
        let diff = abs(actual[i] - expected[i])
        if !(diff <= absolute + relative * abs(expected[i])) {  // NaN fails too
            result.isClose = false
            if result.firstMismatches.count < 5 {
                result.firstMismatches.append((i, actual[i], expected[i]))
            }
        }
        if diff.isNaN { result.largestDifference = .nan } else {
            result.largestDifference = max(result.largestDifference, diff)
        }
    }
    return result
}

/// Compares two tensors of the same shape (see `compare(_:_:shape:relative:absolute:)`).
public func compare(_ actual: Tensor, _ expected: Tensor, relative: Float, absolute: Float)
    -> Comparison
{
    precondition(actual.shape == expected.shape,
                 "compare: shapes \(actual.shape) and \(expected.shape) differ")
    return compare(actual.scalars, expected.scalars, shape: actual.shape,
                   relative: relative, absolute: absolute)
}
