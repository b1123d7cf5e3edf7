import Foundation
import Models
import Puzzles
import Reasoning
import Tensors
import Training

// MARK: - Compute

extension Analyses {
    /// What the compute curve's modes are, as the report and the README state them.
    public static let computeDefinition =
        "model calls = ACT steps (one segment each) per puzzle, summed over every ask, view or trajectory; exact = every supervised cell right"

    /// `hrm analyze compute`: exact accuracy against model calls per puzzle for every way of
    /// spending them — a fixed number of ACT steps 1 … `beyond` (past the trained
    /// `halt_max_steps`: inference-time scaling), the Q head's halting capped at M_max for
    /// every power of two up to `beyond` (and the trained cap), and on 9×9 Sudoku data the
    /// test-time modes: views checked by the rules (`views`) and trajectories chosen by the Q
    /// head (`trajectories`, augmented views, no rules). All on the first `limit` test examples.
    public static func compute(model: any ReasoningModel, split: DatasetSplit, named splitName: String = "test",
                               limit: Int, beyond: Int, views: [Int] = [2, 4, 8], trajectories: [Int] = [2, 4, 8],
                               batchSize: Int = 64, progress: (String, Int, Int) -> Void = { _, _, _ in }) throws -> ComputeReport {
        let total = try checkedCount(split: split, named: splitName, wanted: limit, what: "--limit")
        guard beyond >= 1 else { throw AnalysisError.badCount(what: "--max-steps", value: beyond) }
        let s = split.metadata.sequenceLength
        var exactAt = [Double](repeating: 0, count: beyond)
        var firstHalts: [Int?] = [], exactRows: [[Bool]] = []
        var sudokus: [(puzzle: Sudoku, solution: Sudoku)] = []
        let isSudoku = s == 81 && split.metadata.vocabularySize == SudokuDataset.vocabularySize
        var seen = 0
        for batch in split.evaluationBatches(batchSize: batchSize) where seen < total {
            let rows = min(batch.count, total - seen)
            let traces = Evaluator.trace(model: model, inputs: batch.inputs, puzzleIdentifiers: batch.puzzleIdentifiers, steps: beyond)
            for row in 0..<rows {
                let labels = batch.labels[(row * s)..<((row + 1) * s)]
                let exact = traces[row].map { step in zip(labels, step.prediction).allSatisfy { l, p in l == ignoredLabel || l == p } }
                for (k, e) in exact.enumerated() where e { exactAt[k] += 1 }
                exactRows.append(exact)
                firstHalts.append(traces[row].firstIndex(where: \.halts).map { $0 + 1 })
                if isSudoku {
                    func grid(_ t: ArraySlice<Int32>) -> Sudoku { SudokuDataset.sudoku(tokens: t.map { UInt8(clamping: max($0, 0)) }) }
                    sudokus.append((grid(batch.inputs[(row * s)..<((row + 1) * s)]), grid(labels)))
                }
            }
            seen += rows
            progress("ACT steps 1–\(beyond)", seen, total)
        }
        let n = Double(total)
        var points: [ComputeReport.Point] = (1...beyond).map {
            .init(mode: .fixed, label: "\($0) steps", steps: $0, calls: Double($0), exactAccuracy: exactAt[$0 - 1] / n)
        }
        let trained = model.reasoningConfiguration.haltMaxSteps
        var caps = Array(sequence(first: 1, next: { $0 * 2 }).prefix { $0 <= beyond })
        if trained <= beyond && !caps.contains(trained) { caps.append(trained) }
        for cap in caps.sorted() {
            // Halting at the Q head's first halt, else at the cap (as a run with halt_max_steps = cap).
            let stops = firstHalts.map { min($0 ?? cap, cap) }
            let right = zip(stops, exactRows).filter { $1[$0 - 1] }.count
            points.append(.init(mode: .qHalt, label: "Q head, M_max \(cap)", steps: cap, calls: Double(stops.reduce(0, +)) / n,
                                exactAccuracy: Double(right) / n))
        }
        if isSudoku {
            let steps = min(beyond, trained)
            for v in views where v > 1 {
                let score = SudokuViews.score(model: model, puzzles: sudokus.map(\.puzzle), solutions: sudokus.map(\.solution),
                                              views: v, batchSize: batchSize, maxSteps: steps) { progress("rules: \(v) views", $0, $1) }
                points.append(.init(mode: .rulesViews, label: "rules: up to \(v) views", calls: score.meanSteps, exactAccuracy: score.exactAccuracy))
            }
            for k in trajectories where k > 1 {
                let score = SudokuViews.scoreByQHead(model: model, puzzles: sudokus.map(\.puzzle), solutions: sudokus.map(\.solution),
                                                     trajectories: k, noise: 0, views: true, batchSize: batchSize, maxSteps: steps) {
                    progress("Q head over \(k) views", $0, $1)
                }
                points.append(.init(mode: .qTrajectories, label: "Q head over \(k) views", calls: score.meanSteps, exactAccuracy: score.exactAccuracy))
            }
        }
        return ComputeReport(architecture: model.reasoningConfiguration.architecture, puzzles: total, trainedMaxSteps: trained,
                             maxSteps: beyond, definition: computeDefinition, points: points)
    }
}

