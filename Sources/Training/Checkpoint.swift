import Foundation
import Layers
import Models
import Reasoning
import Tensors

/// A checkpoint that does not fit the model it is loaded into, or cannot be read.
public enum CheckpointError: Error, CustomStringConvertible {
    case noConfiguration(file: String)
    case badConfiguration(file: String, reason: String)
    case mismatch(file: String, problems: [String])
    case wrongArchitecture(file: String, found: Architecture, expected: Architecture)
    /// The file itself cannot be read (a `SafetensorsError` or `TorchCheckpointError`).
    case file(any Error & CustomStringConvertible)

    public var description: String {
        switch self {
        case .noConfiguration(let f):
            return "\(f): the checkpoint carries no configuration (a converted PyTorch checkpoint?); give one with --config FILE.json (the reference's field names: hidden_size, H_cycles, …, seq_len, vocab_size, num_puzzle_identifiers)."
        case .badConfiguration(let f, let r): return "\(f): invalid configuration: \(r)."
        case .mismatch(let f, let problems):
            return "\(f) does not fit the model:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
        case .wrongArchitecture(let f, let found, let expected):
            return "\(f) holds a \(found.rawValue.uppercased()) model (\"architecture\": \"\(found.rawValue)\"); \(expected.rawValue.uppercased()) is required here."
        case .file(let e): return e.description
        }
    }
}

/// Model checkpoints in safetensors with the reference's tensor names and shapes (spec §2, §14).
///
/// Ours carry their configuration as JSON in `__metadata__["hrm_config"]` (any architecture: the
/// JSON's `"architecture"` says which, absent meaning HRM). A PyTorch checkpoint
/// converted with the `safetensors` package loads unchanged: the `_orig_mod.` and `model.inner.`
/// key prefixes are accepted, and F32, BF16, F16 or F64 tensors are converted to Float32.
///
/// ```swift
/// try Checkpoint.save(model, to: url)
/// let model = try Checkpoint.load(from: url)
/// ```
public enum Checkpoint {
    public static let configurationKey = "hrm_config"

    /// Writes every state-dict tensor (buffers included) and the configuration, atomically.
    public static func save(_ model: any ReasoningModel, to url: URL,
                            metadata: [String: String] = [:]) throws {
        var writer = SafetensorsWriter()
        add(model, to: &writer)
        writer.metadata = metadata
        let json = try JSONEncoder.sorted.encode(ModelConfiguration(of: model))
        writer.metadata[configurationKey] = String(decoding: json, as: UTF8.self)
        writer.metadata["format"] = "swift-hrm checkpoint 1"
        try writer.write(to: url)
    }

    /// The configuration stored in a checkpoint, if any.
    public static func configuration(in file: SafetensorsFile) throws -> ModelConfiguration? {
        guard let json = file.metadata[configurationKey] else { return nil }
        do {
            return try JSONDecoder().decode(ModelConfiguration.self, from: Data(json.utf8))
        } catch {
            throw CheckpointError.badConfiguration(file: file.path, reason: describe(error))
        }
    }

