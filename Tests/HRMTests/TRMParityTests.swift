import Foundation
import Testing
import Layers
import Models
import Reasoning
import Tensors
import TestSupport
@testable import Training

/// TRM against reference values from an independent PyTorch implementation of TRM-SPEC
/// (`tools/reference/make_trm_fixtures.py`), for both variants: "att" (self-attention + RoPE,
/// TRM-SPEC §19.2 Tiny-A) and "mlp" (`mlp_t`, no positions, Tiny-B). Weights come from the
/// integer formula the HRM parity tests use, so none are stored.
@Suite struct TRMParityTests {
    static let fixtureURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/trm-parity.safetensors")
    static let variants = ["att", "mlp"]

    let fixture: SafetensorsFile

    init() throws { fixture = try SafetensorsFile(contentsOf: Self.fixtureURL) }

    func configuration(_ variant: String) throws -> TRMConfiguration {
        let json = try #require(fixture.metadata["config.\(variant)"])
        return try JSONDecoder().decode(TRMConfiguration.self, from: Data(json.utf8))
    }

    func makeModel(_ variant: String) throws -> TinyRecursiveModel {
        var rng = RandomGenerator(seed: 0)
        let model = TinyRecursiveModel(configuration: try configuration(variant), using: &rng)
        ParityTests.setFixtureWeights(model)
        return model
    }

    func batch(_ key: String) throws -> PuzzleBatch {
        PuzzleBatch(inputs: try fixture.int32s("batch.\(key).inputs"),
                    labels: try fixture.int32s("batch.\(key).labels"),
                    puzzleIdentifiers: try fixture.int32s("batch.\(key).puzzle_identifiers"))
    }

    func expectClose(_ actual: Tensor, _ name: String, relative: Float, floor: Float = 1e-2,
                     sourceLocation: SourceLocation = #_sourceLocation) throws {
        try expectFixtureClose(fixture, actual, name, relative: relative, floor: floor, sourceLocation: sourceLocation)
    }

    @Test(arguments: variants) func parameterNamesAndCountsMatch(variant: String) throws {
        let model = try makeModel(variant)
        let names = Set(model.trainableParameters().map(\.name))
        let prefix = "\(variant).grad."
        let gradientNames = Set(fixture.entries.keys.filter { $0.hasPrefix(prefix) && !$0.hasSuffix("puzzle_emb.local") }
            .map { String($0.dropFirst(prefix.count)) })
        #expect(names == gradientNames)
        // TRM-SPEC §19.2: Tiny-A 57,794, Tiny-B 80,322 trainable parameters.
        #expect(model.trainableParameterCount == (variant == "att" ? 57_794 : 80_322))
        #expect(String(model.trainableParameterCount) == fixture.metadata["parameters.\(variant)"])
    }

    @Test(arguments: variants) func evaluationStepsMatch(variant: String) throws {
        let act = AdaptiveComputation(model: try makeModel(variant), isTraining: false)
        let b = try batch("eval")
        var carry = act.initialCarry(batch: b)
        var rng = RandomGenerator(seed: 0)
        for step in 1...3 {
            let out = withoutGradients { act.step(&carry, batch: b, using: &rng) }
            try expectClose(out.logits, "\(variant).eval.logits.\(step)", relative: 1e-4)
            try expectClose(out.qHalt, "\(variant).eval.q_halt.\(step)", relative: 1e-4)
            try expectClose(out.qContinue, "\(variant).eval.q_continue.\(step)", relative: 1e-4)
        }
    }

