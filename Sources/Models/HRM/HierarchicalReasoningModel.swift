import Foundation
import Layers
import Reasoning
import Tensors

/// The inner HRM (reference `HierarchicalReasoningModel_ACTV1_Inner`): input embedding, the H/L
/// recurrence with the one-step gradient, the LM head and the Q head (spec §5, §6).
///
/// ```swift
/// var rng = RandomGenerator(seed: 0)
/// let model = HierarchicalReasoningModel(configuration: .tiny, using: &rng)
/// let z = model.initialStates(batchSize: 2)
/// let out = model.segment(zHigh: z.high, zLow: z.low, inputs: tokens, puzzleIdentifiers: [0, 0])
/// ```
public final class HierarchicalReasoningModel: ReasoningModel {
    public let configuration: HRMConfiguration
    public var reasoningConfiguration: any ReasoningConfiguration { configuration }
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
        qHead = initialQHead(hiddenSize: d, using: &g)
        puzzleEmbedding = c.puzzleEmbeddingWidth > 0
            ? SparseEmbedding(identifierCount: c.puzzleIdentifierCount, width: c.puzzleEmbeddingWidth)
            : nil
        positionEmbedding = c.positionEncoding == .learned
            ? Embedding(vocabularySize: c.positionCount, embeddingWidth: d, using: &g) : nil
        rotary = c.positionEncoding == .rope
            ? RotaryEmbedding(headDimension: c.headDimension, positions: c.positionCount, base: c.ropeTheta)
            : nil
        let mixing = TransformerBlock.TokenMixing.attention(headCount: c.headCount)
        highLevel = ReasoningModule(layerCount: c.highLayerCount, hiddenSize: d, tokenMixing: mixing,
                                    expansion: c.expansion, epsilon: c.epsilon, using: &g)
        lowLevel = ReasoningModule(layerCount: c.lowLayerCount, hiddenSize: d, tokenMixing: mixing,
                                   expansion: c.expansion, epsilon: c.epsilon, using: &g)
        highInit = Tensor.truncatedNormal([d], standardDeviation: 1, using: &g)
        lowInit = Tensor.truncatedNormal([d], standardDeviation: 1, using: &g)
    }

    // MARK: - Forward

    /// The input embedding `x` `[B, N, D]` (spec §5.1): the puzzle rows as prefix slots, then the
    /// token rows, plus learned positions if configured, all scaled by √D.
    public func inputEmbedding(inputs: [Int32], puzzleIdentifiers: [Int32]) -> Tensor {
        let c = configuration
        return puzzleInputEmbedding(tokens: tokenEmbedding, puzzle: puzzleEmbedding, positions: positionEmbedding,
                                    inputs: inputs, puzzleIdentifiers: puzzleIdentifiers, sequenceLength: c.sequenceLength,
                                    prefixLength: c.puzzlePrefixLength, hiddenSize: c.hiddenSize)
    }

    /// One segment (spec §6): all but the last L and H calls run without recording; the last L
    /// call and the last H call are recorded — the reference's one-step gradient.
    ///
    /// `zHigh`, `zLow` are `[B, N, D]` (constants for autograd); `inputs` `[B·S]`.
    public func segment(zHigh: Tensor, zLow: Tensor, inputs: [Int32], puzzleIdentifiers: [Int32],
                        observer: StateObserver?) -> SegmentOutput
    {
        let c = configuration
        let x = inputEmbedding(inputs: inputs, puzzleIdentifiers: puzzleIdentifiers)
        var zH = zHigh, zL = zLow
        func low() {
            let before = zL
            zL = lowLevel(zL, injection: zH + x, rotary: rotary)
            observer?(.low, before, zL)
        }
        func high() {
            let before = zH
            zH = highLevel(zH, injection: zL, rotary: rotary)
            observer?(.high, before, zH)
        }
        withoutGradients {
            for i in 0..<c.highCycles {
                for j in 0..<c.lowCycles where !(i == c.highCycles - 1 && j == c.lowCycles - 1) { low() }
                if i != c.highCycles - 1 { high() }
            }
        }
        // The one-step gradient: only these two calls are differentiated.
        low()
        high()

        return segmentOutput(high: zH, low: zL, lmHead: lmHead, qHead: qHead, prefixLength: c.puzzlePrefixLength)
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
}
