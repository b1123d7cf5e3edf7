import Tensors

/// The reference's post-norm transformer block (spec §5.6):
///
///     h = rmsNorm(h + attention(h))
///     h = rmsNorm(h + mlp(h))
///
/// Shapes: `[B, N, D]` in and out. Parameter names `self_attn.*` and `mlp.*`.
public final class TransformerBlock: Module {
    public let attention: Attention
    public let mlp: SwiGLU
    public let norm: RMSNorm

    public init<G: RandomNumberGenerator>(hiddenSize: Int, headCount: Int, expansion: Float,
                                          epsilon: Float = 1e-5, causal: Bool = false,
                                          using generator: inout G) {
        attention = Attention(hiddenSize: hiddenSize, headCount: headCount, causal: causal,
                              using: &generator)
        mlp = SwiGLU(hiddenSize: hiddenSize, expansion: expansion, using: &generator)
        norm = RMSNorm(epsilon: epsilon)
    }

    public func callAsFunction(_ h: Tensor, rotary: RotaryEmbedding?) -> Tensor {
        let h1 = norm(h + attention(h, rotary: rotary))
        return norm(h1 + mlp(h1))
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        parameters(of: attention, prefix: "self_attn") + parameters(of: mlp, prefix: "mlp")
    }
}