    @Test(arguments: variants) func trainingStepGradientsOptimizerAndEMAMatch(variant: String) throws {
        let model = try makeModel(variant)
        let c = model.configuration
        let act = AdaptiveComputation(model: model, isTraining: true)
        let b = try batch("0")
        var carry = act.initialCarry(batch: b)
        var rng = RandomGenerator(seed: 0)
        let average = WeightAverage(parameters: model.trainableParameters(), rate: 0.999)
        let out = act.step(&carry, batch: b, using: &rng)
        #expect(out.targetQContinue == nil, "TRM (no_ACT_continue) computes no continue target")
        let loss = actLoss(out, carry: carry, lossType: c.lossType)
        (loss.total * 0.25).backward()
        try expectClose(Tensor(scalar: Float(loss.metrics.lmLoss)), "\(variant).train.lm", relative: 1e-4)
        try expectClose(Tensor(scalar: Float(loss.metrics.qHaltLoss)), "\(variant).train.q_halt", relative: 1e-4)
        #expect(loss.metrics.qContinueLoss == 0)
        try expectClose(loss.total, "\(variant).train.total", relative: 1e-4)

        for (name, p) in model.trainableParameters() {
            let g = try #require(p.gradient, "\(name) has no gradient")
            try expectClose(g, "\(variant).grad.\(name)", relative: 1e-3)
        }
        let local = try #require(model.puzzleEmbedding?.localWeights?.gradient)
        try expectClose(local, "\(variant).grad.puzzle_emb.local", relative: 1e-3)

        AdamATan2(parameters: model.trainableParameters(), weightDecay: 0.1).update(learningRate: 1e-3)
        SignSGD(weightDecay: 0.1).update(model.puzzleEmbedding!, learningRate: 1e-2)
        average.update()
        let byName = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.tensor) })
        let shadows = Dictionary(uniqueKeysWithValues: average.namedState().map { ($0.name, $0.tensor) })
        let updated = fixture.entries.keys.filter { $0.hasPrefix("\(variant).updated.") }
        let averaged = fixture.entries.keys.filter { $0.hasPrefix("\(variant).ema.") }
        #expect(updated.count == 6 && averaged.count == 5)
        for key in updated {
            try expectClose(byName[String(key.dropFirst("\(variant).updated.".count))]!, key, relative: 1e-4)
        }
        for key in averaged {
            try expectClose(shadows[String(key.dropFirst("\(variant).ema.".count))]!, key, relative: 1e-4)
        }
    }

    @Test(arguments: variants) func tenStepLossTrajectoryMatches(variant: String) throws {
        var t = TrainingConfiguration()
        (t.globalBatchSize, t.learningRate, t.puzzleEmbeddingLearningRate) = (4, 3e-3, 1e-2)
        (t.warmupSteps, t.totalSteps, t.learningRateMinimumRatio) = (3, 10, 0.1)
        (t.weightDecay, t.puzzleEmbeddingWeightDecay) = (0.1, 0.1)
        let trainer = Trainer(model: try makeModel(variant), configuration: t)
        var totals: [Float] = [], lms: [Float] = []
        for step in 0..<10 {
            let r = trainer.trainStep(try batch("\(step)"))
            totals.append(r.totalLoss)
            lms.append(Float(r.metrics.lmLoss))
        }
        try expectClose(Tensor(totals, shape: [10]), "\(variant).trajectory.total", relative: 1e-3)
        try expectClose(Tensor(lms, shape: [10]), "\(variant).trajectory.lm", relative: 1e-3)
    }
}

/// TRM's structure, independent of any fixture (TRM-SPEC §19.1, §19.2).
@Suite struct TRMUnitTests {
    @Test func paperConfigurationsHaveTheSpecsParameterCounts() {
        func count(_ c: TRMConfiguration, vocabulary v: Int) -> Int {
            var c = c
            c.vocabularySize = v
            var rng = RandomGenerator(seed: 0)
            return TinyRecursiveModel(configuration: c, using: &rng).trainableParameterCount
        }
        #expect(count(.sudoku, vocabulary: 11) == 5_028_866)
        #expect(count(.sudokuAttention, vocabulary: 11) == 6_828_034)
        #expect(count(.maze, vocabulary: 6) == 6_822_914)
        #expect(count(.arc, vocabulary: 12) == 6_829_058)
    }

    func tiny(mlp: Bool = false) -> TinyRecursiveModel {
        var c = TRMConfiguration.tiny
        if mlp { (c.positionMLP, c.positionEncoding) = (true, .none) }
        var rng = RandomGenerator(seed: 1)
        let model = TinyRecursiveModel(configuration: c, using: &rng)
        // A non-zero puzzle row, so the prefix test can see slot 0.
        for i in 0..<model.puzzleEmbedding!.table.count { model.puzzleEmbedding!.table.pointer[i] = Float(i % 7) * 0.1 - 0.3 }
        return model
    }

