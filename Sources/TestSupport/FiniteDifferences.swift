import Tensors

/// Checks a function's backward against central finite differences.
///
/// The function's output is reduced to a scalar with fixed pseudo-random weights
/// (`L = Σ w ⊙ f(x…)`), so every output element's gradient is exercised. For each input, every
/// element is nudged by ±`step`; the numerical derivative `(L(x+h) − L(x−h)) / 2h` is compared
/// with the analytic gradient from `backward()`, element by element, with
/// `|analytic − numeric| ≤ absolute + relative · |numeric|`.
///
/// Float32 central differences carry an error of roughly `ε_f · |L| / h + h² · |f'''|`, so
/// tolerances of a few 1e-3 relative with h = 1e-2 (or 3e-3) are the practical floor.
public struct GradientCheck: Sendable {
    public var step: Float
    public var relative: Float
    public var absolute: Float

    public init(step: Float = 1e-2, relative: Float = 1e-2, absolute: Float = 1e-3) {
        self.step = step
        self.relative = relative
        self.absolute = absolute
    }

    /// One comparison per input (in order).
    public func run(_ inputs: [Tensor], _ f: ([Tensor]) -> Tensor) -> [Comparison] {
        let leaves = inputs.map { $0.copy().requiringGradient() }
        let probe = withoutGradients { f(leaves) }
        var rng = RandomGenerator(seed: 1234)
        let weights = Tensor.uniform(probe.shape, in: -1...1, using: &rng)
        func objective(_ xs: [Tensor]) -> Tensor { (f(xs) * weights).sum() }

        let loss = objective(leaves)
        let analytic = gradients(of: loss, withRespectTo: leaves)

        var results: [Comparison] = []
        for (index, leaf) in leaves.enumerated() {
            var numeric = [Float](repeating: 0, count: leaf.count)
            for i in 0..<leaf.count {
                let saved = leaf.pointer[i]
                leaf.pointer[i] = saved + step
                let plus = withoutGradients { objective(leaves).item }
                leaf.pointer[i] = saved - step
                let minus = withoutGradients { objective(leaves).item }
                leaf.pointer[i] = saved
                numeric[i] = (plus - minus) / (2 * step)
            }
            results.append(compare(analytic[index].scalars, numeric, shape: leaf.shape,
                                   relative: relative, absolute: absolute))
        }
        return results
    }
}
