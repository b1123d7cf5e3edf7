import ArgumentParser
import Foundation
import Testing
@testable import HRMCommand
import Application
import Models
import Reasoning
import Training
import Puzzles
import Tensors
import TestSupport

/// Commands print; line-buffer standard output so their lines come out before the test runner's
/// closing summary instead of being flushed after it at exit.
let lineBufferedOutput: Void = { setvbuf(stdout, nil, _IOLBF, 0) }()

@Suite struct CommandTests {
    init() { _ = lineBufferedOutput }

    @Test func benchKernelsParsesItsOptions() throws {
        let command = try HRMCommand.parseAsRoot(["bench", "kernels", "--batch", "8,64", "--samples", "3", "--json"])
        let kernels = try #require(command as? KernelsCommand)
        #expect(kernels.batch == "8,64" && kernels.samples == 3 && kernels.json)
    }

    @Test(arguments: [["bench", "kernels", "--batch", "0"], ["bench", "kernels", "--batch", "8,x"],
                      ["bench", "kernels", "--samples", "0"]])
    func badBenchOptionsAreRejected(_ arguments: [String]) {
        #expect(throws: (any Error).self) { try HRMCommand.parseAsRoot(arguments) }
    }

    @Test(arguments: [["bench", "model", "--preset", "nope"], ["bench", "model", "--batch", "0"],
                      ["bench", "model", "--precision", "fp16"], ["bench", "model", "--mode", "infer"],
                      ["bench", "model", "--repeat", "0"]])
    func badModelBenchOptionsAreRejected(_ arguments: [String]) {
        #expect(throws: (any Error).self) { try HRMCommand.parseAsRoot(arguments) }
    }

    /// bf16 is refused with the reason where oneDNN cannot run it (never silently fp32), and
    /// accepted where it can.
    @Test func bf16BenchIsRefusedWhereItCannotRun() throws {
        let arguments = ["bench", "model", "--preset", "tiny", "--precision", "bf16"]
        if let reason = GEMM.unavailability(of: .bf16(.oneDNN)) {
            do {
                _ = try HRMCommand.parseAsRoot(arguments)
                Issue.record("bf16 accepted although: \(reason)")
            } catch {
                let message = HRMCommand.message(for: error)
                #expect(message.contains(reason) && message.contains("Nothing is run in its place"), "\(message)")
            }
        } else {
            #expect(try HRMCommand.parseAsRoot(arguments) is ModelBenchCommand)
        }
    }

    /// A mixed-precision benchmark runs and labels its results (emulated, so on any CPU).
    @Test func modelBenchRunsInEmulatedBF16() {
        var results: [ModelBenchmarkResult] = []
        ModelBenchmark(presetName: "tiny", configuration: .hrm(.tiny), batches: [2], modes: ["train", "eval"],
                       repeats: 1, precision: .bf16(.emulated)).run { results.append($0) }
        #expect(results.map(\.mode) == ["train", "eval"])
        #expect(results.allSatisfy { $0.precision == "bf16-emulated" && $0.samplesPerSecond > 0 && $0.gflops > 0 })
        #expect(GEMM.precision == .fp32, "the precision does not leak out of the benchmark")
    }

    @Test func inspectForwardRequiresItsFiles() throws {
        #expect(throws: (any Error).self) { try HRMCommand.parseAsRoot(["inspect", "forward", "--inputs", "x.npy"]) }
        let parsed = try HRMCommand.parseAsRoot(["inspect", "forward", "--checkpoint", "m.safetensors",
                                                 "--inputs", "x.npy", "--out", "o.safetensors", "--steps", "4"])
        let forward = try #require(parsed as? ForwardCommand)
        #expect(forward.steps == 4 && forward.puzzleIds == nil && forward.config == nil)
    }

    @Test func helpShowsAnExampleForEveryCommand() {
        for command: ParsableCommand.Type in [KernelsCommand.self, ForwardCommand.self] {
            let help = command.helpMessage()
            #expect(help.contains("Example:"), "\(command)")
        }
        #expect(HRMCommand.helpMessage().contains("bench") && HRMCommand.helpMessage().contains("inspect"))
    }

    @Test func errorMessagesNameTheFile() throws {
        var forward = try #require(try HRMCommand.parseAsRoot(
            ["inspect", "forward", "--checkpoint", "/nonexistent/m.safetensors", "--inputs", "x.npy",
             "--out", "/tmp/o.safetensors"]) as? ForwardCommand)
        do {
            try forward.run()
            Issue.record("a missing checkpoint must fail")
        } catch {
            #expect("\(error)".contains("/nonexistent/m.safetensors"))
        }
    }
}

@Suite struct InspectForwardTests {
    init() { _ = lineBufferedOutput }

