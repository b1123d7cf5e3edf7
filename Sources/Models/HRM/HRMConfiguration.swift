import Foundation
import Layers
import Reasoning

/// The model's architecture and data sizes, with the reference's field names
/// (`config/arch/hrm_v1.yaml` plus `seq_len`, `vocab_size`, `num_puzzle_identifiers`; spec §1.1).
///
/// ```swift
/// var config = HRMConfiguration.sudoku                   // the paper's Sudoku preset
/// config.haltMaxSteps = 8
/// let json = try JSONEncoder().encode(config)            // {"H_cycles":2, "hidden_size":512, …}
/// ```
public struct HRMConfiguration: ReasoningConfiguration, Equatable {
    public enum PositionEncoding: String, Codable, Sendable { case rope, learned }
    public typealias LossType = Reasoning.LossType

    /// Per-process batch; sizes only scratch buffers in the reference.
    public var batchSize: Int = 1
    public var sequenceLength: Int
    public var puzzleEmbeddingWidth: Int
    public var puzzleIdentifierCount: Int
    public var vocabularySize: Int
    public var highCycles: Int
    public var lowCycles: Int
    public var highLayerCount: Int
    public var lowLayerCount: Int
    public var hiddenSize: Int
    public var expansion: Float
    public var headCount: Int
    public var positionEncoding: PositionEncoding
    public var epsilon: Float = 1e-5
    public var ropeTheta: Float = 10000
    public var haltMaxSteps: Int
    public var haltExplorationProbability: Float
    /// `act_enabled` (the TRM repository's baseline field, on every architecture here): whether
    /// the Q head halts sequences while training. False trains with a fixed number of steps,
    /// every sequence to `halt_max_steps` (the HRM paper's Figure 5 "fixed M"); the Q losses are
    /// unchanged. Written only when false.
    public var actEnabled = true
    public var lossType: LossType = .stablemax

    enum CodingKeys: String, CodingKey {
        case batchSize = "batch_size", sequenceLength = "seq_len"
        case puzzleEmbeddingWidth = "puzzle_emb_ndim"
        case puzzleIdentifierCount = "num_puzzle_identifiers", vocabularySize = "vocab_size"
        case highCycles = "H_cycles", lowCycles = "L_cycles"
        case highLayerCount = "H_layers", lowLayerCount = "L_layers"
        case hiddenSize = "hidden_size", expansion, headCount = "num_heads"
        case positionEncoding = "pos_encodings", epsilon = "rms_norm_eps", ropeTheta = "rope_theta"
        case haltMaxSteps = "halt_max_steps", haltExplorationProbability = "halt_exploration_prob"
        case lossType = "loss_type", actEnabled = "act_enabled", architecture
    }

    public init(sequenceLength: Int, vocabularySize: Int, puzzleIdentifierCount: Int = 1,
                puzzleEmbeddingWidth: Int, hiddenSize: Int, headCount: Int, expansion: Float = 4,
                highCycles: Int = 2, lowCycles: Int = 2, highLayerCount: Int, lowLayerCount: Int,
                positionEncoding: PositionEncoding = .rope, haltMaxSteps: Int = 16,
                haltExplorationProbability: Float = 0.1, lossType: LossType = .stablemax) {
        self.sequenceLength = sequenceLength
        self.vocabularySize = vocabularySize
        self.puzzleIdentifierCount = puzzleIdentifierCount
        self.puzzleEmbeddingWidth = puzzleEmbeddingWidth
        self.hiddenSize = hiddenSize
        self.headCount = headCount
        self.expansion = expansion
        self.highCycles = highCycles
        self.lowCycles = lowCycles
        self.highLayerCount = highLayerCount
        self.lowLayerCount = lowLayerCount
        self.positionEncoding = positionEncoding
        self.haltMaxSteps = haltMaxSteps
        self.haltExplorationProbability = haltExplorationProbability
        self.lossType = lossType
    }

