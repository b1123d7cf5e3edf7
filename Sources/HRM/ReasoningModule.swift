import Layers
import Tensors

/// One level of HRM (the H or the L module): a stack of post-norm transformer blocks with input
/// injection (spec §5.7).
///
///     Module(h, injection) = blocks(h + injection)
///
/// The L module is called with injection `z_H + x`, the H module with `z_L`.
/// Shapes: `[B, N, D]` in and out. Parameter names `layers.{i}.…`.
public final class ReasoningModule: Module {
    public let layers: [TransformerBlock]

    public init<G: RandomNumberGenerator>(configuration c: HRMConfiguration, layerCount: Int,
                                          using generator: inout G) {
        layers = (0..<layerCount).map { _ in
            TransformerBlock(hiddenSize: c.hiddenSize, headCount: c.headCount,
                             expansion: c.expansion, epsilon: c.epsilon, using: &generator)
        }
    }

    public func callAsFunction(_ hidden: Tensor, injection: Tensor, rotary: RotaryEmbedding?)
        -> Tensor
    {
        var h = hidden + injection
        for layer in layers { h = layer(h, rotary: rotary) }
        return h
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        layers.enumerated().flatMap { parameters(of: $0.element, prefix: "layers.\($0.offset)") }
    }
}
