/// Reverse-mode automatic differentiation over what was recorded.
///
/// An op whose inputs require a gradient (and that runs outside `withoutGradients`) attaches a
/// `Node` to its result: the inputs and a closure that maps the result's gradient to one gradient
/// per input. `backward()` sorts the recorded graph topologically and runs those closures from
/// the output back, summing gradients that meet at a tensor. Backward closures run without
/// recording, so gradients are plain tensors.

/// How a recorded tensor was computed: where its inputs' gradients go, and a closure that maps
/// its gradient to theirs.
///
/// A node does not hold its inputs' values, only their place in the graph (their own nodes, or
/// the leaf tensors themselves), so an intermediate result that no backward closure captured is
/// freed as soon as the forward pass stops using it. Each op's closure captures exactly what its
/// backward reads (PyTorch's "saved tensors"); that is what training keeps in memory.
final class Node {
    /// Per input: its node, the leaf tensor itself, or nil when it needs no gradient.
    private(set) var inputs: [Edge?]
    /// The shape of the recorded tensor (its gradient's shape).
    let shape: [Int]
    /// nil once the graph has been consumed by a backward pass.
    private(set) var backward: ((Tensor) -> [Tensor?])?

    init(inputs: [Edge?], shape: [Int], backward: @escaping (Tensor) -> [Tensor?]) {
        self.inputs = inputs
        self.shape = shape
        self.backward = backward
    }

    /// Drops the closure (and what it saved) and the edges: the graph behind it can go.
    func release() {
        backward = nil
        inputs = []
    }
}

/// Where a gradient flows.
enum Edge {
    /// A computed tensor's node.
    case node(Node)
    /// A leaf that requires a gradient (its `gradient` slot collects it).
    case leaf(Tensor)

    var id: ObjectIdentifier {
        switch self {
        case .node(let n): return ObjectIdentifier(n)
        case .leaf(let t): return ObjectIdentifier(t)
        }
    }

    var shape: [Int] {
        switch self {
        case .node(let n): return n.shape
        case .leaf(let t): return t.shape
        }
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
    /// Ops call this once, right after computing their output. The closure must capture every
    /// tensor whose values it reads (inputs or the output itself; the graph keeps none alive),
    /// and nothing else large: capture shapes, not tensors, when only shapes are needed. A
    /// closure that reads the output must capture `detached()` (capturing `self` is a cycle).
    /// Returns `self`.
    @discardableResult
    func recorded(from inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard GradientMode.isRecording, inputs.contains(where: { $0.requiresGradient }) else {
            return self
        }
        requiresGradient = true
        node = Node(inputs: inputs.map { $0.edge }, shape: shape, backward: backward)
        return self
    }

    /// Where this tensor's gradient goes: its node, itself (a leaf), or nowhere.
    var edge: Edge? {
        guard requiresGradient else { return nil }
        if let node { return .node(node) }
        return .leaf(self)
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
        for (edge, g) in grads {
            guard case .leaf(let leaf) = edge else { continue }
            if let existing = leaf.gradient {
                leaf.gradient = withoutGradients { existing + g }
            } else {
                leaf.gradient = g
            }
        }
        if !retainGraph { node = nil }
    }

    /// Walks the graph in reverse topological order; returns the gradients of the leaves that
    /// require one (or of the edges in `keep`, when given). Intermediate gradients are freed
    /// as soon as they have been propagated, and (unless `retainGraph`) each node's saved
    /// tensors as soon as its closure has run.
    func backpropagate(seed: Tensor?, keep: Set<ObjectIdentifier>?, retainGraph: Bool)
        -> [(Edge, Tensor)]
    {
        guard let root = edge else {
            preconditionFailure("backward() on a tensor that does not require a gradient")
        }
        if let seed { precondition(seed.shape == shape, "seed \(seed.shape) vs output \(shape)") }
        let order = Self.topologicalOrder(from: root)
        var pending: [ObjectIdentifier: Tensor] = [:]
        pending[root.id] = seed ?? Tensor.ones(shape)
        var results: [(Edge, Tensor)] = []
        withoutGradients {
            for e in order.reversed() {
                let id = e.id
                guard let g = pending[id] else { continue }
                let isLeaf: Bool
                if case .leaf = e { isLeaf = true } else { isLeaf = false }
                let wanted = keep.map { $0.contains(id) } ?? isLeaf
                if wanted { results.append((e, g)) }
                if keep == nil || !wanted { pending[id] = nil }
                // A node whose graph an earlier backward consumed passes nothing on.
                guard case .node(let node) = e, let backward = node.backward else { continue }
                let inputGrads = backward(g)
                precondition(inputGrads.count == node.inputs.count, "backward arity mismatch")
                for (input, ig) in zip(node.inputs, inputGrads) {
                    guard let input, let ig else { continue }
                    precondition(ig.shape == input.shape,
                                 "gradient shape \(ig.shape) does not match input \(input.shape)")
                    let iid = input.id
                    if let existing = pending[iid] { pending[iid] = existing + ig } else { pending[iid] = ig }
                }
                if !retainGraph { node.release() }
            }
        }
        return results
    }

    /// Edges reachable from `root` through recorded nodes, each after all of its inputs.
    private static func topologicalOrder(from root: Edge) -> [Edge] {
        var order: [Edge] = []
        var visited = Set<ObjectIdentifier>([root.id])
        var stack: [(Edge, Int)] = [(root, 0)]
        while let (e, next) = stack.popLast() {
            var inputs: [Edge?] = []
            if case .node(let node) = e { inputs = node.inputs }
            if next < inputs.count {
                stack.append((e, next + 1))
                if let child = inputs[next], visited.insert(child.id).inserted {
                    stack.append((child, 0))
                }
            } else {
                order.append(e)
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
    let keep = Set(inputs.compactMap { $0.edge?.id })
    let found = output.backpropagate(seed: seed, keep: keep, retainGraph: true)
    var byID: [ObjectIdentifier: Tensor] = [:]
    for (e, g) in found { byID[e.id] = g }
    return inputs.map { t in t.edge.flatMap { byID[$0.id] } ?? Tensor.zeros(t.shape) }
}
