import Foundation
import Layers
import Reasoning

/// The direct-prediction Transformer baseline of the TRM repository
/// (`models/recursive_reasoning/transformers_baseline.py`, `config/arch/transformers_baseline.yaml`;
/// TRM-SPEC §6 "Transformer baseline"), with its field names: one module of `H_layers`
/// attention blocks called once per ACT step on (state + x), the same embeddings, heads, losses
/// and ACT carry as HRM; halting on `q_halt > q_continue` with the continue logit never trained.
///
/// ```swift
/// var config = TransformerConfiguration.sudoku            // 8 layers at HRM's width
/// let json = try JSONEncoder().encode(config)            // {"architecture":"transformer","H_layers":8, …}
/// ```
public struct TransformerConfiguration: ReasoningConfiguration, Equatable {
    public typealias PositionEncoding = HRMConfiguration.PositionEncoding

    public var batchSize: Int = 1
    public var sequenceLength: Int
    public var puzzleEmbeddingWidth: Int
    public var puzzleIdentifierCount: Int
    public var vocabularySize: Int
    /// `H_cycles`: kept by the reference "for compatibility"; the module runs once per step.
    public var highCycles: Int = 1
    public var layerCount: Int
    public var hiddenSize: Int
    public var expansion: Float
    public var headCount: Int
    public var positionEncoding: PositionEncoding
    public var epsilon: Float = 1e-5
    public var ropeTheta: Float = 10000
    public var haltMaxSteps: Int
    public var haltExplorationProbability: Float
    /// `act_enabled`: halting by the Q head while training (the reference's default, true; false
    /// trains every sequence to `halt_max_steps`).
    public var actEnabled = true
    public var lossType: LossType = .stablemax

    enum CodingKeys: String, CodingKey {
        case batchSize = "batch_size", sequenceLength = "seq_len"
        case puzzleEmbeddingWidth = "puzzle_emb_ndim"
        case puzzleIdentifierCount = "num_puzzle_identifiers", vocabularySize = "vocab_size"
        case highCycles = "H_cycles", layerCount = "H_layers"
        case hiddenSize = "hidden_size", expansion, headCount = "num_heads"
        case positionEncoding = "pos_encodings", epsilon = "rms_norm_eps", ropeTheta = "rope_theta"
        case haltMaxSteps = "halt_max_steps", haltExplorationProbability = "halt_exploration_prob"
        case actEnabled = "act_enabled", lossType = "loss_type", architecture
    }

    public init(sequenceLength: Int, vocabularySize: Int, puzzleIdentifierCount: Int = 1,
                puzzleEmbeddingWidth: Int, hiddenSize: Int, headCount: Int, expansion: Float = 4,
                layerCount: Int, positionEncoding: PositionEncoding = .rope, haltMaxSteps: Int = 16,
                haltExplorationProbability: Float = 0.1) {
        self.sequenceLength = sequenceLength
        self.vocabularySize = vocabularySize
        self.puzzleIdentifierCount = puzzleIdentifierCount
        self.puzzleEmbeddingWidth = puzzleEmbeddingWidth
        self.hiddenSize = hiddenSize
        self.headCount = headCount
        self.expansion = expansion
        self.layerCount = layerCount
        self.positionEncoding = positionEncoding
        self.haltMaxSteps = haltMaxSteps
        self.haltExplorationProbability = haltExplorationProbability
    }

