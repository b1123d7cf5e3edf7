import Foundation
import Models
import Reasoning
import Training
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
/// Rounds: a view whose answer breaks a rule may be asked again with the cells the model was
/// surest of written in as givens (`solve`'s `rounds`): a puzzle with fewer blanks, where the
/// model is stronger. Every digit placed comes from the model; the program only orders them by the
/// model's own confidence and checks rules. An accepted answer is always a whole grid the model
/// wrote in one ask, and a wrong commit can only make the puzzle unsolvable, never accepted.
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
        /// Asks over all views (a view asks up to `rounds` times).
        public var asks: Int
        /// ACT steps over all asks.
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
    ///   - rounds: asks per view. When a view's answer breaks a rule and rounds are left, the
    ///     cells the model was surest of (a `commitFraction` of the blanks, most probable first,
    ///     among those whose digit clashes with no other cell of the answer) become givens and the same
    ///     view is asked again: a smaller puzzle, where the model is stronger. A wrong commit
    ///     leaves a puzzle with no solution, which the rules never accept; the next view starts
    ///     again from the puzzle as given. 1: no commits.
    ///   - maxSteps: ACT steps per view at most (default: the model's halt_max_steps).
    ///   - progress: called with (puzzles settled, all puzzles) after each batch.
    public static func solve(model: any ReasoningModel, puzzles: [Sudoku], views: Int, rounds: Int = 1,
                             commitFraction: Double = defaultCommitFraction, seed: UInt64 = 0,
                             batchSize: Int = 64, maxSteps: Int? = nil,
                             progress: (Int, Int) -> Void = { _, _ in }) -> [Answer] {
        precondition(views >= 1 && rounds >= 1 && batchSize >= 1)
        let steps = maxSteps ?? model.reasoningConfiguration.haltMaxSteps
        var answers = puzzles.map { Answer(grid: $0, acceptedView: nil, viewsTried: 0, asks: 0, steps: 0) }
        var pending = Array(puzzles.indices)
        var settled = 0
        for view in 0..<views where !pending.isEmpty {
            var stillPending: [Int] = []
            for start in stride(from: 0, to: pending.count, by: batchSize) {
                let chunk = Array(pending[start..<min(start + batchSize, pending.count)])
                let asked = ask(model: model, puzzles: chunk.map { puzzles[$0] }, indices: chunk, view: view, rounds: rounds,
                                commitFraction: commitFraction, seed: seed, steps: steps)
                for (i, result) in zip(chunk, asked) {
                    answers[i].viewsTried += 1
                    answers[i].asks += result.rounds
                    answers[i].steps += result.steps
                    if view == 0 { answers[i].grid = result.firstGrids.last! }
                    if result.isAccepted {
                        answers[i].grid = result.grids.last!
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

    /// What asking one view of a puzzle (up to `rounds` times) gave.
    struct Asked {
        /// The last round's trace, and its answer after each step in the puzzle's own grid.
        var trace: [ReasoningStep]
        var grids: [Sudoku]
        /// The givens the last round was asked with: the puzzle's and the cells committed before.
        var givens: Sudoku
        /// Whether the rules accept the last round's final answer.
        var isAccepted: Bool
        /// The first round's trace and answers: the view without commits.
        var firstTrace: [ReasoningStep]
        var firstGrids: [Sudoku]
        /// Rounds asked, and ACT steps over all of them.
        var rounds: Int
        var steps: Int
    }

    /// View `view` of each puzzle (`indices`: their places in the caller's list, which pick the
    /// augmentation), asked up to `rounds` times with commits between (see `solve`).
    static func ask(model: any ReasoningModel, puzzles: [Sudoku], indices: [Int], view: Int, rounds: Int,
                    commitFraction: Double, seed: UInt64, steps: Int) -> [Asked] {
        var results: [Asked?] = Array(repeating: nil, count: puzzles.count)
        var givens = puzzles
        var open = Array(puzzles.indices)  // puzzles still asking
        for round in 0..<rounds where !open.isEmpty {
            let runs = run(model: model, puzzles: open.map { givens[$0] }, indices: open.map { indices[$0] },
                           view: view, seed: seed, steps: steps)
            var next: [Int] = []
            for (k, row) in open.enumerated() {
                let grid = runs[k].grids.last!
                let accepted = puzzles[row].isSolved(by: grid)
                var result = results[row] ?? Asked(trace: [], grids: [], givens: givens[row], isAccepted: false,
                                                   firstTrace: runs[k].trace, firstGrids: runs[k].grids, rounds: 0, steps: 0)
                result.trace = runs[k].trace
                result.grids = runs[k].grids
                result.givens = givens[row]
                result.isAccepted = accepted
                result.rounds += 1
                result.steps += runs[k].grids.count
                results[row] = result
                if !accepted, round + 1 < rounds,
                   let more = committing(runs[k].trace.last!, to: givens[row],
                                         augmentation: augmentation(view: view, puzzle: indices[row], seed: seed),
                                         fraction: commitFraction) {
                    givens[row] = more
                    next.append(row)
                }
            }
            open = next
        }
        return results.map { $0! }
    }

    /// The share of a view's blanks committed between rounds.
    public static let defaultCommitFraction = 0.15

    /// `givens` with the blanks `step` was surest of filled in (see `solve`'s `rounds`); nil when
    /// none can be. `step` is in the view's cells and digits (`augmentation`), `givens` in the
    /// puzzle's own.
    static func committing(_ step: ReasoningStep, to givens: Sudoku, augmentation: SudokuAugmentation,
                           fraction: Double) -> Sudoku? {
        var view = augmentation.apply(givens)
        // The answer in the view's digits (tokens 2–10 are 1–9; anything else is no digit).
        let answer = Sudoku(cells: step.prediction.map { (2...10).contains($0) ? UInt8($0 - 1) : 0 })
        let blanks = view.cells.indices.filter { view.cells[$0] == 0 }
        let wanted = max(1, Int((Double(blanks.count) * fraction).rounded()))
        // Candidates: blanks whose digit clashes with no other cell of the answer, surest first.
        let candidates = blanks.filter { answer.cells[$0] != 0 && answer.allows(answer.cells[$0], at: $0) }
            .sorted { step.confidence[$0] > step.confidence[$1] }
        var committed = 0
        for cell in candidates where committed < wanted && view.allows(answer.cells[cell], at: cell) {
            view.cells[cell] = answer.cells[cell]
            committed += 1
        }
        return committed == 0 ? nil : augmentation.invert(view)
    }

    /// View `view` of each puzzle (`indices`: their places in the caller's list, which pick the
    /// augmentation), run until the rules accept its answer, else to the last step: per puzzle,
    /// the trace and the answer after each step mapped back to the puzzle's own grid.
    static func run(model: any ReasoningModel, puzzles: [Sudoku], indices: [Int], view: Int,
                    seed: UInt64, steps: Int) -> [(trace: [ReasoningStep], grids: [Sudoku])] {
        let augmentations = indices.map { augmentation(view: view, puzzle: $0, seed: seed) }
        func grid(_ row: Int, _ step: ReasoningStep) -> Sudoku {
            augmentations[row].invert(SudokuDataset.sudoku(tokens: step.prediction.map { UInt8(clamping: $0) }))
        }
        let inputs = zip(puzzles, augmentations).flatMap { p, a in SudokuDataset.tokens(a.apply(p)).map(Int32.init) }
        let traces = Evaluator.trace(model: model, inputs: inputs, puzzleIdentifiers: Array(repeating: 0, count: puzzles.count),
                                     steps: steps, withConfidence: true) { row, step in puzzles[row].isSolved(by: grid(row, step)) }
        return traces.enumerated().map { row, trace in (trace, trace.map { grid(row, $0) }) }
    }

    /// One puzzle's answer chosen by the Q head among several trajectories.
    public struct Chosen: Equatable, Sendable {
        /// The chosen trajectory's last answer, in the puzzle's own grid.
        public var grid: Sudoku
        /// Which trajectory gave it (0: the puzzle as given, unperturbed), and its final q_halt.
        public var trajectory: Int
        public var qHalt: Float
        /// Every trajectory's last answer (in the puzzle's grid), for scoring what a perfect
        /// chooser would get.
        public var candidates: [Sudoku]
        /// ACT steps over all trajectories.
        public var steps: Int
        /// The chosen trajectory's trace, and its answer after each step in the puzzle's grid.
        public var trace: [ReasoningStep]
        public var grids: [Sudoku]
    }

    /// Test-time scaling by the model's own judgement, with no rules check anywhere: every
    /// puzzle runs `trajectories` times for `maxSteps` ACT steps — trajectory 0 as given;
    /// trajectory k > 0 from initial states perturbed by Gaussian noise of standard deviation
    /// `noise` and, with `views`, in view k of the puzzle — and the answer is the last step of the
    /// trajectory whose final q_halt (the Q head's belief that its answer is right) is highest.
    /// Everything is a function of (`seed`, the puzzle's index, k): results do not depend on batching.
    public static func chooseByQHead(model: any ReasoningModel, puzzles: [Sudoku], trajectories: Int, noise: Float,
                                     views: Bool, seed: UInt64 = 0, batchSize: Int = 64, maxSteps: Int? = nil,
                                     progress: (Int, Int) -> Void = { _, _ in }) -> [Chosen] {
        precondition(trajectories >= 1 && batchSize >= 1 && noise >= 0)
        let steps = maxSteps ?? model.reasoningConfiguration.haltMaxSteps
        var chosen: [Chosen?] = Array(repeating: nil, count: puzzles.count)
        for start in stride(from: 0, to: puzzles.count, by: batchSize) {
            let chunk = Array(start..<min(start + batchSize, puzzles.count))
            for k in 0..<trajectories {
                let augmentations = chunk.map { views ? augmentation(view: k, puzzle: $0, seed: seed) : .identity }
                let inputs = zip(chunk, augmentations).flatMap { i, a in SudokuDataset.tokens(a.apply(puzzles[i])).map(Int32.init) }
                let perturbation: [(scale: Float, seed: UInt64)] = chunk.map { i in
                    var rng = SplitMix(seed: seed ^ 0x5851_F42D_4C95_7F2D &* UInt64(i &+ 1) &+ UInt64(k))
                    return (k == 0 ? 0 : noise, rng.next())
                }
                let traces = Evaluator.trace(model: model, inputs: inputs, puzzleIdentifiers: Array(repeating: 0, count: chunk.count),
                                             steps: steps, startNoise: perturbation)
                for (row, i) in chunk.enumerated() {
                    let last = traces[row].last!
                    func grid(_ step: ReasoningStep) -> Sudoku {
                        augmentations[row].invert(SudokuDataset.sudoku(tokens: step.prediction.map { UInt8(clamping: $0) }))
                    }
                    let answer = grid(last)
                    var c = chosen[i] ?? Chosen(grid: answer, trajectory: 0, qHalt: last.qHalt, candidates: [], steps: 0,
                                                trace: traces[row], grids: traces[row].map(grid))
                    if last.qHalt > c.qHalt {
                        (c.grid, c.trajectory, c.qHalt) = (answer, k, last.qHalt)
                        (c.trace, c.grids) = (traces[row], traces[row].map(grid))
                    }
                    c.candidates.append(answer)
                    c.steps += traces[row].count
                    chosen[i] = c
                }
            }
            progress(chunk.last! + 1, puzzles.count)
        }
        return chosen.map { $0! }
    }

    /// `chooseByQHead` scored against known solutions.
    public static func scoreByQHead(model: any ReasoningModel, puzzles: [Sudoku], solutions: [Sudoku], trajectories: Int,
                                    noise: Float, views: Bool, seed: UInt64 = 0, batchSize: Int = 64, maxSteps: Int? = nil,
                                    progress: (Int, Int) -> Void = { _, _ in }) -> TrajectoryScore {
        precondition(puzzles.count == solutions.count)
        let start = Date()
        let answers = chooseByQHead(model: model, puzzles: puzzles, trajectories: trajectories, noise: noise, views: views,
                                    seed: seed, batchSize: batchSize, maxSteps: maxSteps, progress: progress)
        let n = Double(max(puzzles.count, 1))
        return TrajectoryScore(trajectories: trajectories, noise: Double(noise), views: views,
                               exactAccuracy: Double(zip(answers, solutions).filter { $0.grid == $1 }.count) / n,
                               anyRight: Double(zip(answers, solutions).filter { a, s in a.candidates.contains(s) }.count) / n,
                               meanSteps: Double(answers.map(\.steps).reduce(0, +)) / n,
                               seconds: Date().timeIntervalSince(start))
    }

    /// Exact accuracy of `solve` against known solutions.
    public static func score(model: any ReasoningModel, puzzles: [Sudoku], solutions: [Sudoku], views: Int,
                             rounds: Int = 1, seed: UInt64 = 0, batchSize: Int = 64, maxSteps: Int? = nil,
                             progress: (Int, Int) -> Void = { _, _ in }) -> Score {
        precondition(puzzles.count == solutions.count)
        let start = Date()
        let answers = solve(model: model, puzzles: puzzles, views: views, rounds: rounds, seed: seed, batchSize: batchSize,
                            maxSteps: maxSteps, progress: progress)
        return Score(answers: answers, solutions: solutions, views: views, rounds: rounds,
                     seconds: Date().timeIntervalSince(start))
    }

    /// What `score` measured.
    public typealias Score = RulesCheckedScore
}

extension RulesCheckedScore {
    /// The figures of `SudokuViews.solve`'s answers against known solutions.
    public init(answers: [SudokuViews.Answer], solutions: [Sudoku], views: Int, rounds: Int, seconds: Double) {
        precondition(answers.count == solutions.count)
        let n = Double(max(answers.count, 1))
        self.init(views: views, rounds: rounds,
                  exactAccuracy: Double(zip(answers, solutions).filter { $0.grid == $1 }.count) / n,
                  meanViewsTried: Double(answers.map(\.viewsTried).reduce(0, +)) / n,
                  meanAsks: Double(answers.map(\.asks).reduce(0, +)) / n,
                  meanSteps: Double(answers.map(\.steps).reduce(0, +)) / n, seconds: seconds)
    }
}
