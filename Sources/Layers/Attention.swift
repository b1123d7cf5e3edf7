import Tensors

/// Multi-head self-attention with a fused `qkv_proj` (spec §5.3): no bias, no mask, no dropout.
///
/// `qkv_proj.weight` is `[3·H·d, D]`: rows `0..<H·d` give the queries (head-major), the next
/// `H·d` the keys, the last `H·d` the values. `o_proj` reads the heads concatenated.
/// Shapes: `[B, N, D]` in and out.
public final class Attention: Module {
    public let qkvProjection: Linear
    public let outputProjection: Linear
    public let headCount: Int
    public let headDimension: Int
    public let isCausal: Bool

    public init<G: RandomNumberGenerator>(hiddenSize: Int, headCount: Int, causal: Bool = false,
                                          using generator: inout G) {
        precondition(hiddenSize % headCount == 0, "hidden size \(hiddenSize) is not divisible by \(headCount) heads")
        self.headCount = headCount
        self.headDimension = hiddenSize / headCount
        self.isCausal = causal
        qkvProjection = Linear(inFeatures: hiddenSize, outFeatures: 3 * hiddenSize, using: &generator)
        outputProjection = Linear(inFeatures: hiddenSize, outFeatures: hiddenSize, using: &generator)
    }

    /// `x` `[B, N, D]` → `[B, N, D]`; `rotary` rotates queries and keys when given.
    public func callAsFunction(_ x: Tensor, rotary: RotaryEmbedding?) -> Tensor {
        let (b, n) = (x.shape[0], x.shape[1])
        let h = headCount, d = headDimension
        let qkv = qkvProjection(x).reshaped([b, n, 3 * h, d])  // [B, N, 3H, d]
        var q = qkv.sliced(axis: 2, 0..<h)
        var k = qkv.sliced(axis: 2, h..<(2 * h))
        let v = qkv.sliced(axis: 2, (2 * h)..<(3 * h))
        if let rotary {
            q = rotary(q)
            k = rotary(k)
        }
        let o = scaledDotProductAttention(query: q, key: k, value: v, causal: isCausal)
        return outputProjection(o.reshaped([b, n, h * d]))
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        parameters(of: qkvProjection, prefix: "qkv_proj") + parameters(of: outputProjection, prefix: "o_proj")
    }
}