    /// Decodes the reference's fields; unknown ones (`name`, `forward_dtype`, `act_inference`, …)
    /// are ignored, missing optional ones take the class defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let tag = try c.decodeIfPresent(String.self, forKey: .architecture)
        guard tag == Architecture.transformer.rawValue else {
            throw DecodingError.dataCorruptedError(forKey: .architecture, in: c,
                debugDescription: "expected \"architecture\": \"transformer\", found \(tag.map { "\"\($0)\"" } ?? "none")")
        }
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? 1
        sequenceLength = try c.decodeIfPresent(Int.self, forKey: .sequenceLength) ?? 0
        puzzleEmbeddingWidth = try c.decodeIfPresent(Int.self, forKey: .puzzleEmbeddingWidth) ?? 0
        puzzleIdentifierCount = try c.decodeIfPresent(Int.self, forKey: .puzzleIdentifierCount) ?? 1
        vocabularySize = try c.decodeIfPresent(Int.self, forKey: .vocabularySize) ?? 0
        highCycles = try c.decodeIfPresent(Int.self, forKey: .highCycles) ?? 1
        layerCount = try c.decode(Int.self, forKey: .layerCount)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        expansion = try c.decode(Float.self, forKey: .expansion)
        headCount = try c.decode(Int.self, forKey: .headCount)
        positionEncoding = try c.decode(PositionEncoding.self, forKey: .positionEncoding)
        epsilon = try c.decodeIfPresent(Float.self, forKey: .epsilon) ?? 1e-5
        ropeTheta = try c.decodeIfPresent(Float.self, forKey: .ropeTheta) ?? 10000
        haltMaxSteps = try c.decode(Int.self, forKey: .haltMaxSteps)
        haltExplorationProbability = try c.decode(Float.self, forKey: .haltExplorationProbability)
        actEnabled = try c.decodeIfPresent(Bool.self, forKey: .actEnabled) ?? true
        lossType = try c.decodeIfPresent(LossType.self, forKey: .lossType) ?? .stablemax
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Architecture.transformer.rawValue, forKey: .architecture)
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(sequenceLength, forKey: .sequenceLength)
        try c.encode(puzzleEmbeddingWidth, forKey: .puzzleEmbeddingWidth)
        try c.encode(puzzleIdentifierCount, forKey: .puzzleIdentifierCount)
        try c.encode(vocabularySize, forKey: .vocabularySize)
        try c.encode(highCycles, forKey: .highCycles)
        try c.encode(layerCount, forKey: .layerCount)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(expansion, forKey: .expansion)
        try c.encode(headCount, forKey: .headCount)
        try c.encode(positionEncoding, forKey: .positionEncoding)
        try c.encode(epsilon, forKey: .epsilon)
        try c.encode(ropeTheta, forKey: .ropeTheta)
        try c.encode(haltMaxSteps, forKey: .haltMaxSteps)
        try c.encode(haltExplorationProbability, forKey: .haltExplorationProbability)
        try c.encode(actEnabled, forKey: .actEnabled)
        try c.encode(lossType, forKey: .lossType)
    }

    public var architecture: Architecture { .transformer }
    /// Halts on `q_halt > q_continue` like HRM, but trains no continue target (the reference's
    /// loss head never asks the baseline for one).
    public var halting: HaltingRule { .haltAboveUntrainedContinue }

    /// ceil(puzzle_emb_ndim / D) prefix slots, as HRM.
    public var puzzlePrefixLength: Int {
        puzzleEmbeddingWidth == 0 ? 0 : (puzzleEmbeddingWidth + hiddenSize - 1) / hiddenSize
    }
    public var positionCount: Int { sequenceLength + puzzlePrefixLength }
    public var headDimension: Int { hiddenSize / headCount }

    public var problems: [String] {
        var p = dataProblems
        func need(_ ok: Bool, _ s: String) { if !ok { p.append(s) } }
        need(hiddenSize > 0 && headCount > 0 && hiddenSize % headCount == 0,
             "hidden_size (\(hiddenSize)) must be a positive multiple of num_heads (\(headCount)); the reference's 12 heads of 42 at width 512 (504-wide projections) are not supported, use 8")
        need(headCount > 0 && (hiddenSize / max(headCount, 1)) % 2 == 0,
             "the head dimension hidden_size/num_heads must be even for rotary embeddings")
        need(highCycles == 1, "H_cycles must be 1 (the baseline calls its module once per ACT step; got \(highCycles))")
        need(layerCount >= 1, "H_layers must be at least 1")
        need(expansion > 0, "expansion must be positive")
        return p + haltingProblems
    }

    // MARK: - Cost

    /// One module call of `H_layers` blocks over N positions, plus the heads.
    public var segmentFLOPs: Double {
        Double(layerCount) * blockFLOPsPerToken * Double(positionCount) + headFLOPs
    }

    /// The recorded forward and its backward (twice the forward); no target segment.
    public var trainingStepFLOPs: Double { 3 * segmentFLOPs }

    var blockFLOPsPerToken: Double {
        attentionBlockFLOPsPerToken(positions: positionCount, hiddenSize: hiddenSize, expansion: expansion)
    }

    // MARK: - Presets

    /// The paper's "direct prediction" Transformer for Sudoku: 8 layers at HRM's width 512
    /// (8 heads of 64; the TRM repository's yaml has 12 heads of 42).
    public static let sudoku = TransformerConfiguration(
        sequenceLength: 81, vocabularySize: 11, puzzleEmbeddingWidth: 512, hiddenSize: 512, headCount: 8, layerCount: 8)
    /// The baseline at `sudoku-small`'s size (hidden 128, 4 heads, 2 + 2 = 4 layers, 8 ACT steps).
    public static let sudokuSmall = TransformerConfiguration(
        sequenceLength: 81, vocabularySize: 11, puzzleEmbeddingWidth: 128, hiddenSize: 128, headCount: 4,
        layerCount: 4, haltMaxSteps: 8)
    /// For tests: hidden 32, 2 heads, 2 layers.
    public static let tiny = TransformerConfiguration(
        sequenceLength: 16, vocabularySize: 11, puzzleEmbeddingWidth: 32, hiddenSize: 32, headCount: 2,
        layerCount: 2, haltMaxSteps: 4)

    public static let presets: [String: TransformerConfiguration] = [
        "transformer-sudoku": .sudoku, "transformer-sudoku-small": .sudokuSmall, "transformer-tiny": .tiny,
    ]
}
