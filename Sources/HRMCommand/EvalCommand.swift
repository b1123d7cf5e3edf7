import ArgumentParser
import Foundation
import SafeFiles
import Application
import Models
import Reasoning
import Training
import Puzzles
import Tensors

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a checkpoint on a dataset: exact and cell accuracy, accuracy per ACT step.",
        discussion: """
            As the reference evaluates, every example runs halt_max_steps ACT steps (or \
            --max-steps, to scale inference time past training); --halt early stops each \
            example when its Q head says halt (HRM: q_halt > q_continue; TRM: q_halt > 0) and reports the compute \
            saved. The per-step curve shows what more thinking buys.

            Examples:
              hrm eval --checkpoint runs/s1 --data data/sudoku-1k --limit 500
              hrm eval --checkpoint runs/s1/model.safetensors --data data/sudoku-1k --max-steps 32 --json
              hrm eval --checkpoint models/sudoku-9x9 --data data/sudoku-1k --views 8
            """
    )

    @Option(help: "A run folder, a model .safetensors file, a model package, or the reference's own checkpoint (a torch.save file, or its folder, with all_config.yaml beside it).")
    var checkpoint: String
    @Option(help: "Configuration JSON (only for converted checkpoints without one).")
    var config: String?
    @Option(help: "Dataset folder.")
    var data: String
    @Option(help: "Split to evaluate: test or train.")
    var split: String = "test"
    @Option(help: "ACT steps per example (default: the model's halt_max_steps).")
    var maxSteps: Int?
    @Option(help: "When to stop an example: max (every step, as the reference) or early (when the Q head says halt).")
    var halt: HaltMode = .max
    @Option(help: "With --halt early: stop an example only when its halting margin (HRM: q_halt − q_continue; TRM: q_halt) exceeds M rather than 0, so it stops surer and later: more compute, fewer wrong early stops.")
    var haltMargin: Float = 0
    @Option(help: "Evaluate only the first N examples.")
    var limit: Int?
    @Option(help: "Examples per batch.")
    var batch: Int = 64
    @OptionGroup var precisionOptions: PrecisionOptions
    @Flag(help: "Print the report as one JSON object.")
    var json = false
    @Option(help: "9×9 Sudoku only: also score asking up to N views of each puzzle until the rules accept an answer (as hrm solve --views).")
    var views: Int = 1
    @Option(help: "9×9 Sudoku only: also score asking each view up to R times, the model's surest cells written in as givens between asks (as hrm solve --rounds).")
    var rounds: Int = 1
    @OptionGroup var trajectoryOptions: TrajectoryOptions
    @Option(help: "ARC only: where to write the Kaggle-style submission (two attempts per test input).")
    var submission: String = "submission.json"
    @OptionGroup var output: ForceOption

    enum HaltMode: String, ExpressibleByArgument, CaseIterable {
        case max, early
        /// The answering step for this mode and `--halt-margin`.
        func answer(margin: Float) -> AnswerStep { self == .early ? .firstHalt(margin: margin) : .last }
    }

    /// `--halt-margin` applies only with `--halt early` and must be a number.
    static func validateHalting(_ halt: HaltMode, margin: Float) throws {
        if margin != 0 && halt != .early { throw ValidationError("--halt-margin applies only with --halt early.") }
        guard margin.isFinite else { throw ValidationError("--halt-margin must be a finite number; got \(margin).") }
    }

    func validate() throws {
        guard ["test", "train"].contains(split) else { throw ValidationError("--split must be test or train; got '\(split)'.") }
        if let m = maxSteps, m < 1 { throw ValidationError("--max-steps must be at least 1; got \(m).") }
        if let l = limit, l < 1 { throw ValidationError("--limit must be at least 1; got \(l).") }
        try Self.validateHalting(halt, margin: haltMargin)
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1; got \(batch).") }
        guard (1...64).contains(views) else { throw ValidationError("--views must be 1 to 64; got \(views).") }
        guard (1...16).contains(rounds) else { throw ValidationError("--rounds must be 1 to 16; got \(rounds).") }
    }

    func run() throws {
        try precisionOptions.run { try runAtPrecision() }
    }

    private func runAtPrecision() throws {
        let dataset = try PuzzleDataset.read(from: URL(fileURLWithPath: data), splits: [split])
        guard let s = dataset.splits[split] else { throw CommandError("\(data) has no \(split) split.") }
        let model = try loadModel(checkpoint, config: config, sequenceLength: s.metadata.sequenceLength)
        try checkFit(model.reasoningConfiguration, s.metadata, data: data)
        let bar = json ? nil : ProgressBar("evaluating", total: min(limit ?? s.exampleCount, s.exampleCount), unit: "examples")
        let isARC = s.metadata.vocabularySize == ARCEncoding.vocabularySize && s.metadata.sequenceLength == ARCEncoding.sequenceLength
        let isSudoku = s.metadata.vocabularySize == SudokuDataset.vocabularySize && s.metadata.sequenceLength == 81
        let checked = views > 1 || rounds > 1
        let trajectories = trajectoryOptions.trajectories > 1
        guard !trajectories || isSudoku else {
            throw CommandError("--trajectories needs a 9×9 Sudoku dataset (seq_len 81, vocab_size \(SudokuDataset.vocabularySize)); \(data) has seq_len \(s.metadata.sequenceLength) and vocab_size \(s.metadata.vocabularySize).")
        }
        guard !checked || isSudoku else {
            throw CommandError("\(views > 1 ? "--views" : "--rounds") needs a 9×9 Sudoku dataset (seq_len 81, vocab_size \(SudokuDataset.vocabularySize)); \(data) has seq_len \(s.metadata.sequenceLength) and vocab_size \(s.metadata.vocabularySize).")
        }
        if isARC {
            try OutputTarget.checkFile(URL(fileURLWithPath: submission), what: "a submission", force: output.force,
                                       isOurs: ARCScorer.isSubmission)
        }
        var scorer = ARCScorer(identifiers: dataset.identifiers)
        var sudokus: [(puzzle: Sudoku, solution: Sudoku)] = []
        var report = Evaluator.evaluate(model: model, split: s, batchSize: batch, maxSteps: maxSteps,
                                        answer: halt.answer(margin: haltMargin), limit: limit,
                                        progress: { done, _ in bar?.update(done) }) { b, row, step in
            if checked || trajectories {
                func sudoku(_ tokens: [Int32]) -> Sudoku { SudokuDataset.sudoku(tokens: tokens[(row * 81)..<((row + 1) * 81)].map { UInt8(clamping: $0) }) }
                sudokus.append((sudoku(b.inputs), sudoku(b.labels)))
            }
            guard isARC else { return }
            let n = ARCEncoding.sequenceLength
            let labels = b.labels[(row * n)..<((row + 1) * n)].map { UInt8(clamping: max($0, 0)) }
            scorer.add(identifier: b.puzzleIdentifiers[row], input: b.inputs[(row * n)..<((row + 1) * n)].map { UInt8(clamping: $0) },
                       label: labels, prediction: step.prediction.map { UInt8(clamping: $0) },
                       haltProbability: Double(step.haltProbability))
        }
        bar?.finish()
        if checked {
            let viewBar = json ? nil : ProgressBar("up to \(viewsAndRounds(views, rounds))", total: sudokus.count, unit: "puzzles")
            report.sudokuViews = SudokuViews.score(model: model, puzzles: sudokus.map(\.puzzle), solutions: sudokus.map(\.solution),
                                                   views: views, rounds: rounds, batchSize: batch, maxSteps: maxSteps) { done, _ in viewBar?.update(done) }
            viewBar?.finish()
        }
        if trajectories {
            let t = trajectoryOptions
            let trajectoryBar = json ? nil : ProgressBar("\(t.trajectories) trajectories", total: sudokus.count, unit: "puzzles")
            report.trajectories = SudokuViews.scoreByQHead(model: model, puzzles: sudokus.map(\.puzzle), solutions: sudokus.map(\.solution),
                                                           trajectories: t.trajectories, noise: t.noise, views: t.perturbation.usesViews,
                                                           batchSize: batch, maxSteps: maxSteps) { done, _ in trajectoryBar?.update(done) }
            trajectoryBar?.finish()
        }
        if isARC {
            report.arc = scorer.score()
            try AtomicFile.write(try scorer.submissionJSON(), to: URL(fileURLWithPath: submission))
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print(String(format: "%d examples of %@/%@ in %.1f s", report.count, data, split, report.seconds))
        print(String(format: "exact accuracy   %.4f", report.exactAccuracy))
        print(String(format: "cell accuracy    %.4f   (changed cells only: %.4f)", report.cellAccuracy, report.changedCellAccuracy))
        if let m = report.mazeShortestPathAccuracy {
            print(String(format: "a shortest path  %.4f   (valid and shortest, any of them; exact asks for the stored one)", m))
        }
        if let maze = report.maze {
            print("by shortest-path length (cells, S and G included): mazes, exact, a shortest path")
            for b in maze.buckets {
                print("  " + b.label.padding(toLength: 9, withPad: " ", startingAt: 0)
                      + String(format: "%6d  %.4f  %.4f", b.count, b.exactAccuracy, b.shortestAccuracy))
            }
        }
        var saved = ""
        if report.haltEarly {
            let margin = report.haltMargin ?? 0
            saved = String(format: " (halting early%@ saves %.0f%% of the compute)", margin == 0 ? "" : String(format: " at margin %g", margin),
                           100 * (1 - report.meanSteps / Double(report.maxSteps)))
        }
        print(String(format: "mean ACT steps   %.2f of %d%@", report.meanSteps, report.maxSteps, saved))
        if let v = report.sudokuViews {
            print(String(format: "with up to %@ until the rules accept an answer: exact accuracy %.4f (%.2f views, %.2f asks, %.1f ACT steps per puzzle; %.1f s)",
                         viewsAndRounds(v.views, v.rounds), v.exactAccuracy, v.meanViewsTried, v.meanAsks, v.meanSteps, v.seconds))
        }
        if let t = report.trajectories {
            print(String(format: "with %d trajectories (%@), the Q head choosing: exact accuracy %.4f (one of them right: %.4f; %.1f ACT steps per puzzle; %.1f s)",
                         t.trajectories, trajectoryOptions.perturbation.describe(noise: t.noise), t.exactAccuracy, t.anyRight, t.meanSteps, t.seconds))
        }
        if let arc = report.arc {
            print(String(format: "ARC, voting over augmentations: pass@1 %.4f, pass@2 %.4f (%d tasks, %d test inputs); wrote %@",
                         arc.passAt["pass@1"] ?? 0, arc.passAt["pass@2"] ?? 0, arc.tasks, arc.testInputs, submission))
        }
        print("accuracy after each step (exact / cells):")
        for (k, (e, c)) in zip(report.exactAccuracyPerStep, report.cellAccuracyPerStep).enumerated() {
            print(String(format: "  step %2d  %.4f  %.4f  %@", k + 1, e, c, String(repeating: "█", count: Int(e * 40))))
        }
    }
}

