import Tensors

/// A layer with parameters, each reachable by the name the reference's PyTorch state dict
/// gives it (e.g. `self_attn.qkv_proj.weight`), so checkpoint keys read the same in both.
public protocol Module: AnyObject {
    /// This module's parameters (and persistent buffers), keyed relative to the module.
    func namedParameters() -> [(name: String, tensor: Tensor)]
}

extension Module {
    /// The parameters of `child`, each name prefixed with `prefix.`.
    public func parameters(of child: any Module, prefix: String) -> [(name: String, tensor: Tensor)] {
        child.namedParameters().map { (prefix + "." + $0.name, $0.tensor) }
    }

    /// The parameter tensors alone, in `namedParameters()` order.
    public var parameters: [Tensor] { namedParameters().map(\.tensor) }

    /// Total number of scalars in all parameters.
    public var parameterCount: Int { namedParameters().reduce(0) { $0 + $1.tensor.count } }
}

/// Weight initialisers of the reference (spec §3).
public enum Initializers {
    /// Truncated LeCun normal: JAX-style truncated normal with σ = 1/√fanIn (bounds ±2.27·σ).
    public static func truncatedLeCunNormal<G: RandomNumberGenerator>(
        _ shape: [Int], fanIn: Int, using generator: inout G
    ) -> Tensor {
        Tensor.truncatedNormal(shape, standardDeviation: 1 / Float(fanIn).squareRoot(),
                               using: &generator)
    }
}
