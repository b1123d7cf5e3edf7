import Foundation
import Layers
import Reasoning
import Tensors

/// A model configuration of any architecture: what `config.json`, a checkpoint's metadata and
/// `--config FILE.json` hold. On disk it is the architecture's own fields (each reference's
/// names) plus `"architecture": "hrm" | "trm" | "transformer"`; a file without the tag is HRM, so every
/// checkpoint written before TRM existed loads unchanged.
///
/// ```swift
/// let config = try JSONDecoder().decode(ModelConfiguration.self, from: data)
/// var rng = RandomGenerator(seed: 0)
/// let model = config.makeModel(using: &rng)          // any ReasoningModel
/// ```
public enum ModelConfiguration: Codable, Equatable, Sendable {
    case hrm(HRMConfiguration)
    case trm(TRMConfiguration)
    case transformer(TransformerConfiguration)

    private enum TagKey: String, CodingKey { case architecture }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: TagKey.self)
        let tag = try c.decodeIfPresent(String.self, forKey: .architecture) ?? Architecture.hrm.rawValue
        switch Architecture(rawValue: tag) {
        case .hrm: self = .hrm(try HRMConfiguration(from: decoder))
        case .trm: self = .trm(try TRMConfiguration(from: decoder))
        case .transformer: self = .transformer(try TransformerConfiguration(from: decoder))
        case nil:
            throw DecodingError.dataCorruptedError(forKey: .architecture, in: c,
                debugDescription: "unknown architecture \"\(tag)\"; expected one of \(Architecture.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
        }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .hrm(let c): try c.encode(to: encoder)
        case .trm(let c): try c.encode(to: encoder)
        case .transformer(let c): try c.encode(to: encoder)
        }
    }

    public init(_ configuration: any ReasoningConfiguration) {
        if let c = configuration as? HRMConfiguration { self = .hrm(c) }
        else if let c = configuration as? TRMConfiguration { self = .trm(c) }
        else if let c = configuration as? TransformerConfiguration { self = .transformer(c) }
        else { preconditionFailure("unregistered configuration type \(type(of: configuration))") }
    }

    /// The configuration of an existing model.
    public init(of model: any ReasoningModel) { self.init(model.reasoningConfiguration) }

    /// What the shared machinery reads.
    public var common: any ReasoningConfiguration {
        switch self {
        case .hrm(let c): return c
        case .trm(let c): return c
        case .transformer(let c): return c
        }
    }

    public var architecture: Architecture { common.architecture }
    public var problems: [String] { common.problems }

    /// A freshly initialised model of this configuration (which must be valid).
    public func makeModel<G: RandomNumberGenerator>(using g: inout G) -> any ReasoningModel {
        switch self {
        case .hrm(let c): return HierarchicalReasoningModel(configuration: c, using: &g)
        case .trm(let c): return TinyRecursiveModel(configuration: c, using: &g)
        case .transformer(let c): return TransformerBaseline(configuration: c, using: &g)
        }
    }

    /// Sets the sizes a dataset dictates.
    public mutating func setDataSizes(sequenceLength: Int, vocabularySize: Int, puzzleIdentifierCount: Int, batchSize: Int) {
        var c = common
        (c.sequenceLength, c.vocabularySize, c.puzzleIdentifierCount, c.batchSize) =
            (sequenceLength, vocabularySize, puzzleIdentifierCount, batchSize)
        self = ModelConfiguration(c)
    }

    /// Changes the ACT settings that a checkpoint may be continued with.
    public mutating func setHalting(maxSteps: Int, explorationProbability: Float, actEnabled: Bool) {
        var c = common
        (c.haltMaxSteps, c.haltExplorationProbability, c.actEnabled) = (maxSteps, explorationProbability, actEnabled)
        self = ModelConfiguration(c)
    }

    /// Presets by name, as the command line spells them: HRM's (`sudoku`, `maze`, `arc`,
    /// `sudoku-small`, `tiny`), TRM's (`trm-sudoku`, `trm-sudoku-att`, `trm-maze`,
    /// `trm-arc`, `trm-sudoku-small`, `trm-tiny`) and the Transformer baseline's
    /// (`transformer-sudoku`, `transformer-sudoku-small`, `transformer-tiny`).
    public static let presets: [String: ModelConfiguration] =
        HRMConfiguration.presets.mapValues { .hrm($0) }
            .merging(TRMConfiguration.presets.mapValues { .trm($0) }) { a, _ in a }
            .merging(TransformerConfiguration.presets.mapValues { .transformer($0) }) { a, _ in a }
}
