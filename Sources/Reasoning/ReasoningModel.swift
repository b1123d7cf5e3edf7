import Layers
import Tensors

/// Which recurrent reasoning model a configuration, checkpoint or run describes. Written as
/// `"architecture"` in every configuration JSON; a file without it is HRM (every checkpoint
/// written before TRM existed).
public enum Architecture: String, Codable, Sendable, CaseIterable {
    /// The Hierarchical Reasoning Model (arXiv:2506.21734; `reference/HRM-SPEC.md`).
    case hrm
    /// The Tiny Recursive Model (arXiv:2510.04871; `reference/TRM-SPEC.md`).
    case trm
    /// The direct-prediction Transformer baseline of the TRM repository (TRM-SPEC §6): one
    /// stack of blocks called once per ACT step.
    case transformer
}

/// The LM loss a model is trained with (HRM-SPEC §8.2; TRM uses the same code).
public enum LossType: String, Codable, Sendable {
    case stablemax = "stablemax_cross_entropy"
    case softmax = "softmax_cross_entropy"
}

/// When a sequence stops thinking, and what the Q head is trained on.
public enum HaltingRule: Sendable, Equatable {
    /// HRM (HRM-SPEC §7.2): halt when `q_halt > q_continue`; the Q-continue logit learns a
    /// bootstrapped target from one extra segment.
    case haltAboveContinue
    /// TRM's `no_ACT_continue` (TRM-SPEC §7.2): halt when `q_halt > 0`; no continue target, no
    /// extra segment.
    case haltAboveZero
    /// The Transformer baseline (TRM-SPEC §6): halt when `q_halt > q_continue`, but the continue
    /// logit is never trained (its loss head never asks for the target).
    case haltAboveUntrainedContinue

    /// Whether a step with these Q logits halts.
    public func halts(qHalt: Float, qContinue: Float) -> Bool {
        switch self {
        case .haltAboveContinue, .haltAboveUntrainedContinue: return qHalt > qContinue
        case .haltAboveZero: return qHalt > 0
        }
    }

    /// How far past the threshold the step is (positive: it halts).
    public func margin(qHalt: Float, qContinue: Float) -> Float {
        switch self {
        case .haltAboveContinue, .haltAboveUntrainedContinue: return qHalt - qContinue
        case .haltAboveZero: return qHalt
        }
    }

    /// What `margin` is, as the trace prints it.
    public var marginName: String {
        switch self {
        case .haltAboveContinue, .haltAboveUntrainedContinue: return "q_halt − q_continue"
        case .haltAboveZero: return "q_halt"
        }
    }

    /// Whether training computes a Q-continue target (one extra no-grad segment per step).
    public var trainsContinue: Bool { self == .haltAboveContinue }
}

/// What every architecture's configuration says that the shared machinery (ACT wrapper, losses,
/// trainer, evaluator, checkpoints) needs. Field names on disk are each reference's own.
public protocol ReasoningConfiguration: Codable, Sendable {
    var architecture: Architecture { get }
    /// Data sizes, filled from the dataset when a run starts.
    var sequenceLength: Int { get set }
    var vocabularySize: Int { get set }
    var puzzleIdentifierCount: Int { get set }
    /// Per-process batch (sizes scratch buffers in the references).
    var batchSize: Int { get set }
    var hiddenSize: Int { get }
    var puzzleEmbeddingWidth: Int { get }
    /// Prefix positions in front of the grid (HRM: ceil(puzzle_emb_ndim / D); TRM: 16).
    var puzzlePrefixLength: Int { get }
    /// N = S + P.
    var positionCount: Int { get }
    var haltMaxSteps: Int { get set }
    var haltExplorationProbability: Float { get set }
    var lossType: LossType { get }
    var halting: HaltingRule { get }
    /// `act_enabled`: whether `halting` stops sequences while training; false trains every
    /// sequence for exactly `halt_max_steps` (a fixed number of steps). Evaluation is the same
    /// either way.
    var actEnabled: Bool { get set }
    /// Problems a user can cause with a configuration file, as sentences; empty when valid.
    var problems: [String] { get }
    /// Analytic FLOPs of one segment's forward pass for one example (multiply-add = 2).
    var segmentFLOPs: Double { get }
    /// Analytic FLOPs of one training step (all segments run, backward of the recorded part).
    var trainingStepFLOPs: Double { get }
}

