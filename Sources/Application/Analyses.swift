import Foundation
import Models
import Puzzles
import Reasoning
import Tensors
import Training

/// The paper's analyses of a trained model (HRM §4, Figures 3 and 8), for any architecture of the
/// core: how the two carried states settle (forward residuals) and how many dimensions they use
/// (participation ratio). Both run evaluation ACT steps as `hrm eval` does (every example for
/// the same number of steps, no halting) and watch every module call through the segment's
/// `StateObserver`.
public enum Analyses {
    /// What the residual is, as the reports and the README state it.
    public static let residualDefinition =
        "‖z_after − z_before‖₂ / ‖z_before‖₂ of one module call, over the whole state of one puzzle (all positions × hidden), averaged over puzzles"

    /// What the participation ratio pools, as the reports and the README state it.
    public static let poolingDefinition =
        "one sample per grid position (the puzzle prefix left out) after every call of the module, at every ACT step of every trajectory; PR = (Σλ)² / Σλ² = (tr C)² / ‖C‖²_F of their covariance C"

    /// The names of the two states in reports: HRM's z_L / z_H, TRM's z / y.
    public static func stateNames(_ a: Architecture) -> (low: String, high: String) {
        switch a {
        case .hrm: return ("z_L", "z_H")
        case .trm: return ("z", "y")
        case .transformer: return ("none", "z_H")  // one state: z_H
        }
    }

    // MARK: - Convergence

    /// Forward residuals of every module call of `steps` evaluation ACT steps on the first
    /// `limit` examples of `split` (`hrm analyze convergence`).
    public static func convergence(model: any ReasoningModel, split: DatasetSplit, named splitName: String = "test",
                                   limit: Int, steps: Int, batchSize: Int = 64, progress: (Int, Int) -> Void = { _, _ in }) throws -> ConvergenceReport {
        let total = try checkedCount(split: split, named: splitName, wanted: limit, what: "--limit")
        var sums: [Double] = [], squares: [Double] = [], kinds: [(step: Int, call: Int, update: StateUpdate)] = []
        var seen = 0
        for batch in split.evaluationBatches(batchSize: batchSize) where seen < total {
            let rows = min(batch.count, total - seen)
            var index = 0, step = 0, callInStep = 0
            let observer: StateObserver = { update, before, after in
                let r = rowResiduals(before: before, after: after, rows: rows)
                if index == sums.count {
                    sums.append(0); squares.append(0)
                    kinds.append((step, callInStep + 1, update))
                }
                for x in r { sums[index] += x; squares[index] += x * x }
                index += 1
                callInStep += 1
            }
            run(model: model, batch: batch, steps: steps, observer: observer) { s in step = s; callInStep = 0 }
            seen += rows
            progress(seen, total)
        }
        let n = Double(total)
        let calls = kinds.enumerated().map { i, k in
            let mean = sums[i] / n
            return ConvergenceReport.Call(index: i + 1, actStep: k.step, call: k.call, update: k.update, residual: mean,
                                          spread: (max(squares[i] / n - mean * mean, 0)).squareRoot())
        }
        let names = stateNames(model.reasoningConfiguration.architecture)
        return ConvergenceReport(architecture: model.reasoningConfiguration.architecture, puzzles: total, actSteps: steps,
                                 lowName: names.low, highName: names.high, definition: residualDefinition, calls: calls)
    }

    /// Per row of `[B, N, D]` states, ‖after − before‖ / ‖before‖ for the first `rows` rows.
    static func rowResiduals(before: Tensor, after: Tensor, rows: Int) -> [Double] {
        precondition(before.shape == after.shape, "states differ in shape")
        let size = before.count / before.shape[0]
        return (0..<rows).map { r in
            let a = after.pointer + r * size, b = before.pointer + r * size
            var diff = 0.0, norm = 0.0
            for j in 0..<size {
                let d = Double(a[j]) - Double(b[j])
                diff += d * d
                norm += Double(b[j]) * Double(b[j])
            }
            return norm > 0 ? (diff / norm).squareRoot() : 0
        }
    }

