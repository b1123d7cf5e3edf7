import Foundation
import Models
import Reasoning
import Tensors
import Yams

/// The reference's own checkpoint folders (HRM-SPEC §14, TRM-SPEC §9.7): a `torch.save` state
/// dict (`checkpoint` or `step_<N>`) beside `all_config.yaml`, the resolved `PretrainConfig`.
/// The model's settings come from the YAML's `arch` section (its `name` says HRM or TRM); the
/// data sizes, which the YAML does not hold, from the tensors' shapes: `vocab_size` from the
/// token embedding, `num_puzzle_identifiers` from the puzzle table, `seq_len` from learned
/// positions or `mlp_t` weights, else from the caller (the dataset or puzzle at hand).
///
/// ```swift
/// let file = try TorchCheckpointFile(contentsOf: folder.appendingPathComponent("checkpoint"))
/// let config = try ReferenceCheckpoint.configuration(for: file, sequenceLength: 81)
/// ```
public enum ReferenceCheckpoint {
    public static let configurationFile = "all_config.yaml"

    /// The configuration of the checkpoint `file`, read from the `all_config.yaml` in its folder.
    public static func configuration(for file: TorchCheckpointFile, sequenceLength: Int? = nil) throws -> ModelConfiguration {
        let yamlURL = URL(fileURLWithPath: file.path).deletingLastPathComponent().appendingPathComponent(configurationFile)
        guard let data = FileManager.default.contents(atPath: yamlURL.path) else {
            throw CheckpointError.badConfiguration(file: file.path, reason: "no \(configurationFile) beside it (the reference writes one into the run folder); copy it there, or give the configuration with --config FILE.json")
        }
        return try configuration(yaml: String(decoding: data, as: UTF8.self), source: yamlURL.path,
                                 tensors: file, sequenceLength: sequenceLength)
    }