/// What one segment (one ACT step's inner forward) returns.
public struct SegmentOutput {
    /// The new recurrent states, detached: `[B, N, D]` each (HRM: z_H, z_L; TRM: y, z).
    public var zHigh: Tensor
    public var zLow: Tensor
    /// `[B, S, V]` (the puzzle-prefix positions dropped).
    public var logits: Tensor
    /// `[B]` each: the Q head's two logits, read at position 0.
    public var qHalt: Tensor
    public var qContinue: Tensor

    public init(zHigh: Tensor, zLow: Tensor, logits: Tensor, qHalt: Tensor, qContinue: Tensor) {
        (self.zHigh, self.zLow, self.logits, self.qHalt, self.qContinue) = (zHigh, zLow, logits, qHalt, qContinue)
    }
}

/// Which carried state one module call inside a segment updated: HRM's z_L (`low`, the L module)
/// and z_H (`high`, the H module); TRM's z (`low`, a latent update) and y (`high`, an answer
/// update).
public enum StateUpdate: String, Codable, Sendable, CaseIterable {
    case low, high
}

/// Sees every module call inside a segment, in order: which state, its value before and after
/// (`[B, N, D]` each). For analyses (`hrm analyze convergence`); it must not keep the tensors'
/// storage past the call without copying.
public typealias StateObserver = (_ update: StateUpdate, _ before: Tensor, _ after: Tensor) -> Void

/// A recurrent reasoning model: two carried states of `[B, N, D]` reset to fixed vectors, one
/// segment that refines them from the input, an LM head and a two-logit Q head. The ACT
/// wrapper, losses, trainer, evaluator, checkpoints and everything above are written once
/// against this protocol; each architecture is one file conforming to it and knows nothing of
/// training.
public protocol ReasoningModel: Module {
    /// The architecture's configuration, seen through what the shared machinery needs.
    var reasoningConfiguration: any ReasoningConfiguration { get }
    /// The fixed initial value `[D]` of the first carried state (`H_init`).
    var highInit: Tensor { get }
    /// The fixed initial value `[D]` of the second carried state (`L_init`).
    var lowInit: Tensor { get }
    /// The sparse per-puzzle table (trained by SignSGD), when the model has one.
    var puzzleEmbedding: SparseEmbedding? { get }
    /// One segment from the carried states (constants for autograd) on `inputs` `[B·S]`;
    /// `observer`, when given, sees every module call in order.
    func segment(zHigh: Tensor, zLow: Tensor, inputs: [Int32], puzzleIdentifiers: [Int32],
                 observer: StateObserver?) -> SegmentOutput
}

extension ReasoningModel {
    /// One segment without an observer (training, evaluation).
    public func segment(zHigh: Tensor, zLow: Tensor, inputs: [Int32], puzzleIdentifiers: [Int32]) -> SegmentOutput {
        segment(zHigh: zHigh, zLow: zLow, inputs: inputs, puzzleIdentifiers: puzzleIdentifiers, observer: nil)
    }

    /// `H_init` and `L_init` broadcast to `[batchSize, N, D]`.
    public func initialStates(batchSize: Int) -> (high: Tensor, low: Tensor) {
        let c = reasoningConfiguration
        let shape = [batchSize, c.positionCount, c.hiddenSize]
        return (highInit.broadcast(to: shape), lowInit.broadcast(to: shape))
    }

    /// The parameters AdamATan2 trains (everything but the init buffers and the puzzle table).
    public func trainableParameters() -> [(name: String, tensor: Tensor)] {
        namedParameters().filter { $0.tensor.requiresGradient }
    }

    /// The count the references log as `num_params`: trainable parameters only.
    public var trainableParameterCount: Int { trainableParameters().reduce(0) { $0 + $1.tensor.count } }
}

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

