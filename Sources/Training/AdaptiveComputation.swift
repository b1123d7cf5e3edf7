import Foundation
import Layers
import Reasoning
import Tensors

/// The state a reasoning model carries from one ACT step to the next (spec §7.1).
public struct ACTCarry {
    /// `[B, N, D]` each, detached.
    public var zHigh: Tensor
    public var zLow: Tensor
    /// Segments run so far by each sequence.
    public var steps: [Int32]
    /// Whether each sequence has halted (and so takes fresh data at the next step).
    public var halted: [Bool]
    /// The data each slot is working on.
    public var current: PuzzleBatch
}

/// What one ACT step returns.
public struct ACTStepOutput {
    /// `[B, S, V]`, recorded when training.
    public var logits: Tensor
    /// `[B]` each, recorded when training.
    public var qHalt: Tensor
    public var qContinue: Tensor
    /// The bootstrapped Q-continue target `[B]` (training with `halt_max_steps > 1` only).
    public var targetQContinue: [Float]?
}

/// The ACT wrapper, one for every architecture (reference `HierarchicalReasoningModel_ACTV1`,
/// HRM-SPEC §7; `TinyRecursiveReasoningModel_ACTV1`, TRM-SPEC §7): resets halted sequences
/// with fresh data, runs one segment, and decides who halts.
///
/// Training: a sequence halts at `halt_max_steps`, or earlier when the model's halting rule says
/// so (HRM: `q_halt > q_continue`; TRM: `q_halt > 0`) and it has run at least `min_steps` (0, or
/// with probability ε a fresh uniform draw from 2…`halt_max_steps`, redrawn at every step). HRM's
/// Q-continue target comes from one extra unrecorded segment; TRM computes none. Evaluation: every sequence runs exactly `halt_max_steps` segments.
public final class AdaptiveComputation {
    public let model: any ReasoningModel
    public var isTraining: Bool
    /// The step cap (`halt_max_steps` unless raised for inference-time scaling).
    public var haltMaxSteps: Int
    /// Test-time trajectories: per batch row, Gaussian noise of this standard deviation (and a
    /// stream of its own seed) added to both initial states when the row is reset, so one puzzle
    /// can be run from several starting points. nil or a zero scale: the model's own initial
    /// states. Never used in training.
    public var startNoise: [(scale: Float, seed: UInt64)]? = nil
    /// When this batch is rows `offset ..< offset + B` of a global batch computed by several
    /// ranks: the exploration draws are made for the whole global batch (as one process would
    /// draw them) and this batch takes its rows' share, so the generator stays the same on
    /// every rank and every row gets the draw it would get in one process.
    public var shard: (offset: Int, globalBatchSize: Int)? = nil
    /// Sees every module call of each step's segment (not of the Q-continue target's extra
    /// segment), for analyses.
    public var observer: StateObserver? = nil

    public init(model: any ReasoningModel, isTraining: Bool = true) {
        self.model = model
        self.isTraining = isTraining
        self.haltMaxSteps = model.reasoningConfiguration.haltMaxSteps
    }

    /// A carry in which every slot is halted, so the first step loads `batch` everywhere.
    public func initialCarry(batch: PuzzleBatch) -> ACTCarry {
        let z = model.initialStates(batchSize: batch.batchSize)
        return ACTCarry(zHigh: z.high, zLow: z.low,
                        steps: Array(repeating: 0, count: batch.batchSize),
                        halted: Array(repeating: true, count: batch.batchSize), current: batch)
    }

    /// One ACT step (spec §7.2); updates `carry` in place.
    /// Under bf16 the parameters are converted once for the step (or once for the training
    /// step that calls this, see `BF16ParameterCache`).
    public func step<G: RandomNumberGenerator>(_ carry: inout ACTCarry, batch: PuzzleBatch,
                                               using generator: inout G) -> ACTStepOutput {
        BF16ParameterCache.scope { stepBody(&carry, batch: batch, using: &generator) }
    }

