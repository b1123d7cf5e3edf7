import Foundation
import Models
import Puzzles
import Reasoning
import Tensors
import Testing
@testable import Application

/// Test-time training of a new task's puzzle embedding (`hrm solve task.json --adapt STEPS`).
@Suite struct PuzzleAdaptationTests {
    func model() -> TinyRecursiveModel {
        var c = TRMConfiguration(sequenceLength: 900, vocabularySize: 12, puzzleIdentifierCount: 3, puzzleEmbeddingWidth: 16,
                                 hiddenSize: 16, headCount: 2, highCycles: 1, lowCycles: 1, layerCount: 1, puzzleEmbeddingLength: 1, haltMaxSteps: 1)
        c.haltExplorationProbability = 0
        var rng = RandomGenerator(seed: 5)
        let m = TinyRecursiveModel(configuration: c, using: &rng)
        // One ACT step per sequence: every training step starts afresh, so the losses compare.
        // Trained tables are not zero: give every row values, as a trained checkpoint has.
        let table = m.puzzleEmbedding!.table
        for i in 0..<table.count { table.pointer[i] = Float((i * 37) % 11 - 5) / 10 }
        return m
    }

    func pairs() -> [ARCPair] {
        (0..<3).map { k in
            let input = Grid(rows: 3, columns: 3, cells: (0..<9).map { UInt8(($0 + k) % 10) })
            return ARCPair(input: input, output: Grid(rows: 3, columns: 3, cells: input.cells.map { ($0 + 1) % 10 }))
        }
    }

    @Test func onlyRowZeroOfThePuzzleTableMovesAndTheLossFalls() throws {
        let m = model()
        let before = m.namedParameters().map { ($0.name, $0.tensor.scalars) }
        let log = try PuzzleAdaptation.adapt(m, demonstrations: pairs(), steps: 12, learningRate: 0.05)
        #expect(log.count == 12 && log.map(\.step) == Array(1...12))
        let width = 16
        for ((name, old), (_, tensor)) in zip(before, m.namedParameters()) {
            let now = tensor.scalars
            if name == "puzzle_emb.weights" {
                #expect(now[..<width] != old[..<width], "row 0 was not adapted")
                #expect(now[width...] == old[width...], "other tasks' rows changed")
            } else {
                #expect(now == old, "\(name) changed while frozen")
            }
        }
        let first: Float = log.prefix(3).map(\.loss).reduce(0, +), last: Float = log.suffix(3).map(\.loss).reduce(0, +)
        #expect(last < first, "\(log.map(\.loss))")
    }

    @Test func refusesModelsItCannotAdapt() {
        var rng = RandomGenerator(seed: 1)
        let sudoku = TinyRecursiveModel(configuration: .tiny, using: &rng)
        #expect(throws: PuzzleAdaptation.AdaptationError.self) { try PuzzleAdaptation.adapt(sudoku, demonstrations: pairs(), steps: 1) }
        #expect(throws: PuzzleAdaptation.AdaptationError.self) { try PuzzleAdaptation.adapt(model(), demonstrations: [], steps: 1) }
    }
}
