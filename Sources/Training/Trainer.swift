import Foundation
import Layers
import Models
import Reasoning
import Tensors

/// Training hyper-parameters with the reference's names (spec §1.2).
public struct TrainingConfiguration: Codable, Equatable, Sendable {
    public var globalBatchSize: Int = 768
    public var learningRate: Float = 1e-4
    public var learningRateMinimumRatio: Float = 1
    public var warmupSteps: Int = 2000
    public var beta1: Float = 0.9
    public var beta2: Float = 0.95
    public var weightDecay: Float = 0.1
    public var puzzleEmbeddingLearningRate: Float = 1e-2
    public var puzzleEmbeddingWeightDecay: Float = 0.1
    public var totalSteps: Int = 1
    public var seed: UInt64 = 0
    /// Keep an exponential moving average of the trained weights; evaluation and checkpoints
    /// use it (TRM-SPEC §9.6; every TRM run of the reference sets it).
    public var ema: Bool = false
    /// μ in `shadow ← (1 − μ)·θ + μ·shadow`.
    public var emaRate: Float = 0.999

    enum CodingKeys: String, CodingKey {
        case globalBatchSize = "global_batch_size", learningRate = "lr"
        case learningRateMinimumRatio = "lr_min_ratio", warmupSteps = "lr_warmup_steps"
        case beta1, beta2, weightDecay = "weight_decay"
        case puzzleEmbeddingLearningRate = "puzzle_emb_lr"
        case puzzleEmbeddingWeightDecay = "puzzle_emb_weight_decay"
        case totalSteps = "total_steps", seed, ema, emaRate = "ema_rate"
    }

    public init() {}

    /// Decodes, with the defaults for fields a file may lack (`ema`, `ema_rate` came with TRM).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TrainingConfiguration()
        globalBatchSize = try c.decodeIfPresent(Int.self, forKey: .globalBatchSize) ?? d.globalBatchSize
        learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? d.learningRate
        learningRateMinimumRatio = try c.decodeIfPresent(Float.self, forKey: .learningRateMinimumRatio) ?? d.learningRateMinimumRatio
        warmupSteps = try c.decodeIfPresent(Int.self, forKey: .warmupSteps) ?? d.warmupSteps
        beta1 = try c.decodeIfPresent(Float.self, forKey: .beta1) ?? d.beta1
        beta2 = try c.decodeIfPresent(Float.self, forKey: .beta2) ?? d.beta2
        weightDecay = try c.decodeIfPresent(Float.self, forKey: .weightDecay) ?? d.weightDecay
        puzzleEmbeddingLearningRate = try c.decodeIfPresent(Float.self, forKey: .puzzleEmbeddingLearningRate) ?? d.puzzleEmbeddingLearningRate
        puzzleEmbeddingWeightDecay = try c.decodeIfPresent(Float.self, forKey: .puzzleEmbeddingWeightDecay) ?? d.puzzleEmbeddingWeightDecay
        totalSteps = try c.decodeIfPresent(Int.self, forKey: .totalSteps) ?? d.totalSteps
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        ema = try c.decodeIfPresent(Bool.self, forKey: .ema) ?? d.ema
        emaRate = try c.decodeIfPresent(Float.self, forKey: .emaRate) ?? d.emaRate
    }
}

/// What one training step reports.
public struct TrainingStepResult {
    public var step: Int
    /// Sums over the batch (see `ACTMetrics.normalized`).
    public var metrics: ACTMetrics
    public var learningRate: Float
    public var totalLoss: Float
}

/// The references' training step (`train_batch`, HRM-SPEC §9.1, TRM-SPEC §9.1), for any
/// architecture: one ACT step with deep supervision, backward of `total / globalBatchSize`,
/// SignSGD on the puzzle embedding and AdamATan2 on everything else, both at the scheduled rate,
/// then the EMA update when the run keeps one.
public final class Trainer {
    public let model: any ReasoningModel
    public let act: AdaptiveComputation
    public let optimizer: AdamATan2
    public let puzzleOptimizer: SignSGD
    /// The average of the weights, when `configuration.ema`.
    public let average: WeightAverage?
    public let configuration: TrainingConfiguration
    public var schedule: LearningRateSchedule
    public var puzzleSchedule: LearningRateSchedule
    /// The carry persists across steps (and epochs); nil until the first batch.
    public var carry: ACTCarry?
    /// Optimizer steps taken (the first step is step 1).
    public internal(set) var step = 0
    /// The generator for exploration draws.
    public var generator: RandomGenerator

    public init(model: any ReasoningModel, configuration t: TrainingConfiguration) {
        self.model = model
        self.configuration = t
        act = AdaptiveComputation(model: model, isTraining: true)
        optimizer = AdamATan2(parameters: model.trainableParameters(), beta1: t.beta1,
                              beta2: t.beta2, weightDecay: t.weightDecay)
        puzzleOptimizer = SignSGD(weightDecay: t.puzzleEmbeddingWeightDecay)
        schedule = LearningRateSchedule(base: t.learningRate, warmupSteps: t.warmupSteps,
                                        totalSteps: t.totalSteps, minimumRatio: t.learningRateMinimumRatio)
        puzzleSchedule = LearningRateSchedule(base: t.puzzleEmbeddingLearningRate, warmupSteps: t.warmupSteps,
                                              totalSteps: t.totalSteps, minimumRatio: t.learningRateMinimumRatio)
        generator = RandomGenerator(seed: t.seed)
        average = t.ema ? WeightAverage(parameters: model.trainableParameters(), rate: t.emaRate) : nil
    }

    /// The model evaluations and checkpoints use: the averaged weights (with the live puzzle
    /// table and init buffers) when the run keeps an EMA, else the trained model itself.
    public func evaluationModel() -> any ReasoningModel {
        guard let average else { return model }
        var rng = RandomGenerator(seed: 0)
        let copy = ModelConfiguration(of: model).makeModel(using: &rng)
        let shadows = Dictionary(uniqueKeysWithValues: average.namedState().map { ($0.name, $0.tensor) })
        for ((name, live), (_, target)) in zip(model.namedParameters(), copy.namedParameters()) {
            target.pointer.update(from: (shadows[name] ?? live).pointer, count: target.count)
        }
        return copy
    }

    /// One optimizer step on `batch` (its rows go only to slots whose sequence halted).
    @discardableResult
    public func trainStep(_ batch: PuzzleBatch) -> TrainingStepResult {
        step += 1
        var carry = self.carry ?? act.initialCarry(batch: batch)
        let output = act.step(&carry, batch: batch, using: &generator)
        let loss = actLoss(output, carry: carry, lossType: model.reasoningConfiguration.lossType)
        self.carry = carry

        (loss.total * (1 / Float(configuration.globalBatchSize))).backward()

        let lr = schedule(step)
        if let puzzleEmbedding = model.puzzleEmbedding {
            puzzleOptimizer.update(puzzleEmbedding, learningRate: puzzleSchedule(step))
        }
        optimizer.update(learningRate: lr)
        for p in optimizer.parameters { p.tensor.gradient = nil }
        average?.update()
        return TrainingStepResult(step: step, metrics: loss.metrics, learningRate: lr,
                                  totalLoss: loss.total.item)
    }
}