    /// A decoding error as one phrase naming the field.
    public static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "missing field '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            return "field '\(c.codingPath.map(\.stringValue).joined(separator: "."))': \(c.debugDescription)"
        case DecodingError.dataCorrupted(let c):
            let path = c.codingPath.map(\.stringValue).joined(separator: ".")
            return (path.isEmpty ? "" : "field '\(path)': ") + c.debugDescription
        default: return "\(error)"
        }
    }

    /// Builds the model a checkpoint describes and loads its tensors: ours (safetensors with
    /// the configuration in its metadata), a converted one, or the reference's own `torch.save`
    /// file, whose configuration comes from the `all_config.yaml` beside it and its tensors'
    /// shapes (`ReferenceCheckpoint`).
    ///
    /// - Parameters:
    ///   - configuration: overrides (or supplies, for converted checkpoints) the configuration.
    ///   - sequenceLength: for a reference checkpoint whose tensors do not tell it (RoPE or no
    ///     positions, no `mlp_t`): the dataset's or puzzle's length.
    /// - Throws: `CheckpointError` listing every missing, unexpected, wrongly shaped or
    ///   non-float tensor; nothing is half-loaded.
    public static func load(from url: URL, configuration: ModelConfiguration? = nil, sequenceLength: Int? = nil) throws
        -> any ReasoningModel
    {
        let file: any TensorFile
        do { file = try openTensorFile(url) } catch let e as SafetensorsError {
            throw CheckpointError.file(e)
        } catch let e as TorchCheckpointError {
            throw CheckpointError.file(e)
        }
        return try load(file, configuration: configuration, sequenceLength: sequenceLength)
    }

    /// `load(from:)` on a file already open (a caller that also reports on the file reads it once).
    public static func load(_ file: any TensorFile, configuration: ModelConfiguration? = nil, sequenceLength: Int? = nil) throws
        -> any ReasoningModel
    {
        let url = URL(fileURLWithPath: file.path)
        let stored: ModelConfiguration?
        if let torch = file as? TorchCheckpointFile {
            stored = configuration == nil ? try ReferenceCheckpoint.configuration(for: torch, sequenceLength: sequenceLength) : nil
        } else {
            stored = try (file as? SafetensorsFile).flatMap { try Self.configuration(in: $0) }
        }
        guard let config = configuration ?? stored else {
            throw CheckpointError.noConfiguration(file: url.path)
        }
        guard config.problems.isEmpty else {
            throw CheckpointError.badConfiguration(file: url.path, reason: config.problems.joined(separator: "; "))
        }
        var rng = RandomGenerator(seed: 0)
        let model = config.makeModel(using: &rng)
        try load(file, into: model)
        return model
    }

    /// `load`, requiring one architecture (e.g. where only an HRM checkpoint will do).
    public static func load<M: ReasoningModel>(_ type: M.Type, from url: URL, configuration: ModelConfiguration? = nil,
                                               sequenceLength: Int? = nil) throws -> M {
        let model = try load(from: url, configuration: configuration, sequenceLength: sequenceLength)
        guard let typed = model as? M else {
            let expected: Architecture = M.self == TinyRecursiveModel.self ? .trm : .hrm
            throw CheckpointError.wrongArchitecture(file: url.path, found: model.reasoningConfiguration.architecture, expected: expected)
        }
        return typed
    }

    /// A file's tensor name as the model names the parameter: the prefixes of a compiled
    /// reference model (`_orig_mod.`) and of its ACT wrapper (`model.inner.`) removed.
    public static func parameterName(_ key: String) -> String {
        var name = Substring(key)
        if name.hasPrefix("_orig_mod.") { name = name.dropFirst("_orig_mod.".count) }
        if name.hasPrefix("model.inner.") { name = name.dropFirst("model.inner.".count) }
        return String(name)
    }

    /// Adds every state-dict tensor of `model` to `writer`, each name after `prefix`.
    public static func add(_ model: any ReasoningModel, to writer: inout SafetensorsWriter, prefix: String = "") {
        for (name, tensor) in model.namedParameters() { writer.add(prefix + name, tensor) }
    }

    /// Loads a checkpoint's tensors into an existing model, after checking all of them.
    /// - Parameter prefix: read only the tensors whose names start with it (a training state
    ///   holds the weights as `model.…` beside the optimizer's tensors); others are ignored.
    public static func load(_ file: any TensorFile, into model: any ReasoningModel, prefix: String = "") throws {
        let entries = file.tensorInfo
        var byName: [String: String] = [:]  // stripped name → key in the file
        for key in entries.keys {
            guard key.hasPrefix(prefix) else { continue }
            byName[parameterName(String(key.dropFirst(prefix.count)))] = key
        }
        let expected = model.namedParameters()
        var problems: [String] = []
        for (name, tensor) in expected {
            guard let key = byName[name], let entry = entries[key] else {
                problems.append("missing tensor '\(name)' (expected shape \(tensor.shape))")
                continue
            }
            if entry.shape != tensor.shape {
                problems.append("tensor '\(key)': expected shape \(tensor.shape), found \(entry.shape)")
            }
            if !entry.isFloat {
                problems.append("tensor '\(key)': expected a float dtype (F32, BF16, F16, F64), found \(entry.dtype)")
            }
        }
        let known = Set(expected.map(\.name))
        for (name, key) in byName.sorted(by: { $0.key < $1.key }) where !known.contains(name) {
            problems.append("unexpected tensor '\(key)' (shape \(entries[key]!.shape)); the model has no such parameter")
        }
        guard problems.isEmpty else { throw CheckpointError.mismatch(file: file.path, problems: problems) }
        // Read everything first, then assign: nothing is half-loaded if a read fails.
        var values: [(Tensor, Tensor)] = []
        for (name, tensor) in expected {
            do { values.append((tensor, try file.tensor(byName[name]!))) } catch let e as SafetensorsError {
                throw CheckpointError.file(e)
            } catch let e as TorchCheckpointError {
                throw CheckpointError.file(e)
            }
        }
        for (target, value) in values { target.assign(value) }
    }
}

extension JSONEncoder {
    /// Pretty, key-sorted JSON (stable files).
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        return e
    }
}