/// What `hrm analyze compute` writes: exact accuracy against model calls per puzzle, per mode.
public struct ComputeReport: Codable, Equatable, Sendable {
    public enum Mode: String, Codable, Sendable, CaseIterable {
        /// Every puzzle for the same number of ACT steps.
        case fixed
        /// The Q head's first halt, capped at M_max.
        case qHalt = "q_halt"
        /// 9×9 Sudoku: views until the rules accept an answer.
        case rulesViews = "rules_views"
        /// 9×9 Sudoku: augmented views, the answer the Q head rates highest (no rules).
        case qTrajectories = "q_trajectories"

        public var title: String {
            switch self {
            case .fixed: return "fixed ACT steps"
            case .qHalt: return "Q-head halting"
            case .rulesViews: return "rules-checked views"
            case .qTrajectories: return "Q-head views"
            }
        }
    }

    public struct Point: Codable, Equatable, Sendable {
        public var mode: Mode
        public var label: String
        /// The fixed number of ACT steps, or the cap M_max of Q-head halting; nil for the
        /// test-time modes.
        public var steps: Int?
        /// Mean model calls (ACT steps) per puzzle.
        public var calls: Double
        public var exactAccuracy: Double

        public init(mode: Mode, label: String, steps: Int? = nil, calls: Double, exactAccuracy: Double) {
            (self.mode, self.label, self.steps, self.calls, self.exactAccuracy) = (mode, label, steps, calls, exactAccuracy)
        }

        enum CodingKeys: String, CodingKey { case mode, label, steps, calls, exactAccuracy = "exact_accuracy" }
    }

    public var architecture: Architecture
    public var puzzles: Int
    /// The model's halt_max_steps, and the most steps measured.
    public var trainedMaxSteps: Int
    public var maxSteps: Int
    public var definition: String
    public var points: [Point]

    enum CodingKeys: String, CodingKey {
        case architecture, puzzles, trainedMaxSteps = "trained_max_steps", maxSteps = "max_steps", definition, points
    }

    /// Accuracy against calls (log axis), one series per mode, and the table.
    public func page(title: String, json: Data) -> String {
        let colors: [Mode: String] = [.fixed: "#1f77b4", .qHalt: "#d62728", .rulesViews: "#2ca02c", .qTrajectories: "#9467bd"]
        let series = Mode.allCases.compactMap { m -> LineChart.Series? in
            let p = points.filter { $0.mode == m }
            return p.isEmpty ? nil : .init(name: m.title, color: colors[m]!, points: p.map { ($0.calls, $0.exactAccuracy) },
                                           dashed: m == .qTrajectories, dots: true)
        }
        var chart = LineChart(title: "exact accuracy against model calls per puzzle (\(puzzles) puzzles)",
                              xLabel: "model calls (ACT steps) per puzzle, log scale", yLabel: "exact accuracy",
                              logX: true, series: series, marks: [Double(trainedMaxSteps)])
        chart.yRange = 0...1
        var table = [["mode", "model calls / puzzle", "exact accuracy"]]
        for p in points { table.append([p.label, String(format: "%.2f", p.calls), String(format: "%.1f %%", 100 * p.exactAccuracy)]) }
        return AnalysisPage.html(title: title, paragraphs: [
            "Here \(definition).",
            "Steps past the trained halt_max_steps (\(trainedMaxSteps), the dashed mark) are inference-time scaling: the model runs on without retraining.",
            "Q-head halting: each puzzle stops at the Q head's first halt, at most M_max (1, 2, 4, …) steps. Rules-checked views (9×9 Sudoku): views of the puzzle asked in turn until the rules accept an answer, each ask stopping when they do; the rules are an oracle the paper's models do not use. Q-head views: that many views run for every step, the answer the one whose Q head is surest; no rules.",
        ], charts: [chart], table: table, json: json)
    }
}
