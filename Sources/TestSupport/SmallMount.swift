import Foundation

/// A small tmpfs mounted for a test (a full disk, a read-only folder), or nil with a printed
/// reason where this process may not mount (not root, no mount(8)).
public struct SmallMount {
    public let url: URL

    public static func make(kilobytes: Int) throws -> SmallMount? {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hrm-mount-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        guard run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(kilobytes)k", "tmpfs", url.path]) else {
            try? FileManager.default.removeItem(at: url)
            print("skipped: cannot mount a tmpfs here (needs root); the full-disk and read-only checks did not run")
            return nil
        }
        return SmallMount(url: url)
    }

    /// Makes the mount read-only (for root too: permissions alone do not stop root).
    public func makeReadOnly() -> Bool { Self.run("/bin/mount", ["-o", "remount,ro", url.path]) }

    /// Fills what space is left with one file, so the next write fails with ENOSPC.
    public func fill() throws {
        let filler = url.appendingPathComponent("filler")
        FileManager.default.createFile(atPath: filler.path, contents: nil)
        let handle = try FileHandle(forWritingTo: filler)
        defer { try? handle.close() }
        let chunk = Data(count: 64 << 10)
        while (try? handle.write(contentsOf: chunk)) != nil {}
        let small = Data(count: 512)
        while (try? handle.write(contentsOf: small)) != nil {}
        try? handle.synchronize()
    }

    public func remove() {
        _ = Self.run("/bin/umount", [url.path])
        try? FileManager.default.removeItem(at: url)
    }

    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) -> Bool {
        guard FileManager.default.isExecutableFile(atPath: tool) else { return false }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }
}
