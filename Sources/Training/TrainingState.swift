import Foundation
import Layers
import Reasoning
import Tensors

/// Everything a run needs to continue exactly, in one file: the weights (`model.…`), AdamATan2's
/// moments and step count, the EMA of the weights (`ema.…`, when the run keeps one), the ACT carry, the exploration generator and the step. One file is
/// one atomic unit: a kill at any instant leaves either the previous state or the new one, never
/// weights from one step beside optimizer moments from another.
public enum TrainingState {
    /// The prefix of the weights' tensor names inside a training state.
    public static let modelPrefix = "model."
    /// The prefix of the EMA shadows.
    public static let emaPrefix = "ema."
    /// Format 2 holds the weights; format 1 (before) held them in `model.safetensors` only.
    public static let format = "swift-hrm training state 2"

    /// Writes the trainer's state (weights included) atomically and durably.
    public static func save(_ trainer: Trainer, to url: URL, extra: [String: String] = [:]) throws {
        try save(trainer, carry: trainer.carry, to: url, extra: extra)
    }

    /// The same with the whole batch's `carry` (`Trainer.gatheredCarry()` when several ranks
    /// share the batch).
    public static func save(_ trainer: Trainer, carry: ACTCarry?, to url: URL, extra: [String: String] = [:]) throws {
        var writer = SafetensorsWriter()
        Checkpoint.add(trainer.model, to: &writer, prefix: modelPrefix)
        for (name, tensor) in trainer.optimizer.namedState() { writer.add("optimizer." + name, tensor) }
        for (name, tensor) in trainer.average?.namedState() ?? [] { writer.add(emaPrefix + name, tensor) }
        if let carry {
            writer.add("carry.z_H", carry.zHigh)
            writer.add("carry.z_L", carry.zLow)
            writer.add("carry.steps", int32s: carry.steps, shape: [carry.steps.count])
            writer.add("carry.halted", int32s: carry.halted.map { $0 ? 1 : 0 }, shape: [carry.halted.count])
            let b = carry.current.batchSize
            writer.add("carry.inputs", int32s: carry.current.inputs, shape: [b, carry.current.inputs.count / b])
            writer.add("carry.labels", int32s: carry.current.labels, shape: [b, carry.current.labels.count / b])
            writer.add("carry.puzzle_identifiers", int32s: carry.current.puzzleIdentifiers, shape: [b])
        }
        writer.metadata = [
            "step": String(trainer.step),
            "optimizer_step": String(trainer.optimizer.stepCount),
            "generator": trainer.generator.state.map(String.init).joined(separator: ","),
            "format": format,
        ].merging(extra) { a, _ in a }
        try writer.write(to: url)
    }

    /// Whether `file` holds the weights too (format 2).
    public static func holdsWeights(_ file: SafetensorsFile) -> Bool {
        file.entries.keys.contains { $0.hasPrefix(modelPrefix) }
    }

    /// Restores a trainer (built on the same model and configuration) from `url`.
    public static func load(from url: URL, into trainer: Trainer) throws {
        let file: SafetensorsFile
        do { file = try SafetensorsFile(contentsOf: url) } catch let e as SafetensorsError {
            throw CheckpointError.file(e)
        }
        try load(file, into: trainer)
    }

    /// Restores a trainer from an opened state file (its weights too, when the file holds them).
    public static func load(_ file: SafetensorsFile, into trainer: Trainer) throws {
        let url = URL(fileURLWithPath: file.path)
        guard let step = file.metadata["step"].flatMap(Int.init),
              let adamStep = file.metadata["optimizer_step"].flatMap(Int.init),
              let words = file.metadata["generator"]?.split(separator: ",").compactMap({ UInt64($0) }),
              words.count == 4
        else {
            throw CheckpointError.mismatch(file: url.path, problems: ["metadata must hold step, optimizer_step and generator (4 words)"])
        }
        var problems: [String] = []
        var moments: [(Tensor, Tensor)] = []
        let named = trainer.optimizer.namedState().map { ("optimizer." + $0.name, $0.tensor) }
            + (trainer.average?.namedState() ?? []).map { (emaPrefix + $0.name, $0.tensor) }
        for (key, tensor) in named {
            guard let entry = file.entries[key] else { problems.append("missing tensor '\(key)'"); continue }
            guard entry.shape == tensor.shape else {
                problems.append("tensor '\(key)': expected shape \(tensor.shape), found \(entry.shape)")
                continue
            }
            do { moments.append((tensor, try file.tensor(key))) } catch {
                problems.append("tensor '\(key)': \(error)")
            }
        }
        var carry: ACTCarry? = nil
        if file.entries["carry.z_H"] != nil {
            do {
                let zH = try file.tensor("carry.z_H"), zL = try file.tensor("carry.z_L")
                let c = trainer.model.reasoningConfiguration
                let b = zH.shape.first ?? 0
                if zH.shape != [b, c.positionCount, c.hiddenSize] || zL.shape != zH.shape {
                    problems.append("carry states must be [batch, \(c.positionCount), \(c.hiddenSize)]; found \(zH.shape)")
                } else {
                    carry = ACTCarry(
                        zHigh: zH, zLow: zL, steps: try file.int32s("carry.steps"),
                        halted: try file.int32s("carry.halted").map { $0 != 0 },
                        current: PuzzleBatch(inputs: try file.int32s("carry.inputs"),
                                             labels: try file.int32s("carry.labels"),
                                             puzzleIdentifiers: try file.int32s("carry.puzzle_identifiers")))
                }
            } catch {
                problems.append("carry: \(error)")
            }
        }
        guard problems.isEmpty else { throw CheckpointError.mismatch(file: url.path, problems: problems) }
        if holdsWeights(file) { try Checkpoint.load(file, into: trainer.model, prefix: modelPrefix) }
        for (target, value) in moments { target.assign(value) }
        trainer.restore(step: step, optimizerStep: adamStep, carry: carry, generator: words)
    }
}

extension Trainer {
    func restore(step: Int, optimizerStep: Int, carry: ACTCarry?, generator words: [UInt64]) {
        self.step = step
        optimizer.stepCount = optimizerStep
        // A saved carry holds the whole batch; each rank keeps its own slots of it.
        if let carry, communicator.isDistributed {
            self.carry = carry.rows(localRows(globalBatchSize: carry.steps.count))
        } else {
            self.carry = carry
        }
        generator.state = words
    }
}
