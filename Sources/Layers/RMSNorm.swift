import Tensors

/// RMSNorm over the last axis with no learned gain (the reference has no norm weights).
public struct RMSNorm {
    public var epsilon: Float
    public init(epsilon: Float = 1e-5) { self.epsilon = epsilon }
    public func callAsFunction(_ x: Tensor) -> Tensor { rmsNorm(x, epsilon: epsilon) }
}
