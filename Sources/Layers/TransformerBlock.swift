import Tensors

/// The references' post-norm transformer block (HRM-SPEC §5.6, TRM-SPEC §5.6):
///
///     h = rmsNorm(h + attention(h))           (token mixing by self-attention)
///     h = rmsNorm(h + mlp(h))
///
/// or, with `.positionMLP` (TRM's `mlp_t`, the Sudoku-Extreme model), MLP-Mixer's token mixing:
/// a SwiGLU along the position axis, shared by all channels, with the norm taken **over the
/// positions** of each channel:
///
///     u = hᵀ  [B, D, N];  u = rmsNorm(u + mlp_t(u));  h = uᵀ
///     h = rmsNorm(h + mlp(h))
///
/// Shapes: `[B, N, D]` in and out. Parameter names `self_attn.*` or `mlp_t.*`, then `mlp.*`.
public final class TransformerBlock: Module {
    /// How positions exchange information.
    public enum TokenMixing: Sendable, Equatable {
        case attention(headCount: Int, causal: Bool = false)
        /// A SwiGLU over `positions` (inner width rounded up to 256 as the channel MLP's).
        case positionMLP(positions: Int)
    }

    /// `self_attn`, for attention token mixing.
    public let selfAttention: Attention?
    /// `mlp_t`, for MLP token mixing: `[2·F_t, N]` and `[N, F_t]`.
    public let positionMLP: SwiGLU?
    public let mlp: SwiGLU
    public let norm: RMSNorm

    /// The attention used for token mixing (the HRM and TRM-Att blocks have one).
    public var attention: Attention { selfAttention! }

    public init<G: RandomNumberGenerator>(hiddenSize: Int, tokenMixing: TokenMixing, expansion: Float,
                                          epsilon: Float = 1e-5, using generator: inout G) {
        switch tokenMixing {
        case .attention(let heads, let causal):
            selfAttention = Attention(hiddenSize: hiddenSize, headCount: heads, causal: causal, using: &generator)
            positionMLP = nil
        case .positionMLP(let positions):
            selfAttention = nil
            positionMLP = SwiGLU(hiddenSize: positions, expansion: expansion, using: &generator)
        }
        mlp = SwiGLU(hiddenSize: hiddenSize, expansion: expansion, using: &generator)
        norm = RMSNorm(epsilon: epsilon)
    }

    /// The attention block (HRM's and TRM-Att's).
    public convenience init<G: RandomNumberGenerator>(hiddenSize: Int, headCount: Int, expansion: Float,
                                                      epsilon: Float = 1e-5, causal: Bool = false,
                                                      using generator: inout G) {
        self.init(hiddenSize: hiddenSize, tokenMixing: .attention(headCount: headCount, causal: causal),
                  expansion: expansion, epsilon: epsilon, using: &generator)
    }

    public func callAsFunction(_ h: Tensor, rotary: RotaryEmbedding?) -> Tensor {
        let h1: Tensor
        if let selfAttention {
            h1 = norm(h + selfAttention(h, rotary: rotary))
        } else {
            let u = h.transposed(1, 2)  // [B, D, N]
            h1 = norm(u + positionMLP!(u)).transposed(1, 2)
        }
        return norm(h1 + mlp(h1))
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        let mixer = selfAttention.map { parameters(of: $0, prefix: "self_attn") }
            ?? parameters(of: positionMLP!, prefix: "mlp_t")
        return mixer + parameters(of: mlp, prefix: "mlp")
    }
}

/// A stack of blocks with input injection (HRM-SPEC §5.7, TRM-SPEC §5.7): HRM's H and L
/// levels, TRM's single network `f`.
///
///     f(h, injection) = blocks(h + injection)
///
/// Shapes: `[B, N, D]` in and out. Parameter names `layers.{i}.…`.
public final class ReasoningModule: Module {
    public let layers: [TransformerBlock]

    public init<G: RandomNumberGenerator>(layerCount: Int, hiddenSize: Int, tokenMixing: TransformerBlock.TokenMixing,
                                          expansion: Float, epsilon: Float, using generator: inout G) {
        layers = (0..<layerCount).map { _ in
            TransformerBlock(hiddenSize: hiddenSize, tokenMixing: tokenMixing, expansion: expansion,
                             epsilon: epsilon, using: &generator)
        }
    }

    public func callAsFunction(_ hidden: Tensor, injection: Tensor, rotary: RotaryEmbedding?) -> Tensor {
        var h = hidden + injection
        for layer in layers { h = layer(h, rotary: rotary) }
        return h
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        layers.enumerated().flatMap { parameters(of: $0.element, prefix: "layers.\($0.offset)") }
    }
}