    @Test func dumpsEveryStepOfACheckpointWrittenByTheModel() throws {
        let dir = try temporaryDirectory("hrm-inspect")
        var rng = RandomGenerator(seed: 11)
        let model = HierarchicalReasoningModel(configuration: .tiny, using: &rng)
        try Checkpoint.save(model, to: dir.appendingPathComponent("m.safetensors"))
        let tokens = (0..<32).map { Int32($0 % 11) }
        try NPY.write(NPYArray(shape: [2, 16], values: tokens), to: dir.appendingPathComponent("x.npy"))

        var command = try #require(try HRMCommand.parseAsRoot(
            ["inspect", "forward", "--checkpoint", dir.appendingPathComponent("m.safetensors").path,
             "--inputs", dir.appendingPathComponent("x.npy").path, "--steps", "2",
             "--out", dir.appendingPathComponent("dump.safetensors").path]) as? ForwardCommand)
        try command.run()

        let dump = try SafetensorsFile(contentsOf: dir.appendingPathComponent("dump.safetensors"))
        #expect(Set(dump.entries.keys) == ["logits.1", "q_halt.1", "q_continue.1", "logits.2", "q_halt.2", "q_continue.2"])
        #expect(dump.entries["logits.2"]?.shape == [2, 16, 11])
        let direct = ForwardDump.run(model: model, inputs: tokens, puzzleIdentifiers: [0, 0], steps: 2)
        for (name, tensor) in direct {
            #expect(try dump.tensor(name).scalars == tensor.scalars, "\(name)")
        }
    }

    @Test func inputsThatDoNotFitTheModelAreRejected() {
        let p = ForwardDump.problems(inputs: [0, 1, 20], shape: [1, 3], puzzleIdentifiers: [0],
                                     configuration: HRMConfiguration.tiny)
        #expect(p == ["inputs must be [batch, 16] token ids (the model's seq_len); found shape [1, 3]"])
        let q = ForwardDump.problems(inputs: Array(repeating: 12, count: 16), shape: [1, 16],
                                     puzzleIdentifiers: [5], configuration: HRMConfiguration.tiny)
        #expect(q.count == 2 && q[0].contains("token 12") && q[1].contains("puzzle id 5"))
    }
}

@Suite struct DataCommandTests {
    init() { _ = lineBufferedOutput }

    func run(_ arguments: [String]) throws {
        var command = try HRMCommand.parseAsRoot(arguments)
        try command.run()
    }

    func bytes(_ dir: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for split in ["train", "test"] {
            for f in try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent(split).path) {
                out["\(split)/\(f)"] = try Data(contentsOf: dir.appendingPathComponent("\(split)/\(f)"))
            }
        }
        return out
    }

    @Test func theSameSeedGivesTheSameBytes() throws {
        let dir = try temporaryDirectory()
        for name in ["a", "b"] {
            try run(["data", "sudoku", "--out", dir.appendingPathComponent(name).path, "--count", "6",
                     "--test-count", "2", "--augment", "3", "--seed", "7"])
            try run(["data", "maze", "--out", dir.appendingPathComponent("m" + name).path, "--size", "11",
                     "--min-path", "15", "--count", "4", "--test-count", "2", "--seed", "7"])
        }
        #expect(try bytes(dir.appendingPathComponent("a")) == bytes(dir.appendingPathComponent("b")))
        #expect(try bytes(dir.appendingPathComponent("ma")) == bytes(dir.appendingPathComponent("mb")))
        try run(["data", "sudoku", "--out", dir.appendingPathComponent("c").path, "--count", "6",
                 "--test-count", "2", "--augment", "3", "--seed", "8"])
        #expect(try bytes(dir.appendingPathComponent("a")) != bytes(dir.appendingPathComponent("c")))
    }

    @Test func aFailedBuildLeavesNothingBehind() throws {
        let dir = try temporaryDirectory()
        let csv = dir.appendingPathComponent("bad.csv")
        try "source,question,answer,rating\nx,123,456,1\n".write(to: csv, atomically: true, encoding: .utf8)
        #expect(throws: PuzzleFormatError.self) {
            try run(["data", "sudoku", "--out", dir.appendingPathComponent("out").path, "--from-csv", csv.path])
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["bad.csv"])
    }

    @Test func dataOptionsAreValidated() {
        for arguments in [["data", "sudoku", "--out", "x", "--clues", "12"],
                          ["data", "maze", "--out", "x", "--size", "40"],
                          ["data", "maze", "--out", "x", "--size", "9", "--min-path", "500"],
                          ["data", "show", "x", "--split", "dev"],
                          ["data", "arc", "--out", "x"]] {
            #expect(throws: (any Error).self, "\(arguments)") { try HRMCommand.parseAsRoot(arguments) }
        }
        for command: ParsableCommand.Type in [SudokuDataCommand.self, MazeDataCommand.self, ARCDataCommand.self,
                                              ShowDataCommand.self, SudokuBenchCommand.self, TrainCommand.self,
                                              EvalCommand.self, SolveCommand.self, PlotCommand.self] {
            #expect(command.helpMessage().contains("Example"), "\(command)")
        }
    }
}

@Suite struct TrainEvalSolveCommandTests {
    init() { _ = lineBufferedOutput }

