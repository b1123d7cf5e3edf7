import Foundation
import Reasoning
import Tensors

/// The metrics of one ACT step, summed over the batch (spec §8.4). Only sequences that are
/// halted after the step and have at least one label count.
public struct ACTMetrics: Codable, Equatable, Sendable {
    public var count: Double = 0
    public var accuracy: Double = 0
    public var exactAccuracy: Double = 0
    public var qHaltAccuracy: Double = 0
    public var steps: Double = 0
    public var lmLoss: Double = 0
    public var qHaltLoss: Double = 0
    public var qContinueLoss: Double = 0

    enum CodingKeys: String, CodingKey {
        case count, accuracy, exactAccuracy = "exact_accuracy", qHaltAccuracy = "q_halt_accuracy"
        case steps, lmLoss = "lm_loss", qHaltLoss = "q_halt_loss", qContinueLoss = "q_continue_loss"
    }

    public init() {}

    /// The sums in a fixed order (for summing over ranks), and back.
    public var sums: [Double] { [count, accuracy, exactAccuracy, qHaltAccuracy, steps, lmLoss, qHaltLoss, qContinueLoss] }

    public init(sums v: [Double]) {
        precondition(v.count == 8, "ACTMetrics has 8 sums")
        (count, accuracy, exactAccuracy, qHaltAccuracy) = (v[0], v[1], v[2], v[3])
        (steps, lmLoss, qHaltLoss, qContinueLoss) = (v[4], v[5], v[6], v[7])
    }

    /// Adds another batch's sums.
    public static func + (a: ACTMetrics, b: ACTMetrics) -> ACTMetrics {
        var r = a
        r.count += b.count; r.accuracy += b.accuracy; r.exactAccuracy += b.exactAccuracy
        r.qHaltAccuracy += b.qHaltAccuracy; r.steps += b.steps; r.lmLoss += b.lmLoss
        r.qHaltLoss += b.qHaltLoss; r.qContinueLoss += b.qContinueLoss
        return r
    }

    /// The reference's logged form (spec §9.6): losses divided by `lossDivisor` (the global
    /// batch in training, the count in evaluation), the rest by max(count, 1).
    public func normalized(lossDivisor: Double) -> ACTMetrics {
        let n = max(count, 1)
        var r = self
        r.count = count / n
        r.accuracy /= n; r.exactAccuracy /= n; r.qHaltAccuracy /= n; r.steps /= n
        r.lmLoss /= lossDivisor; r.qHaltLoss /= lossDivisor; r.qContinueLoss /= lossDivisor
        return r
    }
}

/// The losses of one ACT step (reference `ACTLossHead`, HRM-SPEC §8, TRM-SPEC §8: the same head;
/// TRM has no continue target, so its total is lm + 0.5 · q_halt).
public struct ACTLoss {
    /// lm + 0.5 · (q_halt + q_continue), recorded (call `backward` on it, scaled by 1/B).
    public var total: Tensor
    public var metrics: ACTMetrics
}

/// Computes the ACT step's losses and metrics from its outputs and the carry after the step.
///
///     lm_loss         = Σ_b Σ_t CE[b,t] / max(count_b, 1)         (stablemax or softmax CE)
///     q_halt_loss     = Σ_b BCE(q_halt_b, seq_ok_b)
///     q_continue_loss = Σ_b BCE(q_continue_b, target_b)           (training only)
public func actLoss(_ output: ACTStepOutput, carry: ACTCarry,
                    lossType: LossType) -> ACTLoss {
    let labels = carry.current.labels
    let b = carry.current.batchSize
    let v = output.logits.shape[2], s = output.logits.shape[1]
    let flat = output.logits.reshaped([b * s, v])
    let perPosition = lossType == .stablemax
        ? stablemaxCrossEntropy(logits: flat, labels: labels)
        : crossEntropy(logits: flat, labels: labels)

    // Masks, predictions and per-sequence correctness (no gradients).
    let predictions = withoutGradients { flat.argmax(axis: 1) }.scalars
    var weights = [Float](repeating: 0, count: b * s)
    var seqOK = [Float](repeating: 0, count: b)
    var metrics = ACTMetrics()
    let qHalt = output.qHalt.scalars
    for row in 0..<b {
        var count = 0, correct = 0
        for t in 0..<s where labels[row * s + t] != ignoreLabel {
            count += 1
            if Int32(predictions[row * s + t]) == labels[row * s + t] { correct += 1 }
        }
        let divisor = Float(max(count, 1))
        for t in 0..<s where labels[row * s + t] != ignoreLabel { weights[row * s + t] = 1 / divisor }
        let ok = correct == count
        seqOK[row] = ok ? 1 : 0
        if carry.halted[row] && count > 0 {
            metrics.count += 1
            metrics.accuracy += Double(correct) / Double(count)
            metrics.exactAccuracy += ok ? 1 : 0
            metrics.qHaltAccuracy += (qHalt[row] >= 0) == ok ? 1 : 0
            metrics.steps += Double(carry.steps[row])
        }
    }
    let lmLoss = (perPosition * Tensor(weights, shape: [b * s])).sum()
    let qHaltLoss = binaryCrossEntropyWithLogits(output.qHalt, targets: Tensor(seqOK, shape: [b])).sum()
    var qTotal = qHaltLoss
    metrics.lmLoss = Double(lmLoss.item)
    metrics.qHaltLoss = Double(qHaltLoss.item)
    if let target = output.targetQContinue {
        let qContinueLoss = binaryCrossEntropyWithLogits(output.qContinue, targets: Tensor(target, shape: [b])).sum()
        metrics.qContinueLoss = Double(qContinueLoss.item)
        qTotal = qTotal + qContinueLoss
    }
    return ACTLoss(total: lmLoss + qTotal * 0.5, metrics: metrics)
}
