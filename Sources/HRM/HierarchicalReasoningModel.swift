import Foundation
import Layers
import Tensors

/// The inputs of one batch: flattened token ids, labels and one puzzle identifier per row.
public struct PuzzleBatch: Equatable, Sendable {
    /// `[batchSize · sequenceLength]` token ids.
    public var inputs: [Int32]
    /// `[batchSize · sequenceLength]` target ids, `ignoreLabel` (−100) where unsupervised.
    public var labels: [Int32]
    /// `[batchSize]` rows of the puzzle-embedding table.
    public var puzzleIdentifiers: [Int32]
    public var batchSize: Int { puzzleIdentifiers.count }

    public init(inputs: [Int32], labels: [Int32], puzzleIdentifiers: [Int32]) {
        precondition(inputs.count == labels.count, "inputs (\(inputs.count)) and labels (\(labels.count)) differ in size")
        precondition(!puzzleIdentifiers.isEmpty && inputs.count % puzzleIdentifiers.count == 0,
                     "\(inputs.count) tokens do not split into \(puzzleIdentifiers.count) rows")
        self.inputs = inputs
        self.labels = labels
        self.puzzleIdentifiers = puzzleIdentifiers
    }
}

/// What one segment (one ACT step's inner forward) returns.
public struct SegmentOutput {
    /// The new recurrent states, detached: `[B, N, D]` each.
    public var zHigh: Tensor
    public var zLow: Tensor
    /// `[B, S, V]` (the puzzle-prefix positions dropped).
    public var logits: Tensor
    /// `[B]` each: the Q head's two logits, read at position 0.
    public var qHalt: Tensor
    public var qContinue: Tensor
}

/// The inner HRM (reference `HierarchicalReasoningModel_ACTV1_Inner`): input embedding, the H/L
/// recurrence with the one-step gradient, the LM head and the Q head (spec §5, §6).
///
/// ```swift
/// var rng = RandomGenerator(seed: 0)
/// let model = HierarchicalReasoningModel(configuration: .tiny, using: &rng)
/// let z = model.initialStates(batchSize: 2)
/// let out = model.segment(zHigh: z.high, zLow: z.low, inputs: tokens, puzzleIdentifiers: [0, 0])
/// ```
public final class HierarchicalReasoningModel: Module {
    public let configuration: HRMConfiguration
    /// `embed_tokens`: `[V, D]`.
    public let tokenEmbedding: Embedding
    /// `lm_head`: `[V, D]`, no bias.
    public let lmHead: Linear
    /// `q_head`: `[2, D]` + bias `[2]`; zero weights and bias −5 at initialisation.
    public let qHead: Linear
    /// `puzzle_emb`: the sparse per-puzzle table, when `puzzle_emb_ndim > 0`.
    public let puzzleEmbedding: SparseEmbedding?
    /// `embed_pos`: learned positions `[N, D]`, when `pos_encodings = learned`.
    public let positionEmbedding: Embedding?
    /// Rotary tables for N positions, when `pos_encodings = rope`.
    public let rotary: RotaryEmbedding?
    /// `H_level` and `L_level`.
    public let highLevel: ReasoningModule
    public let lowLevel: ReasoningModule
    /// `H_init`, `L_init`: the fixed initial states `[D]` (buffers; never trained).
    public let highInit: Tensor
    public let lowInit: Tensor

    /// A freshly initialised model, drawing in the reference's order (spec §3.2).
    public init<G: RandomNumberGenerator>(configuration c: HRMConfiguration, using g: inout G) {
        precondition(c.problems.isEmpty, "invalid configuration: \(c.problems.joined(separator: "; "))")
        configuration = c
        let d = c.hiddenSize
        tokenEmbedding = Embedding(vocabularySize: c.vocabularySize, embeddingWidth: d, using: &g)
        lmHead = Linear(inFeatures: d, outFeatures: c.vocabularySize, using: &g)
        let q = Linear(inFeatures: d, outFeatures: 2, bias: true, using: &g)
        q.weight.pointer.update(repeating: 0, count: q.weight.count)
        q.bias!.pointer.update(repeating: -5, count: 2)
        qHead = q
        puzzleEmbedding = c.puzzleEmbeddingWidth > 0
            ? SparseEmbedding(identifierCount: c.puzzleIdentifierCount, width: c.puzzleEmbeddingWidth)
            : nil
        positionEmbedding = c.positionEncoding == .learned
            ? Embedding(vocabularySize: c.positionCount, embeddingWidth: d, using: &g) : nil
        rotary = c.positionEncoding == .rope
            ? RotaryEmbedding(headDimension: c.headDimension, positions: c.positionCount, base: c.ropeTheta)
            : nil
        highLevel = ReasoningModule(configuration: c, layerCount: c.highLayerCount, using: &g)
        lowLevel = ReasoningModule(configuration: c, layerCount: c.lowLayerCount, using: &g)
        highInit = Tensor.truncatedNormal([d], standardDeviation: 1, using: &g)
        lowInit = Tensor.truncatedNormal([d], standardDeviation: 1, using: &g)
    }

