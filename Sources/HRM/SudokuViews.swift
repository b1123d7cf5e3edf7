import Foundation
import Puzzles

/// Test-time augmentation for Sudoku, checked by the rules.
///
/// A Sudoku has symmetries that keep it a Sudoku: relabelling the digits, transposing, shuffling
/// the bands and the rows within a band, the stacks and the columns within a stack (the
/// reference's training augmentation, `SudokuAugmentation`). The model sees each such *view* as
/// a different puzzle and may solve one where it fails another. Checking an answer costs
/// nothing (every row, column and box holds 1–9 once and every given is kept), so: ask view 0
/// (the puzzle as given); if its answer breaks a rule, ask the next view, mapped back to the
/// original grid; stop at the first answer the rules accept. The rules also say when a view
/// stops thinking: at the first ACT step whose answer they accept, else after the last step
/// (the Q head is not asked: a view it would halt on a wrong answer keeps going). This is the
/// reference's ARC evaluation idea (many augmented views, then a choice) with a verifier in
/// place of the vote, which a Sudoku allows.
///
/// An accepted answer is a solution of the puzzle; if the puzzle has one solution (generated
/// puzzles do) it is *the* solution.
public enum SudokuViews {
    /// What the views gave for one puzzle.
    public struct Answer: Equatable, Sendable {
        /// The first answer the rules accept, else view 0's answer.
        public var grid: Sudoku
        /// The view that gave `grid` when the rules accept it (0: the puzzle as given), nil when
        /// no view's answer was accepted.
        public var acceptedView: Int?
        /// Views asked (1 for a puzzle view 0 solved).
        public var viewsTried: Int
        /// ACT steps over all views asked.
        public var steps: Int
    }

    /// The augmentation of view `view` of the puzzle at `index` (view 0: none); a function of
    /// (`seed`, `index`, `view`) only, so results do not depend on batching.
    public static func augmentation(view: Int, puzzle index: Int, seed: UInt64) -> SudokuAugmentation {
        guard view > 0 else { return .identity }
        var rng = SplitMix(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(index &+ 1) &+ UInt64(view))
        return SudokuAugmentation(using: &rng)
    }

    /// Answers every puzzle with up to `views` views (see the type's documentation).
    ///
    /// - Parameters:
    ///   - maxSteps: ACT steps per view at most (default: the model's halt_max_steps).
    ///   - progress: called with (puzzles settled, all puzzles) after each batch.
    public static func solve(model: HierarchicalReasoningModel, puzzles: [Sudoku], views: Int, seed: UInt64 = 0,
                             batchSize: Int = 64, maxSteps: Int? = nil,
                             progress: (Int, Int) -> Void = { _, _ in }) -> [Answer] {
        precondition(views >= 1 && batchSize >= 1)
        let steps = maxSteps ?? model.configuration.haltMaxSteps
        var answers = puzzles.map { Answer(grid: $0, acceptedView: nil, viewsTried: 0, steps: 0) }
        var pending = Array(puzzles.indices)
        var settled = 0
        for view in 0..<views where !pending.isEmpty {
            var stillPending: [Int] = []
            for start in stride(from: 0, to: pending.count, by: batchSize) {
                let chunk = Array(pending[start..<min(start + batchSize, pending.count)])
                let runs = run(model: model, puzzles: chunk.map { puzzles[$0] }, indices: chunk, view: view,
                               seed: seed, steps: steps)
                for (row, i) in chunk.enumerated() {
                    let grid = runs[row].grids.last!
                    answers[i].viewsTried += 1
                    answers[i].steps += runs[row].grids.count
                    if view == 0 { answers[i].grid = grid }
                    if puzzles[i].isSolved(by: grid) {
                        answers[i].grid = grid
                        answers[i].acceptedView = view
                        settled += 1
                    } else if view == views - 1 {
                        settled += 1
                    } else {
                        stillPending.append(i)
                    }
                }
                progress(settled, puzzles.count)
            }
            pending = stillPending
        }
        return answers
    }

    /// View `view` of each puzzle (`indices`: their places in the caller's list, which pick the
    /// augmentation), run until the rules accept its answer, else to the last step: per puzzle,
    /// the trace and the answer after each step mapped back to the puzzle's own grid.
    static func run(model: HierarchicalReasoningModel, puzzles: [Sudoku], indices: [Int], view: Int,
                    seed: UInt64, steps: Int) -> [(trace: [ReasoningStep], grids: [Sudoku])] {
        let augmentations = indices.map { augmentation(view: view, puzzle: $0, seed: seed) }
        func grid(_ row: Int, _ step: ReasoningStep) -> Sudoku {
            augmentations[row].invert(SudokuDataset.sudoku(tokens: step.prediction.map { UInt8(clamping: $0) }))
        }
        let inputs = zip(puzzles, augmentations).flatMap { p, a in SudokuDataset.tokens(a.apply(p)).map(Int32.init) }
        let traces = Evaluator.trace(model: model, inputs: inputs, puzzleIdentifiers: Array(repeating: 0, count: puzzles.count),
                                     steps: steps) { row, step in puzzles[row].isSolved(by: grid(row, step)) }
        return traces.enumerated().map { row, trace in (trace, trace.map { grid(row, $0) }) }
    }

    /// Exact accuracy of `solve` against known solutions.
    public static func score(model: HierarchicalReasoningModel, puzzles: [Sudoku], solutions: [Sudoku], views: Int,
                             seed: UInt64 = 0, batchSize: Int = 64, maxSteps: Int? = nil,
                             progress: (Int, Int) -> Void = { _, _ in }) -> Score {
        precondition(puzzles.count == solutions.count)
        let start = Date()
        let answers = solve(model: model, puzzles: puzzles, views: views, seed: seed, batchSize: batchSize,
                            maxSteps: maxSteps, progress: progress)
        let n = Double(max(puzzles.count, 1))
        return Score(views: views, exactAccuracy: Double(zip(answers, solutions).filter { $0.grid == $1 }.count) / n,
                     meanViewsTried: Double(answers.map(\.viewsTried).reduce(0, +)) / n,
                     meanSteps: Double(answers.map(\.steps).reduce(0, +)) / n,
                     seconds: Date().timeIntervalSince(start))
    }

    /// What `score` measured.
    public struct Score: Codable, Equatable, Sendable {
        public var views: Int
        /// Fraction of puzzles whose answer equals the known solution.
        public var exactAccuracy: Double
        /// Views asked per puzzle, and ACT steps over all of them.
        public var meanViewsTried: Double
        public var meanSteps: Double
        public var seconds: Double

        enum CodingKeys: String, CodingKey {
            case views, exactAccuracy = "exact_accuracy", meanViewsTried = "mean_views_tried"
            case meanSteps = "mean_steps", seconds
        }
    }
}
