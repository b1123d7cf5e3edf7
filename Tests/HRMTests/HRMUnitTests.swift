import Foundation
import Testing
import Application
import Puzzles
import Models
import Reasoning
import Training
import Layers
import Tensors

@Suite struct ConfigurationTests {
    @Test func paperSudokuPresetHasTheReferenceParameterCount() {
        var rng = RandomGenerator(seed: 0)
        let model = HierarchicalReasoningModel(configuration: .sudoku, using: &rng)
        #expect(model.trainableParameters().reduce(0) { $0 + $1.tensor.count } == 27_275_266)
        #expect(HRMConfiguration.sudoku.positionCount == 82)
    }

    @Test func codableUsesTheReferenceFieldNames() throws {
        let json = """
            {"H_cycles": 2, "L_cycles": 2, "H_layers": 4, "L_layers": 4, "hidden_size": 512,
             "expansion": 4, "num_heads": 8, "pos_encodings": "rope", "halt_max_steps": 16,
             "halt_exploration_prob": 0.1, "puzzle_emb_ndim": 512, "seq_len": 81,
             "vocab_size": 11, "num_puzzle_identifiers": 1, "forward_dtype": "bfloat16",
             "name": "hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1"}
            """
        let decoded = try JSONDecoder().decode(HRMConfiguration.self, from: Data(json.utf8))
        #expect(decoded == .sudoku)
        let encoded = try JSONEncoder().encode(decoded)
        let object = try JSONSerialization.jsonObject(with: encoded) as! [String: Any]
        #expect(object["H_cycles"] as? Int == 2 && object["hidden_size"] as? Int == 512)
        #expect(try JSONDecoder().decode(HRMConfiguration.self, from: encoded) == decoded)
    }

    @Test func invalidConfigurationsAreDescribed() {
        var c = HRMConfiguration.tiny
        c.hiddenSize = 30
        c.headCount = 4
        #expect(c.problems.contains { $0.contains("num_heads") })
        c = .tiny
        c.haltMaxSteps = 0
        #expect(c.problems == ["halt_max_steps must be at least 1"])
    }

    @Test func freshModelFollowsTheInitialisationRules() {
        var rng = RandomGenerator(seed: 1)
        let model = HierarchicalReasoningModel(configuration: .tiny, using: &rng)
        #expect(model.qHead.weight.scalars.allSatisfy { $0 == 0 })
        #expect(model.qHead.bias!.scalars == [-5, -5])
        #expect(model.puzzleEmbedding!.table.scalars.allSatisfy { $0 == 0 })
        #expect(model.highInit.scalars.allSatisfy { abs($0) <= 2.2737 })
        let names = model.namedParameters().map(\.name)
        #expect(names.contains("H_level.layers.0.mlp.gate_up_proj.weight"))
        #expect(names.contains("puzzle_emb.weights") && names.contains("embed_tokens.embedding_weight"))
    }
}

@Suite struct OptimizerTests {
    @Test func adamATan2MatchesTheSpecWorkedNumbers() {
        // Spec §19: θ=1, lr 1e-4, λ 0.1, g₁ = 0.5 → θ₁ = 0.99989033135; g₂ = −0.25 → 0.99985351872.
        let theta = Tensor([1], shape: [1]).requiringGradient()
        let adam = AdamATan2(parameters: [("theta", theta)], weightDecay: 0.1)
        theta.gradient = Tensor([0.5], shape: [1])
        adam.update(learningRate: 1e-4)
        #expect(abs(theta.item - 0.999_890_331_35) < 2e-7)
        theta.gradient = Tensor([-0.25], shape: [1])
        adam.update(learningRate: 1e-4)
        #expect(abs(theta.item - 0.999_853_518_72) < 2e-7)
    }

