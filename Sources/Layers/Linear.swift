import Tensors

/// A linear map `y = x · Wᵀ (+ b)` with the weight stored `[out, in]`, as in PyTorch.
///
/// `x` is `[..., inFeatures]`; the result is `[..., outFeatures]`. The reference's linears have
/// no bias except the Q head. Initialisation: truncated LeCun normal (σ = 1/√in), bias zero.
///
/// ```swift
/// var rng = RandomGenerator(seed: 0)
/// let proj = Linear(inFeatures: 512, outFeatures: 1536, using: &rng)
/// let y = proj(x)   // [B, N, 512] → [B, N, 1536]
/// ```
public final class Linear: Module {
    /// `[outFeatures, inFeatures]`.
    public let weight: Tensor
    /// `[outFeatures]`, when the layer has a bias.
    public let bias: Tensor?

    /// A layer with freshly initialised weights.
    public init<G: RandomNumberGenerator>(inFeatures: Int, outFeatures: Int, bias: Bool = false,
                                          using generator: inout G) {
        weight = Initializers.truncatedLeCunNormal([outFeatures, inFeatures], fanIn: inFeatures,
                                                   using: &generator).requiringGradient()
        self.bias = bias ? Tensor.zeros([outFeatures]).requiringGradient() : nil
    }

    /// A layer around given tensors (e.g. loaded from a checkpoint).
    public init(weight: Tensor, bias: Tensor? = nil) {
        precondition(weight.rank == 2, "Linear weight must be [out, in]; got \(weight.shape)")
        if let bias { precondition(bias.shape == [weight.shape[0]], "bias \(bias.shape) vs weight \(weight.shape)") }
        self.weight = weight
        self.bias = bias
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = matmul(x, weight, transposeB: true)
        if let bias { return y + bias }
        return y
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        var p: [(name: String, tensor: Tensor)] = [("weight", weight)]
        if let bias { p.append(("bias", bias)) }
        return p
    }
}
