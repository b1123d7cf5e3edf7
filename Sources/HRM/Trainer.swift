import Foundation
import Layers
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

    enum CodingKeys: String, CodingKey {
        case globalBatchSize = "global_batch_size", learningRate = "lr"
        case learningRateMinimumRatio = "lr_min_ratio", warmupSteps = "lr_warmup_steps"
        case beta1, beta2, weightDecay = "weight_decay"
        case puzzleEmbeddingLearningRate = "puzzle_emb_lr"
        case puzzleEmbeddingWeightDecay = "puzzle_emb_weight_decay"
        case totalSteps = "total_steps", seed
    }

    public init() {}
}

/// What one training step reports.
public struct TrainingStepResult {
    public var step: Int
    /// Sums over the batch (see `ACTMetrics.normalized`).
    public var metrics: ACTMetrics
    public var learningRate: Float
    public var totalLoss: Float
}

/// The reference's training step (`train_batch`, spec §9.1): one ACT step with deep
/// supervision, backward of `total / globalBatchSize`, SignSGD on the puzzle embedding and
/// AdamATan2 on everything else, both at the scheduled rate.
public final class Trainer {
    public let model: HierarchicalReasoningModel
    public let act: AdaptiveComputation
    public let optimizer: AdamATan2
    public let puzzleOptimizer: SignSGD
    public let configuration: TrainingConfiguration
    public var schedule: LearningRateSchedule
    public var puzzleSchedule: LearningRateSchedule
    /// The carry persists across steps (and epochs); nil until the first batch.
    public var carry: ACTCarry?
    /// Optimizer steps taken (the first step is step 1).
    public internal(set) var step = 0
    /// The generator for exploration draws.
    public var generator: RandomGenerator

    public init(model: HierarchicalReasoningModel, configuration t: TrainingConfiguration) {
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
    }

    /// One optimizer step on `batch` (its rows go only to slots whose sequence halted).
    @discardableResult
    public func trainStep(_ batch: PuzzleBatch) -> TrainingStepResult {
        step += 1
        var carry = self.carry ?? act.initialCarry(batch: batch)
        let output = act.step(&carry, batch: batch, using: &generator)
        let loss = actLoss(output, carry: carry, lossType: model.configuration.lossType)
        self.carry = carry

        (loss.total * (1 / Float(configuration.globalBatchSize))).backward()

        let lr = schedule(step)
        if let puzzleEmbedding = model.puzzleEmbedding {
            puzzleOptimizer.update(puzzleEmbedding, learningRate: puzzleSchedule(step))
        }
        optimizer.update(learningRate: lr)
        for p in optimizer.parameters { p.tensor.gradient = nil }
        return TrainingStepResult(step: step, metrics: loss.metrics, learningRate: lr,
                                  totalLoss: loss.total.item)
    }
}