    /// The configuration that `yaml` (an `all_config.yaml`, named `source` in errors) and the
    /// tensors of `tensors` describe together.
    /// - Throws: `CheckpointError.badConfiguration` naming the file and field: YAML that does not
    ///   parse, an unknown `arch.name`, a missing field, or a YAML width the tensors contradict.
    public static func configuration(yaml: String, source: String, tensors: any TensorFile,
                                     sequenceLength: Int? = nil) throws -> ModelConfiguration {
        func fail(_ reason: String) -> CheckpointError { .badConfiguration(file: source, reason: reason) }
        // Composed, not loaded: the nodes are walked here (Yams' `load` traps on keys that are
        // not strings), and no tag constructs anything but a scalar.
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch {
            throw fail("not valid YAML (\(String(describing: error).split(separator: "\n").first ?? ""))")
        }
        guard let top = root.flatMap(mapping), let arch = top["arch"].flatMap(mapping) else {
            throw fail("expected a mapping with an 'arch' section (the reference's PretrainConfig)")
        }
        guard let name = arch["name"].flatMap(scalar) as? String else { throw fail("field 'arch.name': missing (the model class)") }
        let architecture: Architecture
        if name.contains("TinyRecursiveReasoningModel") || name.hasPrefix("recursive_reasoning.trm") {
            architecture = .trm
        } else if name.contains("HierarchicalReasoningModel") {
            architecture = .hrm
        } else {
            throw fail("field 'arch.name': '\(name)' is neither the reference's HRM (hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1) nor its TRM (recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1)")
        }
        // The arch fields keep the reference's names, as our configuration files do; the loss
        // type sits in its own section there.
        var fields: [String: Any] = [:]
        for (key, node) in arch where !["name", "loss", "forward_dtype"].contains(key) {
            guard let value = scalar(node) else {
                throw fail("field 'arch.\(key)': expected a number, string or boolean")
            }
            fields[key] = value
        }
        if let loss = arch["loss"].flatMap(mapping), let type = loss["loss_type"].flatMap(scalar) { fields["loss_type"] = type }
        fields["architecture"] = architecture.rawValue

        var byName: [String: TensorInfo] = [:]
        for (key, info) in tensors.tensorInfo { byName[Checkpoint.parameterName(key)] = info }
        func width(_ tensor: String, _ dimension: Int) throws -> Int {
            guard let info = byName[tensor], info.shape.count == 2 else {
                throw CheckpointError.badConfiguration(file: tensors.path, reason: "no 2-D tensor '\(tensor)' to read the sizes from")
            }
            return info.shape[dimension]
        }
        let hidden = fields["hidden_size"] as? Int
        fields["vocab_size"] = try width("embed_tokens.embedding_weight", 0)
        let embeddingWidth = try width("embed_tokens.embedding_weight", 1)
        guard hidden == nil || hidden == embeddingWidth else {
            throw fail("field 'arch.hidden_size' is \(hidden!), but the tensors are \(embeddingWidth) wide (embed_tokens.embedding_weight is \(byName["embed_tokens.embedding_weight"]!.shape)); this YAML belongs to another checkpoint")
        }
        if let ndim = fields["puzzle_emb_ndim"] as? Int, ndim > 0 {
            fields["num_puzzle_identifiers"] = try width("puzzle_emb.weights", 0)
            let stored = try width("puzzle_emb.weights", 1)
            guard stored == ndim else {
                throw fail("field 'arch.puzzle_emb_ndim' is \(ndim), but puzzle_emb.weights is \(byName["puzzle_emb.weights"]!.shape)")
            }
        }
        fields["seq_len"] = sequenceLength ?? 0
        var config = try decode(fields, source: source)
        // Positions (prefix included) where the tensors record them.
        let prefix = config.common.positionCount - config.common.sequenceLength
        var positions: Int?
        if byName["embed_pos.embedding_weight"] != nil {
            positions = try width("embed_pos.embedding_weight", 0)
        } else if let mlp = byName["L_level.layers.0.mlp_t.down_proj.weight"], mlp.shape.count == 2 {
            positions = mlp.shape[0]
        }
        if let positions {
            guard positions > prefix else {
                throw CheckpointError.badConfiguration(file: tensors.path, reason: "\(positions) positions leave no room for a \(prefix)-slot puzzle prefix")
            }
            fields["seq_len"] = positions - prefix
            config = try decode(fields, source: source)
        } else if sequenceLength == nil {
            throw CheckpointError.badConfiguration(file: tensors.path, reason: "seq_len is not in the tensors (\(config.architecture == .trm ? "no mlp_t, " : "")positions are \(fields["pos_encodings"] as? String ?? "rope"), not stored); give the length: the dataset (--data), the puzzle, or hrm convert --seq-len N; or a configuration with --config")
        }
        guard config.problems.isEmpty else { throw fail(config.problems.joined(separator: "; ")) }
        return config
    }

    /// A mapping node's entries by their string keys (others are skipped).
    private static func mapping(_ node: Node) -> [String: Node]? {
        guard let m = node.mapping else { return nil }
        var out: [String: Node] = [:]
        for (key, value) in m {
            if let k = key.scalar?.string { out[k] = value }
        }
        return out
    }

    /// A scalar node as the type its resolved tag says: Bool, Int, Double or String (nil for
    /// null, sequences and mappings).
    private static func scalar(_ node: Node) -> Any? {
        guard let s = node.scalar else { return nil }
        switch Tag.Name(rawValue: node.tag.rawValue) {
        case .bool: return Bool.construct(from: s)
        case .int: return Int.construct(from: s)
        case .float: return Double.construct(from: s).flatMap { $0.isFinite ? $0 : nil }
        case .str: return s.string
        default: return nil
        }
    }

    private static func decode(_ fields: [String: Any], source: String) throws -> ModelConfiguration {
        do {
            let json = try JSONSerialization.data(withJSONObject: fields)
            return try JSONDecoder().decode(ModelConfiguration.self, from: json)
        } catch {
            throw CheckpointError.badConfiguration(file: source, reason: Checkpoint.describe(error).replacingOccurrences(of: "field '", with: "field 'arch."))
        }
    }
}