extension ReasoningConfiguration {
    /// The checks every architecture's `problems` starts with (data sizes, the puzzle
    /// embedding's width) and ends with (ACT), as sentences; empty when they pass.
    public var dataProblems: [String] {
        var p: [String] = []
        if sequenceLength <= 0 { p.append("seq_len must be positive (got \(sequenceLength))") }
        if vocabularySize <= 1 { p.append("vocab_size must be at least 2 (got \(vocabularySize))") }
        if puzzleIdentifierCount <= 0 { p.append("num_puzzle_identifiers must be positive (got \(puzzleIdentifierCount))") }
        if puzzleEmbeddingWidth < 0 { p.append("puzzle_emb_ndim must not be negative") }
        return p
    }

    public var haltingProblems: [String] {
        var p: [String] = []
        if haltMaxSteps < 1 { p.append("halt_max_steps must be at least 1") }
        if !(haltExplorationProbability >= 0 && haltExplorationProbability <= 1) { p.append("halt_exploration_prob must be within [0, 1]") }
        return p
    }

    /// FLOPs of the LM head over the grid and the Q head at position 0, per sequence.
    public var headFLOPs: Double {
        2 * Double(hiddenSize) * Double(vocabularySize) * Double(sequenceLength) + 2 * Double(hiddenSize) * 2
    }
}

/// FLOPs per position of one post-norm attention block (qkv, o, SwiGLU, and the N×N scores and
/// mixing), multiply-add = 2: HRM's blocks and the Transformer baseline's.
public func attentionBlockFLOPsPerToken(positions: Int, hiddenSize: Int, expansion: Float) -> Double {
    let n = Double(positions), d = Double(hiddenSize)
    let f = Double(SwiGLU.innerWidth(hiddenSize: hiddenSize, expansion: expansion))
    return 2 * d * (3 * d + d + 2 * f) + 2 * f * d + 4 * n * d
}

/// The Q head both references build: `[2, D]` + bias, zero weights and bias −5 (HRM-SPEC §3.2,
/// TRM-SPEC §3.2; the weights are drawn first, then overwritten, to keep the draw order).
public func initialQHead<G: RandomNumberGenerator>(hiddenSize: Int, using g: inout G) -> Linear {
    let q = Linear(inFeatures: hiddenSize, outFeatures: 2, bias: true, using: &g)
    q.weight.pointer.update(repeating: 0, count: q.weight.count)
    q.bias!.pointer.update(repeating: -5, count: 2)
    return q
}

/// A segment's outputs from its final states, as both references read them: the LM head over the
/// grid positions of `high` (the prefix dropped), the Q head at position 0, both states detached.
public func segmentOutput(high: Tensor, low: Tensor, lmHead: Linear, qHead: Linear, prefixLength p: Int) -> SegmentOutput {
    let b = high.shape[0], n = high.shape[1], d = high.shape[2]
    let logits = lmHead(high.sliced(axis: 1, p..<n))  // [B, S, V]
    let q = qHead(high.sliced(axis: 1, 0..<1).reshaped([b, d]))  // [B, 2]
    return SegmentOutput(zHigh: high.detached(), zLow: low.detached(), logits: logits,
                         qHalt: q.sliced(axis: 1, 0..<1).reshaped([b]),
                         qContinue: q.sliced(axis: 1, 1..<2).reshaped([b]))
}

/// The input embedding both references share (HRM-SPEC §5.1, TRM-SPEC §5.1): the puzzle row
/// zero-padded to `P` prefix slots of width D, then the token rows, plus learned positions
/// (times 1/√2) if any, all scaled by √D. `[B, N, D]`.
public func puzzleInputEmbedding(tokens: Embedding, puzzle: SparseEmbedding?, positions: Embedding?,
                                 inputs: [Int32], puzzleIdentifiers: [Int32], sequenceLength: Int,
                                 prefixLength p: Int, hiddenSize d: Int) -> Tensor {
    let b = puzzleIdentifiers.count
    var e = tokens(inputs, shape: [b, sequenceLength])  // [B, S, D]
    if let puzzle, p > 0 {
        var v = puzzle(puzzleIdentifiers)  // [B, ndim]
        let pad = p * d - puzzle.width
        if pad > 0 { v = concatenated([v, Tensor.zeros([b, pad])], axis: 1) }
        e = concatenated([v.reshaped([b, p, d]), e], axis: 1)  // [B, N, D]
    }
    if let positions { e = (e + positions.weight) * Float(0.707106781) }
    return e * Float(Double(d).squareRoot())
}