/// Test-time trajectories chosen by the Q head (`SudokuViews.chooseByQHead`), for eval, solve and demo.
struct TrajectoryOptions: ParsableArguments {
    @Option(help: "9×9 Sudoku only: run each puzzle K times (perturbed starts and/or views) and answer with the run whose q_halt is highest; no rules check (1: off).")
    var trajectories: Int = 1
    @Option(help: "Standard deviation of the Gaussian noise added to the initial states of trajectories 1…K−1.")
    var trajectoryNoise: Float = TrajectoryOptions.defaultNoise
    @Option(help: "What differs between trajectories: noise (perturbed starts), views (augmented views of the puzzle) or both.")
    var perturbation: Perturbation = .views

    static let defaultNoise: Float = 1

    /// The start-state noise the trajectories use: none when only views differ.
    var noise: Float { perturbation == .views ? 0 : trajectoryNoise }

    enum Perturbation: String, ExpressibleByArgument, CaseIterable {
        case noise, views, both
        var usesViews: Bool { self != .noise }
        func describe(noise: Double) -> String {
            switch self {
            case .noise: return String(format: "start noise %.2f", noise)
            case .views: return "augmented views"
            case .both: return String(format: "augmented views, start noise %.2f", noise)
            }
        }
    }

    func validate() throws {
        guard (1...256).contains(trajectories) else { throw ValidationError("--trajectories must be 1 to 256; got \(trajectories).") }
        guard trajectoryNoise >= 0, trajectoryNoise.isFinite else { throw ValidationError("--trajectory-noise must be 0 or more; got \(trajectoryNoise).") }
    }
}

