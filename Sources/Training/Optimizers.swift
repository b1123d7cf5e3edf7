import Cluster
import Foundation
import Layers
import Tensors

/// An optimizer over named dense parameters, with per-parameter state that can be saved.
public protocol Optimizer: AnyObject {
    /// Applies one update from each parameter's `gradient` with this learning rate.
    func update(learningRate: Float)
    /// Named state tensors (moments) and the step count, for checkpoints.
    var stepCount: Int { get set }
    func namedState() -> [(name: String, tensor: Tensor)]
}

/// AdamATan2 as the reference uses it (package `adam-atan2`, no a/b constants; spec §9.2).
///
/// Per element, with the step count t incremented to 1 at the first update:
///
///     θ ← θ · (1 − lr·λ)
///     m ← m + (1 − β1)(g − m),   v ← v + (1 − β2)(g² − v)
///     θ ← θ − lr / (1 − β1^t) · atan2(m, √v / √(1 − β2^t))
///
/// The update is invariant to the gradient's scale; decay uses the scheduled rate.
public final class AdamATan2: Optimizer {
    public let parameters: [(name: String, tensor: Tensor)]
    public var beta1: Float
    public var beta2: Float
    public var weightDecay: Float
    public var stepCount = 0
    private let moments: [Tensor]  // m
    private let variances: [Tensor]  // v

    public init(parameters: [(name: String, tensor: Tensor)], beta1: Float = 0.9,
                beta2: Float = 0.95, weightDecay: Float = 0.1) {
        self.parameters = parameters
        self.beta1 = beta1
        self.beta2 = beta2
        self.weightDecay = weightDecay
        moments = parameters.map { Tensor.zeros($0.tensor.shape) }
        variances = parameters.map { Tensor.zeros($0.tensor.shape) }
    }

    public func update(learningRate lr: Float) {
        stepCount += 1
        let t = Double(stepCount)
        let stepSize = Float(Double(lr) / (1 - Foundation.pow(Double(beta1), t)))
        let varianceScale = Float(1 / (1 - Foundation.pow(Double(beta2), t)).squareRoot())
        let decay = 1 - lr * weightDecay
        let (b1, b2) = (1 - beta1, 1 - beta2)
        for (index, p) in parameters.enumerated() {
            guard let g = p.tensor.gradient else { continue }  // no gradient: skipped, as torch
            OptimizerKernels.adamATan2(theta: p.tensor.pointer, gradient: g.pointer, m: moments[index].pointer,
                                       v: variances[index].pointer, count: p.tensor.count, b1: b1, b2: b2,
                                       decay: decay, stepSize: stepSize, varianceScale: varianceScale)
        }
    }

    public func namedState() -> [(name: String, tensor: Tensor)] {
        zip(parameters, zip(moments, variances)).flatMap { p, mv in
            [("exp_avg." + p.name, mv.0), ("exp_avg_sq." + p.name, mv.1)]
        }
    }
}

/// AdamW with decoupled weight decay (the common alternative to AdamATan2).
///
///     θ ← θ·(1 − lr·λ);  m̂ = m/(1 − β1^t);  v̂ = v/(1 − β2^t);  θ ← θ − lr · m̂ / (√v̂ + ε)
public final class AdamW: Optimizer {
    public let parameters: [(name: String, tensor: Tensor)]
    public var beta1: Float, beta2: Float, weightDecay: Float, epsilon: Float
    public var stepCount = 0
    private let moments: [Tensor], variances: [Tensor]

    public init(parameters: [(name: String, tensor: Tensor)], beta1: Float = 0.9, beta2: Float = 0.95,
                weightDecay: Float = 0.1, epsilon: Float = 1e-8) {
        self.parameters = parameters
        self.beta1 = beta1; self.beta2 = beta2; self.weightDecay = weightDecay; self.epsilon = epsilon
        moments = parameters.map { Tensor.zeros($0.tensor.shape) }
        variances = parameters.map { Tensor.zeros($0.tensor.shape) }
    }

    public func update(learningRate lr: Float) {
        stepCount += 1
        let t = Double(stepCount)
        let c1 = Float(1 / (1 - Foundation.pow(Double(beta1), t)))
        let c2 = Float(1 / (1 - Foundation.pow(Double(beta2), t)))
        let decay = 1 - lr * weightDecay, eps = epsilon
        let (b1, b2) = (1 - beta1, 1 - beta2)
        for (index, p) in parameters.enumerated() {
            guard let g = p.tensor.gradient else { continue }
            OptimizerKernels.adamW(theta: p.tensor.pointer, gradient: g.pointer, m: moments[index].pointer,
                                   v: variances[index].pointer, count: p.tensor.count, b1: b1, b2: b2, decay: decay,
                                   learningRate: lr, c1: c1, c2: c2, epsilon: eps)
        }
    }

