import Foundation
import Testing
@testable import Application
import Models
import Puzzles
import Reasoning
import Tensors
import TestSupport
import Training

/// `hrm analyze`: the residual and the participation ratio computed as the reports state, on
/// hand-made states and on tiny models of both architectures.
@Suite struct AnalysesTests {
    /// A 4×4 Sudoku test split of `count` puzzles (sequence 16).
    static func split(count: Int) -> DatasetSplit {
        let splits = SmallSudokuGenerator.generateSplits(SmallSudokuGenerator(size: 4, blanks: 4...8), count: 2, testCount: count, seed: 3)
        return SudokuDataset.build(size: 4, train: splits.train, test: splits.test).splits["test"]!
    }

    static func model(_ architecture: Architecture, for split: DatasetSplit, seed: UInt64 = 1) -> any ReasoningModel {
        var rng = RandomGenerator(seed: seed)
        let m = split.metadata
        switch architecture {
        case .hrm:
            var c = HRMConfiguration.tiny
            (c.sequenceLength, c.vocabularySize, c.puzzleIdentifierCount) = (m.sequenceLength, m.vocabularySize, m.puzzleIdentifierCount)
            return ModelConfiguration.hrm(c).makeModel(using: &rng)
        case .trm:
            var c = TRMConfiguration.tiny
            (c.sequenceLength, c.vocabularySize, c.puzzleIdentifierCount) = (m.sequenceLength, m.vocabularySize, m.puzzleIdentifierCount)
            return ModelConfiguration.trm(c).makeModel(using: &rng)
        case .transformer:
            var c = TransformerConfiguration.tiny
            (c.sequenceLength, c.vocabularySize, c.puzzleIdentifierCount) = (m.sequenceLength, m.vocabularySize, m.puzzleIdentifierCount)
            return ModelConfiguration.transformer(c).makeModel(using: &rng)
        }
    }

    /// The tiny presets' cycles (H, L) the models above are made with.
    /// (The Transformer baseline: one call of its one state per step.)
    static func cycles(_ architecture: Architecture) -> (high: Int, low: Int) {
        switch architecture {
        case .hrm: return (HRMConfiguration.tiny.highCycles, HRMConfiguration.tiny.lowCycles)
        case .trm: return (TRMConfiguration.tiny.highCycles, TRMConfiguration.tiny.lowCycles)
        case .transformer: return (1, 0)
        }
    }

    @Test func residualIsTheRelativeChangeOfEachPuzzlesWholeState() {
        // Puzzle 0: before (3, 4) → after (0, 4): ‖(−3, 0)‖ / ‖(3, 4)‖ = 0.6.
        // Puzzle 1: before (1, 0) → after (1, 1): 1 / 1. Puzzle 2 is past `rows`.
        let before = Tensor([3, 4, 1, 0, 5, 5], shape: [3, 1, 2])
        let after = Tensor([0, 4, 1, 1, 0, 0], shape: [3, 1, 2])
        let r = Analyses.rowResiduals(before: before, after: after, rows: 2)
        #expect(r.count == 2)
        #expect(abs(r[0] - 0.6) < 1e-12 && abs(r[1] - 1) < 1e-12, "\(r)")
    }