    @Test func argumentsAreChecked() throws {
        #expect(throws: (any Error).self) { try HRMCommand.parseAsRoot(["train", "--data", "d"]) }          // no --out
        #expect(throws: (any Error).self) { try HRMCommand.parseAsRoot(["train", "--resume", "r", "lr=1"]) }
        #expect(throws: (any Error).self) { try HRMCommand.parseAsRoot(["eval", "--checkpoint", "c", "--data", "d", "--halt", "soon"]) }
        #expect(throws: (any Error).self) { try HRMCommand.parseAsRoot(["eval", "--checkpoint", "c", "--data", "d", "--max-steps", "0"]) }
        #expect(throws: (any Error).self) { try HRMCommand.parseAsRoot(["eval", "--checkpoint", "c", "--data", "d", "--halt-margin", "2"]) }  // needs --halt early
        #expect(throws: (any Error).self) { try HRMCommand.parseAsRoot(["eval", "--checkpoint", "c", "--data", "d", "--halt", "early", "--halt-margin", "nan"]) }
        #expect(try HRMCommand.parseAsRoot(["eval", "--checkpoint", "c", "--data", "d", "--halt", "early", "--halt-margin", "2"]) is EvalCommand)
        #expect(throws: (any Error).self) { try HRMCommand.parseAsRoot(["solve", String(repeating: ".", count: 81), "--halt-margin", "2"]) }  // needs --halt early
        let surer = try #require(try HRMCommand.parseAsRoot(["solve", String(repeating: ".", count: 81), "--halt", "early", "--halt-margin", "2"]) as? SolveCommand)
        #expect(surer.halt.answer(margin: surer.haltMargin) == .firstHalt(margin: 2))
        let solve = try #require(try HRMCommand.parseAsRoot(["solve", String(repeating: ".", count: 81)]) as? SolveCommand)
        #expect(solve.checkpoint == nil, "without --checkpoint a Sudoku goes to the shipped model")
        #expect(try shippedSudokuModel().hasSuffix("models/sudoku-9x9-trm"), "the TRM, found from the build folder")
        #expect(try loadModel("sudoku-9x9", config: nil).reasoningConfiguration.architecture == .hrm, "a shipped model by name")
        #expect(try loadModel("sudoku-9x9-trm", config: nil).reasoningConfiguration.architecture == .trm)
        #expect(try loadModel("maze-9x9", config: nil).reasoningConfiguration.sequenceLength == 81, "the shipped maze model by name")
        let train = try #require(try HRMCommand.parseAsRoot(["train", "--data", "d", "--out", "r", "lr=3e-4", "epochs=10"]) as? TrainCommand)
        #expect(train.overrides == ["lr=3e-4", "epochs=10"] && train.config == "sudoku-small")
    }

