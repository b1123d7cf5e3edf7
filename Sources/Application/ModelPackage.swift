import Foundation
import Models
import Reasoning
import Training
import Puzzles
import SafeFiles
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
    public let model: any ReasoningModel

    /// Decodes a `manifest.json` (`file` names it in errors).
    public static func decodeManifest(_ data: Data, file: String) throws -> Manifest {
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: data) } catch {
            throw ModelPackageError.damaged(file: file, reason: "it is not a model manifest (bytes, checksum, parameters, summary, commands)", restore: nil)
        }
        guard manifest.bytes >= 0, manifest.parameters >= 0, manifest.checksum.count == 16 else {
            throw ModelPackageError.damaged(file: file, reason: "its bytes, parameters or checksum (16 hex digits) are out of range", restore: nil)
        }
        return manifest
    }

    /// Loads and verifies the package in `directory`.
    /// - Throws: `ModelPackageError` naming the file and how to restore it.
    public init(directory: URL) throws {
        let manifestURL = directory.appendingPathComponent(Self.manifestFile)
        let modelURL = directory.appendingPathComponent(Self.modelFile)
        let restore = Self.restoreHint(for: directory)
        guard let manifestData = FileManager.default.contents(atPath: manifestURL.path) else {
            throw ModelPackageError.missing(file: manifestURL.path, restore: restore)
        }
        let manifest: Manifest
        do { manifest = try Self.decodeManifest(manifestData, file: manifestURL.path) } catch {
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

    /// How to get a damaged package back: `git checkout -- models/NAME` inside a repository,
    /// else (an installed copy) the package's own path, to install again.
    static func restoreHint(for directory: URL) -> String {
        let path = directory.standardizedFileURL.path
        if let range = path.range(of: "/models/", options: .backwards),
           FileManager.default.fileExists(atPath: String(path[..<range.lowerBound]) + "/Package.swift") {
            return directory.relativePath.hasPrefix("/") ? "models/" + path[range.upperBound...] : directory.relativePath
        }
        return directory.relativePath
    }

    /// What a package folder holds; its other files (README, curves) are kept on replacement.
    public static let layout = FolderLayout(name: "a model package", required: [manifestFile, modelFile],
                                            keepsOtherFiles: true)

    /// Writes a package from a checkpoint file: the weights copied as they are, and the manifest.
    /// `directory` is written beside itself and renamed into place, so a failure leaves the
    /// previous package intact; an existing package is replaced only with `force` (its other
    /// files, a README or curves, are kept), and a folder that is not a package never.
    @discardableResult
    public static func create(from checkpoint: URL, in directory: URL, summary: String, commands: [String],
                              force: Bool = false) throws -> Manifest {
        try OutputTarget.checkFolder(directory, layout: layout, force: force)
        let weights: Data
        do { weights = try Data(contentsOf: checkpoint) } catch {
            throw ModelPackageError.missing(file: checkpoint.path, restore: nil)
        }
        let model = try Checkpoint.load(from: checkpoint)
        let manifest = Manifest(bytes: weights.count, checksum: FNV1a.hex(weights),
                                parameters: model.parameterCount, summary: summary, commands: commands)
        let staging = try OutputTarget.makeStaging(for: directory)
        do {
            try weights.write(to: staging.appendingPathComponent(modelFile))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(manifest).write(to: staging.appendingPathComponent(manifestFile))
        } catch {
            try? FileManager.default.removeItem(at: staging)
            throw FileWriteError(path: directory.path, reason: error.localizedDescription)
        }
        try OutputTarget.install(staging, at: directory, keepingOthersOf: layout)
        return manifest
    }
}

/// A shipped model that cannot be used; the message says how to get it back.
public enum ModelPackageError: Error, CustomStringConvertible, Equatable {
    case missing(file: String, restore: String?)
    case damaged(file: String, reason: String, restore: String?)
    /// No search folder holds the shipped model `name` (`ShippedModels`).
    case notFound(name: String, searched: [String])

    public var description: String {
        switch self {
        case .missing(let file, let restore):
            return "\(file) is missing" + Self.hint(restore)
        case .notFound(let name, let searched):
            return "the shipped model \(name) is in none of \(searched.joined(separator: ", ")); install it with `make install` in the swift-hrm folder, set \(ShippedModels.environmentVariable) to the folder holding \(name), or give the model's path."
        case .damaged(let file, let reason, let restore):
            return "\(file) is damaged (\(reason))" + Self.hint(restore)
        }
    }

    private static func hint(_ restore: String?) -> String {
        guard let restore else { return "." }
        if restore.contains("share/swift-hrm/models") { return "; `make install` in the swift-hrm folder installs it again." }
        return "; if it was deleted or damaged, `git checkout -- \(restore)` in the repository restores it."
    }
}