    @Test func participationRatioCountsTheDimensionsInUse() {
        var rng = RandomGenerator(seed: 7)
        let d = 16, m = 4000
        // Isotropic: every direction alike, PR → D (sampling spread: a few per cent at M = 4000).
        var iso = Covariance(width: d)
        iso.add(Tensor.normal([m, d], using: &rng))
        #expect(iso.participationRatio > 0.9 * Double(d) && iso.participationRatio <= Double(d) + 1e-9, "\(iso.participationRatio)")
        // Rank one (every sample a multiple of one vector, plus an offset the mean removes): 1.
        let direction = Tensor.normal([d], using: &rng).scalars
        var values: [Float] = []
        for i in 0..<m { values += direction.map { $0 * Float(i % 17 - 8) + 3 } }
        var line = Covariance(width: d)
        line.add(Tensor(values, shape: [m, d]))
        #expect(abs(line.participationRatio - 1) < 1e-3, "\(line.participationRatio)")
        // Two orthogonal axes of variances 1 and 1: 2; of variances 1 and 4: (1+4)²/(1+16) = 25/17.
        for (scale, expected) in [(Float(1), 2.0), (Float(2), 25.0 / 17.0)] {
            var v = [Float](repeating: 0, count: 4 * d)
            v[0] = 1; v[d] = -1; v[2 * d + 1] = scale; v[3 * d + 1] = -scale
            var c = Covariance(width: d)
            c.add(Tensor(v, shape: [4, d]))  // added in two parts it must be the same
            var halves = Covariance(width: d)
            halves.add(Tensor(Array(v[..<(2 * d)]), shape: [2, d]))
            halves.add(Tensor(Array(v[(2 * d)...]), shape: [2, d]))
            #expect(abs(c.participationRatio - expected) < 1e-9 && abs(halves.participationRatio - expected) < 1e-9,
                    "\(c.participationRatio) \(halves.participationRatio)")
        }
    }

    @Test(arguments: Architecture.allCases)
    func convergenceSeesEveryModuleCallAndDoesNotDependOnTheBatch(_ architecture: Architecture) throws {
        let split = Self.split(count: 5)
        let model = Self.model(architecture, for: split)
        let steps = 3
        let report = try Analyses.convergence(model: model, split: split, limit: 5, steps: steps)
        let c = Self.cycles(architecture)
        // HRM: H cycles of (L cycles of z_L, then z_H); TRM: H cycles of (L cycles of z, then y).
        let perStep = c.high * (c.low + 1)
        #expect(report.calls.count == steps * perStep && report.puzzles == 5)
        for (i, call) in report.calls.enumerated() {
            #expect(call.index == i + 1 && call.actStep == i / perStep + 1 && call.call == i % perStep + 1)
            let isHigh = (call.call % (c.low + 1)) == 0
            #expect(call.update == (isHigh ? .high : .low), "call \(call.index)")
            #expect(call.residual > 0 && call.residual.isFinite && call.spread >= 0)
        }
        // The same puzzles in batches of 2 give the same means (each row counted once).
        let small = try Analyses.convergence(model: model, split: split, limit: 5, steps: steps, batchSize: 2)
        for (a, b) in zip(report.calls, small.calls) { #expect(abs(a.residual - b.residual) < 1e-5 * max(1, a.residual)) }
        // A limit inside one batch counts only its rows: puzzle 0 alone differs from the mean of 5.
        let first = try Analyses.convergence(model: model, split: split, limit: 1, steps: steps)
        #expect(first.puzzles == 1 && first.calls.count == report.calls.count)
        #expect(zip(first.calls, report.calls).contains { abs($0.residual - $1.residual) > 1e-6 })
        #expect(first.calls.allSatisfy { $0.spread < 1e-6 * max(1, $0.residual) }, "one puzzle has no spread")
        #expect(report.meanPerStep(.low).count == steps && report.meanPerStep(.high).count == steps)
        let page = report.page(title: "t", json: Data("{}".utf8))
        #expect(page.contains(AnalysisPage.signature) && page.contains("<svg"))
        #expect(!page.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "").contains("http"), "the page loads nothing")
    }

    @Test(arguments: Architecture.allCases)
    func dimensionalityComparesTheModelWithTheSameArchitectureUntrained(_ architecture: Architecture) throws {
        let split = Self.split(count: 6)
        let model = Self.model(architecture, for: split)
        var phases: [String] = []
        let report = try Analyses.dimensionality(model: model, split: split, trajectories: 6, steps: 2, every: 4, untrainedSeed: 9) { p, _, _ in
            if phases.last != p { phases.append(p) }
        }
        #expect(phases == ["trained", "untrained"])
        let c = model.reasoningConfiguration, cycles = Self.cycles(architecture)
        let positions = c.positionCount - c.puzzlePrefixLength
        #expect(report.trained.lowSamples == 6 * 2 * cycles.high * cycles.low * positions)
        #expect(report.trained.highSamples == 6 * 2 * cycles.high * positions)
        #expect(report.trained.curve.map(\.trajectories) == [4, 6])
        #expect(report.trained.curve.last!.low == report.trained.low && report.trained.curve.last!.high == report.trained.high)
        for m in [report.trained, report.untrained] {
            #expect(m.high >= 1 && m.high <= Double(c.hiddenSize))
            #expect(architecture == .transformer ? m.low == 0 : m.low >= 1 && m.low <= Double(c.hiddenSize))
        }
        // A different seed is a different untrained model; the same seed the same one.
        let again = try Analyses.dimensionality(model: model, split: split, trajectories: 6, steps: 2, every: 4, untrainedSeed: 9)
        #expect(again == report)
        let names = Analyses.stateNames(architecture)
        #expect(report.lowName == names.low && report.highName == names.high)
        #expect(report.page(title: "t", json: Data()).contains("89.95"))
    }

    /// The compute curve's fixed steps and Q-halting agree with `hrm eval`'s own evaluation
    /// (`Evaluator.evaluate`, a separate code path) run with the same caps.
    @Test(arguments: Architecture.allCases)
    func computeCurveAgreesWithTheEvaluator(_ architecture: Architecture) throws {
        let split = Self.split(count: 7)
        let model = Self.model(architecture, for: split, seed: 5)
        let beyond = 6
        let report = try Analyses.compute(model: model, split: split, limit: 7, beyond: beyond)
        let fixed = report.points.filter { $0.mode == .fixed }
        #expect(fixed.map(\.calls) == (1...beyond).map(Double.init))
        let all = Evaluator.evaluate(model: model, split: split, batchSize: 3, maxSteps: beyond)
        #expect(fixed.map(\.exactAccuracy) == all.exactAccuracyPerStep)
        let halting = report.points.filter { $0.mode == .qHalt }
        #expect(halting.map(\.label) == ["Q head, M_max 1", "Q head, M_max 2", "Q head, M_max 4"])  // and the trained 4
        for (cap, point) in zip([1, 2, 4], halting) {
            let early = Evaluator.evaluate(model: model, split: split, batchSize: 3, maxSteps: cap, answer: .early)
            #expect(abs(point.calls - early.meanSteps) < 1e-12 && abs(point.exactAccuracy - early.exactAccuracy) < 1e-12, "M_max \(cap)")
        }
        #expect(!report.points.contains { $0.mode == .rulesViews || $0.mode == .qTrajectories }, "4×4 data: no Sudoku modes")
        #expect(report.page(title: "t", json: Data()).contains("<svg"))
        #expect(throws: AnalysisError.badCount(what: "--max-steps", value: 0)) {
            try Analyses.compute(model: model, split: split, limit: 7, beyond: 0)
        }
    }

    /// On 9×9 Sudoku data the test-time modes join the curve with their model calls.
    @Test func computeCurveOnSudokuHasTheTestTimeModes() throws {
        let pairs = SudokuDataset.generate(count: 3, generator: SudokuGenerator(clueRange: 36...41), seed: 11)
            .map { (puzzle: $0.puzzle, solution: $0.solution) }
        var rng = SplitMix(seed: 1)
        let split = SudokuDataset.build(train: Array(pairs.prefix(1)), test: pairs, augmentations: 0, using: &rng).splits["test"]!
        let model = try Solver.shipped().model
        let steps = model.reasoningConfiguration.haltMaxSteps
        let report = try Analyses.compute(model: model, split: split, limit: 3, beyond: steps, views: [2], trajectories: [2])
        let rules = try #require(report.points.first { $0.mode == .rulesViews })
        let q = try #require(report.points.first { $0.mode == .qTrajectories })
        #expect(rules.calls >= 1 && rules.calls <= Double(2 * steps))
        #expect(q.calls == Double(2 * steps), "two trajectories of every step each")
        #expect(report.trainedMaxSteps == steps && report.points.filter { $0.mode == .fixed }.count == steps)
    }

    /// Figure 5: an ACT checkpoint is scored at its Q head's first halt (capped at its M_max), a
    /// fixed one (act_enabled false) at its M; both agree with the evaluator run separately, and
    /// the inference-time scaling reaches scale × M.
    @Test func actComparisonScoresEachCheckpointAsItWasTrained() throws {
        let split = Self.split(count: 7)
        let act = Self.model(.hrm, for: split, seed: 5)
        var config = ModelConfiguration(of: act)
        config.setHalting(maxSteps: 2, explorationProbability: 0.1, actEnabled: true)
        var rng = RandomGenerator(seed: 5)
        let actModel = config.makeModel(using: &rng)
        // A Q head that halts every puzzle after its first step.
        let bias = try #require(actModel.trainableParameters().first { $0.name == "q_head.bias" }?.tensor)
        (bias.pointer[0], bias.pointer[1]) = (5, -5)
        config.setHalting(maxSteps: 3, explorationProbability: 0.1, actEnabled: false)
        let fixedModel = config.makeModel(using: &rng)
        let report = try Analyses.actComparison(models: [("a", actModel), ("f", fixedModel)], split: split, limit: 7, scale: 4)
        #expect(report.puzzles == 7 && report.models.map(\.name) == ["a", "f"])
        let (a, f) = (report.models[0], report.models[1])
        #expect(a.actEnabled && !f.actEnabled && a.trainedMaxSteps == 2 && f.trainedMaxSteps == 3)
        let early = Evaluator.evaluate(model: actModel, split: split, batchSize: 3, maxSteps: 2, answer: .early)
        #expect(a.meanSteps == 1 && early.meanSteps == 1 && abs(a.exactAccuracy - early.exactAccuracy) < 1e-12)
        let full = Evaluator.evaluate(model: fixedModel, split: split, batchSize: 3, maxSteps: 12)
        #expect(f.meanSteps == 3 && f.exactAccuracy == full.exactAccuracyPerStep[2])
        #expect(a.inference.map(\.maxSteps) == [1, 2, 4, 8] && f.inference.map(\.maxSteps) == Array(1...12))
        #expect(f.inference.map(\.exactAccuracy) == full.exactAccuracyPerStep)
        let page = report.page(title: "t", json: Data())
        #expect(page.components(separatedBy: "<svg").count - 1 == 3 && page.contains("fixed M") && page.contains("ACT (M_max)"))
        // The log axes carry power-of-two ticks: M 2 and 3 give 2; inference 1 … 12 gives 1, 2, 4, 8.
        for tick in [1, 2, 4, 8] { #expect(page.contains(">\(tick)</text>"), "tick \(tick)") }
        #expect(throws: AnalysisError.badCount(what: "--checkpoint", value: 0)) {
            try Analyses.actComparison(models: [], split: split, limit: 7, scale: 4)
        }
    }

    @Test func badRequestsAreRefusedInOneSentence() throws {
        let split = Self.split(count: 3)
        let model = Self.model(.hrm, for: split)
        #expect(throws: AnalysisError.badCount(what: "--limit", value: 0)) {
            try Analyses.convergence(model: model, split: split, limit: 0, steps: 1)
        }
        #expect(throws: AnalysisError.badCount(what: "--trajectories", value: 0)) {
            try Analyses.dimensionality(model: model, split: split, trajectories: 0, steps: 1)
        }
        #expect(throws: AnalysisError.tooFewExamples(split: "test", have: 3, wanted: 100)) {
            try Analyses.dimensionality(model: model, split: split, trajectories: 100, steps: 1)
        }
        var empty = split
        empty.inputs = TokenBytes([])
        #expect(throws: AnalysisError.emptySplit("test")) { try Analyses.convergence(model: model, split: empty, limit: 5, steps: 1) }
        // 1 trajectory, 1 step of HRM tiny: 2 z_H samples × 16 positions = 32 ≤ hidden 32.
        #expect(throws: AnalysisError.tooFewSamples(samples: 32, width: 32)) {
            try Analyses.dimensionality(model: model, split: split, trajectories: 1, steps: 1)
        }
        for e in [AnalysisError.tooFewSamples(samples: 32, width: 32), .tooFewExamples(split: "test", have: 3, wanted: 100)] {
            #expect(e.description.hasSuffix(".") && !e.description.contains("\n"))
        }
    }
}