    @Test func prefixHoldsThePuzzleRowInSlotZeroAndZerosAfter() {
        let model = tiny()
        let c = model.configuration
        let x = withoutGradients { model.inputEmbedding(inputs: Array(repeating: 1, count: 16), puzzleIdentifiers: [0]) }
        #expect(x.shape == [1, 20, 32])
        let v = x.scalars, d = c.hiddenSize
        let scale = Float(Double(d).squareRoot())
        for j in 0..<d { #expect(abs(v[j] - scale * model.puzzleEmbedding!.table.pointer[j]) < 1e-5) }
        #expect(v[d..<(c.puzzlePrefixLength * d)].allSatisfy { $0 == 0 }, "slots 1…P−1 are exactly zero")
    }

    @Test func untrainedQHeadNeverHaltsSoTrainingRunsEveryStep() {
        let model = tiny()
        let act = AdaptiveComputation(model: model, isTraining: true)
        let batch = PuzzleBatch(inputs: (0..<32).map { Int32($0 % 5 + 1) }, labels: (0..<32).map { Int32($0 % 5 + 1) },
                                puzzleIdentifiers: [0, 0])
        var carry = act.initialCarry(batch: batch)
        var rng = RandomGenerator(seed: 0)
        for step in 1...4 {
            let out = withoutGradients { act.step(&carry, batch: batch, using: &rng) }
            #expect(out.qHalt.scalars.allSatisfy { $0 == -5 } && out.qContinue.scalars.allSatisfy { $0 == -5 })
            #expect(carry.halted.allSatisfy { $0 == (step == 4) })
        }
    }

    @Test(arguments: [false, true]) func gradientReachesTheInputButNotTheStartingStates(mlp: Bool) {
        let model = tiny(mlp: mlp)
        let s = model.initialStates(batchSize: 2)
        let y0 = s.high.copy().requiringGradient(), z0 = s.low.copy().requiringGradient()
        let out = model.segment(zHigh: y0, zLow: z0, inputs: (0..<32).map { Int32($0 % 5 + 1) }, puzzleIdentifiers: [0, 0])
        out.logits.sum().backward()
        #expect(y0.gradient == nil || y0.gradient!.scalars.allSatisfy { $0 == 0 })
        #expect(z0.gradient == nil || z0.gradient!.scalars.allSatisfy { $0 == 0 })
        let tokenGradient = model.tokenEmbedding.weight.gradient!.scalars
        #expect(tokenGradient.contains { $0 != 0 })
        // Every block's weights learn (the whole last recursion is recorded).
        for (name, p) in model.trainableParameters() where name.hasPrefix("L_level") {
            #expect(p.gradient?.scalars.contains { $0 != 0 } == true, "\(name) got no gradient")
        }
    }

    @Test func oneDeepSegmentEqualsTwoChainedShallowOnes() {
        // TRM-SPEC §19.2: with identical weights a T = 2 segment equals two T = 1 segments.
        var rng = RandomGenerator(seed: 3)
        var c = TRMConfiguration.tiny
        let deep = TinyRecursiveModel(configuration: c, using: &rng)
        c.highCycles = 1
        let shallow = TinyRecursiveModel(configuration: c, using: &rng)
        for ((_, a), (_, b)) in zip(deep.namedParameters(), shallow.namedParameters()) { b.assign(a) }
        let inputs = (0..<32).map { Int32($0 % 5 + 1) }
        let s = deep.initialStates(batchSize: 2)
        let (one, two) = withoutGradients { () -> (SegmentOutput, SegmentOutput) in
            let one = deep.segment(zHigh: s.high, zLow: s.low, inputs: inputs, puzzleIdentifiers: [0, 0])
            let half = shallow.segment(zHigh: s.high, zLow: s.low, inputs: inputs, puzzleIdentifiers: [0, 0])
            return (one, shallow.segment(zHigh: half.zHigh, zLow: half.zLow, inputs: inputs, puzzleIdentifiers: [0, 0]))
        }
        #expect(compare(one.logits.scalars, two.logits.scalars, shape: one.logits.shape, relative: 1e-5, absolute: 1e-5).isClose)
        #expect(compare(one.zLow.scalars, two.zLow.scalars, shape: one.zLow.shape, relative: 1e-5, absolute: 1e-5).isClose)
    }

    @Test func positionMixingNormalisesOverPositions() {
        var rng = RandomGenerator(seed: 4)
        let block = TransformerBlock(hiddenSize: 8, tokenMixing: .positionMLP(positions: 6), expansion: 4, using: &rng)
        let h = Tensor.uniform([2, 6, 8], in: -1...1, using: &rng)
        let u = h.transposed(1, 2)
        let mixed = withoutGradients { rmsNorm(u + block.positionMLP!(u)) }.scalars  // [2, 8, 6]
        for row in 0..<16 {
            let r = mixed[(row * 6)..<(row * 6 + 6)]
            #expect(abs(r.map { $0 * $0 }.reduce(0, +) / 6 - 1) < 1e-3)
        }
        let out = withoutGradients { block(h, rotary: nil) }.scalars  // [2, 6, 8]: normalised over channels
        for row in 0..<12 {
            let r = out[(row * 8)..<(row * 8 + 8)]
            #expect(abs(r.map { $0 * $0 }.reduce(0, +) / 8 - 1) < 1e-3)
        }
        #expect(Set(block.namedParameters().map(\.name)) ==
                ["mlp_t.gate_up_proj.weight", "mlp_t.down_proj.weight", "mlp.gate_up_proj.weight", "mlp.down_proj.weight"])
    }

    @Test func emaFollowsTheSpecsWorkedNumbers() {
        // TRM-SPEC §19.2: shadow 1.0, parameter 0.9 → 0.9999; then 0.8 → 0.9997001.
        let p = Tensor([1], shape: [1])
        let average = WeightAverage(parameters: [("w", p)], rate: 0.999)
        p.pointer[0] = 0.9
        average.update()
        #expect(abs(average.namedState()[0].tensor.pointer[0] - 0.9999) < 1e-7)
        p.pointer[0] = 0.8
        average.update()
        #expect(abs(average.namedState()[0].tensor.pointer[0] - 0.9997001) < 1e-7)
    }
}
