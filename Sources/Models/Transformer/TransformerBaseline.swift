import Foundation
import Layers
import Reasoning
import Tensors

/// The direct-prediction Transformer baseline (reference `Model_ACTV2_Inner`,
/// `transformers_baseline.py`; TRM-SPEC §6): HRM's input embedding, LM head and Q head around
/// one module of `H_layers` post-norm attention blocks, called once per ACT step on
/// `z_H + x` with the gradient through the whole call. Its carry is `z_H` alone; the shared ACT
/// wrapper's second state is kept at zeros and passed through unchanged.
///
/// ```swift
/// var rng = RandomGenerator(seed: 0)
/// let model = TransformerBaseline(configuration: .tiny, using: &rng)
/// let z = model.initialStates(batchSize: 2)
/// let out = model.segment(zHigh: z.high, zLow: z.low, inputs: tokens, puzzleIdentifiers: [0, 0])
/// ```
public final class TransformerBaseline: ReasoningModel {
    public let configuration: TransformerConfiguration
    public var reasoningConfiguration: any ReasoningConfiguration { configuration }
    public let tokenEmbedding: Embedding
    public let lmHead: Linear
    public let qHead: Linear
    public let puzzleEmbedding: SparseEmbedding?
    public let positionEmbedding: Embedding?
    public let rotary: RotaryEmbedding?
    /// `H_level`: the one module.
    public let network: ReasoningModule
    /// `H_init`: the initial state `[D]` (a buffer).
    public let highInit: Tensor
    /// Not in the reference (its carry has no second state): zeros, never saved.
    public let lowInit: Tensor

    /// A freshly initialised model, drawing in the reference's order: embeddings and heads,
    /// positions, the blocks, then `H_init`.
    public init<G: RandomNumberGenerator>(configuration c: TransformerConfiguration, using g: inout G) {
        precondition(c.problems.isEmpty, "invalid configuration: \(c.problems.joined(separator: "; "))")
        configuration = c
        let d = c.hiddenSize
        tokenEmbedding = Embedding(vocabularySize: c.vocabularySize, embeddingWidth: d, using: &g)
        lmHead = Linear(inFeatures: d, outFeatures: c.vocabularySize, using: &g)
        qHead = initialQHead(hiddenSize: d, using: &g)
        puzzleEmbedding = c.puzzleEmbeddingWidth > 0
            ? SparseEmbedding(identifierCount: c.puzzleIdentifierCount, width: c.puzzleEmbeddingWidth) : nil
        rotary = c.positionEncoding == .rope
            ? RotaryEmbedding(headDimension: c.headDimension, positions: c.positionCount, base: c.ropeTheta) : nil
        positionEmbedding = c.positionEncoding == .learned
            ? Embedding(vocabularySize: c.positionCount, embeddingWidth: d, using: &g) : nil
        network = ReasoningModule(layerCount: c.layerCount, hiddenSize: d, tokenMixing: .attention(headCount: c.headCount),
                                  expansion: c.expansion, epsilon: c.epsilon, using: &g)
        highInit = Tensor.truncatedNormal([d], standardDeviation: 1, using: &g)
        lowInit = Tensor.zeros([d])
    }

    public func inputEmbedding(inputs: [Int32], puzzleIdentifiers: [Int32]) -> Tensor {
        let c = configuration
        return puzzleInputEmbedding(tokens: tokenEmbedding, puzzle: puzzleEmbedding, positions: positionEmbedding,
                                    inputs: inputs, puzzleIdentifiers: puzzleIdentifiers, sequenceLength: c.sequenceLength,
                                    prefixLength: c.puzzlePrefixLength, hiddenSize: c.hiddenSize)
    }

    /// One segment: `z_H ← H_level(z_H + x)`, recorded; `zLow` comes back as it went in.
    public func segment(zHigh: Tensor, zLow: Tensor, inputs: [Int32], puzzleIdentifiers: [Int32],
                        observer: StateObserver?) -> SegmentOutput {
        let x = inputEmbedding(inputs: inputs, puzzleIdentifiers: puzzleIdentifiers)
        let z = network(zHigh, injection: x, rotary: rotary)
        observer?(.high, zHigh, z)
        return segmentOutput(high: z, low: zLow, lmHead: lmHead, qHead: qHead, prefixLength: configuration.puzzlePrefixLength)
    }

    /// Every tensor of the reference's state dict, with its key (`H_init` included).
    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        var p: [(name: String, tensor: Tensor)] = [("H_init", highInit)]
        p += parameters(of: tokenEmbedding, prefix: "embed_tokens")
        p += parameters(of: lmHead, prefix: "lm_head")
        p += parameters(of: qHead, prefix: "q_head")
        if let puzzleEmbedding { p += parameters(of: puzzleEmbedding, prefix: "puzzle_emb") }
        if let positionEmbedding { p += parameters(of: positionEmbedding, prefix: "embed_pos") }
        p += parameters(of: network, prefix: "H_level")
        return p
    }
}