/// "32 views × 4 rounds", "8 views", "1 view × 2 rounds": what `SudokuViews` asks.
func viewsAndRounds(_ views: Int, _ rounds: Int) -> String {
    "\(views) view\(views == 1 ? "" : "s")" + (rounds == 1 ? "" : " × \(rounds) rounds")
}

/// The default shipped Sudoku model's package, wherever it is installed (`ShippedModels`).
func shippedSudokuModel() throws -> String {
    try ShippedModels.locate(ShippedModels.defaultSudoku).path
}

/// Loads a model from a model package (verified), a run folder (its model.safetensors), a
/// checkpoint file, or a shipped model by name (`sudoku-9x9-trm`, `sudoku-9x9`) when no file of
/// that name is here.
///
/// A folder is a model package, a run folder (its `model.safetensors`) or the reference's own
/// checkpoint folder (its `checkpoint` file, `all_config.yaml` beside it); a file is one of ours,
/// a converted one, or a `torch.save` file. `sequenceLength` tells a reference checkpoint the
/// length its tensors do not record (RoPE models): the dataset's or the puzzle's.
func loadModel(_ path: String, config: String?, sequenceLength: Int? = nil) throws -> any ReasoningModel {
    var path = path
    if ShippedModels.all.contains(path), !FileManager.default.fileExists(atPath: path) {
        path = try ShippedModels.locate(path).path
    }
    var url = URL(fileURLWithPath: path)
    var isDirectory: ObjCBool = false
    let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
    // A model package (or the shipped one, even when damaged or missing) is verified first.
    if config == nil, FileManager.default.fileExists(atPath: url.appendingPathComponent(ModelPackage.manifestFile).path) {
        return try ModelPackage(directory: url).model
    }
    if exists, isDirectory.boolValue {
        let reference = url.appendingPathComponent("checkpoint")
        let ours = url.appendingPathComponent("model.safetensors")
        url = !FileManager.default.fileExists(atPath: ours.path) && FileManager.default.fileExists(atPath: reference.path) ? reference : ours
    }
    return try Checkpoint.load(from: url, configuration: try config.map { try loadConfiguration(path: $0) },
                               sequenceLength: sequenceLength)
}

/// A checkpoint must fit the dataset it is evaluated on.
func checkFit(_ c: any ReasoningConfiguration, _ m: DatasetMetadata, data: String) throws {
    guard c.sequenceLength == m.sequenceLength, c.vocabularySize == m.vocabularySize else {
        throw CommandError("the checkpoint expects sequences of \(c.sequenceLength) tokens over a vocabulary of \(c.vocabularySize), but \(data) has seq_len \(m.sequenceLength) and vocab_size \(m.vocabularySize).")
    }
    guard m.puzzleIdentifierCount <= c.puzzleIdentifierCount else {
        throw CommandError("\(data) uses \(m.puzzleIdentifierCount) puzzle identifiers; the checkpoint has \(c.puzzleIdentifierCount).")
    }
}
