import ArgumentParser
import Foundation
import Application
import Models
import Reasoning
import Training
@testable import HRMCommand
import Puzzles
import Tensors
import TestSupport
import Testing

/// Every command that writes refuses an existing target it did not create; `--force` replaces
/// only an output of the same kind written by hrm, never a user's files.
@Suite struct OutputSafetyTests {
    init() { _ = lineBufferedOutput }

    static let arcTasks = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../PuzzlesTests/Fixtures/arc/arc-agi-1").standardized

    /// One command that writes `target` (a folder or a file), with its inputs made in `dir`.
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let isFile: Bool
        /// The arguments that write to `target`; `dir` holds what the command reads.
        let arguments: @Sendable (_ dir: URL, _ target: URL) throws -> [String]
        /// The target, given the path the case passes (plot writes RUN/curves.svg).
        var target: @Sendable (URL) -> URL = { $0 }
        var testDescription: String { name }
    }

    static func sudoku4(in dir: URL) throws -> URL {
        let url = dir.appendingPathComponent("data4")
        if !FileManager.default.fileExists(atPath: url.path) {
            let splits = SmallSudokuGenerator.generateSplits(SmallSudokuGenerator(size: 4, blanks: 2...6), count: 32, testCount: 4, seed: 2)
            try SudokuDataset.build(size: 4, train: splits.train, test: splits.test).write(to: url)
        }
        return url
    }

    static func checkpoint(in dir: URL, sequence: Int = 81, vocabulary: Int = 11) throws -> URL {
        let url = dir.appendingPathComponent("ckpt-\(sequence).safetensors")
        var rng = RandomGenerator(seed: 1)
        var config = HRMConfiguration.tiny
        (config.sequenceLength, config.vocabularySize) = (sequence, vocabulary)
        try Checkpoint.save(HierarchicalReasoningModel(configuration: config, using: &rng), to: url)
        return url
    }

    /// A tiny HRM for `sudoku4`'s data.
    static func sudoku4Checkpoint(in dir: URL) throws -> URL {
        let metadata = try PuzzleDataset.read(from: try sudoku4(in: dir)).splits["test"]!.metadata
        return try checkpoint(in: dir, sequence: metadata.sequenceLength, vocabulary: metadata.vocabularySize)
    }

    static let cases: [Case] = [
        Case(name: "data sudoku", isFile: false) { _, t in
            ["data", "sudoku", "--size", "4", "--out", t.path, "--count", "20", "--test-count", "4"] },
        Case(name: "data maze", isFile: false) { _, t in
            ["data", "maze", "--out", t.path, "--size", "7", "--min-path", "5", "--count", "3", "--test-count", "1"] },
        Case(name: "data arc", isFile: false) { _, t in
            ["data", "arc", "--out", t.path, "--tasks", arcTasks.path, "--augment", "1"] },
        Case(name: "train --out", isFile: false) { d, t in
            ["train", "--data", try sudoku4(in: d).path, "--config", "tiny", "--out", t.path,
             "global_batch_size=16", "epochs=1", "eval_interval=1", "eval_limit=4"] },
        Case(name: "export --out", isFile: false) { d, t in
            ["export", try checkpoint(in: d).path, "--out", t.path, "--summary", "stub"] },
        Case(name: "demo --out", isFile: false) { d, t in
            let model = d.appendingPathComponent("package")
            if !FileManager.default.fileExists(atPath: model.path) {
                try ModelPackage.create(from: try checkpoint(in: d), in: model, summary: "stub", commands: [])
            }
            return ["demo", "--out", t.path, "--model", model.path, "--puzzles", "2", "--skip-live", "--views", "1", "--rounds", "1"] },
        Case(name: "inspect forward --out", isFile: true) { d, t in
            let inputs = d.appendingPathComponent("x.npy")
            try NPY.write(NPYArray(shape: [1, 81], values: [Int32](repeating: 1, count: 81)), to: inputs)
            return ["inspect", "forward", "--checkpoint", try checkpoint(in: d).path, "--inputs", inputs.path, "--out", t.path] },
        Case(name: "eval --submission", isFile: true) { d, t in
            let data = d.appendingPathComponent("arc")
            if !FileManager.default.fileExists(atPath: data.path) {
                var rng = SplitMix(seed: 1)
                let tasks = try ARCDataset.loadTasks(from: [arcTasks]).filter(\.testToTestSplit).prefix(1)
                try ARCDataset.build(tasks: Array(tasks), augmentations: 0, using: &rng).write(to: data)
            }
            let metadata = try PuzzleDataset.read(from: data).splits["train"]!.metadata
            var rng = RandomGenerator(seed: 2)
            var config = HRMConfiguration.tiny
            (config.sequenceLength, config.vocabularySize, config.puzzleIdentifierCount) =
                (metadata.sequenceLength, metadata.vocabularySize, metadata.puzzleIdentifierCount)
            let model = d.appendingPathComponent("arc.safetensors")
            try Checkpoint.save(HierarchicalReasoningModel(configuration: config, using: &rng), to: model)
            return ["eval", "--checkpoint", model.path, "--data", data.path, "--submission", t.path, "--limit", "1", "--json"] },
        Case(name: "solve --html", isFile: true) { d, t in
            ["solve", "--checkpoint", try checkpoint(in: d).path, String(repeating: ".", count: 81), "--html", t.path] },
        Case(name: "view --out", isFile: true) { d, t in
            ["view", "--checkpoint", try checkpoint(in: d).path, String(repeating: ".", count: 81), "--out", t.path] },
        Case(name: "analyze convergence --out", isFile: true) { d, t in
            ["analyze", "convergence", "--checkpoint", try sudoku4Checkpoint(in: d).path, "--data", try sudoku4(in: d).path,
             "--out", t.path, "--limit", "2"] },
        Case(name: "analyze dimensionality --out", isFile: true) { d, t in
            ["analyze", "dimensionality", "--checkpoint", try sudoku4Checkpoint(in: d).path, "--data", try sudoku4(in: d).path,
             "--out", t.path, "--trajectories", "4", "--every", "2"] },
        Case(name: "analyze compute --out", isFile: true) { d, t in
            ["analyze", "compute", "--checkpoint", try sudoku4Checkpoint(in: d).path, "--data", try sudoku4(in: d).path,
             "--out", t.path, "--limit", "2", "--max-steps", "2"] },
        Case(name: "plot", isFile: true, arguments: { d, t in
            let run = t
            if !FileManager.default.fileExists(atPath: run.appendingPathComponent("config.json").path) {
                try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
                try Data("{}".utf8).write(to: run.appendingPathComponent("config.json"))
                try Data("{\"kind\":\"train\",\"step\":1,\"train/lm_loss\":1}\n".utf8).write(to: run.appendingPathComponent("metrics.jsonl"))
            }
            return ["plot", run.path] }, target: { $0.appendingPathComponent("curves.svg") }),
    ]

    func run(_ arguments: [String]) throws {
        var command = try HRMCommand.parseAsRoot(arguments)
        try command.run()
    }

    /// The error a command throws, as the CLI prints it (nil when it succeeds).
    func failure(_ arguments: [String]) -> String? {
        do { try run(arguments); return nil } catch { return HRMCommand.message(for: error) }
    }

    @Test(arguments: cases)
    func refusesWhatItDidNotWriteAndForceReplacesOnlyItsOwn(_ c: Case) throws {
        let dir = try temporaryDirectory("hrm-safety")
        // 1. A target holding the user's own bytes: refused, with and without --force; untouched.
        let given = dir.appendingPathComponent(c.name.replacingOccurrences(of: " ", with: "_") + "-mine")
        let mine = c.target(given)
        let precious = Data("the user's own work\n".utf8)
        if c.isFile {
            try FileManager.default.createDirectory(at: mine.deletingLastPathComponent(), withIntermediateDirectories: true)
            try precious.write(to: mine)
        } else {
            try FileManager.default.createDirectory(at: mine, withIntermediateDirectories: true)
            try precious.write(to: mine.appendingPathComponent("notes.txt"))
        }
        let arguments = try c.arguments(dir, given)
        let plain = try #require(failure(arguments), "\(c.name) wrote over an existing target")
        #expect(plain.contains(mine.path) && plain.contains("--force"), "\(plain)")
        let forced = try #require(failure(arguments + ["--force"]), "\(c.name) --force replaced the user's files")
        #expect(forced.contains(mine.path) && forced.contains("not"), "\(forced)")
        let kept = c.isFile ? mine : mine.appendingPathComponent("notes.txt")
        #expect(try Data(contentsOf: kept) == precious)

        // 2. Its own output: refused without --force, replaced with it.
        let ownGiven = dir.appendingPathComponent(c.name.replacingOccurrences(of: " ", with: "_") + "-own")
        let own = try c.arguments(dir, ownGiven)
        try run(own)
        let again = try #require(failure(own), "\(c.name) replaced its own output without --force")
        #expect(again.contains(c.target(ownGiven).path) && again.contains("--force"), "\(again)")
        try run(own + ["--force"])
        #expect(FileManager.default.fileExists(atPath: c.target(ownGiven).path))
    }
}