    /// Without --checkpoint a maze goes to the shipped maze model: a smaller maze is padded and
    /// solved, a larger one refused naming the model and its size; an ARC task is refused.
    @Test func aMazeWithoutACheckpointGoesToTheShippedMazeModel() throws {
        let dir = try temporaryDirectory("hrm-solve-maze")
        var rng = SplitMix(seed: 5)
        let small = MazeGenerator(size: 7, minimumPathLength: 6).generate(using: &rng).puzzle
        let smallFile = dir.appendingPathComponent("small.txt")
        try small.description.write(to: smallFile, atomically: true, encoding: .utf8)
        let page = dir.appendingPathComponent("small.html")
        var solve = try #require(try HRMCommand.parseAsRoot(["solve", smallFile.path, "--html", page.path]) as? SolveCommand)
        try solve.run()
        #expect(try String(contentsOf: page, encoding: .utf8).contains("\"kind\":\"maze\""))
        let big = MazeGenerator(size: 15, minimumPathLength: 20).generate(using: &rng).puzzle
        let bigFile = dir.appendingPathComponent("big.txt")
        try big.description.write(to: bigFile, atomically: true, encoding: .utf8)
        var refused = try #require(try HRMCommand.parseAsRoot(["solve", bigFile.path]) as? SolveCommand)
        do { try refused.run(); Issue.record("a 15×15 maze does not fit the shipped 9×9 model") } catch {
            #expect("\(error)".contains("15×15") && "\(error)".contains("maze-9x9") && "\(error)".contains("9×9"), "\(error)")
        }
        let task = dir.appendingPathComponent("task.json")
        try #"{"train": [], "test": []}"#.write(to: task, atomically: true, encoding: .utf8)
        var arc = try #require(try HRMCommand.parseAsRoot(["solve", task.path]) as? SolveCommand)
        do { try arc.run(); Issue.record("no ARC model ships") } catch { #expect("\(error)".contains("no ARC model ships"), "\(error)") }
    }

    /// A logged batch in which no sequence halted (count 0) has no accuracy or steps to draw:
    /// no point, where a 0 would be a false dip; its loss is still drawn.
    @Test func curvesSkipBatchesInWhichNothingHalted() {
        let rows: [[String: Any]] = [
            ["kind": "train", "step": 10, "train/count": 0, "train/lm_loss": 1.5, "train/accuracy": 0.0, "train/exact_accuracy": 0.0, "train/steps": 0.0],
            ["kind": "train", "step": 20, "train/count": 5, "train/lm_loss": 1.0, "train/accuracy": 0.5, "train/exact_accuracy": 0.25, "train/steps": 4.0],
            ["kind": "train", "step": 30, "train/count": 7, "train/lm_loss": 0.5, "train/accuracy": 0.75, "train/exact_accuracy": 0.5, "train/steps": 3.0],
        ]
        let svg = CurvePlot.svg(rows: rows, title: "t")
        let lines = svg.split(separator: "\n").filter { $0.hasPrefix("<polyline") }
        let points = lines.map { $0.split(separator: "\"")[7].split(separator: " ").count }
        #expect(points == [3, 2, 2, 2], "the loss keeps all three batches; the others drop the one where nothing halted: \(points)")
    }

    @Test func exportWritesAVerifiedPackage() throws {
        let dir = try temporaryDirectory("hrm-export")
        var rng = RandomGenerator(seed: 3)
        try Checkpoint.save(HierarchicalReasoningModel(configuration: .tiny, using: &rng), to: dir.appendingPathComponent("model.safetensors"))
        let out = dir.appendingPathComponent("pkg")
        var export = try #require(try HRMCommand.parseAsRoot(["export", dir.path, "--out", out.path, "--summary", "s",
                                                              "--command", "a", "--command", "b"]) as? ExportCommand)
        try export.run()
        #expect(try ModelPackage(directory: out).manifest.commands == ["a", "b"])
        var missing = try #require(try HRMCommand.parseAsRoot(["export", dir.appendingPathComponent("nope").path, "--out", out.path,
                                                               "--summary", "s"]) as? ExportCommand)
        #expect(throws: (any Error).self) { try missing.run() }
    }

    @Test func initStartsANewRunFromAnotherRunsWeights() throws {
        let dir = try temporaryDirectory("hrm-init")
        let data = dir.appendingPathComponent("data")
        let splits = SmallSudokuGenerator.generateSplits(SmallSudokuGenerator(size: 4, blanks: 2...6), count: 64, testCount: 8, seed: 2)
        try SudokuDataset.build(size: 4, train: splits.train, test: splits.test).write(to: data)
        func train(_ arguments: [String]) throws {
            var command = try #require(try HRMCommand.parseAsRoot(["train", "--data", data.path, "--config", "tiny"] + arguments
                + ["global_batch_size=16", "epochs=1", "eval_interval=1", "eval_limit=8"]) as? TrainCommand)
            try command.run()
        }
        try train(["--out", dir.appendingPathComponent("first").path])
        // With a zero learning rate the second run must end with exactly the first run's weights.
        try train(["--out", dir.appendingPathComponent("second").path, "--init", dir.appendingPathComponent("first").path,
                   "lr=0", "puzzle_emb_lr=0", "halt_max_steps=2"])
        let first = try Checkpoint.load(from: dir.appendingPathComponent("first/model.safetensors"))
        let second = try Checkpoint.load(from: dir.appendingPathComponent("second/model.safetensors"))
        #expect(second.reasoningConfiguration.haltMaxSteps == 2)
        for (a, b) in zip(first.namedParameters(), second.namedParameters()) {
            #expect(a.tensor.scalars == b.tensor.scalars, "\(a.name)")
        }
        // Another architecture is refused.
        #expect(throws: (any Error).self) {
            try train(["--out", dir.appendingPathComponent("third").path, "--init", dir.appendingPathComponent("first").path, "hidden_size=64"])
        }
        #expect(throws: (any Error).self) { try HRMCommand.parseAsRoot(["train", "--resume", "r", "--init", "x"]) }
    }

    /// --precision reaches the training step and the evaluation: the same seeded run in
    /// emulated bf16 ends with weights close to, but not equal to, the fp32 run's.
    @Test func trainAndEvalTakeAPrecision() throws {
        let dir = try temporaryDirectory("hrm-precision")
        let data = dir.appendingPathComponent("data")
        let splits = SmallSudokuGenerator.generateSplits(SmallSudokuGenerator(size: 4, blanks: 2...6), count: 64, testCount: 8, seed: 4)
        try SudokuDataset.build(size: 4, train: splits.train, test: splits.test).write(to: data)
        func train(_ name: String, _ precision: String) throws -> HierarchicalReasoningModel {
            var command = try #require(try HRMCommand.parseAsRoot(
                ["train", "--data", data.path, "--config", "tiny", "--out", dir.appendingPathComponent(name).path,
                 "--precision", precision, "global_batch_size=16", "epochs=2", "eval_interval=2", "eval_limit=8"]) as? TrainCommand)
            try command.run()
            return try Checkpoint.load(HierarchicalReasoningModel.self, from: dir.appendingPathComponent("\(name)/model.safetensors"))
        }
        let full = try train("fp32", "fp32"), mixed = try train("bf16", "bf16-emulated")
        var largest: Float = 0
        for (a, b) in zip(full.namedParameters(), mixed.namedParameters()) {
            for (x, y) in zip(a.tensor.scalars, b.tensor.scalars) { largest = max(largest, abs(x - y)) }
        }
        #expect(largest > 0, "bf16 training left the same weights as fp32: the precision did not reach it")
        #expect(largest < 0.05, "bf16 and fp32 training diverged by \(largest) in 8 steps")
        var eval = try #require(try HRMCommand.parseAsRoot(["eval", "--checkpoint", dir.appendingPathComponent("bf16").path,
                                                            "--data", data.path, "--precision", "bf16-emulated", "--json"]) as? EvalCommand)
        try eval.run()
        #expect(throws: (any Error).self) {
            try HRMCommand.parseAsRoot(["eval", "--checkpoint", "c", "--data", "d", "--precision", "fp8"])
        }
        // Views are for 9×9 Sudoku datasets only.
        var views = try #require(try HRMCommand.parseAsRoot(["eval", "--checkpoint", dir.appendingPathComponent("bf16").path,
                                                             "--data", data.path, "--views", "2"]) as? EvalCommand)
        do { try views.run(); Issue.record("--views on a 4×4 dataset") } catch {
            #expect("\(error)".contains("--views needs a 9×9 Sudoku dataset"))
        }
        var rounds = try #require(try HRMCommand.parseAsRoot(["eval", "--checkpoint", dir.appendingPathComponent("bf16").path,
                                                              "--data", data.path, "--rounds", "3"]) as? EvalCommand)
        do { try rounds.run(); Issue.record("--rounds on a 4×4 dataset") } catch {
            #expect("\(error)".contains("--rounds needs a 9×9 Sudoku dataset"))
        }
        #expect(throws: (any Error).self) { try HRMCommand.parseAsRoot(["eval", "--checkpoint", "c", "--data", "d", "--views", "0"]) }
        #expect(throws: (any Error).self) { try HRMCommand.parseAsRoot(["eval", "--checkpoint", "c", "--data", "d", "--rounds", "17"]) }
        #expect(throws: (any Error).self) { try HRMCommand.parseAsRoot(["solve", "--rounds", "0", "x"]) }
        if let reason = GEMM.unavailability(of: .bf16(.oneDNN)) {
            do {
                _ = try HRMCommand.parseAsRoot(["train", "--data", "d", "--out", "o", "--precision", "bf16"])
                Issue.record("bf16 training accepted although: \(reason)")
            } catch {
                #expect(HRMCommand.message(for: error).contains(reason))
            }
        }
    }

    @Test func aCheckpointThatDoesNotFitTheDatasetIsOneSentence() throws {
        let c = HRMConfiguration.tiny
        let m = DatasetMetadata(vocabularySize: 6, sequenceLength: 900, puzzleIdentifierCount: 1, totalGroups: 1, meanPuzzleExamples: 1)
        do {
            try checkFit(c, m, data: "data/maze")
            Issue.record("must not fit")
        } catch {
            #expect("\(error)".contains("data/maze has seq_len 900 and vocab_size 6"))
        }
    }
}