    /// `steps` evaluation ACT steps of one batch with `observer` watching; `beforeStep` is told
    /// each step's number (from 1) before it runs.
    static func run(model: any ReasoningModel, batch: DatasetBatch, steps: Int, observer: @escaping StateObserver,
                    beforeStep: (Int) -> Void) {
        let b = PuzzleBatch(inputs: batch.inputs, labels: batch.labels, puzzleIdentifiers: batch.puzzleIdentifiers)
        let act = AdaptiveComputation(model: model, isTraining: false)
        act.haltMaxSteps = steps
        act.observer = observer
        var carry = act.initialCarry(batch: b)
        var rng = RandomGenerator(seed: 0)
        withoutGradients {
            for k in 1...steps {
                beforeStep(k)
                _ = act.step(&carry, batch: b, using: &rng)
            }
        }
    }

    static func checkedCount(split: DatasetSplit, named name: String, wanted: Int, what: String) throws -> Int {
        guard wanted >= 1 else { throw AnalysisError.badCount(what: what, value: wanted) }
        guard split.exampleCount > 0 else { throw AnalysisError.emptySplit(name) }
        return min(wanted, split.exampleCount)
    }

    // MARK: - Dimensionality

    /// `hrm analyze dimensionality`: the participation ratios of `model` beside those of the
    /// same architecture freshly initialised from `untrainedSeed`, over the same trajectories.
    /// `progress` is told the phase ("trained", "untrained"), the trajectories done and the total.
    public static func dimensionality(model: any ReasoningModel, split: DatasetSplit, named splitName: String = "test",
                                      trajectories: Int, steps: Int, every: Int = 10, untrainedSeed: UInt64 = 0,
                                      progress: (String, Int, Int) -> Void = { _, _, _ in }) throws -> DimensionalityReport {
        guard every >= 1 else { throw AnalysisError.badCount(what: "--every", value: every) }
        let trained = try participation(model: model, split: split, named: splitName, trajectories: trajectories, steps: steps,
                                        every: every) { progress("trained", $0, $1) }
        var rng = RandomGenerator(seed: untrainedSeed)
        let fresh = ModelConfiguration(of: model).makeModel(using: &rng)
        let untrained = try participation(model: fresh, split: split, named: splitName, trajectories: trajectories, steps: steps,
                                          every: every) { progress("untrained", $0, $1) }
        let c = model.reasoningConfiguration
        let names = stateNames(c.architecture)
        return DimensionalityReport(architecture: c.architecture, hiddenSize: c.hiddenSize, trajectories: trajectories,
                                    actSteps: steps, lowName: names.low, highName: names.high, pooling: poolingDefinition,
                                    trained: trained, untrained: untrained, untrainedSeed: untrainedSeed)
    }

    /// Participation ratios of both states over `trajectories` evaluation trajectories (the
    /// first examples of `split`, `steps` ACT steps each), with the curve at every `every`
    /// trajectories.
    static func participation(model: any ReasoningModel, split: DatasetSplit, named splitName: String,
                              trajectories: Int, steps: Int, every: Int, progress: (Int, Int) -> Void) throws -> DimensionalityReport.Model {
        guard trajectories >= 1 else { throw AnalysisError.badCount(what: "--trajectories", value: trajectories) }
        guard split.exampleCount >= trajectories else {
            throw AnalysisError.tooFewExamples(split: splitName, have: split.exampleCount, wanted: trajectories)
        }
        let c = model.reasoningConfiguration
        let d = c.hiddenSize, p = c.puzzlePrefixLength, n = c.positionCount
        var low = Covariance(width: d), high = Covariance(width: d)
        var curve: [DimensionalityReport.Point] = []
        let chunk = max(1, min(every, trajectories))
        var seen = 0
        for batch in split.evaluationBatches(batchSize: chunk) where seen < trajectories {
            let rows = min(batch.count, trajectories - seen)
            let observer: StateObserver = { update, _, after in
                // Grid positions of the first `rows` rows, one sample each: [rows·S, D].
                let grid = after.sliced(axis: 0, 0..<rows).sliced(axis: 1, p..<n).reshaped([rows * (n - p), d])
                if update == .low { low.add(grid) } else { high.add(grid) }
            }
            run(model: model, batch: batch, steps: steps, observer: observer) { _ in }
            seen += rows
            curve.append(.init(trajectories: seen, low: low.participationRatio, high: high.participationRatio))
            progress(seen, trajectories)
        }
        // (A model with one state, the Transformer baseline, has no low samples at all.)
        guard low.samples == 0 || low.samples > d, high.samples > d else {
            throw AnalysisError.tooFewSamples(samples: min(low.samples, high.samples), width: d)
        }
        return .init(low: low.participationRatio, high: high.participationRatio, lowSamples: low.samples,
                     highSamples: high.samples, curve: curve)
    }
}

