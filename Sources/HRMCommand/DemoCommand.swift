import ArgumentParser
import Foundation
import HRM
import Puzzles
import Tensors

/// `hrm demo`: watch HRM learn Sudoku on this CPU, then solve fresh puzzles with a trace.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Watch a small HRM learn easy Sudokus live, then solve fresh ones with its reasoning trace.",
        discussion: """
            Generates Sudokus with --blanks blank cells (3 by default: an easy setting where a few \
            minutes of CPU already solve some exactly), trains a small HRM on them for --minutes, \
            evaluates it on freshly generated puzzles it never saw, shows one solve step by step, \
            and writes DIR/report.json, the run and its curves. No trained 9×9 model ships yet \
            (issue #7), so the demo trains its own.

            Example:
              hrm demo --out demo-output --minutes 4
            """
    )

    @Option(help: "Folder for the data, the live run, the curves and report.json.")
    var out: String = "demo-output"
    @Option(help: "Minutes of live training.")
    var minutes: Double = 4
    @Option(help: "Blank cells per puzzle (1–60).")
    var blanks: Int = 3
    @Option(help: "Generated training puzzles (each with 20 augmentations).")
    var count: Int = 2000
    @Option(help: "Fresh puzzles to evaluate on.")
    var testCount: Int = 200
    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    func validate() throws {
        guard minutes > 0, minutes <= 60 else { throw ValidationError("--minutes must be in (0, 60]; got \(minutes).") }
        guard (1...60).contains(blanks) else { throw ValidationError("--blanks must be 1 to 60; got \(blanks).") }
        guard count >= 16, testCount >= 1 else { throw ValidationError("--count must be at least 16 and --test-count at least 1.") }
    }

    func run() throws {
        let dir = URL(fileURLWithPath: out)
        let runDir = dir.appendingPathComponent("run")
        if FileManager.default.fileExists(atPath: runDir.path) { try FileManager.default.removeItem(at: runDir) }
        print("1. Generating \(count) Sudokus with \(blanks) blanks (+20 augmentations each) and \(testCount) fresh test puzzles…")
        let generator = SudokuGenerator(targetClues: 81 - blanks)
        let puzzles = SudokuDataset.generate(count: count + testCount, generator: generator, seed: seed)
            .map { (puzzle: $0.puzzle, solution: $0.solution) }
        var rng = SplitMix(seed: seed)
        let dataset = SudokuDataset.build(train: Array(puzzles[..<count]), test: Array(puzzles[count...]),
                                          augmentations: 20, using: &rng)
        try dataset.write(to: dir.appendingPathComponent("data"))

        print("2. Training a small HRM (hidden 64, 2+2 layers, 4 ACT steps) for \(minutes) minute(s)…")
        var model = HRMConfiguration.tiny
        (model.hiddenSize, model.puzzleEmbeddingWidth, model.highLayerCount, model.lowLayerCount) = (64, 64, 2, 2)
        var training = TrainingConfiguration()
        (training.globalBatchSize, training.learningRate, training.warmupSteps, training.seed) = (64, 1e-3, 50, seed)
        let config = RunConfiguration(model: model, training: training, dataPath: dir.appendingPathComponent("data").path,
                                      epochs: 1000, evalInterval: 1000, evalLimit: testCount, evalBatchSize: 64, logInterval: 10)
        let run = try TrainingRun(newRunIn: runDir, configuration: config, dataset: dataset)
        let start = Date()
        let bar = ProgressBar("training", total: Int(minutes * 60), unit: "s")
        try run.run(shouldStop: { Date().timeIntervalSince(start) > minutes * 60 }) { event in
            if case .step(let r, _, _) = event {
                let m = r.metrics.normalized(lossDivisor: 1)
                bar.update(Int(Date().timeIntervalSince(start)),
                           extra: String(format: "step %d  cells %.3f  exact %.3f", r.step, m.accuracy, m.exactAccuracy))
            }
        }
        bar.finish()
        let trainedMinutes = Date().timeIntervalSince(start) / 60

        print("3. Evaluating on \(testCount) fresh puzzles it never saw…")
        let report = Evaluator.evaluate(model: run.trainer.model, split: dataset.splits["test"]!, batchSize: 64)
        print(String(format: "   exact %.1f%% of puzzles, blank cells %.1f%% right, all cells %.1f%%",
                     100 * report.exactAccuracy, 100 * report.changedCellAccuracy, 100 * report.cellAccuracy))

        print("4. One fresh puzzle, step by step:")
        let solver = Solver(model: run.trainer.model)
        let solution = try solver.solve(puzzles[count].puzzle)
        print(puzzles[count].puzzle)
        for (k, step) in solution.steps.enumerated() {
            print(String(format: "   step %d: halt probability %.3f, %@", k + 1, solution.trace[k].haltProbability,
                         puzzles[count].puzzle.isSolved(by: step) ? "solved" : "not yet right"))
        }
        print(solution.isVerified == true ? "   The classical solver confirms the answer." : "   The answer is still wrong; more training helps.")

        if FileManager.default.fileExists(atPath: runDir.appendingPathComponent("metrics.jsonl").path) {
            var plot = PlotCommand()
            plot.folder = runDir.path
            try plot.run()
        }
        let json: [String: Any] = [
            "live": ["exact_accuracy": report.exactAccuracy, "cell_accuracy": report.cellAccuracy,
                     "blank_cell_accuracy": report.changedCellAccuracy, "minutes": trainedMinutes,
                     "steps": run.trainer.step, "puzzles": report.count, "blanks": blanks],
            "shipped": ["available": false, "reason": "no trained 9×9 Sudoku model ships yet (issue #7)"],
        ]
        try AtomicFile.write(try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys, .prettyPrinted]),
                             to: dir.appendingPathComponent("report.json"))
        print("wrote \(dir.appendingPathComponent("report.json").path) and the run in \(runDir.path)")
    }
}
