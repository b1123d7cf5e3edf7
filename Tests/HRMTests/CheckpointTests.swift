import Foundation
import Testing
import Application
import Models
import Reasoning
import Training
import Layers
import Tensors
import TestSupport

@Suite struct CheckpointTests {
    func tinyModel(seed: UInt64 = 0) -> HierarchicalReasoningModel {
        var rng = RandomGenerator(seed: seed)
        return HierarchicalReasoningModel(configuration: .tiny, using: &rng)
    }

    @Test func roundTripKeepsEveryTensorAndTheConfiguration() throws {
        let dir = try temporaryDirectory()
        let model = tinyModel(seed: 4)
        model.puzzleEmbedding!.table.pointer[3] = 0.25
        let url = dir.appendingPathComponent("model.safetensors")
        try Checkpoint.save(model, to: url)
        let loaded = try Checkpoint.load(from: url)
        #expect(ModelConfiguration(of: loaded) == .hrm(model.configuration))
        for (a, b) in zip(model.namedParameters(), loaded.namedParameters()) {
            #expect(a.name == b.name && a.tensor.scalars == b.tensor.scalars, "\(a.name)")
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(leftovers == ["model.safetensors"], "no temporary files remain")
    }

    @Test func convertedPyTorchLayoutLoads() throws {
        // What `safetensors.torch.save_file(state_dict)` gives for a compiled reference model:
        // keys prefixed `_orig_mod.model.inner.`, bf16 H_init/L_init, no configuration.
        let dir = try temporaryDirectory()
        let model = tinyModel(seed: 5)
        var writer = SafetensorsWriter()
        for (name, tensor) in model.namedParameters() {
            if name == "H_init" || name == "L_init" {
                writer.add("_orig_mod.model.inner." + name, bfloat16: tensor)
            } else {
                writer.add("_orig_mod.model.inner." + name, tensor)
            }
        }
        let url = dir.appendingPathComponent("converted.safetensors")
        try writer.write(to: url)
        #expect(throws: CheckpointError.self) { try Checkpoint.load(from: url) }  // needs --config
        let loaded = try Checkpoint.load(HierarchicalReasoningModel.self, from: url, configuration: .hrm(.tiny))
        #expect(loaded.highInit.scalars == model.highInit.scalars.map(BFloat16.rounded))
        #expect(loaded.lmHead.weight.scalars == model.lmHead.weight.scalars)
    }

    @Test func mismatchesAreListedAndNothingIsHalfLoaded() throws {
        let dir = try temporaryDirectory()
        let source = tinyModel(seed: 6)
        var writer = SafetensorsWriter()
        for (name, tensor) in source.namedParameters() where name != "lm_head.weight" {
            if name == "q_head.bias" {
                writer.add(name, Tensor.zeros([3]))
            } else if name == "L_init" {
                writer.add(name, int32s: Array(repeating: 0, count: tensor.count), shape: tensor.shape)
            } else {
                writer.add(name, tensor)
            }
        }
        writer.add("extra.weight", Tensor.zeros([2]))
        let url = dir.appendingPathComponent("bad.safetensors")
        try writer.write(to: url)
        let target = tinyModel(seed: 7)
        let before = target.namedParameters().map { $0.tensor.scalars }
        do {
            try Checkpoint.load(SafetensorsFile(contentsOf: url), into: target)
            Issue.record("loading a mismatched checkpoint must throw")
        } catch let error as CheckpointError {
            let text = error.description
            #expect(text.contains("missing tensor 'lm_head.weight' (expected shape [11, 32])"))
            #expect(text.contains("tensor 'q_head.bias': expected shape [2], found [3]"))
            #expect(text.contains("tensor 'L_init': expected a float dtype"))
            #expect(text.contains("unexpected tensor 'extra.weight'"))
        }
        #expect(target.namedParameters().map { $0.tensor.scalars } == before)
    }

    @Test func malformedAndTruncatedFilesGiveOneClearError() throws {
        let dir = try temporaryDirectory()
        let garbage = dir.appendingPathComponent("garbage.safetensors")
        try Data("not a checkpoint at all".utf8).write(to: garbage)
        #expect(throws: CheckpointError.self) { try Checkpoint.load(from: garbage) }

        let good = dir.appendingPathComponent("good.safetensors")
        try Checkpoint.save(tinyModel(), to: good)
        let bytes = try Data(contentsOf: good)
        let truncated = dir.appendingPathComponent("truncated.safetensors")
        try bytes.prefix(bytes.count - 100).write(to: truncated)
        do {
            _ = try Checkpoint.load(from: truncated)
            Issue.record("a truncated file must not load")
        } catch {
            #expect("\(error)".contains("truncated"), "\(error)")
        }
        #expect(throws: CheckpointError.self) {
            try Checkpoint.load(from: dir.appendingPathComponent("absent.safetensors"))
        }
    }

    @Test func resumingContinuesExactly() throws {
        // Five steps straight, against three steps, save, load into a fresh trainer, two steps.
        let dir = try temporaryDirectory()
        var t = TrainingConfiguration()
        t.globalBatchSize = 2
        t.learningRate = 1e-3
        t.warmupSteps = 2
        t.totalSteps = 5
        t.seed = 9
        var config = HRMConfiguration.tiny
        config.haltExplorationProbability = 0.5
        func batch(_ k: Int) -> PuzzleBatch {
            let tokens = (0..<32).map { Int32(($0 * 7 + k * 3) % 10 + 1) }
            return PuzzleBatch(inputs: tokens, labels: tokens.reversed(), puzzleIdentifiers: [0, 0])
        }
        func makeTrainer() -> Trainer {
            var rng = RandomGenerator(seed: 1)
            return Trainer(model: HierarchicalReasoningModel(configuration: config, using: &rng), configuration: t)
        }
        let straight = makeTrainer()
        let losses = (0..<5).map { straight.trainStep(batch($0)).totalLoss }

        let first = makeTrainer()
        for k in 0..<3 { first.trainStep(batch(k)) }
        try Checkpoint.save(first.model, to: dir.appendingPathComponent("m.safetensors"))
        try TrainingState.save(first, to: dir.appendingPathComponent("s.safetensors"))

        let model = try Checkpoint.load(from: dir.appendingPathComponent("m.safetensors"))
        let resumed = Trainer(model: model, configuration: t)
        try TrainingState.load(from: dir.appendingPathComponent("s.safetensors"), into: resumed)
        let rest = (3..<5).map { resumed.trainStep(batch($0)).totalLoss }
        #expect(rest == Array(losses[3...]))
        #expect(resumed.step == 5)
    }
}