/// Running sums for the covariance of D-wide samples: Σx (Double) and Σxxᵀ (a BLAS product per
/// block of samples, accumulated in Double).
struct Covariance {
    let width: Int
    private(set) var samples = 0
    private var sum: [Double]
    private var outer: [Double]

    init(width: Int) {
        self.width = width
        sum = Array(repeating: 0, count: width)
        outer = Array(repeating: 0, count: width * width)
    }

    /// Adds the rows of `x` `[M, D]` as M samples.
    mutating func add(_ x: Tensor) {
        precondition(x.rank == 2 && x.shape[1] == width, "samples must be [M, \(width)]")
        let m = x.shape[0]
        let gram = withoutGradients { matmul(x, x, transposeA: true) }  // [D, D]
        let g = gram.pointer, v = x.pointer
        for i in 0..<(width * width) { outer[i] += Double(g[i]) }
        for r in 0..<m {
            for j in 0..<width { sum[j] += Double(v[r * width + j]) }
        }
        samples += m
    }

    /// (tr C)² / ‖C‖²_F = (Σλ)² / Σλ² of the sample covariance C; 0 before two samples.
    var participationRatio: Double {
        guard samples > 1 else { return 0 }
        let n = Double(samples)
        var trace = 0.0, frobenius = 0.0
        for i in 0..<width {
            for j in 0..<width {
                let c = (outer[i * width + j] - sum[i] * sum[j] / n) / (n - 1)
                frobenius += c * c
                if i == j { trace += c }
            }
        }
        return frobenius > 0 ? trace * trace / frobenius : 0
    }
}

/// What `hrm analyze convergence` writes (JSON; the picture is drawn from it).
public struct ConvergenceReport: Codable, Equatable, Sendable {
    public struct Call: Codable, Equatable, Sendable {
        /// 1, 2, … over all module calls of all ACT steps.
        public var index: Int
        /// The ACT step (from 1) and the call inside it (from 1).
        public var actStep: Int
        public var call: Int
        public var update: StateUpdate
        /// Mean and standard deviation over puzzles.
        public var residual: Double
        public var spread: Double

        enum CodingKeys: String, CodingKey {
            case index, actStep = "act_step", call, update, residual, spread
        }
    }

    public var architecture: Architecture
    public var puzzles: Int
    public var actSteps: Int
    public var lowName: String
    public var highName: String
    public var definition: String
    public var calls: [Call]

    enum CodingKeys: String, CodingKey {
        case architecture, puzzles, actSteps = "act_steps", lowName = "low_name", highName = "high_name", definition, calls
    }
}

/// What `hrm analyze dimensionality` writes: the checkpoint's ratios beside the same
/// architecture untrained.
public struct DimensionalityReport: Codable, Equatable, Sendable {
    public struct Point: Codable, Equatable, Sendable {
        public var trajectories: Int
        public var low: Double
        public var high: Double
    }

    public struct Model: Codable, Equatable, Sendable {
        /// Participation ratios of the low and high states over all trajectories.
        public var low: Double
        public var high: Double
        public var lowSamples: Int
        public var highSamples: Int
        /// The ratios after the first 10, 20, … trajectories.
        public var curve: [Point]

        /// high / low.
        public var ratio: Double { low > 0 ? high / low : 0 }

        enum CodingKeys: String, CodingKey {
            case low, high, lowSamples = "low_samples", highSamples = "high_samples", curve
        }
    }

    public var architecture: Architecture
    public var hiddenSize: Int
    public var trajectories: Int
    public var actSteps: Int
    public var lowName: String
    public var highName: String
    public var pooling: String
    public var trained: Model
    public var untrained: Model
    /// The seed the untrained model was drawn with.
    public var untrainedSeed: UInt64

    enum CodingKeys: String, CodingKey {
        case architecture, hiddenSize = "hidden_size", trajectories, actSteps = "act_steps", lowName = "low_name",
             highName = "high_name", pooling, trained, untrained, untrainedSeed = "untrained_seed"
    }
}

/// Problems with an analysis a user asked for.
public enum AnalysisError: Error, CustomStringConvertible, Equatable {
    case badCount(what: String, value: Int)
    case emptySplit(String)
    case tooFewExamples(split: String, have: Int, wanted: Int)
    case tooFewSamples(samples: Int, width: Int)