    @Test func signSGDSumsDuplicatesAndTouchesOnlyPresentRows() {
        // Spec §19: lr 1e-2, λ 0.1, value 0.3, summed grad −2 → 0.3·0.999 + 0.01 = 0.3097.
        let embedding = SparseEmbedding(table: Tensor([0.3, 0.5, 0.7], shape: [3, 1]))
        let rows = embedding([0, 0, 2])
        (rows * Tensor([-1.5, -0.5, 0], shape: [3, 1])).sum().backward()
        SignSGD(weightDecay: 0.1).update(embedding, learningRate: 1e-2)
        let t = embedding.table.scalars
        #expect(abs(t[0] - 0.3097) < 1e-6)
        #expect(t[1] == 0.5)                       // absent: not even decayed
        #expect(abs(t[2] - 0.7 * 0.999) < 1e-6)    // present, zero gradient: decay only
        #expect(embedding.localWeights == nil)
    }

    @Test func scheduleMatchesTheSpecWorkedNumbers() {
        let constant = LearningRateSchedule(base: 1e-4, warmupSteps: 2000, totalSteps: 26041)
        #expect(abs(constant(1) - 5e-8) < 1e-12)
        #expect(abs(constant(1000) - 5e-5) < 1e-10)
        #expect(abs(constant(1999) - 9.995e-5) < 1e-10)
        #expect(constant(2000) == 1e-4 && constant(26040) == 1e-4)
        let cosine = LearningRateSchedule(base: 3e-4, warmupSteps: 2000, totalSteps: 10000, minimumRatio: 0.1)
        #expect(abs(cosine(2000) - 3e-4) < 1e-9)
        #expect(abs(cosine(6000) - 1.65e-4) < 1e-9)
        #expect(abs(cosine(10000) - 3e-5) < 1e-9)
    }

    @Test func adamWDecaysAndMovesAgainstTheGradient() {
        let theta = Tensor([1, -1], shape: [2]).requiringGradient()
        let adamW = AdamW(parameters: [("theta", theta)], weightDecay: 0)
        theta.gradient = Tensor([2, -3], shape: [2])
        adamW.update(learningRate: 0.1)
        // First step: m̂ = g, v̂ = g², so the step is lr · sign(g) (up to ε).
        #expect(abs(theta.scalars[0] - 0.9) < 1e-6 && abs(theta.scalars[1] + 0.9) < 1e-6)
    }
}

@Suite struct ACTTests {
    @Test func trainingStepsHaltAtTheLatestAtMaxStepsAndResetTheirData() {
        var rng = RandomGenerator(seed: 2)
        var c = HRMConfiguration.tiny
        c.haltMaxSteps = 2
        let model = HierarchicalReasoningModel(configuration: c, using: &rng)
        let act = AdaptiveComputation(model: model, isTraining: true)
        func batch(_ token: Int32) -> PuzzleBatch {
            PuzzleBatch(inputs: Array(repeating: token, count: 2 * 16),
                        labels: Array(repeating: token, count: 2 * 16), puzzleIdentifiers: [0, 0])
        }
        var carry = act.initialCarry(batch: batch(1))
        _ = act.step(&carry, batch: batch(1), using: &rng)
        #expect(carry.steps == [1, 1])
        // Q logits start equal (zero weights, bias −5 each), so nobody halts before the cap…
        #expect(carry.halted == [false, false])
        _ = act.step(&carry, batch: batch(2), using: &rng)
        // …and the new batch was discarded for running slots, then everyone halts at the cap.
        #expect(carry.current.inputs.allSatisfy { $0 == 1 })
        #expect(carry.halted == [true, true] && carry.steps == [2, 2])
        _ = act.step(&carry, batch: batch(3), using: &rng)
        #expect(carry.current.inputs.allSatisfy { $0 == 3 } && carry.steps == [1, 1])
    }

