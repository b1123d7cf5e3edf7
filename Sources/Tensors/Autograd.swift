/// Reverse-mode automatic differentiation over what was recorded.
///
/// An op whose inputs require a gradient (and that runs outside `withoutGradients`) attaches a
/// `Node` to its result: the inputs and a closure that maps the result's gradient to one gradient
/// per input. `backward()` sorts the recorded graph topologically and runs those closures from
/// the output back, summing gradients that meet at a tensor. Backward closures run without
/// recording, so gradients are plain tensors.

/// How a recorded tensor was computed.
final class Node {
    let inputs: [Tensor]
    /// Maps the output's gradient to the inputs' gradients (nil: no gradient for that input).
    let backward: (Tensor) -> [Tensor?]

    init(inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) {
        self.inputs = inputs
        self.backward = backward
    }
}

/// Whether ops record; changed only through `withoutGradients` (per thread, nestable).
public enum GradientMode {
    @TaskLocal static var isDisabled = false

    /// True when ops currently record for backpropagation.
    public static var isRecording: Bool { !isDisabled }
}

/// Runs `body` without recording any op (results never require a gradient).
///
/// HRM runs all but the last step of its recurrence in here (the one-step gradient).
public func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
    try GradientMode.$isDisabled.withValue(true) { try body() }
}

extension Tensor {
    /// Attaches a backward rule to `self` when recording and some input requires a gradient.
    ///
    /// Ops call this once, right after computing their output. Returns `self`.
    @discardableResult
    func recorded(from inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard GradientMode.isRecording, inputs.contains(where: { $0.requiresGradient }) else {
            return self
        }
        requiresGradient = true
        node = Node(inputs: inputs, backward: backward)
        return self
    }

    /// Whether this tensor is a leaf (not computed by a recorded op).
    public var isLeaf: Bool { node == nil }

    /// Back-propagates from this tensor and adds the gradients into the `gradient` of every
    /// leaf that requires one.
    ///
    /// - Parameters:
    ///   - seed: d(objective)/d(self); defaults to ones (so a scalar loss needs none).
    ///   - retainGraph: keep the record so that backward can run again; by default it is freed.
    public func backward(seed: Tensor? = nil, retainGraph: Bool = false) {
        let grads = backpropagate(seed: seed, keep: nil, retainGraph: retainGraph)
        for (leaf, g) in grads {
            if let existing = leaf.gradient {
                leaf.gradient = withoutGradients { existing + g }
            } else {
                leaf.gradient = g
            }
        }
    }

    /// Walks the graph in reverse topological order; returns the gradients of the leaves that
    /// require one (or of the tensors in `keep`, when given). Intermediate gradients are freed
    /// as soon as they have been propagated.
    func backpropagate(seed: Tensor?, keep: Set<ObjectIdentifier>?, retainGraph: Bool)
        -> [(Tensor, Tensor)]
    {
        precondition(requiresGradient, "backward() on a tensor that does not require a gradient")
        let order = topologicalOrder()
        var pending: [ObjectIdentifier: Tensor] = [:]
        pending[ObjectIdentifier(self)] = seed ?? Tensor.ones(shape)
        if let seed { precondition(seed.shape == shape, "seed \(seed.shape) vs output \(shape)") }
        var results: [(Tensor, Tensor)] = []
        withoutGradients {
            for t in order.reversed() {
                let id = ObjectIdentifier(t)
                guard let g = pending[id] else { continue }
                let wanted = keep.map { $0.contains(id) } ?? (t.node == nil)
                if wanted { results.append((t, g)) }
                if keep == nil || !wanted { pending[id] = nil }
                guard let node = t.node else { continue }
                let inputGrads = node.backward(g)
                precondition(inputGrads.count == node.inputs.count, "backward arity mismatch")
                for (input, ig) in zip(node.inputs, inputGrads) {
                    guard input.requiresGradient, let ig else { continue }
                    precondition(ig.shape == input.shape,
                                 "gradient shape \(ig.shape) does not match input \(input.shape)")
                    let iid = ObjectIdentifier(input)
                    if let existing = pending[iid] { pending[iid] = existing + ig } else { pending[iid] = ig }
                }
                if !retainGraph { t.node = nil }
            }
        }
        return results
    }

    /// Tensors reachable from `self` through recorded nodes, each after all of its inputs.
    private func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Int)] = [(self, 0)]
        visited.insert(ObjectIdentifier(self))
        while let (t, next) = stack.popLast() {
            let inputs = t.node?.inputs ?? []
            if next < inputs.count {
                stack.append((t, next + 1))
                let child = inputs[next]
                if child.requiresGradient, visited.insert(ObjectIdentifier(child)).inserted {
                    stack.append((child, 0))
                }
            } else {
                order.append(t)
            }
        }
        return order
    }
}

/// The gradients of a scalar (or seeded) `output` with respect to each of `inputs`.
///
/// Nothing is accumulated into `gradient` slots; an input the output does not depend on gets
/// zeros. The graph is kept, so this can be called again on the same output.
public func gradients(of output: Tensor, withRespectTo inputs: [Tensor], seed: Tensor? = nil)
    -> [Tensor]
{
    let keep = Set(inputs.map(ObjectIdentifier.init))
    let found = output.backpropagate(seed: seed, keep: keep, retainGraph: true)
    var byID: [ObjectIdentifier: Tensor] = [:]
    for (t, g) in found { byID[ObjectIdentifier(t)] = g }
    return inputs.map { byID[ObjectIdentifier($0)] ?? Tensor.zeros($0.shape) }
}
