import Foundation
import Testing
import Layers
import Models
import Reasoning
import Tensors
import TestSupport
@testable import Training

/// The direct-prediction Transformer baseline against reference values from an independent
/// PyTorch implementation of its spec (`tools/reference/make_transformer_fixtures.py`), with the
/// parity tests' integer-formula weights; and its structure without a fixture.
@Suite struct TransformerBaselineTests {
    static let fixtureURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/transformer-parity.safetensors")

    let fixture: SafetensorsFile

    init() throws { fixture = try SafetensorsFile(contentsOf: Self.fixtureURL) }

    func makeModel() throws -> TransformerBaseline {
        let json = try #require(fixture.metadata["config"])
        let c = try JSONDecoder().decode(TransformerConfiguration.self, from: Data(json.utf8))
        var rng = RandomGenerator(seed: 0)
        let model = TransformerBaseline(configuration: c, using: &rng)
        ParityTests.setFixtureWeights(model)
        return model
    }

    func batch(_ key: String) throws -> PuzzleBatch {
        PuzzleBatch(inputs: try fixture.int32s("batch.\(key).inputs"), labels: try fixture.int32s("batch.\(key).labels"),
                    puzzleIdentifiers: try fixture.int32s("batch.\(key).puzzle_identifiers"))
    }

    func expectClose(_ actual: Tensor, _ name: String, relative: Float, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try expectFixtureClose(fixture, actual, name, relative: relative, sourceLocation: sourceLocation)
    }

    @Test func parameterNamesAndCountMatch() throws {
        let model = try makeModel()
        let names = Set(model.trainableParameters().map(\.name))
        let summed = Set(fixture.entries.keys.filter { $0.hasPrefix("gradsum.") }.map { String($0.dropFirst("gradsum.".count)) })
        #expect(names == summed)
        #expect(String(model.trainableParameterCount) == fixture.metadata["parameters"])
        #expect(!model.namedParameters().contains { $0.name == "L_init" }, "the baseline's state dict has no L_init")
    }

    @Test func evaluationStepsMatch() throws {
        let act = AdaptiveComputation(model: try makeModel(), isTraining: false)
        let b = try batch("eval")
        var carry = act.initialCarry(batch: b)
        var rng = RandomGenerator(seed: 0)
        for step in 1...3 {
            let out = withoutGradients { act.step(&carry, batch: b, using: &rng) }
            try expectClose(out.logits, "eval.logits.\(step)", relative: 1e-4)
            try expectClose(out.qHalt, "eval.q_halt.\(step)", relative: 1e-4)
            try expectClose(out.qContinue, "eval.q_continue.\(step)", relative: 1e-4)
        }
    }

    @Test func trainingStepLossesAndGradientsMatch() throws {
        let model = try makeModel()
        let act = AdaptiveComputation(model: model, isTraining: true)
        let b = try batch("0")
        var carry = act.initialCarry(batch: b)
        var rng = RandomGenerator(seed: 0)
        let out = act.step(&carry, batch: b, using: &rng)
        #expect(out.targetQContinue == nil, "the baseline trains no continue target")
        let loss = actLoss(out, carry: carry, lossType: model.configuration.lossType)
        (loss.total * 0.25).backward()
        try expectClose(Tensor(scalar: Float(loss.metrics.lmLoss)), "train.lm", relative: 1e-4)
        try expectClose(Tensor(scalar: Float(loss.metrics.qHaltLoss)), "train.q_halt", relative: 1e-4)
        #expect(loss.metrics.qContinueLoss == 0)
        try expectClose(loss.total, "train.total", relative: 1e-4)
        for (name, p) in model.trainableParameters() {
            let g = try #require(p.gradient, "\(name) has no gradient")
            let values = g.scalars.map(Double.init)
            let sums = Tensor([Float(values.reduce(0, +)), Float(values.reduce(0) { $0 + $1 * $1 })], shape: [2])
            try expectClose(sums, "gradsum.\(name)", relative: 1e-3)
            if fixture.entries["grad.\(name)"] != nil { try expectClose(g, "grad.\(name)", relative: 1e-3) }
        }
        let local = try #require(model.puzzleEmbedding?.localWeights?.gradient)
        try expectClose(local, "grad.puzzle_emb.local", relative: 1e-3)
    }

    @Test func tenStepLossTrajectoryMatches() throws {
        var t = TrainingConfiguration()
        (t.globalBatchSize, t.learningRate, t.puzzleEmbeddingLearningRate) = (4, 3e-3, 1e-2)
        (t.warmupSteps, t.totalSteps, t.learningRateMinimumRatio) = (3, 10, 0.1)
        (t.weightDecay, t.puzzleEmbeddingWeightDecay) = (0.1, 0.1)
        let trainer = Trainer(model: try makeModel(), configuration: t)
        var totals: [Float] = [], lms: [Float] = []
        for step in 0..<10 {
            let r = trainer.trainStep(try batch("\(step)"))
            totals.append(r.totalLoss)
            lms.append(Float(r.metrics.lmLoss))
        }
        try expectClose(Tensor(totals, shape: [10]), "trajectory.total", relative: 1e-3)
        try expectClose(Tensor(lms, shape: [10]), "trajectory.lm", relative: 1e-3)
    }

    // MARK: - Without a fixture

    @Test func paperSizeAndConfigurationFiles() throws {
        var c = TransformerConfiguration.sudoku
        var rng = RandomGenerator(seed: 0)
        // 8 blocks of 3,407,872 (8 heads of 64) + embeddings and heads 12,290 (TRM-SPEC §19.1's
        // table has 27,144,194 with the yaml's 12 heads of 42).
        #expect(TransformerBaseline(configuration: c, using: &rng).trainableParameterCount == 8 * 3_407_872 + 12_290)
        let data = try JSONEncoder().encode(ModelConfiguration.transformer(c))
        #expect(try JSONDecoder().decode(ModelConfiguration.self, from: data) == .transformer(c))
        #expect(String(decoding: data, as: UTF8.self).contains("\"architecture\":\"transformer\""))
        #expect(ModelConfiguration.presets["transformer-sudoku-small"] == .transformer(.sudokuSmall))
        c.headCount = 12
        #expect(c.problems.contains { $0.contains("12 heads of 42") })
        c = .tiny
        c.highCycles = 2
        #expect(c.problems.contains { $0.contains("H_cycles must be 1") })
        // A file of another architecture is not read as this one.
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(TransformerConfiguration.self, from: try JSONEncoder().encode(HRMConfiguration.tiny))
        }
    }

    @Test func oneCallPerStepWithTheGradientThroughAllOfIt() {
        var rng = RandomGenerator(seed: 2)
        let model = TransformerBaseline(configuration: .tiny, using: &rng)
        let s = model.initialStates(batchSize: 2)
        var calls: [StateUpdate] = []
        let z0 = s.high.copy().requiringGradient()
        let out = model.segment(zHigh: z0, zLow: s.low, inputs: (0..<32).map { Int32($0 % 9 + 1) }, puzzleIdentifiers: [0, 0]) { u, _, _ in
            calls.append(u)
        }
        #expect(calls == [.high], "one module call per ACT step")
        #expect(out.zLow.scalars.allSatisfy { $0 == 0 }, "no second state")
        out.logits.sum().backward()
        for (name, p) in model.trainableParameters() where name.hasPrefix("H_level") {
            #expect(p.gradient?.scalars.contains { $0 != 0 } == true, "\(name) got no gradient")
        }
        #expect(model.configuration.halting.halts(qHalt: 1, qContinue: 0) && !model.configuration.halting.trainsContinue)
    }
}
