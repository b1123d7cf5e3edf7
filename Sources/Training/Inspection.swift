import Foundation
import Layers
import Reasoning
import Tensors

/// Runs evaluation ACT steps and records every step's outputs, for comparing implementations
/// (`hrm inspect forward`).
public enum ForwardDump {
    /// Problems with the inputs a user supplied, as sentences (empty when they fit the model).
    public static func problems(inputs: [Int32], shape: [Int], puzzleIdentifiers: [Int32],
                                configuration c: any ReasoningConfiguration) -> [String] {
        var p: [String] = []
        guard shape.count == 2, shape[1] == c.sequenceLength else {
            return ["inputs must be [batch, \(c.sequenceLength)] token ids (the model's seq_len); found shape \(shape)"]
        }
        if let bad = inputs.first(where: { $0 < 0 || Int($0) >= c.vocabularySize }) {
            p.append("inputs hold token \(bad), outside the vocabulary 0..<\(c.vocabularySize)")
        }
        if puzzleIdentifiers.count != shape[0] {
            p.append("puzzle ids must be [\(shape[0])] (one per input row); found \(puzzleIdentifiers.count)")
        }
        if let bad = puzzleIdentifiers.first(where: { $0 < 0 || Int($0) >= c.puzzleIdentifierCount }) {
            p.append("puzzle id \(bad) is outside 0..<\(c.puzzleIdentifierCount) (num_puzzle_identifiers)")
        }
        return p
    }

    /// `steps` evaluation ACT steps from a fresh carry; per step `logits.<k>` `[B, S, V]`,
    /// `q_halt.<k>` and `q_continue.<k>` `[B]` (k from 1).
    public static func run(model: any ReasoningModel, inputs: [Int32], puzzleIdentifiers: [Int32],
                           steps: Int) -> [(name: String, tensor: Tensor)] {
        let batch = PuzzleBatch(inputs: inputs, labels: Array(repeating: ignoreLabel, count: inputs.count),
                                puzzleIdentifiers: puzzleIdentifiers)
        let act = AdaptiveComputation(model: model, isTraining: false)
        act.haltMaxSteps = max(steps, model.reasoningConfiguration.haltMaxSteps)
        var carry = act.initialCarry(batch: batch)
        var rng = RandomGenerator(seed: 0)
        var out: [(name: String, tensor: Tensor)] = []
        withoutGradients {
            for k in 1...max(steps, 1) {
                let o = act.step(&carry, batch: batch, using: &rng)
                out += [("logits.\(k)", o.logits), ("q_halt.\(k)", o.qHalt), ("q_continue.\(k)", o.qContinue)]
            }
        }
        return out
    }
}
