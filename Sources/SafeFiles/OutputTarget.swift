import Foundation

/// What hrm writes in a folder of one kind (a dataset, a run, a model package, the demo's
/// output), so that `--force` can tell a folder hrm wrote from one that holds a user's files.
///
/// A folder *is* of a layout when every required file is there, every other entry is one the
/// layout allows (or a temporary name of hrm's own, `AtomicFile.isTemporaryName`), and each
/// subfolder is of the layout its name calls for.
public struct FolderLayout: Sendable {
    /// "a dataset", "a run": how messages name it.
    public var name: String
    public var required: [String]
    public var optional: [String]
    /// Subfolders: a name (or a name prefix ending in `*`) and the layout it must have.
    public var subfolders: [(pattern: String, layout: FolderLayoutBox)]
    /// At least this many subfolders (a dataset has at least one split).
    public var minimumSubfolders: Int
    /// Files a replacement keeps (a package's README and curves): any other entry is allowed and
    /// is never deleted.
    public var keepsOtherFiles: Bool

    public init(name: String, required: [String], optional: [String] = [],
                subfolders: [(pattern: String, layout: FolderLayout)] = [], minimumSubfolders: Int = 0,
                keepsOtherFiles: Bool = false) {
        self.name = name
        self.required = required
        self.optional = optional
        self.subfolders = subfolders.map { ($0.pattern, FolderLayoutBox($0.layout)) }
        self.minimumSubfolders = minimumSubfolders
        self.keepsOtherFiles = keepsOtherFiles
    }

    /// Why `url` is not a complete folder of this layout, or nil when it is.
    public func mismatch(at url: URL) -> String? {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: url.path) else { return "it cannot be read" }
        for file in required where !fm.fileExists(atPath: url.appendingPathComponent(file).path) {
            return "it has no \(file)"
        }
        var subfolderCount = 0
        for entry in names.sorted() where !AtomicFile.isTemporaryName(entry) {
            let path = url.appendingPathComponent(entry)
            var isDirectory: ObjCBool = false
            _ = fm.fileExists(atPath: path.path, isDirectory: &isDirectory)
            if isDirectory.boolValue {
                if let sub = subfolders.first(where: { Self.matches(entry, $0.pattern) }) {
                    if let why = sub.layout.value.mismatch(at: path) { return "\(entry)/ is not \(sub.layout.value.name): \(why)" }
                    subfolderCount += 1
                } else if !keepsOtherFiles {
                    return "it holds a folder \(entry)/ that hrm does not write there"
                }
            } else if !required.contains(entry) && !optional.contains(entry) && !keepsOtherFiles {
                return "it holds a file \(entry) that hrm does not write there"
            }
        }
        if subfolderCount < minimumSubfolders { return "it has no \(subfolders.first.map { $0.layout.value.name } ?? "subfolder")" }
        return nil
    }

    private static func matches(_ name: String, _ pattern: String) -> Bool {
        pattern.hasSuffix("*") ? name.hasPrefix(pattern.dropLast()) : name == pattern
    }
}

/// A reference to a layout, so layouts can nest.
public final class FolderLayoutBox: @unchecked Sendable {
    public let value: FolderLayout
    init(_ value: FolderLayout) { self.value = value }
}

/// An output that exists and may not be replaced.
public enum OutputError: Error, CustomStringConvertible, Equatable {
    /// The target exists; `option` is the flag that allows replacing it.
    case exists(path: String, what: String, option: String)
    /// `--force` was given, but the target is not something hrm wrote.
    case notReplaceable(path: String, what: String, reason: String)

    public var description: String {
        switch self {
        case .exists(let path, let what, let option):
            return "\(path) already exists; hrm never overwrites what it did not write: choose another path, or give \(option) to replace it if it is \(what) written by hrm."
        case .notReplaceable(let path, let what, let reason):
            return "\(path) is not \(what) written by hrm (\(reason)), so --force does not replace it: move it away or choose another path."
        }
    }
}

