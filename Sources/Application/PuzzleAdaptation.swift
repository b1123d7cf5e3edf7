import Foundation
import Puzzles
import Reasoning
import Tensors
import Training

/// Test-time training of a puzzle embedding for a task the model never saw: the reference's
/// ARC checkpoints only know their training tasks' identifiers, so a new task is first fitted
/// alone — its demonstration pairs trained on for a few steps with every weight frozen except
/// one row of the puzzle-embedding table (SignSGD, as in training) — and then solved with that
/// row. The row used is 0, the blank one (never trained: padding rows carry no gradient), in the
/// model in memory; nothing is written back.
///
/// ```swift
/// let log = try PuzzleAdaptation.adapt(model, demonstrations: task.train, steps: 50)
/// let answer = try Solver(model: model).solve(arcInput: task.test[0].input, identifier: 0)
/// ```
public enum PuzzleAdaptation {
    public struct Step: Sendable, Equatable {
        public var step: Int
        /// The training loss of the step (the ACT loss over the halted rows, as in training).
        public var loss: Float
    }

    public enum AdaptationError: Error, CustomStringConvertible {
        case notARCModel(String)
        case noDemonstrations

        public var description: String {
            switch self {
            case .notARCModel(let why): return why
            case .noDemonstrations: return "the task has no demonstration pairs to adapt on."
            }
        }
    }

    /// Trains row 0 of `model`'s puzzle table on `demonstrations` for `steps` optimizer steps
    /// (one batch of all pairs per step; the ACT carry kept across steps, as in training).
    /// - Returns: each step's loss.
    public static func adapt(_ model: any ReasoningModel, demonstrations: [ARCPair], steps: Int,
                             learningRate: Float = 1e-2, seed: UInt64 = 0) throws -> [Step] {
        let c = model.reasoningConfiguration
        guard c.sequenceLength == ARCEncoding.sequenceLength, c.vocabularySize == ARCEncoding.vocabularySize else {
            throw AdaptationError.notARCModel("--adapt needs an ARC model (seq_len \(ARCEncoding.sequenceLength), vocab_size \(ARCEncoding.vocabularySize)); this checkpoint has \(c.sequenceLength) and \(c.vocabularySize).")
        }
        guard model.puzzleEmbedding != nil else {
            throw AdaptationError.notARCModel("this checkpoint has no puzzle embeddings (puzzle_emb_ndim 0): there is nothing to adapt.")
        }
        guard !demonstrations.isEmpty else { throw AdaptationError.noDemonstrations }
        let batch = PuzzleBatch(
            inputs: demonstrations.flatMap { ARCEncoding.encode($0.input).map(Int32.init) },
            labels: demonstrations.flatMap { ARCEncoding.encode($0.output).map { $0 == 0 ? ignoreLabel : Int32($0) } },
            puzzleIdentifiers: Array(repeating: 0, count: demonstrations.count))
        var t = TrainingConfiguration()
        t.globalBatchSize = demonstrations.count
        t.learningRate = 0  // every dense weight frozen: AdamATan2 moves nothing at lr 0
        t.weightDecay = 0
        t.warmupSteps = 0
        t.puzzleEmbeddingLearningRate = learningRate
        t.puzzleEmbeddingWeightDecay = 0
        t.totalSteps = max(steps, 1)
        t.seed = seed
        let trainer = Trainer(model: model, configuration: t)
        var log: [Step] = []
        for _ in 0..<steps {
            let r = trainer.trainStep(batch)
            log.append(Step(step: r.step, loss: r.totalLoss / Float(demonstrations.count)))
        }
        return log
    }
}
