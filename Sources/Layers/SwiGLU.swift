import Tensors

/// The SwiGLU feed-forward layer with a fused `gate_up_proj` (gate rows first) and `down_proj`.
///
/// Inner width `F = 256 · ceil(round(expansion · D · 2/3) / 256)` (1536 for D = 512,
/// expansion 4). Shapes: `[..., D]` in and out.
public final class SwiGLU: Module {
    public let gateUpProjection: Linear
    public let downProjection: Linear

    /// The reference's inner width for `hiddenSize` and `expansion` (round half to even).
    public static func innerWidth(hiddenSize: Int, expansion: Float) -> Int {
        let raw = (Double(expansion) * Double(hiddenSize) * 2 / 3).rounded(.toNearestOrEven)
        return 256 * Int((raw / 256).rounded(.up))
    }

    public init<G: RandomNumberGenerator>(hiddenSize: Int, expansion: Float, using generator: inout G) {
        let f = Self.innerWidth(hiddenSize: hiddenSize, expansion: expansion)
        gateUpProjection = Linear(inFeatures: hiddenSize, outFeatures: 2 * f, using: &generator)
        downProjection = Linear(inFeatures: f, outFeatures: hiddenSize, using: &generator)
    }

    /// The activation is recomputed in backward rather than kept (`swiGLUProjected`).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = swiGLUProjected(gateUpProjection(x), weight: downProjection.weight)
        if let bias = downProjection.bias { return y + bias }
        return y
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        parameters(of: gateUpProjection, prefix: "gate_up_proj") + parameters(of: downProjection, prefix: "down_proj")
    }
}