/// The one policy for everything hrm writes: an existing target is refused unless `--force` is
/// given and the target is a complete output of the same kind written by hrm; a folder is built
/// beside its target and renamed into place, so nothing is ever half-written under its name.
///
/// ```swift
/// try OutputTarget.checkFolder(out, layout: PuzzleDataset.layout, force: force)
/// let staging = try OutputTarget.makeStaging(for: out) // write everything here, then
/// try OutputTarget.install(staging, at: out)           // rename it into place
/// ```
public enum OutputTarget {
    /// Checks that `url` may be written as a folder of `layout`.
    /// - Returns: whether the folder exists (and so will be replaced).
    /// - Throws: `OutputError` naming the folder and the option.
    @discardableResult
    public static func checkFolder(_ url: URL, layout: FolderLayout, force: Bool, option: String = "--force") throws -> Bool {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return false }
        // An empty folder (made with mkdir for the purpose) holds nothing to lose.
        if isDirectory.boolValue, (try? FileManager.default.contentsOfDirectory(atPath: url.path))?.isEmpty == true { return false }
        guard force else { throw OutputError.exists(path: url.path, what: layout.name, option: option) }
        guard isDirectory.boolValue else {
            throw OutputError.notReplaceable(path: url.path, what: layout.name, reason: "it is a file, not a folder")
        }
        if let why = layout.mismatch(at: url) {
            throw OutputError.notReplaceable(path: url.path, what: layout.name, reason: why)
        }
        return true
    }

    /// Checks that `url` may be written as a file: absent, or `force` and `isOurs(url)` (a file
    /// hrm wrote: a dump it recognises, its own SVG).
    @discardableResult
    public static func checkFile(_ url: URL, what: String, force: Bool, option: String = "--force",
                                 isOurs: (URL) -> Bool) throws -> Bool {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return false }
        guard force else { throw OutputError.exists(path: url.path, what: what, option: option) }
        guard !isDirectory.boolValue else {
            throw OutputError.notReplaceable(path: url.path, what: what, reason: "it is a folder")
        }
        guard isOurs(url) else {
            throw OutputError.notReplaceable(path: url.path, what: what, reason: "its contents are not what hrm writes there")
        }
        return true
    }

    /// Creates an empty folder to build a new `target` in: beside it, under a temporary name of
    /// hrm's own (a stale one of this process is removed first).
    public static func makeStaging(for target: URL) throws -> URL {
        let fm = FileManager.default
        let staging = AtomicFile.temporaryURL(for: target.standardizedFileURL)
        try? fm.removeItem(at: staging)
        do {
            try fm.createDirectory(at: staging, withIntermediateDirectories: true)
        } catch {
            throw FileWriteError(path: staging.deletingLastPathComponent().path, reason: "creating a folder: \(error.localizedDescription)")
        }
        return staging
    }

    /// Moves a fully written `staging` folder to `target`, flushed to disk first. An existing
    /// `target` (already checked with `checkFolder`) is moved aside, replaced, then removed; a
    /// layout that `keepsOtherFiles` has those files copied into the new folder first.
    public static func install(_ staging: URL, at target: URL, keepingOthersOf layout: FolderLayout? = nil) throws {
        let fm = FileManager.default
        let target = target.standardizedFileURL
        do {
            if let layout, layout.keepsOtherFiles, fm.fileExists(atPath: target.path) {
                for name in try fm.contentsOfDirectory(atPath: target.path)
                where !AtomicFile.isTemporaryName(name) && !fm.fileExists(atPath: staging.appendingPathComponent(name).path) {
                    try fm.copyItem(at: target.appendingPathComponent(name), to: staging.appendingPathComponent(name))
                }
            }
            try AtomicFile.syncTree(staging)
            if fm.fileExists(atPath: target.path) {
                let old = try moveAside(target)
                guard rename(staging.path, target.path) == 0 else {
                    let failure = FileWriteError.fromErrno(target.path, doing: "renaming into place")
                    _ = rename(old.path, target.path)
                    throw failure
                }
                try? fm.removeItem(at: old)
            } else {
                guard rename(staging.path, target.path) == 0 else { throw FileWriteError.fromErrno(target.path, doing: "renaming into place") }
            }
            try AtomicFile.syncDirectory(target.deletingLastPathComponent())
        } catch {
            try? fm.removeItem(at: staging)
            throw error
        }
    }

    /// Removes a folder already checked with `checkFolder` (moved aside first, so a crash never
    /// leaves it half-deleted under its name).
    public static func remove(_ target: URL) throws {
        try FileManager.default.removeItem(at: try moveAside(target.standardizedFileURL))
    }

    /// Renames `target` to its aside name (`AtomicFile.asideURL`) and returns that name.
    private static func moveAside(_ target: URL) throws -> URL {
        let old = AtomicFile.asideURL(for: target)
        try? FileManager.default.removeItem(at: old)
        guard rename(target.path, old.path) == 0 else { throw FileWriteError.fromErrno(target.path, doing: "moving the old folder aside") }
        return old
    }
}