@Suite struct DemoCommandTests {
    init() { _ = lineBufferedOutput }

    /// A package of an untrained tiny model as `hrm export` writes it, standing in for a shipped one.
    func package(_ configuration: ModelConfiguration, seed: UInt64, in dir: URL, named name: String,
                 commands: [String]) throws -> URL {
        var rng = RandomGenerator(seed: seed)
        let checkpoint = dir.appendingPathComponent("\(name).safetensors")
        try Checkpoint.save(configuration.makeModel(using: &rng), to: checkpoint)
        let folder = dir.appendingPathComponent(name)
        try ModelPackage.create(from: checkpoint, in: folder, summary: "untrained stub", commands: commands)
        return folder
    }

    /// A 9×9 Sudoku HRM (its data from seed 5).
    func stubPackage(in dir: URL) throws -> URL {
        var config = HRMConfiguration.tiny
        (config.sequenceLength, config.vocabularySize) = (81, 11)
        return try package(.hrm(config), seed: 1, in: dir, named: "model",
                           commands: ["hrm data sudoku --out d --seed 5", "hrm train --data d --seed 2026"])
    }

    /// A 9×9 maze TRM (its data from seed 41).
    func stubMazePackage(in dir: URL) throws -> URL {
        var config = TRMConfiguration.tiny
        (config.sequenceLength, config.vocabularySize) = (81, MazeDataset.vocabularySize)
        return try package(.trm(config), seed: 2, in: dir, named: "maze-model",
                           commands: ["hrm data maze --out m --size 9 --seed 41", "hrm train --data m"])
    }

