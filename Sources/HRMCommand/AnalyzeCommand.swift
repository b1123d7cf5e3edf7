import ArgumentParser
import Foundation
import Application
import Models
import Puzzles
import Reasoning
import SafeFiles
import Training

struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "The HRM paper's analyses of a model: hierarchical convergence, the dimensionality hierarchy, accuracy against compute, ACT against fixed steps.",
        discussion: """
            Each writes a JSON report and a self-contained HTML page with its picture (the same \
            name, .html) and prints a summary. They run evaluation ACT steps as hrm eval does \
            (every example for the same number of steps) on the first examples of the data's \
            test split, for HRM and TRM alike (TRM's y plays z_H, z plays z_L).

            Examples:
              hrm data sudoku --out data/sudoku-test --count 1 --test-count 100
              hrm analyze convergence --data data/sudoku-test --limit 100
              hrm analyze dimensionality --checkpoint sudoku-9x9 --data data/sudoku-test
              hrm analyze compute --data data/sudoku-test --max-steps 64
              hrm analyze act --data data/sudoku-test --checkpoint runs/act-8 --checkpoint runs/fixed-8
            """,
        subcommands: [Convergence.self, Dimensionality.self, Compute.self, ACT.self]
    )

    /// What both analyses read.
    struct Inputs: ParsableArguments {
        @Option(help: "A run folder, a model .safetensors file, a model package or a shipped model's name (default: sudoku-9x9-trm).")
        var checkpoint: String?
        @Option(help: "Configuration JSON (only for converted checkpoints without one).")
        var config: String?
        @Option(help: "Dataset folder; its test split is used.")
        var data: String
        @Option(help: "ACT steps per example (default: the model's halt_max_steps).")
        var maxSteps: Int?

        func validate() throws {
            if let m = maxSteps, m < 1 { throw ValidationError("--max-steps must be at least 1; got \(m).") }
        }

        func load() throws -> (model: any ReasoningModel, split: DatasetSplit, steps: Int) {
            let split = try AnalyzeCommand.testSplit(of: data)
            let model = try AnalyzeCommand.model(try checkpoint ?? shippedSudokuModel(), config: config, for: split, data: data)
            return (model, split, maxSteps ?? model.reasoningConfiguration.haltMaxSteps)
        }

        var name: String { checkpoint ?? ShippedModels.defaultSudoku }
    }

    /// The test split every analysis runs on.
    static func testSplit(of data: String) throws -> DatasetSplit {
        let dataset = try PuzzleDataset.read(from: URL(fileURLWithPath: data), splits: ["test"])
        guard let split = dataset.splits["test"] else { throw CommandError("\(data) has no test split.") }
        return split
    }

    /// A checkpoint, refused in one sentence when it is for another kind of puzzle than `split`.
    static func model(_ path: String, config: String?, for split: DatasetSplit, data: String) throws -> any ReasoningModel {
        let model = try loadModel(path, config: config, sequenceLength: split.metadata.sequenceLength)
        try checkFit(model.reasoningConfiguration, split.metadata, data: data)
        return model
    }

    /// Writes `json` to `out` and the page beside it (`.html`), refusing to replace what hrm did
    /// not write unless it is its own and `force` is given.
    static func write(json: Data, page: String, to out: String, force: Bool, isReport: @escaping (Data) -> Bool) throws {
        let url = URL(fileURLWithPath: out)
        let html = url.deletingPathExtension().appendingPathExtension("html")
        try OutputTarget.checkFile(url, what: "an analysis report", force: force) { u in
            FileManager.default.contents(atPath: u.path).map(isReport) ?? false
        }
        try OutputTarget.checkFile(html, what: "an analysis page", force: force, isOurs: AnalysisPage.isPage)
        try AtomicFile.write(json, to: url)
        try AtomicFile.write(Data(page.utf8), to: html)
        print("wrote \(url.path) and \(html.path)")
    }

    static func encode<T: Encodable>(_ value: T) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try e.encode(value)
    }

    struct Convergence: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Forward residuals of z_L and z_H (TRM: z and y) at every module call of every ACT step (the paper's Figure 3).",
            discussion: "Residual: \(Analyses.residualDefinition).")

        @OptionGroup var inputs: Inputs
        @Option(help: "Puzzles to average over (the first N of the test split).")
        var limit: Int = 100
        @Option(help: "Where to write the JSON report (the page goes beside it as .html).")
        var out: String = "convergence.json"
        @OptionGroup var output: ForceOption

        func validate() throws {
            guard limit >= 1 else { throw ValidationError("--limit must be at least 1; got \(limit).") }
        }

        func run() throws {
            let (model, split, steps) = try inputs.load()
            let total = min(limit, split.exampleCount)
            let bar = ProgressBar("convergence", total: total, unit: "puzzles")
            let report = try Analyses.convergence(model: model, split: split, limit: limit, steps: steps) { done, _ in bar.update(done) }
            bar.finish()
            let json = try AnalyzeCommand.encode(report)
            try AnalyzeCommand.write(json: json, page: report.page(title: "Hierarchical convergence: \(inputs.name) on \(inputs.data)", json: json),
                                     to: out, force: output.force) { (try? JSONDecoder().decode(ConvergenceReport.self, from: $0)) != nil }
            let lows = report.meanPerStep(.low), highs = report.meanPerStep(.high)
            print("mean forward residual per ACT step over \(report.puzzles) puzzles (\(report.lowName), \(report.highName)):")
            for k in 0..<steps {
                print(String(format: "  step %2d  %@ %.3g  %@ %.3g", k + 1, report.lowName, lows[k], report.highName, highs[k]))
            }
        }
    }

    struct Dimensionality: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Participation ratio of z_H and z_L (TRM: y and z) over N trajectories, trained against the same architecture untrained.",
            discussion: "Samples: \(Analyses.poolingDefinition).")

        @OptionGroup var inputs: Inputs
        @Option(help: "Trajectories (test puzzles) to pool; the paper's count is 100.")
        var trajectories: Int = 100
        @Option(help: "The curve's step: the ratio after every N trajectories.")
        var every: Int = 10
        @Option(help: "Seed of the untrained model's initialisation.")
        var seed: UInt64 = 0
        @Option(help: "Where to write the JSON report (the page goes beside it as .html).")
        var out: String = "dimensionality.json"
        @OptionGroup var output: ForceOption

        func validate() throws {
            guard trajectories >= 1 else { throw ValidationError("--trajectories must be at least 1; got \(trajectories).") }
            guard every >= 1 else { throw ValidationError("--every must be at least 1; got \(every).") }
        }

        func run() throws {
            let (model, split, steps) = try inputs.load()
            let bars = PhaseBars(unit: "trajectories")
            let report = try Analyses.dimensionality(model: model, split: split, trajectories: trajectories, steps: steps,
                                                     every: every, untrainedSeed: seed, progress: bars.update)
            bars.finish()
            let names = (low: report.lowName, high: report.highName), trained = report.trained, untrained = report.untrained
            let c = model.reasoningConfiguration
            let json = try AnalyzeCommand.encode(report)
            try AnalyzeCommand.write(json: json, page: report.page(title: "Dimensionality hierarchy: \(inputs.name) on \(inputs.data)", json: json),
                                     to: out, force: output.force) { (try? JSONDecoder().decode(DimensionalityReport.self, from: $0)) != nil }
            print(String(format: "participation ratio over %d trajectories (hidden %d):", trajectories, c.hiddenSize))
            print(String(format: "  trained    %@ %.2f  %@ %.2f  ratio %.2f", names.high, trained.high, names.low, trained.low, trained.ratio))
            print(String(format: "  untrained  %@ %.2f  %@ %.2f  ratio %.2f", names.high, untrained.high, names.low, untrained.low, untrained.ratio))
            print("  (HRM paper, Sudoku, hidden 512: trained z_H 89.95, z_L 30.22; untrained 40.75, 42.09)")
        }
    }

    struct Compute: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Exact accuracy against model calls per puzzle: fixed ACT steps (past the trained cap too), Q-head halting, and on 9×9 Sudoku the test-time modes.",
            discussion: "Here \(Analyses.computeDefinition). --max-steps is the most fixed steps measured (default: twice the model's halt_max_steps).")

        @OptionGroup var inputs: Inputs
        @Option(help: "Puzzles to measure (the first N of the test split).")
        var limit: Int = 100
        @Option(help: "9×9 Sudoku: the view counts for the rules-checked and the Q-head modes (0 for none).")
        var views: String = "2,4,8"
        @Option(help: "Where to write the JSON report (the page goes beside it as .html).")
        var out: String = "compute.json"
        @OptionGroup var output: ForceOption

        func validate() throws {
            guard limit >= 1 else { throw ValidationError("--limit must be at least 1; got \(limit).") }
            guard viewCounts != nil else { throw ValidationError("--views must be counts separated by commas (e.g. 2,4,8) or 0; got \(views).") }
        }

        var viewCounts: [Int]? {
            let parts = views.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? -1) >= 0 }) else { return nil }
            return parts.map { $0! }.filter { $0 > 1 }
        }

        func run() throws {
            let (model, split, _) = try inputs.load()
            let beyond = inputs.maxSteps ?? 2 * model.reasoningConfiguration.haltMaxSteps
            let bars = PhaseBars(unit: "puzzles")
            let counts = viewCounts ?? []
            let report = try Analyses.compute(model: model, split: split, limit: limit, beyond: beyond, views: counts,
                                              trajectories: counts, progress: bars.update)
            bars.finish()
            let json = try AnalyzeCommand.encode(report)
            try AnalyzeCommand.write(json: json, page: report.page(title: "Accuracy against compute: \(inputs.name) on \(inputs.data)", json: json),
                                     to: out, force: output.force) { (try? JSONDecoder().decode(ComputeReport.self, from: $0)) != nil }
            print("exact accuracy against model calls per puzzle over \(report.puzzles) puzzles (trained halt_max_steps \(report.trainedMaxSteps)):")
            for p in report.points where p.mode != .fixed || [1, 2, 4, 8, 16, 32, 64, 128].contains(Int(p.calls)) || Int(p.calls) == report.maxSteps {
                print("  " + p.label.padding(toLength: 26, withPad: " ", startingAt: 0) + String(format: "%7.2f calls  %5.1f %%", p.calls, 100 * p.exactAccuracy))
            }
        }
    }
}