    @Test func withoutACTEverySequenceTrainsToMaxStepsWhateverTheQHeadSays() throws {
        // A Q head that says "halt" at once (q_halt +5, q_continue −5): with ACT every training
        // sequence stops after one step; with act_enabled false each runs exactly halt_max_steps.
        // The same for each architecture's halting rule.
        for arch in ["hrm", "trm", "transformer"] {
            for actEnabled in [true, false] {
                var rng = RandomGenerator(seed: 5)
                var config: ModelConfiguration = arch == "hrm" ? .hrm(.tiny) : arch == "trm" ? .trm(.tiny) : .transformer(.tiny)
                config.setHalting(maxSteps: 3, explorationProbability: 0, actEnabled: actEnabled)
                let model = config.makeModel(using: &rng)
                let q = try #require(model.trainableParameters().first { $0.name == "q_head.bias" }?.tensor)
                q.pointer[0] = 5
                q.pointer[1] = -5
                let act = AdaptiveComputation(model: model, isTraining: true)
                let s = model.reasoningConfiguration.sequenceLength
                let batch = PuzzleBatch(inputs: Array(repeating: 1, count: 2 * s), labels: Array(repeating: 1, count: 2 * s),
                                        puzzleIdentifiers: [0, 0])
                var carry = act.initialCarry(batch: batch)
                var haltedAt: [Int32] = []
                for _ in 0..<6 {
                    _ = act.step(&carry, batch: batch, using: &rng)
                    if carry.halted[0] { haltedAt.append(carry.steps[0]) }
                }
                #expect(haltedAt == (actEnabled ? [1, 1, 1, 1, 1, 1] : [3, 3]), "\(arch), act_enabled \(actEnabled): \(haltedAt)")
                // Evaluation ignores the setting: every sequence runs to the cap.
                let eval = AdaptiveComputation(model: model, isTraining: false)
                var evalCarry = eval.initialCarry(batch: batch)
                for _ in 0..<3 { _ = eval.step(&evalCarry, batch: batch, using: &rng) }
                #expect(evalCarry.halted == [true, true] && evalCarry.steps == [3, 3])
            }
        }
    }

    @Test func actEnabledIsReadWrittenOnlyWhenFalseAndOverridable() throws {
        for preset in ["sudoku-small", "trm-sudoku-small", "transformer-sudoku-small"] {
            var config = try #require(ModelConfiguration.presets[preset])
            #expect(config.common.actEnabled)
            let plain = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
            #expect(plain.contains("act_enabled") == (preset.hasPrefix("transformer")), "\(plain)")
            config.setHalting(maxSteps: 8, explorationProbability: 0.1, actEnabled: false)
            let json = try JSONEncoder().encode(config)
            #expect(String(decoding: json, as: UTF8.self).contains("\"act_enabled\":false"))
            #expect(try JSONDecoder().decode(ModelConfiguration.self, from: json).common.actEnabled == false)
        }
        let run = RunConfiguration(model: .hrm(.tiny), training: TrainingConfiguration(), dataPath: "d", epochs: 1, evalInterval: 1)
        #expect(try run.overriding(["act_enabled=false"]).model.common.actEnabled == false)
        #expect(try run.overriding(["act_enabled=true"]).model.common.actEnabled == true)
        #expect(throws: RunError.self) { _ = try run.overriding(["act_enabled=maybe"]) }
    }

    @Test func segmentIsTheSpecsCallOrderWithTheOneStepGradient() {
        // Spec §6 with H_cycles = L_cycles = 2: L, L, H, L without gradients, then L, H recorded.
        // Written out by hand here; the segment must give the same logits and the same gradients.
        var rng = RandomGenerator(seed: 3)
        let model = HierarchicalReasoningModel(configuration: .tiny, using: &rng)
        let tokens = (0..<16).map { Int32($0 % 10 + 1) }
        let z = model.initialStates(batchSize: 1)
        let w = model.highLevel.layers[0].attention.qkvProjection.weight
        let e = model.tokenEmbedding.weight

        let out = model.segment(zHigh: z.high, zLow: z.low, inputs: tokens, puzzleIdentifiers: [0])
        let viaSegment = gradients(of: out.logits.sum(), withRespectTo: [w, e])

        let x = model.inputEmbedding(inputs: tokens, puzzleIdentifiers: [0])
        let (L, H, r) = (model.lowLevel, model.highLevel, model.rotary)
        var zL = z.low, zH = z.high
        withoutGradients {
            zL = L(zL, injection: zH + x, rotary: r)
            zL = L(zL, injection: zH + x, rotary: r)
            zH = H(zH, injection: zL, rotary: r)
            zL = L(zL, injection: zH + x, rotary: r)
        }
        zL = L(zL, injection: zH + x, rotary: r)
        zH = H(zH, injection: zL, rotary: r)
        let logits = model.lmHead(zH.sliced(axis: 1, 1..<17))
        let byHand = gradients(of: logits.sum(), withRespectTo: [w, e])

        #expect(out.logits.scalars == logits.scalars)
        #expect(viaSegment[0].scalars == byHand[0].scalars)
        #expect(viaSegment[1].scalars == byHand[1].scalars)
        #expect(viaSegment[1].scalars.contains { $0 != 0 })
        #expect(model.highInit.gradient == nil && model.lowInit.gradient == nil)
    }
}

