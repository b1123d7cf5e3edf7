import Foundation
import Puzzles
import Tensors

/// A trained model committed to the repository (e.g. `models/sudoku-9x9/`): `model.safetensors`
/// (the weights, with the architecture in the file's metadata) and `manifest.json` (its size and
/// FNV-1a checksum, how it was made). Loading checks both, so a truncated or edited file is
/// reported with the way to restore it instead of giving wrong answers.
///
/// ```swift
/// let package = try ModelPackage(directory: URL(fileURLWithPath: "models/sudoku-9x9"))
/// let solver = Solver(model: package.model)
/// ```
public struct ModelPackage {
    public static let modelFile = "model.safetensors"
    public static let manifestFile = "manifest.json"

    public struct Manifest: Codable, Equatable, Sendable {
        /// Size of `model.safetensors` in bytes.
        public var bytes: Int
        /// FNV-1a (64-bit) of `model.safetensors`, 16 hex digits.
        public var checksum: String
        public var parameters: Int
        /// What the model is, in a sentence.
        public var summary: String
        /// The commands that made the data and trained the model, in order.
        public var commands: [String]

        public init(bytes: Int, checksum: String, parameters: Int, summary: String, commands: [String]) {
            (self.bytes, self.checksum, self.parameters, self.summary, self.commands) = (bytes, checksum, parameters, summary, commands)
        }
    }

    public let directory: URL
    public let manifest: Manifest
    public let model: HierarchicalReasoningModel

    /// Loads and verifies the package in `directory`.
    /// - Throws: `ModelPackageError` naming the file and how to restore it.
    public init(directory: URL) throws {
        let manifestURL = directory.appendingPathComponent(Self.manifestFile)
        let modelURL = directory.appendingPathComponent(Self.modelFile)
        let restore = directory.relativePath
        guard let manifestData = FileManager.default.contents(atPath: manifestURL.path) else {
            throw ModelPackageError.missing(file: manifestURL.path, restore: restore)
        }
        guard let manifest = try? JSONDecoder().decode(Manifest.self, from: manifestData) else {
            throw ModelPackageError.damaged(file: manifestURL.path, reason: "it is not a model manifest (bytes, checksum, parameters, summary, commands)", restore: restore)
        }
        guard let weights = FileManager.default.contents(atPath: modelURL.path) else {
            throw ModelPackageError.missing(file: modelURL.path, restore: restore)
        }
        guard weights.count == manifest.bytes else {
            throw ModelPackageError.damaged(file: modelURL.path, reason: "it has \(weights.count) bytes, the manifest says \(manifest.bytes)", restore: restore)
        }
        let checksum = FNV1a.hex(weights)
        guard checksum == manifest.checksum else {
            throw ModelPackageError.damaged(file: modelURL.path, reason: "its checksum is \(checksum), the manifest says \(manifest.checksum)", restore: restore)
        }
        self.directory = directory
        self.manifest = manifest
        do {
            model = try Checkpoint.load(from: modelURL)
        } catch {
            throw ModelPackageError.damaged(file: modelURL.path, reason: "\(error)", restore: restore)
        }
    }

    /// Writes a package from a checkpoint file: the weights copied as they are, and the manifest.
    /// `directory` is replaced whole (written beside it, then renamed), so a failure leaves the
    /// previous package intact.
    @discardableResult
    public static func create(from checkpoint: URL, in directory: URL, summary: String, commands: [String]) throws -> Manifest {
        let weights: Data
        do { weights = try Data(contentsOf: checkpoint) } catch {
            throw ModelPackageError.missing(file: checkpoint.path, restore: nil)
        }
        let model = try Checkpoint.load(from: checkpoint)
        let manifest = Manifest(bytes: weights.count, checksum: FNV1a.hex(weights),
                                parameters: model.parameterCount, summary: summary, commands: commands)
        let fm = FileManager.default
        let staging = directory.deletingLastPathComponent()
            .appendingPathComponent(".\(directory.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)")
        try? fm.removeItem(at: staging)
        try fm.createDirectory(at: staging, withIntermediateDirectories: true)
        do {
            try weights.write(to: staging.appendingPathComponent(modelFile))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(manifest).write(to: staging.appendingPathComponent(manifestFile))
            // Keep what else the folder holds (README, curves) — only the two files are replaced.
            if fm.fileExists(atPath: directory.path) {
                for name in try fm.contentsOfDirectory(atPath: directory.path) where name != modelFile && name != manifestFile {
                    try fm.copyItem(at: directory.appendingPathComponent(name), to: staging.appendingPathComponent(name))
                }
                let old = directory.deletingLastPathComponent().appendingPathComponent(".\(directory.lastPathComponent).old-\(ProcessInfo.processInfo.processIdentifier)")
                try fm.moveItem(at: directory, to: old)
                try fm.moveItem(at: staging, to: directory)
                try? fm.removeItem(at: old)
            } else {
                try fm.moveItem(at: staging, to: directory)
            }
        } catch {
            try? fm.removeItem(at: staging)
            throw error
        }
        return manifest
    }
}

/// A shipped model that cannot be used; the message says how to get it back.
public enum ModelPackageError: Error, CustomStringConvertible, Equatable {
    case missing(file: String, restore: String?)
    case damaged(file: String, reason: String, restore: String?)

    public var description: String {
        switch self {
        case .missing(let file, let restore):
            // Most often the command ran outside the repository: a relative path then misses.
            return "\(file) is missing (paths are relative to the current folder: run hrm from the swift-hrm folder or give the model's path)"
                + Self.hint(restore)
        case .damaged(let file, let reason, let restore):
            return "\(file) is damaged (\(reason))" + Self.hint(restore)
        }
    }

    private static func hint(_ restore: String?) -> String {
        restore.map { "; if it was deleted or damaged, `git checkout -- \($0)` in the repository restores it." } ?? "."
    }
}