extension AnalyzeCommand {
    struct ACT: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "act",
            abstract: "ACT against a fixed number of steps (the paper's Figure 5): checkpoints trained with ACT (M_max) and without (act_enabled=false, fixed M), evaluated as trained and with larger M.",
            discussion: """
                Give each checkpoint with --checkpoint. A checkpoint trained with ACT is \
                evaluated stopping at its Q head's first halt (at most its halt_max_steps, M_max); \
                one trained with act_enabled=false runs its M steps. Then each runs with up to \
                --scale times its M (inference-time scaling). Here \(Analyses.computeDefinition).

                Examples:
                  hrm train --data data/sudoku-6 --config sudoku-small --out runs/act-4 halt_max_steps=4
                  hrm train --data data/sudoku-6 --config sudoku-small --out runs/fixed-4 halt_max_steps=4 act_enabled=false
                  hrm analyze act --data data/sudoku-6 --checkpoint runs/act-4 --checkpoint runs/fixed-4
                """)

        @Option(name: .customLong("checkpoint"), help: "A checkpoint to compare (a run folder, a model .safetensors file or a model package); give it once per checkpoint.")
        var checkpoints: [String] = []
        @Option(help: "Dataset folder; its test split is used.")
        var data: String
        @Option(help: "Puzzles to measure (the first N of the test split).")
        var limit: Int = 100
        @Option(help: "Inference-time scaling: evaluate each checkpoint with up to this many times its M.")
        var scale: Int = 4
        @Option(help: "Where to write the JSON report (the page goes beside it as .html).")
        var out: String = "act.json"
        @OptionGroup var output: ForceOption

        func validate() throws {
            guard !checkpoints.isEmpty else { throw ValidationError("give at least one --checkpoint (for the figure, one trained with ACT and one with act_enabled=false).") }
            guard limit >= 1 else { throw ValidationError("--limit must be at least 1; got \(limit).") }
            guard scale >= 1 else { throw ValidationError("--scale must be at least 1; got \(scale).") }
        }

        func run() throws {
            let split = try AnalyzeCommand.testSplit(of: data)
            let models = try checkpoints.map { (name: $0, model: try AnalyzeCommand.model($0, config: nil, for: split, data: data)) }
            let bars = PhaseBars(unit: "puzzles")
            let report = try Analyses.actComparison(models: models, split: split, limit: limit, scale: scale, progress: bars.update)
            bars.finish()
            let json = try AnalyzeCommand.encode(report)
            try AnalyzeCommand.write(json: json, page: report.page(title: "ACT against fixed steps on \(data)", json: json),
                                     to: out, force: output.force) { (try? JSONDecoder().decode(ACTComparisonReport.self, from: $0)) != nil }
            print("over \(report.puzzles) puzzles, evaluated as trained, then with up to \(scale)× M:")
            let width = report.models.map(\.name.count).max() ?? 0
            for m in report.models {
                let scaled = m.inference.last.map { String(format: "  %5.1f %% at %@ %d", 100 * $0.exactAccuracy, m.actEnabled ? "M_max" : "M", $0.maxSteps) } ?? ""
                print("  " + m.name.padding(toLength: width + 2, withPad: " ", startingAt: 0)
                      + String(format: "%@ %2d  %5.2f steps  %5.1f %%", m.actEnabled ? "ACT   M_max" : "fixed M    ", m.trainedMaxSteps, m.meanSteps, 100 * m.exactAccuracy) + scaled)
            }
        }
    }
}

/// One progress bar per phase of an analysis that reports (phase, done, total).
final class PhaseBars {
    private let unit: String
    private var bar: ProgressBar?
    private var phase = ""
    /// When the last report came (or the bars were made): a new phase's work began then, before
    /// its first report.
    private var lastReport = Date()

    init(unit: String) { self.unit = unit }

    func update(_ phase: String, _ done: Int, _ total: Int) {
        if phase != self.phase {
            bar?.finish()
            bar = ProgressBar(phase, total: total, unit: unit, since: lastReport)
            self.phase = phase
        }
        bar?.update(done)
        lastReport = Date()
    }

    func finish() { bar?.finish() }
}
