import Foundation
import Models
import Puzzles
import Reasoning
import Tensors
import Training

// MARK: - ACT against a fixed number of steps

extension Analyses {
    /// `hrm analyze act`: the HRM paper's Figure 5 from several checkpoints of one architecture
    /// and puzzle kind, each trained with its own `halt_max_steps` M, with ACT (the Q head halts
    /// training sequences, M is M_max) or without (`act_enabled` false: every sequence trained
    /// for exactly M steps). Each is evaluated as it was trained — ACT models stop at the Q
    /// head's first halt, at most M_max steps; fixed models run M steps — and then with up to
    /// `scale` × M steps (inference-time scaling: a larger M_max, or more fixed steps).
    public static func actComparison(models: [(name: String, model: any ReasoningModel)], split: DatasetSplit,
                                     named splitName: String = "test", limit: Int, scale: Int, batchSize: Int = 64,
                                     progress: (String, Int, Int) -> Void = { _, _, _ in }) throws -> ACTComparisonReport {
        guard !models.isEmpty else { throw AnalysisError.badCount(what: "--checkpoint", value: 0) }
        guard scale >= 1 else { throw AnalysisError.badCount(what: "--scale", value: scale) }
        var rows: [ACTComparisonReport.Model] = []
        var puzzles = 0
        for (name, model) in models {
            let c = model.reasoningConfiguration, m = c.haltMaxSteps
            let curve = try compute(model: model, split: split, named: splitName, limit: limit, beyond: scale * m,
                                    views: [], trajectories: [], batchSize: batchSize) { _, done, total in
                progress(name, done, total)
            }
            puzzles = curve.puzzles
            let mode: ComputeReport.Mode = c.actEnabled ? .qHalt : .fixed
            let inference = curve.points.filter { $0.mode == mode && ($0.steps ?? 0) >= 1 }
            guard let asTrained = inference.first(where: { $0.steps == m }) else {
                preconditionFailure("compute measured no point at the trained cap \(m)")
            }
            rows.append(.init(name: name, architecture: c.architecture, actEnabled: c.actEnabled, trainedMaxSteps: m,
                              meanSteps: asTrained.calls, exactAccuracy: asTrained.exactAccuracy,
                              inference: inference.map { .init(maxSteps: $0.steps!, meanSteps: $0.calls, exactAccuracy: $0.exactAccuracy) }))
        }
        return ACTComparisonReport(puzzles: puzzles, definition: computeDefinition, models: rows)
    }
}

/// What `hrm analyze act` writes: per checkpoint, how it was trained (ACT or a fixed M), its
/// mean steps and exact accuracy evaluated as trained, and its inference-time scaling.
public struct ACTComparisonReport: Codable, Equatable, Sendable {
    public struct Point: Codable, Equatable, Sendable {
        /// M_max at inference (ACT models) or the fixed step count.
        public var maxSteps: Int
        public var meanSteps: Double
        public var exactAccuracy: Double

        enum CodingKeys: String, CodingKey { case maxSteps = "max_steps", meanSteps = "mean_steps", exactAccuracy = "exact_accuracy" }
    }

    public struct Model: Codable, Equatable, Sendable {
        public var name: String
        public var architecture: Architecture
        /// Trained with ACT (the Q head halting sequences), else with a fixed M.
        public var actEnabled: Bool
        /// M_max (ACT) or M (fixed): the model's halt_max_steps.
        public var trainedMaxSteps: Int
        /// Evaluated as trained: ACT at the Q head's first halt (at most M_max), fixed at M.
        public var meanSteps: Double
        public var exactAccuracy: Double
        /// Evaluated with M_max (ACT) or the fixed count 1 … scale × M.
        public var inference: [Point]

        enum CodingKeys: String, CodingKey {
            case name, architecture, actEnabled = "act_enabled", trainedMaxSteps = "trained_max_steps"
            case meanSteps = "mean_steps", exactAccuracy = "exact_accuracy", inference
        }
    }

    public var puzzles: Int
    public var definition: String
    public var models: [Model]

    /// The paper's three panels: mean steps against M, accuracy against M (ACT and fixed, one
    /// series each), and accuracy against the inference M_max (one series per checkpoint).
    public func page(title: String, json: Data) -> String {
        let act = models.filter(\.actEnabled).sorted { $0.trainedMaxSteps < $1.trainedMaxSteps }
        let fixed = models.filter { !$0.actEnabled }.sorted { $0.trainedMaxSteps < $1.trainedMaxSteps }
        func series(_ pick: (Model) -> Double) -> [LineChart.Series] {
            [act.isEmpty ? nil : LineChart.Series(name: "ACT (M_max)", color: "#d62728", points: act.map { (Double($0.trainedMaxSteps), pick($0)) }, dots: true),
             fixed.isEmpty ? nil : LineChart.Series(name: "fixed M", color: "#1f77b4", points: fixed.map { (Double($0.trainedMaxSteps), pick($0)) }, dashed: true, dots: true)]
                .compactMap { $0 }
        }
        let steps = LineChart(title: "mean ACT steps per puzzle against M (M_max for ACT)", xLabel: "M, log scale",
                              yLabel: "mean steps", logX: true, series: series(\.meanSteps))
        var accuracy = LineChart(title: "exact accuracy against M (M_max for ACT)", xLabel: "M, log scale",
                                 yLabel: "exact accuracy", logX: true, series: series(\.exactAccuracy))
        accuracy.yRange = 0...1
        let palette = ["#d62728", "#ff7f0e", "#8c564b", "#e377c2", "#1f77b4", "#17becf", "#2ca02c", "#9467bd"]
        let scaling = (act + fixed).enumerated().map { i, m in
            LineChart.Series(name: "\(m.actEnabled ? "ACT, M_max" : "fixed, M") \(m.trainedMaxSteps): \(URL(fileURLWithPath: m.name).lastPathComponent)",
                             color: palette[i % palette.count],
                             points: m.inference.map { (Double($0.maxSteps), $0.exactAccuracy) }, dashed: !m.actEnabled, dots: true)
        }
        var inference = LineChart(title: "inference-time scaling: exact accuracy against the inference M_max (fixed: steps)",
                                  xLabel: "M_max at inference, log scale", yLabel: "exact accuracy", logX: true, series: scaling)
        inference.yRange = 0...1
        var table = [["checkpoint", "trained", "M", "mean steps", "exact", "at the largest inference M"]]
        for m in act + fixed {
            let last = m.inference.last
            table.append([m.name, m.actEnabled ? "ACT" : "fixed", "\(m.trainedMaxSteps)", String(format: "%.2f", m.meanSteps),
                          String(format: "%.1f %%", 100 * m.exactAccuracy),
                          last.map { String(format: "%.1f %% at %d (%.2f steps)", 100 * $0.exactAccuracy, $0.maxSteps, $0.meanSteps) } ?? ""])
        }
        return AnalysisPage.html(title: title, paragraphs: [
            "\(models.count) checkpoints on the same \(puzzles) puzzles. Here \(definition).",
            "ACT: trained with the Q head halting sequences and M_max = halt_max_steps; evaluated stopping at the Q head's first halt, at most M_max steps. Fixed M: trained with act_enabled false (every sequence exactly M steps) and evaluated for M steps. The last panel evaluates each with a larger M_max (ACT) or more steps (fixed) without retraining.",
        ], charts: [steps, accuracy, inference], table: table, json: json)
    }
}