    private func stepBody<G: RandomNumberGenerator>(_ carry: inout ACTCarry, batch: PuzzleBatch,
                                                    using generator: inout G) -> ACTStepOutput {
        let c = model.reasoningConfiguration
        let b = batch.batchSize, s = c.sequenceLength
        precondition(carry.halted.count == b, "carry has \(carry.halted.count) slots, batch has \(b)")
        precondition(batch.inputs.count == b * s, "batch rows must have \(s) tokens")

        // Reset halted slots: initial states, zero steps, fresh data.
        let rowSize = c.positionCount * c.hiddenSize
        // The carried states are shared with the previous step's outputs: copy them only when a
        // slot is reset (running slots alone need no copy; evaluation resets only at step 1).
        let anyReset = carry.halted.contains(true)
        let zH = anyReset ? carry.zHigh.copy() : carry.zHigh, zL = anyReset ? carry.zLow.copy() : carry.zLow
        for row in 0..<b where carry.halted[row] {
            for i in 0..<c.positionCount {
                (zH.pointer + row * rowSize + i * c.hiddenSize).update(from: model.highInit.pointer, count: c.hiddenSize)
                (zL.pointer + row * rowSize + i * c.hiddenSize).update(from: model.lowInit.pointer, count: c.hiddenSize)
            }
            if let noise = startNoise?[row], noise.scale > 0 {
                var rng = RandomGenerator(seed: noise.seed)
                for z in [zH, zL] {
                    let start = z.pointer + row * rowSize
                    for j in 0..<rowSize { start[j] += noise.scale * Float(standardNormal(using: &rng)) }
                }
            }
            carry.steps[row] = 0
            carry.current.inputs.replaceSubrange(row * s..<(row + 1) * s, with: batch.inputs[row * s..<(row + 1) * s])
            carry.current.labels.replaceSubrange(row * s..<(row + 1) * s, with: batch.labels[row * s..<(row + 1) * s])
            carry.current.puzzleIdentifiers[row] = batch.puzzleIdentifiers[row]
        }

        let out = model.segment(zHigh: zH, zLow: zL, inputs: carry.current.inputs,
                                puzzleIdentifiers: carry.current.puzzleIdentifiers, observer: observer)
        carry.zHigh = out.zHigh
        carry.zLow = out.zLow

        // Halting decisions (no gradients involved).
        var target: [Float]? = nil
        let maxSteps = Int32(haltMaxSteps)
        let qHalt = out.qHalt.scalars, qContinue = out.qContinue.scalars
        var last = [Bool](repeating: false, count: b)
        for row in 0..<b {
            carry.steps[row] += 1
            last[row] = carry.steps[row] >= maxSteps
            carry.halted[row] = last[row]
        }
        if isTraining && haltMaxSteps > 1 && c.actEnabled {
            let offset = shard?.offset ?? 0, drawn = shard?.globalBatchSize ?? b
            precondition(offset + b <= drawn, "the shard lies outside its global batch")
            let explore = (0..<drawn).map { _ in
                Float(generator.next() >> 40) * 0x1p-24 < c.haltExplorationProbability
            }
            let minSteps: [Int32] = explore.map {
                $0 ? Int32.random(in: 2...maxSteps, using: &generator) : 0
            }
            for row in 0..<b {
                let wantsToHalt = last[row] || c.halting.halts(qHalt: qHalt[row], qContinue: qContinue[row])
                carry.halted[row] = wantsToHalt && carry.steps[row] >= minSteps[offset + row]
            }
        }
        if isTraining && haltMaxSteps > 1 && c.halting.trainsContinue {
            let next = withoutGradients {
                model.segment(zHigh: carry.zHigh, zLow: carry.zLow, inputs: carry.current.inputs,
                              puzzleIdentifiers: carry.current.puzzleIdentifiers)
            }
            let nextHalt = next.qHalt.scalars, nextContinue = next.qContinue.scalars
            target = (0..<b).map { row in
                let z = last[row] ? nextHalt[row] : max(nextHalt[row], nextContinue[row])
                return Float(1 / (1 + Foundation.exp(-Double(z))))
            }
        }
        return ACTStepOutput(logits: out.logits, qHalt: out.qHalt, qContinue: out.qContinue,
                             targetQContinue: target)
    }
}
