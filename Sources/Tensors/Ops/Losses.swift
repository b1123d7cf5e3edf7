import Foundation

/// Per-position classification losses with an ignore label, and binary cross-entropy with
/// logits (spec §8.2, §8.3). Each returns one loss per position (0 where ignored), so callers
/// choose the reduction (HRM: per-sequence mean, summed over the batch).

/// The label value that marks a position as unsupervised (PyTorch's convention).
public let ignoreLabel: Int32 = -100

/// Softmax cross-entropy: `−log softmax(logits)[label]` per position.
///
/// `logits` is `[..., V]`; `labels` has one entry per row (`logits.count / V`); the result has
/// shape `logits.shape.dropLast()`, with 0 at rows whose label is `ignoreIndex`.
/// Backward: d logits = dloss · (softmax − onehot(label)), 0 on ignored rows.
public func crossEntropy(logits: Tensor, labels: [Int32], ignoreIndex: Int32 = ignoreLabel)
    -> Tensor
{
    classificationLoss(logits: logits, labels: labels, ignoreIndex: ignoreIndex, stablemax: false)
}

/// Stablemax cross-entropy (spec §8.2): probabilities `s(ℓ) / Σ s(ℓ)` with
/// `s(x) = x + 1` for x ≥ 0 and `1 / (1 − x)` for x < 0, computed in Float64 as the reference
/// does. Same shapes and ignore rule as `crossEntropy`.
///
/// Backward, with S = Σ s(ℓ) and s′(x) = 1 (x ≥ 0) or 1/(1 − x)² (x < 0):
///     d ℓ_v = dloss · (s′(ℓ_v)/S − [v = label] · s′(ℓ_v)/s(ℓ_v))
public func stablemaxCrossEntropy(logits: Tensor, labels: [Int32],
                                  ignoreIndex: Int32 = ignoreLabel) -> Tensor {
    classificationLoss(logits: logits, labels: labels, ignoreIndex: ignoreIndex, stablemax: true)
}

@inline(__always) private func stablemaxS(_ x: Double) -> Double {
    x >= 0 ? x + 1 : 1 / (1 - x + 1e-30)
}
@inline(__always) private func stablemaxSlope(_ x: Double) -> Double {
    x >= 0 ? 1 : 1 / ((1 - x) * (1 - x))
}

private func classificationLoss(logits: Tensor, labels: [Int32], ignoreIndex: Int32,
                                stablemax: Bool) -> Tensor {
    let v = logits.shape.last ?? 0
    let rows = logits.count / Swift.max(v, 1)
    precondition(labels.count == rows, "\(labels.count) labels for \(rows) rows of \(logits.shape)")
    for l in labels where l != ignoreIndex {
        precondition(l >= 0 && Int(l) < v, "label \(l) out of range 0..<\(v)")
    }
    let out = Tensor(uninitializedShape: Array(logits.shape.dropLast()))
    let px = logits.pointer, po = out.pointer
    labels.withUnsafeBufferPointer { lab in
        Parallel.forEach(rows, cost: v * 8) { range in
            for r in range {
                let label = lab[r]
                if label == ignoreIndex { po[r] = 0; continue }
                let x = px + r * v
                if stablemax {
                    var total = 0.0
                    for i in 0..<v { total += stablemaxS(Double(x[i])) }
                    po[r] = Float(Foundation.log(total) - Foundation.log(stablemaxS(Double(x[Int(label)]))))
                } else {
                    var m = -Float.infinity
                    for i in 0..<v { m = Swift.max(m, x[i]) }
                    var total = 0.0
                    for i in 0..<v { total += Foundation.exp(Double(x[i] - m)) }
                    po[r] = Float(Foundation.log(total) + Double(m - x[Int(label)]))
                }
            }
        }
    }
    return out.recorded(from: [logits]) { g in
        let dx = Tensor(uninitializedShape: logits.shape)
        let pg = g.pointer, pd = dx.pointer
        labels.withUnsafeBufferPointer { lab in
            Parallel.forEach(rows, cost: v * 8) { range in
                for r in range {
                    let x = px + r * v, d = pd + r * v
                    let label = lab[r]
                    if label == ignoreIndex {
                        for i in 0..<v { d[i] = 0 }
                        continue
                    }
                    let gr = Double(pg[r])
                    if stablemax {
                        var total = 0.0
                        for i in 0..<v { total += stablemaxS(Double(x[i])) }
                        for i in 0..<v { d[i] = Float(gr * stablemaxSlope(Double(x[i])) / total) }
                        let xl = Double(x[Int(label)])
                        d[Int(label)] -= Float(gr * stablemaxSlope(xl) / stablemaxS(xl))
                    } else {
                        var m = -Float.infinity
                        for i in 0..<v { m = Swift.max(m, x[i]) }
                        var total = 0.0
                        for i in 0..<v { total += Foundation.exp(Double(x[i] - m)) }
                        for i in 0..<v { d[i] = Float(gr * Foundation.exp(Double(x[i] - m)) / total) }
                        d[Int(label)] -= Float(gr)
                    }
                }
            }
        }
        return [dx]
    }
}

/// Binary cross-entropy with logits, elementwise:
/// `max(z, 0) − z·y + log(1 + e^{−|z|})`. `targets` get no gradient.
///
/// Backward: dz = dloss · (σ(z) − y).
public func binaryCrossEntropyWithLogits(_ logits: Tensor, targets: Tensor) -> Tensor {
    precondition(logits.shape == targets.shape,
                 "logits \(logits.shape) and targets \(targets.shape) differ")
    let out = Tensor(uninitializedShape: logits.shape)
    let pz = logits.pointer, py = targets.pointer, po = out.pointer
    for i in 0..<logits.count {
        let z = Double(pz[i]), y = Double(py[i])
        po[i] = Float(Swift.max(z, 0) - z * y + Foundation.log1p(Foundation.exp(-Swift.abs(z))))
    }
    return out.recorded(from: [logits]) { g in
        let dz = Tensor(uninitializedShape: logits.shape)
        for i in 0..<logits.count {
            let s = 1 / (1 + Foundation.exp(-Double(pz[i])))
            dz.pointer[i] = Float(Double(g.pointer[i]) * (s - Double(targets.pointer[i])))
        }
        return [dz]
    }
}