    @Test func aShortDemoWritesItsReport() throws {
        let base = try temporaryDirectory("hrm-demo")
        let dir = base.appendingPathComponent("out")
        let model = try stubPackage(in: base)
        let mazeModel = try stubMazePackage(in: base)
        var demo = try #require(try HRMCommand.parseAsRoot(
            ["demo", "--out", dir.path, "--model", model.path, "--puzzles", "6", "--minutes", "0.05", "--live-count", "100",
             "--hard-puzzles", "3", "--trajectories", "2", "--min-rating", "5", "--hard-views", "3",
             "--maze-model", mazeModel.path, "--mazes", "6"]) as? DemoCommand)
        try demo.run()
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("report.json"))) as! [String: Any]
        let shipped = try #require(report["shipped"] as? [String: Any])
        #expect(shipped["puzzles"] as? Int == 6 && shipped["blanks"] as? String == "5-60")
        #expect((shipped["exact_accuracy"] as? Double).map { (0...1).contains($0) } == true)
        let buckets = try #require(shipped["by_blanks"] as? [[String: Any]])
        #expect(buckets.reduce(0) { $0 + ($1["puzzles"] as! Int) } == 6)
        // Views only add answers the rules accept to the plain ones.
        #expect(shipped["views"] as? Int == 32 && shipped["rounds"] as? Int == 4)
        let (plain, viewed) = (shipped["exact_accuracy"] as? Double ?? 2, shipped["exact_accuracy_views"] as? Double ?? -1)
        #expect(viewed >= plain && viewed <= 1)
        let (views, asks) = (shipped["mean_views_tried"] as? Double ?? 0, shipped["mean_asks"] as? Double ?? 0)
        #expect(views >= 1 && asks >= views && asks <= 4 * views)
        #expect(buckets.allSatisfy { $0["exact_accuracy_views"] is Double && $0["exact_accuracy_halt_early"] is Double })
        // The rated-hard table: every mode with its model calls per puzzle.
        let hard = try #require(shipped["hard"] as? [String: Any])
        #expect(hard["puzzles"] as? Int == 3 && hard["min_rating"] as? Int == 5 && hard["trajectories"] as? Int == 2 && hard["views"] as? Int == 3)
        #expect((hard["mean_asks"] as? Double).map { (1...3).contains($0) } == true, "one ask per view")
        let steps = try #require(shipped["act_steps"] as? Int)
        #expect(hard["calls"] as? Double == Double(steps) && hard["calls_trajectories"] as? Double == Double(2 * steps))
        for key in ["exact_accuracy", "exact_accuracy_halt_early", "exact_accuracy_trajectories", "exact_accuracy_views"] {
            #expect((hard[key] as? Double).map { (0...1).contains($0) } == true, "\(key)")
        }
        #expect((hard["calls_halt_early"] as? Double).map { (1...Double(steps)).contains($0) } == true)
        // The maze section: fresh 9×9 mazes scored by path length, one solve drawn.
        let maze = try #require(report["maze"] as? [String: Any])
        #expect(maze["mazes"] as? Int == 6 && maze["size"] as? Int == 9 && maze["min_path"] as? Int == 8)
        let byLength = try #require(maze["by_path_length"] as? [[String: Any]])
        #expect(byLength.reduce(0) { $0 + ($1["mazes"] as! Int) } == 6)
        let (mazeExact, mazeShortest) = (maze["exact_accuracy"] as? Double ?? 2, maze["shortest_path_accuracy"] as? Double ?? -1)
        #expect(mazeExact <= mazeShortest && mazeShortest <= 1, "every exact answer is a shortest path")
        let mazePage = try String(contentsOf: dir.appendingPathComponent("maze.html"), encoding: .utf8)
        #expect(mazePage.contains(ReasoningPage.signature) && mazePage.contains("\"kind\":\"maze\""), "the demo draws its maze solve")
        let live = try #require(report["live"] as? [String: Any])
        #expect(live["puzzles"] as? Int == 500 && live["size"] as? Int == 4)
        for key in ["exact_accuracy", "cell_accuracy", "minutes"] {
            #expect((live[key] as? Double).map { $0 >= 0 } == true, "\(key)")
        }
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("run/model.safetensors").path))
        let page = try String(contentsOf: dir.appendingPathComponent("reasoning.html"), encoding: .utf8)
        #expect(page.contains(ReasoningPage.signature) && page.contains("\"kind\":\"sudoku\""), "the demo draws its solve")

        // Neither views nor rounds: no views figures (they would only repeat the model alone's).
        let plainDir = base.appendingPathComponent("plain")
        var alone = try #require(try HRMCommand.parseAsRoot(
            ["demo", "--out", plainDir.path, "--model", model.path, "--puzzles", "6", "--skip-live", "--views", "1", "--rounds", "1",
             "--hard-puzzles", "0", "--mazes", "0"]) as? DemoCommand)
        try alone.run()
        let plainReport = try JSONSerialization.jsonObject(with: Data(contentsOf: plainDir.appendingPathComponent("report.json"))) as! [String: Any]
        let plainShipped = try #require(plainReport["shipped"] as? [String: Any])
        #expect(plainShipped["exact_accuracy"] is Double && plainShipped["exact_accuracy_views"] == nil && plainReport["live"] == nil)
        #expect(plainShipped["hard"] == nil, "--hard-puzzles 0 skips the hard table")
        #expect(plainReport["maze"] == nil, "--mazes 0 skips the maze section")
        #expect((plainShipped["by_blanks"] as? [[String: Any]])?.allSatisfy { $0["exact_accuracy_views"] == nil } == true)
    }

    @Test func aDamagedShippedModelStopsTheDemoWithTheWayToRestoreIt() throws {
        let base = try temporaryDirectory("hrm-demo-bad")
        let model = try stubPackage(in: base)
        let weights = model.appendingPathComponent(ModelPackage.modelFile)
        let original = try Data(contentsOf: weights)
        try original.prefix(1000).write(to: weights)
        let out = base.appendingPathComponent("out")
        var demo = try #require(try HRMCommand.parseAsRoot(["demo", "--out", out.path, "--model", model.path, "--skip-live"]) as? DemoCommand)
        do {
            try demo.run()
            Issue.record("a truncated model must stop the demo")
        } catch {
            #expect("\(error)".contains("git checkout -- \(model.path)"))
        }
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("report.json").path))
        #expect(try Data(contentsOf: weights) == original.prefix(1000), "the demo never writes the model")
        // --out must not hold the model.
        try original.write(to: weights)
        var inside = try #require(try HRMCommand.parseAsRoot(["demo", "--out", base.path, "--model", model.path, "--skip-live"]) as? DemoCommand)
        #expect(throws: (any Error).self) { try inside.run() }
        // Nor may the held-out puzzles come from the training data's seed (the manifest names it).
        var reused = try #require(try HRMCommand.parseAsRoot(["demo", "--out", out.path, "--model", model.path, "--skip-live",
                                                              "--seed", "5"]) as? DemoCommand)
        do { try reused.run(); Issue.record("seed 5 made the training data") } catch { #expect("\(error)".contains("--seed 5")) }
        // The mazes use --seed + 2: 39 gives the maze model's data seed 41, refused before any work.
        let mazeModel = try stubMazePackage(in: base)
        var reusedMaze = try #require(try HRMCommand.parseAsRoot(["demo", "--out", out.path, "--model", model.path, "--skip-live",
                                                                  "--maze-model", mazeModel.path, "--seed", "39"]) as? DemoCommand)
        do { try reusedMaze.run(); Issue.record("seed 41 made the maze data") } catch {
            #expect("\(error)".contains("--seed 39") && "\(error)".contains("maze"), "\(error)")
        }
        // A Sudoku model is not a maze model.
        var wrongKind = try #require(try HRMCommand.parseAsRoot(["demo", "--out", out.path, "--model", model.path, "--skip-live",
                                                                 "--maze-model", model.path]) as? DemoCommand)
        do { try wrongKind.run(); Issue.record("a Sudoku model is not a maze model") } catch {
            #expect("\(error)".contains("is not a maze model"), "\(error)")
        }
    }

    @Test func demoOptionsAreChecked() {
        #expect(throws: (any Error).self) { try HRMCommand.parseAsRoot(["demo", "--minutes", "0"]) }
        #expect(throws: (any Error).self) { try HRMCommand.parseAsRoot(["demo", "--blanks", "70"]) }
        #expect(throws: (any Error).self) { try HRMCommand.parseAsRoot(["demo", "--blanks", "30-70"]) }
        #expect(throws: (any Error).self) { try HRMCommand.parseAsRoot(["demo", "--live-size", "9"]) }
        #expect(throws: (any Error).self) { try HRMCommand.parseAsRoot(["demo", "--views", "0"]) }
        #expect(throws: (any Error).self) { try HRMCommand.parseAsRoot(["solve", "--views", "0", "1........"]) }
        #expect(DemoCommand.helpMessage().contains("Example"))
    }

    /// hrm solve shows the quantity the halting rule compares, and calls a puzzle with several
    /// solutions what it is.
    @Test func solveShowsTheHaltRuleAndPuzzlesWithSeveralSolutions() throws {
        let step = ReasoningStep(prediction: [], qHalt: 0.4, qContinue: 1.2)
        #expect(traceLine(step, step: 2, changed: 3, isAnswer: false, isLast: false, isFirstHalt: false) == "step 2: q_halt − q_continue = -0.800, 3 cell(s) changed")
        #expect(traceLine(ReasoningStep(prediction: [], qHalt: 2, qContinue: -1), step: 3, changed: 0, isAnswer: true, isLast: false, isFirstHalt: true)
            .hasSuffix("+3.000, 0 cell(s) changed  ← > 0: the model stops here"))
        #expect(traceLine(ReasoningStep(prediction: [], qHalt: 2, qContinue: -1), step: 3, changed: 0, isAnswer: false, isLast: false, isFirstHalt: true)
            .hasSuffix("← > 0: the Q head says halt here (--halt early answers here)"))
        #expect(traceLine(ReasoningStep(prediction: [], qHalt: 2, qContinue: -1), step: 16, changed: 0, isAnswer: true, isLast: true, isFirstHalt: false)
            .hasSuffix("← the answer (its last step)"))
        #expect(traceLine(ReasoningStep(prediction: [], qHalt: 4, qContinue: -1), step: 4, changed: 0, isAnswer: true, isLast: false, isFirstHalt: false)
            .hasSuffix("← the answer (the first step past --halt-margin)"))
        let solver = try Solver.shipped()
        var cells = try Sudoku(parsing: "534678912672195348198342567859761423426853791713924856961537284287419635345286179").cells
        for i in 0..<45 { cells[i] = 0 }
        let verdict = SolveCommand.sudokuVerdict(try solver.solve(Sudoku(cells: cells)))
        #expect(verdict.contains("more than one solution") && !verdict.contains("finds it wrong"), "\(verdict)")
    }

    /// `hrm bench peak` measures each peak loop this CPU has, and names the machine.
    @Test func peakMeasuresTheLoopsThisCPUHas() throws {
        #expect(try HRMCommand.parseAsRoot(["bench", "peak", "--json"]) is PeakCommand)
        let peaks = MachinePeak.measure(threads: 1, seconds: 0.02)
        let machine = MachineDescription.current
        #expect(peaks.contains { $0.name == "bf16 dot" } == machine.extensions.contains("avx512_bf16"))
        #expect(peaks.contains { $0.instruction == "vfmadd 256-bit" } == machine.extensions.contains("avx2+fma"))
        // One core does at least a few GFLOP/s of FMA on any x86-64 with AVX2 (a broken loop or
        // a wrong flop count would be off by orders of magnitude).
        #expect(peaks.allSatisfy { $0.gflops > 2 && $0.gflops < 5000 }, "\(peaks)")
        #expect(machine.lines.first?.hasPrefix("cpu: ") == true && machine.lines[1].hasPrefix("blas: "))
        // oneDNN's line: its version and ISA in a build with it, what to do in one without.
        #expect(machine.lines[2].hasPrefix("onednn: "))
        if OneDNN.isCompiledIn {
            #expect(machine.onednn?.hasPrefix("oneDNN ") == true && machine.onednn?.contains(", ISA ") == true, "\(machine.lines[2])")
        } else {
            #expect(machine.onednn == nil && machine.lines[2].contains("ONEDNN=1"))
        }
    }

    /// hrm analyze and hrm view refuse bad requests in one sentence, before writing anything.
    @Test func analyzeAndViewRefuseBadInput() throws {
        let dir = try temporaryDirectory("hrm-analyze")
        let data = try OutputSafetyTests.sudoku4(in: dir).path
        func failure(_ arguments: [String]) -> String? {
            do { var c = try HRMCommand.parseAsRoot(arguments); try c.run(); return nil } catch { return HRMCommand.message(for: error) }
        }
        let zero = try #require(failure(["analyze", "convergence", "--data", data, "--limit", "0"]))
        #expect(zero.contains("--limit must be at least 1"), "\(zero)")
        let none = try #require(failure(["analyze", "dimensionality", "--data", data, "--trajectories", "0"]))
        #expect(none.contains("--trajectories must be at least 1"), "\(none)")
        // A 9×9 Sudoku checkpoint on 4×4 data: another kind of puzzle.
        let other = try #require(failure(["analyze", "convergence", "--checkpoint", try OutputSafetyTests.checkpoint(in: dir).path,
                                          "--data", data, "--out", dir.appendingPathComponent("c.json").path]))
        #expect(other.contains("81") && other.contains(data), "\(other)")
        // 4 test puzzles cannot give 100 trajectories.
        let ckpt = try OutputSafetyTests.sudoku4Checkpoint(in: dir).path
        let small = try #require(failure(["analyze", "dimensionality", "--checkpoint", ckpt, "--data", data,
                                          "--out", dir.appendingPathComponent("d.json").path]))
        #expect(small.contains("4 examples") && small.contains("100 trajectories"), "\(small)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("d.json").path), "nothing written")
        let noCheckpoint = try #require(failure(["analyze", "act", "--data", data]))
        #expect(noCheckpoint.contains("at least one --checkpoint"), "\(noCheckpoint)")
        // One checkpoint of the wrong kind among good ones: refused before anything runs.
        let mixed = try #require(failure(["analyze", "act", "--data", data, "--checkpoint", ckpt, "--checkpoint",
                                          try OutputSafetyTests.checkpoint(in: dir).path, "--out", dir.appendingPathComponent("a.json").path]))
        #expect(mixed.contains("81") && mixed.contains(data), "\(mixed)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("a.json").path), "nothing written")
        let act = dir.appendingPathComponent("act.json").path
        #expect(failure(["analyze", "act", "--data", data, "--checkpoint", ckpt, "--limit", "2", "--scale", "2", "--out", act]) == nil)
        let report = try JSONDecoder().decode(ACTComparisonReport.self, from: Data(contentsOf: URL(fileURLWithPath: act)))
        #expect(report.models.count == 1 && report.puzzles == 2 && report.models[0].inference.last?.maxSteps == 2 * report.models[0].trainedMaxSteps)
        #expect(failure(["view", "--html", "x.html", String(repeating: ".", count: 81)]) != nil)
        for command: ParsableCommand.Type in [AnalyzeCommand.self, ViewCommand.self] {
            #expect(command.helpMessage().contains("Example"), "\(command)")
        }
    }
}