@Suite struct PositionEncodingTests {
    @Test func learnedPositionsAddAnEmbeddingAndStillTrain() {
        var c = HRMConfiguration.tiny
        c.positionEncoding = .learned
        var rng = RandomGenerator(seed: 8)
        let model = HierarchicalReasoningModel(configuration: c, using: &rng)
        let rope = HierarchicalReasoningModel(configuration: .tiny, using: &rng)
        let count = { (m: HierarchicalReasoningModel) in m.trainableParameters().reduce(0) { $0 + $1.tensor.count } }
        #expect(count(model) - count(rope) == c.positionCount * c.hiddenSize)
        #expect(model.rotary == nil && model.positionEmbedding?.weight.shape == [17, 32])
        let tokens = (0..<16).map { Int32($0 % 10 + 1) }
        let z = model.initialStates(batchSize: 1)
        let out = model.segment(zHigh: z.high, zLow: z.low, inputs: tokens, puzzleIdentifiers: [0])
        out.logits.sum().backward()
        #expect(model.positionEmbedding?.weight.gradient?.scalars.contains { $0 != 0 } == true)
    }
}

@Suite struct EarlyHaltTests {
    @Test func finishedRowsLeaveTheBatchWithoutChangingAnyAnswer() throws {
        var rng = RandomGenerator(seed: 12)
        var c = HRMConfiguration.tiny
        c.haltMaxSteps = 6
        let model = HierarchicalReasoningModel(configuration: c, using: &rng)
        // Random Q-head weights, so rows halt at different steps.
        for i in 0..<model.qHead.weight.count { model.qHead.weight.pointer[i] = Float.random(in: -0.3...0.3, using: &rng) }
        model.qHead.bias!.pointer[0] = 0
        model.qHead.bias!.pointer[1] = 0
        let b = 8
        let tokens = (0..<(b * 16)).map { _ in Int32.random(in: 1...10, using: &rng) }
        let ids = [Int32](repeating: 0, count: b)
        let full = Evaluator.trace(model: model, inputs: tokens, puzzleIdentifiers: ids, steps: 6)
        let early = Evaluator.trace(model: model, inputs: tokens, puzzleIdentifiers: ids, steps: 6, answer: .early)
        var lengths: Set<Int> = []
        for row in 0..<b {
            let stop = (full[row].firstIndex { $0.qHalt > $0.qContinue } ?? 5) + 1
            lengths.insert(stop)
            #expect(early[row].count == stop)
            for (e, f) in zip(early[row], full[row]) {
                #expect(e.prediction == f.prediction)
                #expect(abs(e.qHalt - f.qHalt) < 1e-4 && abs(e.qContinue - f.qContinue) < 1e-4)
            }
        }
        #expect(lengths.count > 1, "rows should halt at different steps for this test to mean something")

        // With a margin, a row stops where q_halt − q_continue first exceeds it: later, or never.
        let margins = full.flatMap { $0.map(\.haltMargin) }.filter { $0 > 0 }.sorted()
        let m = try #require(margins.dropFirst(margins.count / 2).first, "no step says halt")
        let surer = Evaluator.trace(model: model, inputs: tokens, puzzleIdentifiers: ids, steps: 6, answer: .firstHalt(margin: m))
        var later = 0
        for row in 0..<b {
            let stop = (full[row].firstIndex { $0.qHalt - $0.qContinue > m } ?? 5) + 1
            #expect(surer[row].count == stop)
            if stop > early[row].count { later += 1 }
        }
        #expect(later > 0, "a margin above some rows' first halt must keep them thinking")
    }
}