    // MARK: - Forward

    /// The input embedding `x` `[B, N, D]` (spec §5.1): the puzzle rows as prefix slots, then the
    /// token rows, plus learned positions if configured, all scaled by √D.
    public func inputEmbedding(inputs: [Int32], puzzleIdentifiers: [Int32]) -> Tensor {
        let c = configuration
        let b = puzzleIdentifiers.count
        var e = tokenEmbedding(inputs, shape: [b, c.sequenceLength])  // [B, S, D]
        if let puzzleEmbedding {
            let p = c.puzzlePrefixLength
            var v = puzzleEmbedding(puzzleIdentifiers)  // [B, ndim]
            let pad = p * c.hiddenSize - c.puzzleEmbeddingWidth
            if pad > 0 { v = concatenated([v, Tensor.zeros([b, pad])], axis: 1) }
            e = concatenated([v.reshaped([b, p, c.hiddenSize]), e], axis: 1)  // [B, N, D]
        }
        if let positionEmbedding {
            e = (e + positionEmbedding.weight) * Float(0.707106781)
        }
        return e * Float(Double(c.hiddenSize).squareRoot())
    }

    /// One segment (spec §6): all but the last L and H calls run without recording; the last L
    /// call and the last H call are recorded — the reference's one-step gradient.
    ///
    /// `zHigh`, `zLow` are `[B, N, D]` (constants for autograd); `inputs` `[B·S]`.
    public func segment(zHigh: Tensor, zLow: Tensor, inputs: [Int32], puzzleIdentifiers: [Int32])
        -> SegmentOutput
    {
        let c = configuration
        let x = inputEmbedding(inputs: inputs, puzzleIdentifiers: puzzleIdentifiers)
        var zH = zHigh, zL = zLow
        withoutGradients {
            for i in 0..<c.highCycles {
                for j in 0..<c.lowCycles where !(i == c.highCycles - 1 && j == c.lowCycles - 1) {
                    zL = lowLevel(zL, injection: zH + x, rotary: rotary)
                }
                if i != c.highCycles - 1 {
                    zH = highLevel(zH, injection: zL, rotary: rotary)
                }
            }
        }
        // The one-step gradient: only these two calls are differentiated.
        zL = lowLevel(zL, injection: zH + x, rotary: rotary)
        zH = highLevel(zH, injection: zL, rotary: rotary)

        let b = puzzleIdentifiers.count, p = c.puzzlePrefixLength
        let logits = lmHead(zH.sliced(axis: 1, p..<c.positionCount))  // [B, S, V]
        let q = qHead(zH.sliced(axis: 1, 0..<1).reshaped([b, c.hiddenSize]))  // [B, 2]
        return SegmentOutput(zHigh: zH.detached(), zLow: zL.detached(), logits: logits,
                             qHalt: q.sliced(axis: 1, 0..<1).reshaped([b]),
                             qContinue: q.sliced(axis: 1, 1..<2).reshaped([b]))
    }

    /// `H_init` and `L_init` broadcast to `[batchSize, N, D]`.
    public func initialStates(batchSize: Int) -> (high: Tensor, low: Tensor) {
        let shape = [batchSize, configuration.positionCount, configuration.hiddenSize]
        return (highInit.broadcast(to: shape), lowInit.broadcast(to: shape))
    }

    // MARK: - Parameters

    /// Every tensor of the reference's state dict, with its key (buffers included).
    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        var p: [(name: String, tensor: Tensor)] = [("H_init", highInit), ("L_init", lowInit)]
        p += parameters(of: tokenEmbedding, prefix: "embed_tokens")
        p += parameters(of: lmHead, prefix: "lm_head")
        p += parameters(of: qHead, prefix: "q_head")
        if let puzzleEmbedding { p += parameters(of: puzzleEmbedding, prefix: "puzzle_emb") }
        if let positionEmbedding { p += parameters(of: positionEmbedding, prefix: "embed_pos") }
        p += parameters(of: highLevel, prefix: "H_level")
        p += parameters(of: lowLevel, prefix: "L_level")
        return p
    }

    /// The parameters AdamATan2 trains (everything but `H_init`, `L_init` and the puzzle table).
    public func trainableParameters() -> [(name: String, tensor: Tensor)] {
        namedParameters().filter { $0.tensor.requiresGradient }
    }
}
