import Foundation
import Testing
import Application
import Models
import Reasoning
import Training
import Puzzles
import Tensors
import TestSupport

/// data → train → eval → solve → resume on the tiny preset.
@Suite struct EndToEndTests {
    /// 40 easy Sudokus (60 clues) with 3 augmentations each, 8 test puzzles.
    static func dataset(in dir: URL) throws -> URL {
        var rng = SplitMix(seed: 3)
        let all = SudokuDataset.generate(count: 48, generator: SudokuGenerator(targetClues: 60), seed: 4)
            .map { ($0.puzzle, $0.solution) }
        let d = SudokuDataset.build(train: Array(all[..<40]), test: Array(all[40...]), augmentations: 3, using: &rng)
        let url = dir.appendingPathComponent("data")
        try d.write(to: url)
        return url
    }

    static func configuration(data: URL) throws -> RunConfiguration {
        var training = TrainingConfiguration()
        training.globalBatchSize = 16
        training.warmupSteps = 5
        training.learningRate = 1e-3
        training.seed = 5
        return try RunConfiguration(model: .hrm(.tiny), training: training, dataPath: data.path, epochs: 8,
                                    evalInterval: 4, evalLimit: 8, evalBatchSize: 8, logInterval: 2)
            .overriding(["halt_exploration_prob=0.3"])
    }

    @Test func trainEvaluateSolveAndResumeExactly() throws {
        let dir = try temporaryDirectory()
        let data = try Self.dataset(in: dir)
        let config = try Self.configuration(data: data)
        let dataset = try PuzzleDataset.read(from: data)

        // Uninterrupted.
        let straight = try TrainingRun(newRunIn: dir.appendingPathComponent("straight"), configuration: config, dataset: dataset)
        var evaluations: [EvaluationReport] = []
        try straight.run { if case .evaluation(let r, _) = $0 { evaluations.append(r) } }
        #expect(evaluations.count == 2)
        let metrics = try String(contentsOf: dir.appendingPathComponent("straight/metrics.jsonl"), encoding: .utf8)
        // It learns: the logged LM loss falls.
        let losses = metrics.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["train/lm_loss"] as? Double
        }
        #expect(losses.count >= 5 && losses.last! < losses.first! * 0.9, "\(losses)")

        // Interrupted after 7 steps (mid-pass), then resumed from the folder.
        let first = try TrainingRun(newRunIn: dir.appendingPathComponent("split"), configuration: config, dataset: dataset)
        var steps = 0
        try first.run(shouldStop: { steps >= 7 }) { if case .step = $0 { steps += 1 } }
        #expect(first.trainer.step == 7)
        let resumed = try TrainingRun(resuming: dir.appendingPathComponent("split"))
        try resumed.run()
        let resumedMetrics = try String(contentsOf: dir.appendingPathComponent("split/metrics.jsonl"), encoding: .utf8)
        #expect(resumedMetrics == metrics, "a resumed run logs exactly what an uninterrupted one does")
        let a = straight.trainer.model.namedParameters(), b = resumed.trainer.model.namedParameters()
        #expect(zip(a, b).allSatisfy { $0.tensor.scalars == $1.tensor.scalars })

        // Evaluate the checkpoint and solve a test puzzle with the library API.
        let model = try Checkpoint.load(from: dir.appendingPathComponent("straight/model.safetensors"))
        let report = Evaluator.evaluate(model: model, split: dataset.splits["test"]!, batchSize: 8, maxSteps: 6)
        #expect(report.count == 8 && report.exactAccuracyPerStep.count == 6)
        let early = Evaluator.evaluate(model: model, split: dataset.splits["test"]!, batchSize: 8, answer: .early)
        #expect(early.meanSteps <= Double(model.reasoningConfiguration.haltMaxSteps))

        let test = dataset.splits["test"]!
        let puzzle = SudokuDataset.sudoku(tokens: Array(test.input(0)))
        let solver = try Solver(checkpoint: dir.appendingPathComponent("straight/model.safetensors"))
        let solution = try solver.solve(puzzle)
        #expect(solution.steps.count == model.reasoningConfiguration.haltMaxSteps)
        #expect(solution.isVerified == puzzle.isSolved(by: solution.answer))
        #expect(throws: SolverError.self) { try solver.solve(try Maze(parsing: "#S#\n# #\n#G#")) }
    }

    @Test func newRunRefusesAnExistingFolderAndBadSettings() throws {
        let dir = try temporaryDirectory()
        let data = try Self.dataset(in: dir)
        let config = try Self.configuration(data: data)
        let dataset = try PuzzleDataset.read(from: data)
        _ = try TrainingRun(newRunIn: dir.appendingPathComponent("r"), configuration: config, dataset: dataset)
        #expect(throws: RunError.self) {
            _ = try TrainingRun(newRunIn: dir.appendingPathComponent("r"), configuration: config, dataset: dataset)
        }
        #expect(throws: RunError.self) { _ = try config.overriding(["hiden_size=3"]) }
        #expect(throws: RunError.self) {
            _ = try TrainingRun(newRunIn: dir.appendingPathComponent("q"), configuration: config.overriding(["eval_interval=3"]), dataset: dataset)
        }
        #expect(try config.overriding(["lr=0.01", "hidden_size=64", "epochs=16"]).model.common.hiddenSize == 64)
    }

    @Test func aNonFiniteLossStopsWithoutTouchingTheLastCheckpoint() throws {
        let dir = try temporaryDirectory()
        let data = try Self.dataset(in: dir)
        let run = try TrainingRun(newRunIn: dir.appendingPathComponent("nan"), configuration: try Self.configuration(data: data),
                                  dataset: try PuzzleDataset.read(from: data))
        try run.saveCheckpoint()
        let before = try Data(contentsOf: dir.appendingPathComponent("nan/model.safetensors"))
        (run.trainer.model as! HierarchicalReasoningModel).lmHead.weight.pointer[0] = .nan
        #expect(throws: RunError.self) { try run.run() }
        #expect(try Data(contentsOf: dir.appendingPathComponent("nan/model.safetensors")) == before)
    }

    @Test func readmeSolverExampleCompiles() throws {
        // The README's three-line example, on a checkpoint made here.
        let dir = try temporaryDirectory()
        var rng = RandomGenerator(seed: 1)
        var c = HRMConfiguration.tiny
        c.sequenceLength = 81
        try Checkpoint.save(HierarchicalReasoningModel(configuration: c, using: &rng), to: dir.appendingPathComponent("model.safetensors"))
        let solver = try Solver(checkpoint: dir.appendingPathComponent("model.safetensors"))
        let solution = try solver.solve(try Sudoku(parsing: "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"))
        let line = "\(solution.answer) \(solution.isVerified == true)"  // the README prints this
        #expect(!line.isEmpty)
        #expect(solution.steps.count == c.haltMaxSteps)
    }
}
