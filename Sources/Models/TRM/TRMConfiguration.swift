import Foundation
import Layers
import Reasoning

/// TRM's architecture and data sizes, with the reference's field names
/// (`TinyRecursiveReasoningModel_ACTV1Config`, TRM-SPEC §1.1) plus `"architecture": "trm"`.
///
/// ```swift
/// var config = TRMConfiguration.sudoku                   // the paper's Sudoku-MLP: 5,028,866 parameters
/// config.lowCycles = 4                                   // n
/// let json = try JSONEncoder().encode(config)            // {"architecture":"trm", "H_cycles":3, "mlp_t":true, …}
/// ```
public struct TRMConfiguration: ReasoningConfiguration, Equatable {
    /// `pos_encodings`: `rope`, `learned`, or anything else — no positions (TRM-SPEC §1.1).
    public enum PositionEncoding: String, Codable, Sendable {
        case rope, learned, none
        public init(from decoder: Decoder) throws {
            let text = try decoder.singleValueContainer().decode(String.self)
            self = PositionEncoding(rawValue: text) ?? .none
        }
    }

    public var batchSize: Int = 1
    public var sequenceLength: Int
    public var puzzleEmbeddingWidth: Int
    public var puzzleIdentifierCount: Int
    public var vocabularySize: Int
    /// `H_cycles` = T: full recursions per segment (T − 1 without gradients, the last with).
    public var highCycles: Int
    /// `L_cycles` = n: z-updates per full recursion.
    public var lowCycles: Int
    /// `L_layers`: blocks in the single network f.
    public var layerCount: Int
    public var hiddenSize: Int
    public var expansion: Float
    public var headCount: Int
    public var positionEncoding: PositionEncoding
    public var epsilon: Float = 1e-5
    public var ropeTheta: Float = 10000
    public var haltMaxSteps: Int
    public var haltExplorationProbability: Float
    /// `mlp_t`: token mixing by an MLP over positions instead of self-attention (TRM-SPEC §5.6).
    public var positionMLP: Bool
    /// `puzzle_emb_len`: prefix positions; 0 falls back to ceil(puzzle_emb_ndim / D).
    public var puzzleEmbeddingLength: Int
    /// `no_ACT_continue`: halt on `q_halt > 0` with no continue target (the reference's only
    /// working path); false is HRM's rule, which the reference's code crashes on (TRM-SPEC §7.3).
    public var noACTContinue: Bool
    public var lossType: LossType = .stablemax
    /// `act_enabled`: whether the Q head halts sequences while training (as HRM's field; false
    /// trains every sequence to `halt_max_steps`). Written only when false.
    public var actEnabled = true

    enum CodingKeys: String, CodingKey {
        case architecture
        case batchSize = "batch_size", sequenceLength = "seq_len"
        case puzzleEmbeddingWidth = "puzzle_emb_ndim"
        case puzzleIdentifierCount = "num_puzzle_identifiers", vocabularySize = "vocab_size"
        case highCycles = "H_cycles", lowCycles = "L_cycles", highLayers = "H_layers", layerCount = "L_layers"
        case hiddenSize = "hidden_size", expansion, headCount = "num_heads"
        case positionEncoding = "pos_encodings", epsilon = "rms_norm_eps", ropeTheta = "rope_theta"
        case haltMaxSteps = "halt_max_steps", haltExplorationProbability = "halt_exploration_prob"
        case positionMLP = "mlp_t", puzzleEmbeddingLength = "puzzle_emb_len", noACTContinue = "no_ACT_continue"
        case lossType = "loss_type", actEnabled = "act_enabled"
    }

    public init(sequenceLength: Int, vocabularySize: Int, puzzleIdentifierCount: Int = 1,
                puzzleEmbeddingWidth: Int, hiddenSize: Int, headCount: Int, expansion: Float = 4,
                highCycles: Int = 3, lowCycles: Int = 6, layerCount: Int = 2,
                positionEncoding: PositionEncoding = .rope, positionMLP: Bool = false,
                puzzleEmbeddingLength: Int = 16, haltMaxSteps: Int = 16,
                haltExplorationProbability: Float = 0.1, noACTContinue: Bool = true) {
        self.sequenceLength = sequenceLength
        self.vocabularySize = vocabularySize
        self.puzzleIdentifierCount = puzzleIdentifierCount
        self.puzzleEmbeddingWidth = puzzleEmbeddingWidth
        self.hiddenSize = hiddenSize
        self.headCount = headCount
        self.expansion = expansion
        self.highCycles = highCycles
        self.lowCycles = lowCycles
        self.layerCount = layerCount
        self.positionEncoding = positionEncoding
        self.positionMLP = positionMLP
        self.puzzleEmbeddingLength = puzzleEmbeddingLength
        self.haltMaxSteps = haltMaxSteps
        self.haltExplorationProbability = haltExplorationProbability
        self.noACTContinue = noACTContinue
    }

