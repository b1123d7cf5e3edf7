import Foundation
import Application
import Models
import Reasoning
import Training
import Puzzles
import SafeFiles
import Tensors
import TestSupport
import Testing

/// A checkpoint is one unit: whatever instant a run dies at, it resumes exactly or says why not.
@Suite struct RunReliabilityTests {
    /// A run stopped after `steps` steps (a checkpoint written), and the uninterrupted run's
    /// metrics and weights.
    static func interrupted(in dir: URL, after steps: Int) throws -> (run: URL, metrics: String, weights: [[Float]]) {
        let data = try EndToEndTests.dataset(in: dir)
        let config = try EndToEndTests.configuration(data: data)
        let dataset = try PuzzleDataset.read(from: data)
        let straight = try TrainingRun(newRunIn: dir.appendingPathComponent("straight"), configuration: config, dataset: dataset)
        try straight.run()
        let metrics = try String(contentsOf: dir.appendingPathComponent("straight/metrics.jsonl"), encoding: .utf8)
        let first = try TrainingRun(newRunIn: dir.appendingPathComponent("split"), configuration: config, dataset: dataset)
        var done = 0
        try first.run(shouldStop: { done >= steps }) { if case .step = $0 { done += 1 } }
        return (dir.appendingPathComponent("split"), metrics, straight.trainer.model.namedParameters().map(\.tensor.scalars))
    }

    /// The old layout's failure: a kill between the two files left model.safetensors from one
    /// step beside state.safetensors from another. Now the state alone is the checkpoint, so a
    /// newer model.safetensors beside it changes nothing.
    @Test func aKillBetweenTheTwoFilesStillResumesExactly() throws {
        let dir = try temporaryDirectory()
        let (run, metrics, weights) = try Self.interrupted(in: dir, after: 5)
        let stateURL = run.appendingPathComponent("state.safetensors")
        let stepFive = try Data(contentsOf: stateURL)
        // Three more steps: model.safetensors and state.safetensors now hold step 8 ...
        let later = try TrainingRun(resuming: run)
        var done = 0
        try later.run(shouldStop: { done >= 3 }) { if case .step = $0 { done += 1 } }
        #expect(later.trainer.step == 8)
        // ... and the state goes back to step 5, as if the kill came between the two files.
        try stepFive.write(to: stateURL)
        let resumed = try TrainingRun(resuming: run)
        #expect(resumed.trainer.step == 5)
        try resumed.run()
        #expect(try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8) == metrics)
        #expect(resumed.trainer.model.namedParameters().map(\.tensor.scalars) == weights)
    }

    @Test func aStateOfAnotherConfigurationIsRefused() throws {
        let dir = try temporaryDirectory()
        let (run, _, _) = try Self.interrupted(in: dir, after: 3)
        let configURL = run.appendingPathComponent("config.json")
        let text = try String(contentsOf: configURL, encoding: .utf8)
        try text.replacingOccurrences(of: "\"log_interval\" : 2", with: "\"log_interval\" : 3").write(to: configURL, atomically: true, encoding: .utf8)
        #expect(throws: RunError.self) { _ = try TrainingRun(resuming: run) }
        let before = try Data(contentsOf: run.appendingPathComponent("state.safetensors"))
        try text.write(to: configURL, atomically: true, encoding: .utf8)
        // A damaged state is refused and left as it is.
        let state = run.appendingPathComponent("state.safetensors")
        try before.prefix(before.count / 2).write(to: state)
        #expect(throws: RunError.self) { _ = try TrainingRun(resuming: run) }
        #expect(try Data(contentsOf: state).count == before.count / 2)
    }

    /// Runs written before (format 1: weights only in model.safetensors) still resume, and a
    /// mismatched pair of that layout is refused with one sentence.
    @Test func aFormatOneRunResumesAndAMismatchedPairIsRefused() throws {
        let dir = try temporaryDirectory()
        let (run, metrics, _) = try Self.interrupted(in: dir, after: 5)
        let state = try SafetensorsFile(contentsOf: run.appendingPathComponent("state.safetensors"))
        var writer = SafetensorsWriter()
        for name in state.entries.keys where !name.hasPrefix(TrainingState.modelPrefix) {
            if state.entries[name]!.dtype == "I32" {
                writer.add(name, int32s: try state.int32s(name), shape: state.entries[name]!.shape)
            } else {
                writer.add(name, try state.tensor(name))
            }
        }
        writer.metadata = state.metadata.filter { $0.key != "run_config" }
        writer.metadata["format"] = "swift-hrm training state 1"
        try writer.write(to: run.appendingPathComponent("state.safetensors"))
        let resumed = try TrainingRun(resuming: run)
        #expect(resumed.trainer.step == 5)
        try resumed.run()
        #expect(try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8) == metrics)

        // The same old-format state beside weights of another step: refused.
        try writer.write(to: run.appendingPathComponent("state.safetensors"))
        #expect {
            _ = try TrainingRun(resuming: run)
        } throws: { error in
            "\(error)".contains("from different checkpoints")
        }
    }

    /// A full disk or a read-only run folder during a checkpoint: a clear error, and the
    /// previous checkpoint intact (a real tmpfs; skipped with the reason where it cannot mount).
    @Test(arguments: ["full", "read-only"])
    func aRefusingDiskKeepsThePreviousCheckpoint(_ how: String) throws {
        let dir = try temporaryDirectory()
        let data = try EndToEndTests.dataset(in: dir)
        let config = try EndToEndTests.configuration(data: data)
        let dataset = try PuzzleDataset.read(from: data)
        guard let mount = try SmallMount.make(kilobytes: 8192) else { return }
        defer { mount.remove() }
        let runURL = mount.url.appendingPathComponent("run")
        let run = try TrainingRun(newRunIn: runURL, configuration: config, dataset: dataset)
        var done = 0
        try run.run(shouldStop: { done >= 2 }) { if case .step = $0 { done += 1 } }
        let before = try Data(contentsOf: runURL.appendingPathComponent("state.safetensors"))
        if how == "read-only" {
            #expect(mount.makeReadOnly())
        } else {
            try mount.fill()
        }
        let next = try TrainingRun(resuming: runURL)
        done = 0
        #expect(throws: FileWriteError.self) {
            try next.run(shouldStop: { done >= 2 }) { if case .step = $0 { done += 1 } }
        }
        #expect(try Data(contentsOf: runURL.appendingPathComponent("state.safetensors")) == before)
        if how == "full" { try FileManager.default.removeItem(at: mount.url.appendingPathComponent("filler")) }
        #expect(try TrainingRun(resuming: runURL).trainer.step == 2)
    }

    /// `--init` weights of another shape: refused before the run folder exists.
    @Test func initialWeightsOfAnotherShapeCreateNothing() throws {
        let dir = try temporaryDirectory()
        let data = try EndToEndTests.dataset(in: dir)
        let config = try EndToEndTests.configuration(data: data)
        var other = config.model
        other.setDataSizes(sequenceLength: 16, vocabularySize: 6, puzzleIdentifierCount: 1, batchSize: 1)
        var rng = RandomGenerator(seed: 1)
        let wrong = other.makeModel(using: &rng)
        let out = dir.appendingPathComponent("run")
        #expect(throws: RunError.self) {
            _ = try TrainingRun(newRunIn: out, configuration: config, dataset: try PuzzleDataset.read(from: data), initialWeights: wrong)
        }
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }
}
