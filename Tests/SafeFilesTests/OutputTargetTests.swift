import Foundation
import SafeFiles
import TestSupport
import Testing

@Suite struct OutputTargetTests {
    static let layout = FolderLayout(name: "a thing", required: ["a.json"], optional: ["b.bin"])

    @Test func atomicWriteReplacesWholeAndLeavesNoTemporaryFile() throws {
        let dir = try temporaryDirectory()
        let url = dir.appendingPathComponent("f.txt")
        try AtomicFile.write(Data("old".utf8), to: url)
        try AtomicFile.write(Data("new bytes".utf8), to: url)
        #expect(try String(contentsOf: url, encoding: .utf8) == "new bytes")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["f.txt"])
    }

    @Test func anExistingFolderIsRefusedWithoutForce() throws {
        let dir = try temporaryDirectory()
        try Data().write(to: dir.appendingPathComponent("a.json"))
        #expect(throws: OutputError.exists(path: dir.path, what: "a thing", option: "--force")) {
            try OutputTarget.checkFolder(dir, layout: Self.layout, force: false)
        }
        #expect(try OutputTarget.checkFolder(dir, layout: Self.layout, force: true))
    }

    @Test func forceRefusesAFolderHoldingAnotherFile() throws {
        let dir = try temporaryDirectory()
        try Data().write(to: dir.appendingPathComponent("a.json"))
        try Data("mine".utf8).write(to: dir.appendingPathComponent("thesis.tex"))
        #expect(throws: OutputError.self) { try OutputTarget.checkFolder(dir, layout: Self.layout, force: true) }
        let incomplete = try temporaryDirectory()
        try Data().write(to: incomplete.appendingPathComponent("b.bin"))
        #expect(throws: OutputError.self) { try OutputTarget.checkFolder(incomplete, layout: Self.layout, force: true) }
    }

    @Test func installReplacesTheFolderWhole() throws {
        let parent = try temporaryDirectory()
        let target = parent.appendingPathComponent("out")
        for content in ["first", "second"] {
            let staging = try OutputTarget.makeStaging(for: target)
            try Data(content.utf8).write(to: staging.appendingPathComponent("a.json"))
            try OutputTarget.install(staging, at: target)
        }
        #expect(try String(contentsOf: target.appendingPathComponent("a.json"), encoding: .utf8) == "second")
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path) == ["out"])
    }

    /// A full disk: a real 64 KiB tmpfs (needs root; skipped with the reason otherwise).
    @Test func aFullDiskIsAnErrorAndKeepsTheOldFile() throws {
        guard let mount = try SmallMount.make(kilobytes: 64) else { return }
        defer { mount.remove() }
        let url = mount.url.appendingPathComponent("f.bin")
        try AtomicFile.write(Data("old".utf8), to: url)
        #expect(throws: FileWriteError.self) { try AtomicFile.write(Data(count: 1 << 20), to: url) }
        #expect(try String(contentsOf: url, encoding: .utf8) == "old")
        #expect(try FileManager.default.contentsOfDirectory(atPath: mount.url.path) == ["f.bin"])
    }
}
