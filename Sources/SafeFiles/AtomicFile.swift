import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file or folder that could not be written; the message names it and the system's reason.
public struct FileWriteError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    /// The error for the last failed system call (`errno`).
    static func fromErrno(_ path: String, doing what: String) -> FileWriteError {
        FileWriteError(path: path, reason: "\(what): \(String(cString: strerror(errno)))")
    }

    public var description: String {
        "\(path): cannot write (\(reason)); nothing under that name was changed."
    }
}

/// Writing files so that nothing is ever half-written under the final name, and a file that
/// replaces another is on disk before it does.
///
/// `write` puts the bytes in a temporary file beside the target (`.NAME.partial-PID`), flushes it
/// (`fsync`), renames it over the target (atomic on POSIX file systems) and flushes the folder, so
/// after a crash or `kill -9` at any instant the target holds either all of the old bytes or all
/// of the new ones, and after a power loss the same holds once `write` has returned.
///
/// ```swift
/// try AtomicFile.write(Data(json.utf8), to: runFolder.appendingPathComponent("config.json"))
/// ```
public enum AtomicFile {
    /// The temporary name `write` uses for `url` in this process.
    public static func temporaryURL(for url: URL) -> URL {
        url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)")
    }

    /// The name an existing `url` is moved aside to before it is replaced or removed
    /// (`OutputTarget`), so a crash never leaves it half-deleted under its own name.
    public static func asideURL(for url: URL) -> URL {
        url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).old-\(ProcessInfo.processInfo.processIdentifier)")
    }

    /// Whether `name` is a temporary name that `write` (or a folder staged by `OutputTarget`)
    /// uses: such files are hrm's own and may be removed.
    public static func isTemporaryName(_ name: String) -> Bool {
        name.hasPrefix(".") && (name.contains(".partial-") || name.contains(".old-"))
    }

    /// Writes `data` to `url` atomically and durably (see the type's documentation).
    /// - Throws: `FileWriteError` (a full disk, a read-only folder, …); the previous file, if
    ///   any, is left as it was and the temporary file is removed.
    public static func write(_ data: Data, to url: URL) throws {
        let temp = temporaryURL(for: url)
        let fd = open(temp.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw FileWriteError.fromErrno(url.path, doing: "creating a temporary file") }
        var failure: FileWriteError?
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var done = 0
            while done < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = .fromErrno(url.path, doing: "writing")
                    return
                }
                done += n
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = .fromErrno(url.path, doing: "flushing to disk") }
        if close(fd) != 0 && failure == nil { failure = .fromErrno(url.path, doing: "closing") }
        if failure == nil && rename(temp.path, url.path) != 0 { failure = .fromErrno(url.path, doing: "renaming into place") }
        if let failure {
            unlink(temp.path)
            throw failure
        }
        try syncDirectory(url.deletingLastPathComponent())
    }

    /// Flushes a folder's entries (new names, renames) to disk.
    public static func syncDirectory(_ url: URL) throws {
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw FileWriteError.fromErrno(url.path, doing: "opening the folder to flush it") }
        defer { close(fd) }
        // Some file systems refuse fsync on a folder (EINVAL); the rename is then as durable as
        // they make it.
        if fsync(fd) != 0 && errno != EINVAL && errno != EBADF {
            throw FileWriteError.fromErrno(url.path, doing: "flushing the folder to disk")
        }
    }

    /// Flushes every file and folder under `url` (a folder about to be renamed into place).
    public static func syncTree(_ url: URL) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return }
        if isDirectory.boolValue {
            for name in try fm.contentsOfDirectory(atPath: url.path) {
                try syncTree(url.appendingPathComponent(name))
            }
            try syncDirectory(url)
        } else {
            let fd = open(url.path, O_RDONLY)
            guard fd >= 0 else { throw FileWriteError.fromErrno(url.path, doing: "opening to flush it") }
            defer { close(fd) }
            if fsync(fd) != 0 { throw FileWriteError.fromErrno(url.path, doing: "flushing to disk") }
        }
    }
}