    /// Decodes the reference's fields, with its class defaults for the optional ones; unknown
    /// fields (`forward_dtype`, `name`, `causal`, `H_layers`, …) are ignored.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let tag = try c.decodeIfPresent(String.self, forKey: .architecture)
        guard tag == Architecture.trm.rawValue else {
            throw DecodingError.dataCorruptedError(forKey: .architecture, in: c,
                debugDescription: "expected \"architecture\": \"trm\", found \(tag.map { "\"\($0)\"" } ?? "none")")
        }
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? 1
        sequenceLength = try c.decodeIfPresent(Int.self, forKey: .sequenceLength) ?? 0
        puzzleEmbeddingWidth = try c.decodeIfPresent(Int.self, forKey: .puzzleEmbeddingWidth) ?? 0
        puzzleIdentifierCount = try c.decodeIfPresent(Int.self, forKey: .puzzleIdentifierCount) ?? 1
        vocabularySize = try c.decodeIfPresent(Int.self, forKey: .vocabularySize) ?? 0
        highCycles = try c.decode(Int.self, forKey: .highCycles)
        lowCycles = try c.decode(Int.self, forKey: .lowCycles)
        layerCount = try c.decode(Int.self, forKey: .layerCount)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        expansion = try c.decode(Float.self, forKey: .expansion)
        headCount = try c.decode(Int.self, forKey: .headCount)
        positionEncoding = try c.decode(PositionEncoding.self, forKey: .positionEncoding)
        epsilon = try c.decodeIfPresent(Float.self, forKey: .epsilon) ?? 1e-5
        ropeTheta = try c.decodeIfPresent(Float.self, forKey: .ropeTheta) ?? 10000
        haltMaxSteps = try c.decode(Int.self, forKey: .haltMaxSteps)
        haltExplorationProbability = try c.decode(Float.self, forKey: .haltExplorationProbability)
        positionMLP = try c.decodeIfPresent(Bool.self, forKey: .positionMLP) ?? false
        puzzleEmbeddingLength = try c.decodeIfPresent(Int.self, forKey: .puzzleEmbeddingLength) ?? 16
        noACTContinue = try c.decodeIfPresent(Bool.self, forKey: .noACTContinue) ?? true
        lossType = try c.decodeIfPresent(LossType.self, forKey: .lossType) ?? .stablemax
        actEnabled = try c.decodeIfPresent(Bool.self, forKey: .actEnabled) ?? true
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Architecture.trm.rawValue, forKey: .architecture)
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(sequenceLength, forKey: .sequenceLength)
        try c.encode(puzzleEmbeddingWidth, forKey: .puzzleEmbeddingWidth)
        try c.encode(puzzleIdentifierCount, forKey: .puzzleIdentifierCount)
        try c.encode(vocabularySize, forKey: .vocabularySize)
        try c.encode(highCycles, forKey: .highCycles)
        try c.encode(lowCycles, forKey: .lowCycles)
        try c.encode(0, forKey: .highLayers)  // required by the reference's class, unused
        try c.encode(layerCount, forKey: .layerCount)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(expansion, forKey: .expansion)
        try c.encode(headCount, forKey: .headCount)
        try c.encode(positionEncoding, forKey: .positionEncoding)
        try c.encode(epsilon, forKey: .epsilon)
        try c.encode(ropeTheta, forKey: .ropeTheta)
        try c.encode(haltMaxSteps, forKey: .haltMaxSteps)
        try c.encode(haltExplorationProbability, forKey: .haltExplorationProbability)
        try c.encode(positionMLP, forKey: .positionMLP)
        try c.encode(puzzleEmbeddingLength, forKey: .puzzleEmbeddingLength)
        try c.encode(noACTContinue, forKey: .noACTContinue)
        try c.encode(lossType, forKey: .lossType)
        if !actEnabled { try c.encode(false, forKey: .actEnabled) }
    }

    public var architecture: Architecture { .trm }
    public var halting: HaltingRule { noACTContinue ? .haltAboveZero : .haltAboveContinue }

    // MARK: - Derived sizes (TRM-SPEC §1.4)

    /// P: `puzzle_emb_len`, or ceil(puzzle_emb_ndim / D) when that is 0.
    public var puzzlePrefixLength: Int {
        puzzleEmbeddingLength > 0 ? puzzleEmbeddingLength
            : (puzzleEmbeddingWidth == 0 ? 0 : (puzzleEmbeddingWidth + hiddenSize - 1) / hiddenSize)
    }
    /// N = S + P.
    public var positionCount: Int { sequenceLength + puzzlePrefixLength }
    public var headDimension: Int { hiddenSize / headCount }
    /// The token mixer of every block.
    public var tokenMixing: TransformerBlock.TokenMixing {
        positionMLP ? .positionMLP(positions: positionCount) : .attention(headCount: headCount)
    }

    public var problems: [String] {
        var p = dataProblems
        func need(_ ok: Bool, _ s: String) { if !ok { p.append(s) } }
        need(puzzleEmbeddingLength >= 0, "puzzle_emb_len must not be negative")
        need(puzzleEmbeddingWidth > 0 || puzzleEmbeddingLength == 0,
             "puzzle_emb_ndim is 0 but puzzle_emb_len is \(puzzleEmbeddingLength): set puzzle_emb_len=0 as well (the reference fails here, TRM-SPEC §21)")
        need(puzzleEmbeddingWidth <= puzzlePrefixLength * max(hiddenSize, 0),
             "puzzle_emb_ndim (\(puzzleEmbeddingWidth)) must fit in puzzle_emb_len × hidden_size (\(puzzlePrefixLength) × \(hiddenSize))")
        need(hiddenSize > 0, "hidden_size must be positive")
        if !positionMLP {
            need(headCount > 0 && hiddenSize % max(headCount, 1) == 0,
                 "hidden_size (\(hiddenSize)) must be a positive multiple of num_heads (\(headCount))")
            need(positionEncoding != .rope || (headCount > 0 && (hiddenSize / max(headCount, 1)) % 2 == 0),
                 "the head dimension hidden_size/num_heads must be even for rotary embeddings")
        }
        need(highCycles >= 1 && lowCycles >= 1, "H_cycles and L_cycles must be at least 1")
        need(layerCount >= 1, "L_layers must be at least 1")
        need(expansion > 0, "expansion must be positive")
        return p + haltingProblems
    }

    // MARK: - Cost (TRM-SPEC §19.4)

    /// FLOPs of one block application per token.
    var blockFLOPsPerToken: Double {
        let n = Double(positionCount), d = Double(hiddenSize)
        let f = Double(SwiGLU.innerWidth(hiddenSize: hiddenSize, expansion: expansion))
        let channel = 6 * d * f
        if positionMLP {
            let ft = Double(SwiGLU.innerWidth(hiddenSize: positionCount, expansion: expansion))
            return 6 * d * ft + channel
        }
        return 8 * d * d + 4 * n * d + channel
    }

    /// T(n + 1) calls of f, each `L_layers` blocks.
    public var segmentFLOPs: Double {
        Double(highCycles * (lowCycles + 1) * layerCount) * blockFLOPsPerToken * Double(positionCount) + headFLOPs
    }

    /// The segment plus the backward of the last full recursion (twice its forward), and the
    /// target segment when the continue logit is trained.
    public var trainingStepFLOPs: Double {
        let recorded = Double((lowCycles + 1) * layerCount) * blockFLOPsPerToken * Double(positionCount)
        return (halting.trainsContinue ? 2 : 1) * segmentFLOPs + 2 * recorded
    }

    // MARK: - Presets (TRM-SPEC §1.3)

    /// Sudoku-Extreme, MLP over positions, no positional encoding, T = 3, n = 6: 5,028,866
    /// parameters (the paper's 87.4 %).
    public static let sudoku = TRMConfiguration(
        sequenceLength: 81, vocabularySize: 11, puzzleEmbeddingWidth: 512, hiddenSize: 512, headCount: 8,
        positionEncoding: .none, positionMLP: true)
    /// Sudoku-Extreme with self-attention and RoPE: 6,828,034 parameters (74.7 %).
    public static let sudokuAttention = TRMConfiguration(
        sequenceLength: 81, vocabularySize: 11, puzzleEmbeddingWidth: 512, hiddenSize: 512, headCount: 8)
    /// Maze-Hard 30×30, attention + RoPE, T = 3, n = 4: 6,822,914 parameters (85.3 %).
    public static let maze = TRMConfiguration(
        sequenceLength: 900, vocabularySize: 6, puzzleEmbeddingWidth: 512, hiddenSize: 512, headCount: 8, lowCycles: 4)
    /// ARC-AGI, attention + RoPE, T = 3, n = 4: 6,829,058 parameters; the puzzle table's rows
    /// come from the dataset.
    public static let arc = TRMConfiguration(
        sequenceLength: 900, vocabularySize: 12, puzzleEmbeddingWidth: 512, hiddenSize: 512, headCount: 8, lowCycles: 4)
    /// A 9×9 Sudoku model for a 2-core CPU: attention with RoPE (θ = 314, as the shipped HRM),
    /// hidden 64, 2 heads, 2 layers, T = 2, n = 3, a 4-slot prefix, 16 ACT steps.
    public static let sudokuSmall: TRMConfiguration = {
        var c = TRMConfiguration(
            sequenceLength: 81, vocabularySize: 11, puzzleEmbeddingWidth: 64, hiddenSize: 64, headCount: 2,
            highCycles: 2, lowCycles: 3, puzzleEmbeddingLength: 4, haltMaxSteps: 16)
        c.ropeTheta = 314
        return c
    }()
    /// TRM-SPEC §19.2's Tiny-A, for tests: V 6, S 16, D 32, 2 heads, P 4, T 2, n 3, M 4.
    public static let tiny = TRMConfiguration(
        sequenceLength: 16, vocabularySize: 6, puzzleEmbeddingWidth: 32, hiddenSize: 32, headCount: 2,
        highCycles: 2, lowCycles: 3, puzzleEmbeddingLength: 4, haltMaxSteps: 4)

    public static let presets: [String: TRMConfiguration] = [
        "trm-sudoku": .sudoku, "trm-sudoku-att": .sudokuAttention, "trm-maze": .maze, "trm-arc": .arc,
        "trm-sudoku-small": .sudokuSmall, "trm-tiny": .tiny,
    ]
}
