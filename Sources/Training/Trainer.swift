import Cluster
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
///
/// Data-parallel over a `Communicator` of N ranks (the reference's DDP): every rank is given the
/// same global batch and computes rows `rank·B/N ..< (rank+1)·B/N` of it, with the carry of those
/// slots alone; the dense gradients are summed over the ranks before AdamATan2, the puzzle
/// embedding's touched rows and their gradients are gathered from every rank before SignSGD, and
/// the exploration draws are those of the whole batch, so every rank takes the same step one
/// process would, up to the order of the float sums.
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
    /// The generator for exploration draws (in the same state on every rank).
    public var generator: RandomGenerator
    /// The ranks this trainer shares its batches with (one process alone by default).
    public let communicator: any Communicator
    /// The dense gradients packed for the sum over ranks (reused).
    private var gradientBuffer: [Float] = []
    /// Seconds spent exchanging with the other ranks (gradient sums, metric sums, the puzzle
    /// embedding's gather), and in whole training steps, since this trainer was made.
    public private(set) var exchangeSeconds = 0.0
    public private(set) var stepSeconds = 0.0

    public init(model: any ReasoningModel, configuration t: TrainingConfiguration,
                communicator: any Communicator = LocalCommunicator()) {
        self.model = model
        self.configuration = t
        self.communicator = communicator
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

    /// The rows of a global batch of `globalBatchSize` that this rank computes.
    public func localRows(globalBatchSize: Int) -> Range<Int> {
        let share = globalBatchSize / communicator.size
        return (communicator.rank * share)..<((communicator.rank + 1) * share)
    }

    /// One optimizer step on the global `batch` (its rows go only to slots whose sequence
    /// halted); with several ranks, this rank computes its share of the rows (`localRows`).
    /// Every rank must call it with the same batch.
    @discardableResult
    public func trainStep(_ batch: PuzzleBatch) -> TrainingStepResult {
        let started = Date()
        defer { stepSeconds += Date().timeIntervalSince(started) }
        step += 1
        let local: PuzzleBatch
        if communicator.isDistributed {
            precondition(batch.batchSize % communicator.size == 0, "the batch must divide by the ranks (checked at start)")
            let rows = localRows(globalBatchSize: batch.batchSize)
            local = batch.rows(rows)
            act.shard = (offset: rows.lowerBound, globalBatchSize: batch.batchSize)
        } else {
            local = batch
        }
        var carry = self.carry ?? act.initialCarry(batch: local)
        // The parameters do not change until the optimizer runs: under bf16 each weight is
        // converted once for the forward and backward passes, not at every product.
        let loss = BF16ParameterCache.scope {
            let output = act.step(&carry, batch: local, using: &generator)
            let loss = actLoss(output, carry: carry, lossType: model.reasoningConfiguration.lossType)
            (loss.total * (1 / Float(configuration.globalBatchSize))).backward()
            return loss
        }
        self.carry = carry

        var metrics = loss.metrics, total = loss.total.item
        let exchangeStarted = Date()
        if communicator.isDistributed {
            sumGradients()
            var v = metrics.sums + [Double(total)]
            communicator.sum(&v)
            metrics = ACTMetrics(sums: Array(v.dropLast()))
            total = Float(v.last!)
        }
        let lr = schedule(step)
        if let puzzleEmbedding = model.puzzleEmbedding {
            puzzleOptimizer.update(puzzleEmbedding, learningRate: puzzleSchedule(step), communicator: communicator)
        }
        if communicator.isDistributed { exchangeSeconds += Date().timeIntervalSince(exchangeStarted) }
        optimizer.update(learningRate: lr)
        for p in optimizer.parameters { p.tensor.gradient = nil }
        average?.update()
        return TrainingStepResult(step: step, metrics: metrics, learningRate: lr, totalLoss: total)
    }

    /// Replaces every dense gradient by its sum over the ranks: packed in parameter order into
    /// one buffer, summed in `Cluster.chunkCount` pieces, unpacked. (Every rank runs the same
    /// graph, so the same parameters have gradients on each.)
    private func sumGradients() {
        let present = optimizer.parameters.compactMap { $0.tensor.gradient }
        let count = present.reduce(0) { $0 + $1.count }
        if gradientBuffer.count < count { gradientBuffer = [Float](repeating: 0, count: count) }
        gradientBuffer.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            var offset = 0
            for g in present {
                (base + offset).update(from: g.pointer, count: g.count)
                offset += g.count
            }
            communicator.sum(base, count: count)
            offset = 0
            for g in present {
                g.pointer.update(from: base + offset, count: g.count)
                offset += g.count
            }
        }
    }

    /// The whole batch's carry (every rank's slots, in rank order); collective. nil before the
    /// first step.
    public func gatheredCarry() -> ACTCarry? {
        guard let c = carry else { return nil }
        guard communicator.isDistributed else { return c }
        func gather(_ t: Tensor) -> Tensor {
            Tensor(communicator.allGather(t.scalars), shape: [t.shape[0] * communicator.size] + t.shape.dropFirst())
        }
        let current = PuzzleBatch(inputs: communicator.allGather(c.current.inputs),
                                  labels: communicator.allGather(c.current.labels),
                                  puzzleIdentifiers: communicator.allGather(c.current.puzzleIdentifiers))
        return ACTCarry(zHigh: gather(c.zHigh), zLow: gather(c.zLow), steps: communicator.allGather(c.steps),
                        halted: communicator.allGather(c.halted.map { $0 ? Int32(1) : Int32(0) }).map { $0 != 0 },
                        current: current)
    }
}

extension PuzzleBatch {
    /// Rows `range` of the batch.
    public func rows(_ range: Range<Int>) -> PuzzleBatch {
        let s = inputs.count / batchSize
        return PuzzleBatch(inputs: Array(inputs[(range.lowerBound * s)..<(range.upperBound * s)]),
                           labels: Array(labels[(range.lowerBound * s)..<(range.upperBound * s)]),
                           puzzleIdentifiers: Array(puzzleIdentifiers[range]))
    }
}

extension ACTCarry {
    /// Slots `range` of the carry (a rank's share of a whole batch's carry).
    public func rows(_ range: Range<Int>) -> ACTCarry {
        let indices = range.map(Int32.init)
        return ACTCarry(zHigh: zHigh.gathered(rows: indices), zLow: zLow.gathered(rows: indices),
                        steps: Array(steps[range]), halted: Array(halted[range]), current: current.rows(range))
    }
}