    /// Decodes, accepting the reference's files: missing optional fields take the class
    /// defaults, and unknown fields (`forward_dtype`, `name`, `causal`, …) are ignored.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let tag = try c.decodeIfPresent(String.self, forKey: .architecture), tag != Architecture.hrm.rawValue {
            throw DecodingError.dataCorruptedError(forKey: .architecture, in: c,
                debugDescription: "expected \"architecture\": \"hrm\" (or none), found \"\(tag)\"")
        }
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? 1
        // Data sizes may be absent in a file meant for training (the dataset supplies them).
        sequenceLength = try c.decodeIfPresent(Int.self, forKey: .sequenceLength) ?? 0
        puzzleEmbeddingWidth = try c.decodeIfPresent(Int.self, forKey: .puzzleEmbeddingWidth) ?? 0
        puzzleIdentifierCount = try c.decodeIfPresent(Int.self, forKey: .puzzleIdentifierCount) ?? 1
        vocabularySize = try c.decodeIfPresent(Int.self, forKey: .vocabularySize) ?? 0
        highCycles = try c.decode(Int.self, forKey: .highCycles)
        lowCycles = try c.decode(Int.self, forKey: .lowCycles)
        highLayerCount = try c.decode(Int.self, forKey: .highLayerCount)
        lowLayerCount = try c.decode(Int.self, forKey: .lowLayerCount)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        expansion = try c.decode(Float.self, forKey: .expansion)
        headCount = try c.decode(Int.self, forKey: .headCount)
        positionEncoding = try c.decode(PositionEncoding.self, forKey: .positionEncoding)
        epsilon = try c.decodeIfPresent(Float.self, forKey: .epsilon) ?? 1e-5
        ropeTheta = try c.decodeIfPresent(Float.self, forKey: .ropeTheta) ?? 10000
        haltMaxSteps = try c.decode(Int.self, forKey: .haltMaxSteps)
        haltExplorationProbability = try c.decode(Float.self, forKey: .haltExplorationProbability)
        lossType = try c.decodeIfPresent(LossType.self, forKey: .lossType) ?? .stablemax
        actEnabled = try c.decodeIfPresent(Bool.self, forKey: .actEnabled) ?? true
    }

    /// Writes the reference's fields and `"architecture": "hrm"`.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Architecture.hrm.rawValue, forKey: .architecture)
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(sequenceLength, forKey: .sequenceLength)
        try c.encode(puzzleEmbeddingWidth, forKey: .puzzleEmbeddingWidth)
        try c.encode(puzzleIdentifierCount, forKey: .puzzleIdentifierCount)
        try c.encode(vocabularySize, forKey: .vocabularySize)
        try c.encode(highCycles, forKey: .highCycles)
        try c.encode(lowCycles, forKey: .lowCycles)
        try c.encode(highLayerCount, forKey: .highLayerCount)
        try c.encode(lowLayerCount, forKey: .lowLayerCount)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(expansion, forKey: .expansion)
        try c.encode(headCount, forKey: .headCount)
        try c.encode(positionEncoding, forKey: .positionEncoding)
        try c.encode(epsilon, forKey: .epsilon)
        try c.encode(ropeTheta, forKey: .ropeTheta)
        try c.encode(haltMaxSteps, forKey: .haltMaxSteps)
        try c.encode(haltExplorationProbability, forKey: .haltExplorationProbability)
        try c.encode(lossType, forKey: .lossType)
        if !actEnabled { try c.encode(false, forKey: .actEnabled) }
    }

    public var architecture: Architecture { .hrm }
    /// HRM halts on `q_halt > q_continue` and trains the continue logit (spec §7.2).
    public var halting: HaltingRule { .haltAboveContinue }

    // MARK: - Derived sizes (spec §1.4)

    /// Prefix slots for the puzzle embedding: ceil(puzzle_emb_ndim / D).
    public var puzzlePrefixLength: Int {
        puzzleEmbeddingWidth == 0 ? 0 : (puzzleEmbeddingWidth + hiddenSize - 1) / hiddenSize
    }
    /// Total positions N = S + P.
    public var positionCount: Int { sequenceLength + puzzlePrefixLength }
    public var headDimension: Int { hiddenSize / headCount }

    /// Problems a user can cause with a configuration file, as sentences; empty when valid.
    public var problems: [String] {
        var p = dataProblems
        func need(_ ok: Bool, _ s: String) { if !ok { p.append(s) } }
        need(hiddenSize > 0 && headCount > 0 && hiddenSize % headCount == 0,
             "hidden_size (\(hiddenSize)) must be a positive multiple of num_heads (\(headCount))")
        need(headCount > 0 && (hiddenSize / max(headCount, 1)) % 2 == 0,
             "the head dimension hidden_size/num_heads must be even for rotary embeddings")
        need(highCycles >= 1 && lowCycles >= 1, "H_cycles and L_cycles must be at least 1")
        need(highLayerCount >= 1 && lowLayerCount >= 1, "H_layers and L_layers must be at least 1")
        need(expansion > 0, "expansion must be positive")
        return p + haltingProblems
    }

    // MARK: - Cost (spec §19.1)

    /// FLOPs of one segment's forward for one sequence (multiply-add = 2).
    public var segmentFLOPs: Double {
        let blocks = Double(highCycles * lowCycles * lowLayerCount + highCycles * highLayerCount)
        return blocks * attentionBlockFLOPsPerToken * Double(positionCount) + headFLOPs
    }

    /// FLOPs of one training ACT step per sequence: the recorded segment, the target segment,
    /// and the backward of the last L and H calls (twice their forward).
    public var trainingStepFLOPs: Double {
        let recordedBlocks = Double(lowLayerCount + highLayerCount)
        return 2 * segmentFLOPs + 2 * recordedBlocks * attentionBlockFLOPsPerToken * Double(positionCount)
    }

    var attentionBlockFLOPsPerToken: Double {
        Reasoning.attentionBlockFLOPsPerToken(positions: positionCount, hiddenSize: hiddenSize, expansion: expansion)
    }

    // MARK: - Presets

    /// The paper's Sudoku-Extreme architecture (hrm_v1.yaml with Sudoku metadata): 27,275,266
    /// trainable parameters.
    public static let sudoku = HRMConfiguration(
        sequenceLength: 81, vocabularySize: 11, puzzleEmbeddingWidth: 512, hiddenSize: 512,
        headCount: 8, highLayerCount: 4, lowLayerCount: 4)
    /// The paper's Maze 30×30 architecture.
    public static let maze = HRMConfiguration(
        sequenceLength: 900, vocabularySize: 6, puzzleEmbeddingWidth: 512, hiddenSize: 512,
        headCount: 8, highLayerCount: 4, lowLayerCount: 4)
    /// The paper's ARC architecture; `puzzleIdentifierCount` comes from the dataset.
    public static let arc = HRMConfiguration(
        sequenceLength: 900, vocabularySize: 12, puzzleIdentifierCount: 1, puzzleEmbeddingWidth: 512,
        hiddenSize: 512, headCount: 8, highLayerCount: 4, lowLayerCount: 4)
    /// A Sudoku model sized for a 2-core CPU: hidden 128, 4 heads, 2+2 layers, 8 ACT steps.
    public static let sudokuSmall = HRMConfiguration(
        sequenceLength: 81, vocabularySize: 11, puzzleEmbeddingWidth: 128, hiddenSize: 128,
        headCount: 4, highLayerCount: 2, lowLayerCount: 2, haltMaxSteps: 8)
    /// The smallest useful model, for tests and smoke runs: hidden 32, 2 heads, 1+1 layers.
    public static let tiny = HRMConfiguration(
        sequenceLength: 16, vocabularySize: 11, puzzleEmbeddingWidth: 32, hiddenSize: 32,
        headCount: 2, highCycles: 2, lowCycles: 2, highLayerCount: 1, lowLayerCount: 1,
        haltMaxSteps: 4)

    /// Presets by name, as the command line spells them.
    public static let presets: [String: HRMConfiguration] = [
        "sudoku": .sudoku, "maze": .maze, "arc": .arc, "sudoku-small": .sudokuSmall, "tiny": .tiny,
    ]
}