    public func namedState() -> [(name: String, tensor: Tensor)] {
        zip(parameters, zip(moments, variances)).flatMap { p, mv in
            [("exp_avg." + p.name, mv.0), ("exp_avg_sq." + p.name, mv.1)]
        }
    }
}

/// The reference's SignSGD for the sparse puzzle embedding (spec §9.3): only the rows present
/// in the batch change; gradients of duplicate ids are summed before the sign.
///
///     table[u] ← table[u] · (1 − lr·λ) − lr · sign(Σ_{rows with id u} G_row)     (sign(0) = 0)
public struct SignSGD {
    public var weightDecay: Float

    public init(weightDecay: Float = 0.1) { self.weightDecay = weightDecay }

    /// Updates `embedding.table` from its scratch gradient, then clears the scratch. With
    /// several ranks, the touched ids and their gradient rows are first gathered from every rank
    /// (in rank order, so the sums per id run in the order one process would add them), and
    /// every rank applies the same update to its copy of the table.
    public func update(_ embedding: SparseEmbedding, learningRate lr: Float,
                       communicator: any Communicator = LocalCommunicator()) {
        defer { embedding.clearScratch() }
        guard let local = embedding.localWeights, let g = local.gradient else { return }
        if communicator.isDistributed {
            let ids = communicator.allGather(embedding.localIdentifiers)
            let rows = communicator.allGather(g.scalars)
            rows.withUnsafeBufferPointer { apply(to: embedding.table, identifiers: ids, gradients: $0.baseAddress!, width: embedding.width, learningRate: lr) }
        } else {
            apply(to: embedding.table, identifiers: embedding.localIdentifiers, gradients: g.pointer, width: embedding.width, learningRate: lr)
        }
    }

    /// The update itself: `gradients` holds one row of `width` per entry of `identifiers`.
    func apply(to table: Tensor, identifiers: [Int32], gradients: UnsafePointer<Float>, width: Int, learningRate lr: Float) {
        var sums: [Int32: [Float]] = [:]
        for (row, id) in identifiers.enumerated() {
            let src = UnsafeBufferPointer(start: gradients + row * width, count: width)
            if var acc = sums[id] {
                for j in 0..<width { acc[j] += src[j] }
                sums[id] = acc
            } else {
                sums[id] = Array(src)
            }
        }
        let decay = 1 - lr * weightDecay
        for (id, total) in sums {
            let dst = table.pointer + Int(id) * width
            for j in 0..<width {
                let sign: Float = total[j] > 0 ? 1 : (total[j] < 0 ? -1 : 0)
                dst[j] = dst[j] * decay - lr * sign
            }
        }
    }
}

/// Linear warm-up, then cosine decay to `minimumRatio · base` (spec §9.4), evaluated at the
/// post-increment step (the first update uses `base / warmupSteps`).
public struct LearningRateSchedule: Codable, Equatable, Sendable {
    public var base: Float
    public var warmupSteps: Int
    public var totalSteps: Int
    public var minimumRatio: Float

    public init(base: Float, warmupSteps: Int, totalSteps: Int, minimumRatio: Float = 1) {
        self.base = base
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.minimumRatio = minimumRatio
    }

    public func callAsFunction(_ step: Int) -> Float {
        let b = Double(base), r = Double(minimumRatio)
        if step < warmupSteps { return Float(b * Double(step) / Double(max(1, warmupSteps))) }
        let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
        return Float(b * (r + max(0, (1 - r) * 0.5 * (1 + Foundation.cos(Double.pi * progress)))))
    }
}

/// The exponential moving average of the trained weights (TRM-SPEC §9.6, `models/ema.py`):
/// after every optimizer step, elementwise in fp32, with no bias correction or warm-up,
///
///     shadow ← (1 − μ)·θ + μ·shadow
///
/// over the trainable parameters only (the puzzle table and init buffers are not averaged).
/// Training never reads it; evaluation and checkpoints use it (`Trainer.evaluationModel`).
public final class WeightAverage {
    public let parameters: [(name: String, tensor: Tensor)]
    public let rate: Float
    private let shadows: [Tensor]

    /// Starts every shadow at the parameter's current value.
    public init(parameters: [(name: String, tensor: Tensor)], rate: Float = 0.999) {
        self.parameters = parameters
        self.rate = rate
        shadows = parameters.map { $0.tensor.copy() }
    }

    public func update() {
        let mu = rate, keep = 1 - rate
        for (p, s) in zip(parameters, shadows) {
            let theta = p.tensor.pointer, shadow = s.pointer
            for i in 0..<s.count { shadow[i] = keep * theta[i] + mu * shadow[i] }
        }
    }

    /// The shadows under their parameters' names.
    public func namedState() -> [(name: String, tensor: Tensor)] {
        zip(parameters, shadows).map { ($0.name, $1) }
    }
}