    public var description: String {
        switch self {
        case .badCount(let what, let value): return "\(what) must be at least 1; got \(value)."
        case .emptySplit(let s): return "the \(s) split has no examples to analyse."
        case .tooFewExamples(let s, let have, let wanted):
            return "the \(s) split has \(have) examples; \(wanted) trajectories need \(wanted) (lower --trajectories or build more test puzzles)."
        case .tooFewSamples(let samples, let width):
            return "\(samples) state samples cannot estimate a \(width)×\(width) covariance (need more than \(width)); use more trajectories."
        }
    }
}

extension ConvergenceReport {
    /// Mean residual of each kind of call at each ACT step: `[step][update]`.
    public func meanPerStep(_ update: StateUpdate) -> [Double] {
        (1...max(actSteps, 1)).map { k in
            let r = calls.filter { $0.actStep == k && $0.update == update }.map(\.residual)
            return r.isEmpty ? 0 : r.reduce(0, +) / Double(r.count)
        }
    }

    /// The paper's Figure 3 as a page: the residual of every call against its index, ACT steps
    /// marked.
    public func page(title: String, json: Data) -> String {
        let low = calls.filter { $0.update == .low }, high = calls.filter { $0.update == .high }
        let marks = calls.filter { $0.call == 1 }.map { Double($0.index) - 0.5 }
        let chart = LineChart(title: "forward residual of every module call (\(puzzles) puzzles, \(actSteps) ACT steps)",
                              xLabel: "module call (ACT steps marked)", yLabel: "residual", logY: true,
                              series: [.init(name: "\(lowName) (\(architecture == .hrm ? "L module" : "latent update"))", color: "#1f77b4",
                                             points: low.map { (Double($0.index), $0.residual) }),
                                       .init(name: "\(highName) (\(architecture == .hrm ? "H module" : architecture == .trm ? "answer update" : "the one stack"))", color: "#d62728",
                                             points: high.map { (Double($0.index), $0.residual) }, dots: true)],
                              marks: marks)
        let lows = meanPerStep(.low), highs = meanPerStep(.high)
        var table = [["ACT step", "mean \(lowName) residual", "mean \(highName) residual"]]
        for k in 0..<actSteps { table.append(["\(k + 1)", String(format: "%.3g", lows[k]), String(format: "%.3g", highs[k])]) }
        return AnalysisPage.html(title: title, paragraphs: [
            "Residual: \(definition).",
            "A module that settles shows falling residuals; HRM's L module should settle within each H cycle and jump when z_H changes (HRM paper, Figure 3).",
        ], charts: [chart], table: table, json: json)
    }
}

extension DimensionalityReport {
    /// The participation ratios against the number of trajectories, trained and untrained.
    public func page(title: String, json: Data) -> String {
        func points(_ m: Model, _ high: Bool) -> [(x: Double, y: Double)] {
            m.curve.map { (Double($0.trajectories), high ? $0.high : $0.low) }
        }
        let chart = LineChart(title: "participation ratio against trajectories (hidden \(hiddenSize))", xLabel: "trajectories",
                              yLabel: "PR", series: [
                                  .init(name: "\(highName) trained", color: "#d62728", points: points(trained, true), dots: true),
                                  .init(name: "\(lowName) trained", color: "#1f77b4", points: points(trained, false), dots: true),
                                  .init(name: "\(highName) untrained", color: "#d62728", points: points(untrained, true), dashed: true),
                                  .init(name: "\(lowName) untrained", color: "#1f77b4", points: points(untrained, false), dashed: true),
                              ])
        let table = [["model", "PR \(highName)", "PR \(lowName)", "\(highName) / \(lowName)"],
                     ["trained", String(format: "%.2f", trained.high), String(format: "%.2f", trained.low), String(format: "%.2f", trained.ratio)],
                     ["untrained (seed \(untrainedSeed))", String(format: "%.2f", untrained.high), String(format: "%.2f", untrained.low), String(format: "%.2f", untrained.ratio)],
                     ["HRM paper, trained (D 512)", "89.95", "30.22", "2.98"],
                     ["HRM paper, untrained", "40.75", "42.09", "0.97"]]
        return AnalysisPage.html(title: title, paragraphs: [
            "Samples: \(pooling).",
            "\(trajectories) trajectories of \(actSteps) ACT steps; \(trained.highSamples) \(highName) and \(trained.lowSamples) \(lowName) samples.",
        ], charts: [chart], table: table, json: json)
    }
}