@Suite struct SteadyStateTests {
    @Test func aRepeatedTrainingStepAllocatesNoNewBuffers() {
        // After warm-up, every buffer an op needs comes from the pool (spec of the engine:
        // no allocation per op in steady state).
        // Sizes no other test uses (tests run in parallel and share the pool).
        var c = HRMConfiguration.tiny
        c.hiddenSize = 44
        c.headCount = 2
        c.puzzleEmbeddingWidth = 44
        c.sequenceLength = 13
        c.haltExplorationProbability = 0  // sequences then reset every halt_max_steps steps
        var rng = RandomGenerator(seed: 13)
        let model = HierarchicalReasoningModel(configuration: c, using: &rng)
        var t = TrainingConfiguration()
        t.globalBatchSize = 3
        t.totalSteps = 100
        let trainer = Trainer(model: model, configuration: t)
        let tokens = (0..<39).map { Int32($0 % 10 + 1) }
        let batch = PuzzleBatch(inputs: tokens, labels: tokens, puzzleIdentifiers: [0, 0, 0])
        // Warm up over two whole ACT cycles (resets copy the carry), then measure one more.
        for _ in 0..<(2 * c.haltMaxSteps) { trainer.trainStep(batch) }
        #expect(BufferPool.freshAllocationsOnThisThread > 0, "the counter must see the warm-up's allocations")
        // The pool is shared by the tests running in parallel: another thread may take a freed
        // buffer of a nearby size class before this one reuses it. A leak allocates in every
        // cycle; that interference only now and then, so one clean cycle out of five is required.
        var fresh: [Int] = []
        for _ in 0..<5 {
            let before = BufferPool.freshAllocationsOnThisThread
            for _ in 0..<c.haltMaxSteps { trainer.trainStep(batch) }
            fresh.append(BufferPool.freshAllocationsOnThisThread - before)
            if fresh.last == 0 { break }
        }
        #expect(fresh.last == 0, "fresh allocations per ACT cycle: \(fresh)")
    }
}

/// `hrm eval` on maze data: a valid shortest path and the table by path length, from the
/// evaluator itself, counting every test maze once and agreeing with its exact accuracy.
@Suite struct MazeEvaluationTests {
    @Test func evaluatorScoresMazesByPathLength() throws {
        var rng = SplitMix(seed: 3)
        let generator = MazeGenerator(size: 7, minimumPathLength: 5)
        let pairs = (0..<6).map { _ in generator.generate(using: &rng) }
        let split = MazeDataset.build(train: Array(pairs.prefix(1)), test: pairs).splits["test"]!
        var g = RandomGenerator(seed: 1)
        var c = HRMConfiguration.tiny
        (c.sequenceLength, c.vocabularySize) = (49, MazeDataset.vocabularySize)
        let model = HierarchicalReasoningModel(configuration: c, using: &g)
        let report = Evaluator.evaluate(model: model, split: split, batchSize: 4)
        let maze = try #require(report.maze)
        #expect(maze.count == 6 && maze.buckets.reduce(0) { $0 + $1.count } == 6)
        #expect(report.mazeShortestPathAccuracy == maze.shortestAccuracy)
        let exact = Double(maze.buckets.reduce(0) { $0 + $1.exact }) / 6
        #expect(abs(exact - report.exactAccuracy) < 1e-12, "the table's exact agrees with the evaluator's")
        // The stored answers themselves score 1 everywhere.
        var perfect = MazeScore()
        for (p, s) in pairs { perfect.add(input: MazeDataset.tokens(p), label: MazeDataset.tokens(s), prediction: MazeDataset.tokens(s)) }
        #expect(perfect.shortestAccuracy == 1 && perfect.buckets.allSatisfy { $0.exact == $0.count })
        // A 4×4 Sudoku split has a maze's sizes (vocabulary 6, 16 cells) but no maze labels: no table.
        let sudoku = AnalysesTests.split(count: 2)
        #expect(MazeDataset.isMazeShaped(sudoku.metadata))
        #expect(Evaluator.evaluate(model: AnalysesTests.model(.hrm, for: sudoku), split: sudoku, batchSize: 4).maze == nil)
    }
}

