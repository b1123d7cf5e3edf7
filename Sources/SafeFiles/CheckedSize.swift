/// Sizes computed from numbers a file claims (a shape, a header length), without overflow: a
/// header claiming 2^40 × 2^40 elements must be refused, not trap or allocate.
public enum CheckedSize {
    /// The product of `factors`, or nil when one is negative or the product overflows `Int`.
    public static func product(_ factors: [Int]) -> Int? {
        var total = 1
        for f in factors {
            guard f >= 0 else { return nil }
            let (p, overflow) = total.multipliedReportingOverflow(by: f)
            if overflow { return nil }
            total = p
        }
        return total
    }
}
