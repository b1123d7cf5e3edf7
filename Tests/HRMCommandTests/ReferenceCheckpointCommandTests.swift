import ArgumentParser
import Foundation
import Testing
@testable import HRMCommand
import Models
import Puzzles
import Reasoning
import Tensors
import TestSupport
import Training

/// The reference's own checkpoint folders, used by the commands with no Python: the fixtures of
/// `tools/reference/make_torch_checkpoints.py` (torch.save files with all_config.yaml beside).
@Suite struct ReferenceCheckpointCommandTests {
    init() { _ = lineBufferedOutput }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("HRMTests/Fixtures/torch")

    func run(_ arguments: [String]) throws {
        var command = try HRMCommand.parseAsRoot(arguments)
        try command.run()
    }

    /// `hrm inspect forward` on the torch.save file matches the PyTorch forward recorded with it.
    @Test func inspectForwardReadsTheTorchFileAndMatchesPyTorch() throws {
        let dir = try temporaryDirectory("hrm-torch")
        let forward = try SafetensorsFile(contentsOf: Self.fixtures.appendingPathComponent("hrm/forward.safetensors"))
        let inputs = try forward.int32s("inputs"), ids = try forward.int32s("puzzle_identifiers")
        try NPY.write(NPYArray(shape: [ids.count, inputs.count / ids.count], values: inputs), to: dir.appendingPathComponent("x.npy"))
        try NPY.write(NPYArray(shape: [ids.count], values: ids), to: dir.appendingPathComponent("ids.npy"))
        try run(["inspect", "forward", "--checkpoint", Self.fixtures.appendingPathComponent("hrm/checkpoint").path,
                 "--inputs", dir.appendingPathComponent("x.npy").path, "--puzzle-ids", dir.appendingPathComponent("ids.npy").path,
                 "--steps", "2", "--out", dir.appendingPathComponent("dump.safetensors").path])
        let dump = try SafetensorsFile(contentsOf: dir.appendingPathComponent("dump.safetensors"))
        for name in ["logits.1", "q_halt.1", "logits.2", "q_continue.2"] {
            let got = try dump.tensor(name).scalars, want = try forward.tensor(name).scalars
            let scale = want.map(abs).max()!
            #expect(zip(got, want).allSatisfy { abs($0 - $1) <= 1e-4 * scale }, "\(name)")
        }
    }

    /// `hrm convert` writes our checkpoint, which loads alone and equals the torch file's model;
    /// an existing output is refused, and only one of ours is replaced with --force.
    @Test func convertWritesACheckpointThatLoadsWithoutTheYAML() throws {
        let dir = try temporaryDirectory("hrm-convert")
        let out = dir.appendingPathComponent("model.safetensors")
        let source = Self.fixtures.appendingPathComponent("hrm-legacy/checkpoint")
        #expect(throws: (any Error).self) { try run(["convert", source.path, "--out", out.path]) }  // RoPE: no length
        #expect(!FileManager.default.fileExists(atPath: out.path))
        try run(["convert", source.path, "--seq-len", "16", "--out", out.path])
        let converted = try Checkpoint.load(from: out)
        let direct = try Checkpoint.load(from: source, sequenceLength: 16)
        #expect(ModelConfiguration(of: converted) == ModelConfiguration(of: direct))
        for ((name, a), (_, b)) in zip(converted.namedParameters(), direct.namedParameters()) {
            #expect(a.scalars == b.scalars, "\(name)")
        }
        #expect(throws: (any Error).self) { try run(["convert", source.path, "--seq-len", "16", "--out", out.path]) }
        try run(["convert", source.path, "--seq-len", "16", "--out", out.path, "--force"])
        let foreign = dir.appendingPathComponent("notes.txt")
        try Data("mine".utf8).write(to: foreign)
        #expect(throws: (any Error).self) { try run(["convert", source.path, "--seq-len", "16", "--out", foreign.path, "--force"]) }
        #expect(try String(contentsOf: foreign, encoding: .utf8) == "mine")
    }

    /// The issue's "done when": `hrm eval --checkpoint <reference folder> --data <dataset>`, the
    /// length taken from the data. A 4×4 maze dataset has the fixture's seq_len 16 and vocab 6.
    @Test func evalRunsOnTheReferenceFolderWithItsLengthFromTheData() throws {
        let dir = try temporaryDirectory("hrm-torch-eval")
        func maze(_ rows: String) -> (puzzle: Maze, solution: Maze) {
            let solution = try! Maze(parsing: rows)
            return (solution.unsolved, solution)
        }
        let mazes = [maze("S o#\n#o #\n#oG#\n####"), maze("So #\n#o##\n#oG \n####"), maze("#S##\n#oo#\n##G#\n####")]
        try MazeDataset.build(train: mazes, test: mazes).write(to: dir.appendingPathComponent("data"))
        try run(["eval", "--checkpoint", Self.fixtures.appendingPathComponent("hrm").path,
                 "--data", dir.appendingPathComponent("data").path, "--json"])
        // A bad YAML is reported by file and field, not loaded half.
        let copy = dir.appendingPathComponent("copy")
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("hrm"), to: copy)
        let yaml = copy.appendingPathComponent("all_config.yaml")
        try (try String(contentsOf: yaml, encoding: .utf8)).replacingOccurrences(of: "num_heads: 2", with: "num_heads: many")
            .write(to: yaml, atomically: true, encoding: .utf8)
        do {
            try run(["eval", "--checkpoint", copy.path, "--data", dir.appendingPathComponent("data").path])
            Issue.record("a bad all_config.yaml was accepted")
        } catch {
            #expect("\(error)".contains("all_config.yaml: invalid configuration: field 'arch.num_heads'"), "\(error)")
        }
    }
}
