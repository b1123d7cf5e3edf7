import Foundation
import Layers
import Reasoning
import Tensors

/// The inner TRM (reference `TinyRecursiveReasoningModel_ACTV1_Inner`, TRM-SPEC §5, §6): one
/// network `f` of `L_layers` blocks used for both updates, the input embedding with a
/// `puzzle_emb_len`-slot prefix, the LM head and the Q head.
///
/// One segment is T full recursions, each n latent updates `z ← f(z, y + x)` and one answer
/// update `y ← f(y, z)`; the first T − 1 run without gradients, the last one is recorded whole.
///
/// ```swift
/// var rng = RandomGenerator(seed: 0)
/// let model = TinyRecursiveModel(configuration: .tiny, using: &rng)
/// let z = model.initialStates(batchSize: 2)
/// let out = model.segment(zHigh: z.high, zLow: z.low, inputs: tokens, puzzleIdentifiers: [0, 0])
/// ```
public final class TinyRecursiveModel: ReasoningModel {
    public let configuration: TRMConfiguration
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
    /// `L_level`: the single network f.
    public let network: ReasoningModule
    /// `H_init` (initial y) and `L_init` (initial z): `[D]` buffers, never trained.
    public let highInit: Tensor
    public let lowInit: Tensor

    /// A freshly initialised model, drawing in the reference's order (TRM-SPEC §3.2).
    public init<G: RandomNumberGenerator>(configuration c: TRMConfiguration, using g: inout G) {
        precondition(c.problems.isEmpty, "invalid configuration: \(c.problems.joined(separator: "; "))")
        configuration = c
        let d = c.hiddenSize
        tokenEmbedding = Embedding(vocabularySize: c.vocabularySize, embeddingWidth: d, using: &g)
        lmHead = Linear(inFeatures: d, outFeatures: c.vocabularySize, using: &g)
        qHead = initialQHead(hiddenSize: d, using: &g)
        puzzleEmbedding = c.puzzleEmbeddingWidth > 0
            ? SparseEmbedding(identifierCount: c.puzzleIdentifierCount, width: c.puzzleEmbeddingWidth) : nil
        positionEmbedding = c.positionEncoding == .learned
            ? Embedding(vocabularySize: c.positionCount, embeddingWidth: d, using: &g) : nil
        rotary = c.positionEncoding == .rope && !c.positionMLP
            ? RotaryEmbedding(headDimension: c.headDimension, positions: c.positionCount, base: c.ropeTheta) : nil
        network = ReasoningModule(layerCount: c.layerCount, hiddenSize: d, tokenMixing: c.tokenMixing,
                                  expansion: c.expansion, epsilon: c.epsilon, using: &g)
        highInit = Tensor.truncatedNormal([d], standardDeviation: 1, using: &g)
        lowInit = Tensor.truncatedNormal([d], standardDeviation: 1, using: &g)
    }

    /// The input embedding `x` `[B, N, D]` (TRM-SPEC §5.1): slot 0 the puzzle row, slots
    /// 1…P−1 zero, then the tokens; times √D.
    public func inputEmbedding(inputs: [Int32], puzzleIdentifiers: [Int32]) -> Tensor {
        let c = configuration
        return puzzleInputEmbedding(tokens: tokenEmbedding, puzzle: puzzleEmbedding, positions: positionEmbedding,
                                    inputs: inputs, puzzleIdentifiers: puzzleIdentifiers, sequenceLength: c.sequenceLength,
                                    prefixLength: c.puzzlePrefixLength, hiddenSize: c.hiddenSize)
    }

    /// One full recursion: n latent updates from (x, y, z), then one answer update from (y, z).
    func recursion(y: inout Tensor, z: inout Tensor, x: Tensor, observer: StateObserver?) {
        for _ in 0..<configuration.lowCycles {
            let before = z
            z = network(z, injection: y + x, rotary: rotary)
            observer?(.low, before, z)
        }
        let before = y
        y = network(y, injection: z, rotary: rotary)
        observer?(.high, before, y)
    }

    /// One segment (TRM-SPEC §6). `zHigh` is y, `zLow` is z (`[B, N, D]`, constants for
    /// autograd); the gradient flows through the whole last full recursion.
    public func segment(zHigh: Tensor, zLow: Tensor, inputs: [Int32], puzzleIdentifiers: [Int32],
                        observer: StateObserver?) -> SegmentOutput {
        let c = configuration
        let x = inputEmbedding(inputs: inputs, puzzleIdentifiers: puzzleIdentifiers)
        var y = zHigh, z = zLow
        withoutGradients {
            for _ in 0..<(c.highCycles - 1) { recursion(y: &y, z: &z, x: x, observer: observer) }
        }
        recursion(y: &y, z: &z, x: x, observer: observer)

        return segmentOutput(high: y, low: z, lmHead: lmHead, qHead: qHead, prefixLength: c.puzzlePrefixLength)
    }

    /// Every tensor of the reference's state dict, with its key (buffers included).
    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        var p: [(name: String, tensor: Tensor)] = [("H_init", highInit), ("L_init", lowInit)]
        p += parameters(of: tokenEmbedding, prefix: "embed_tokens")
        p += parameters(of: lmHead, prefix: "lm_head")
        p += parameters(of: qHead, prefix: "q_head")
        if let puzzleEmbedding { p += parameters(of: puzzleEmbedding, prefix: "puzzle_emb") }
        if let positionEmbedding { p += parameters(of: positionEmbedding, prefix: "embed_pos") }
        p += parameters(of: network, prefix: "L_level")
        return p
    }
}
