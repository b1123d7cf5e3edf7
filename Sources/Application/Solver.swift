import Foundation
import Models
import Reasoning
import Training
import Layers
import Puzzles
import Tensors

/// A puzzle that the loaded model cannot take, or that has no answer.
public enum SolverError: Error, CustomStringConvertible {
    case wrongModel(String)
    case unsolvable(String)

    public var description: String {
        switch self {
        case .wrongModel(let s), .unsolvable(let s): return s
        }
    }
}

/// The model's answer to one puzzle and how it got there.
public struct Solution<Puzzle> {
    /// The answer after the step the model stopped at.
    public var answer: Puzzle
    /// The answer after every ACT step (index 0 = step 1).
    public var steps: [Puzzle]
    /// The raw trace: predictions and Q values per step.
    public var trace: [ReasoningStep]
    /// The step (1-based) whose answer is `answer`: the last, or the one `Solver.answer` picks.
    public var haltStep: Int
    /// Whether the classical verifier accepts `answer` (nil where there is none, e.g. ARC
    /// without a known output).
    public var isVerified: Bool?
    /// Sudoku with `Solver.views` > 1: the view (`SudokuViews`) whose run this is, 0 for the
    /// puzzle as given; its steps are mapped back to the puzzle's own cells and digits.
    public var view = 0
    /// Views asked before this one was accepted or the last was tried.
    public var viewsTried = 1
    /// Sudoku with `Solver.trajectories` > 1: the trajectory the Q head chose (0: the puzzle
    /// as given, unperturbed) among `trajectoriesRun`.
    public var trajectory = 0
    public var trajectoriesRun = 1
    /// Sudoku with `Solver.rounds` > 1: which ask of its view this run is (1: the first), and how
    /// many of the model's surest cells from the earlier asks it was given as extra givens.
    public var round = 1
    public var committed = 0
    /// The puzzle this run was asked, when it is not the one given: the given one with the
    /// `committed` cells written in.
    public var askedWith: Puzzle? = nil
    /// Sudoku: whether the puzzle has exactly one solution (the classical solver searches for a
    /// second); nil where not checked. With several, `isVerified` says the answer obeys the
    /// rules and the givens, not that it is *the* solution.
    public var hasUniqueSolution: Bool? = nil
}

/// Solves puzzles with a trained checkpoint — the library behind `hrm solve`.
///
/// ```swift
/// let solver = try Solver(checkpoint: URL(fileURLWithPath: "model.safetensors"))
/// let solution = try solver.solve(try Sudoku(parsing: "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"))
/// print(solution.answer, solution.isVerified == true)
/// ```
public final class Solver {
    public let model: any ReasoningModel
    /// ACT steps to run (default: the model's halt_max_steps).
    public var maxSteps: Int
    /// Which step answers: `.last` (the default), after `maxSteps`, as the reference evaluates
    /// and as `hrm eval` measures "the model alone"; `.early` the first step its halting rule
    /// says halt (HRM: q_halt > q_continue; TRM: q_halt > 0), the compute saver (`hrm solve
    /// --halt early`), or `.firstHalt(margin:)` the first whose margin exceeds a larger one
    /// (`--halt-margin`). The shipped TRM's Q head can say halt one step early (the classic
    /// puzzle in the README: q_halt +1.7 at step 1 with one cell wrong, right from step 2), so
    /// early halting at margin 0 costs it accuracy.
    public var answer: AnswerStep = .last
    /// Sudoku: views to ask until the rules accept an answer (`SudokuViews`; the rules, not the
    /// Q head, then say when each view stops); 1 asks the model alone.
    public var views = 1
    /// Sudoku: runs of the puzzle (`SudokuViews.chooseByQHead`: trajectory k > 0 in view k,
    /// from initial states perturbed by `trajectoryNoise`), the answer taken from the run whose
    /// final q_halt is highest; no rules check. 1: off. Not combined with `views`/`rounds`.
    public var trajectories = 1
    public var trajectoryNoise: Float = 0
    public var trajectoryViews = true
    /// Sudoku: asks per view, the model's surest cells written in as givens between them
    /// (`SudokuViews.solve`'s `rounds`); 1: none.
    public var rounds = 1

    public init(model: any ReasoningModel) {
        self.model = model
        self.maxSteps = model.reasoningConfiguration.haltMaxSteps
    }

    public convenience init(checkpoint: URL, configuration: ModelConfiguration? = nil) throws {
        self.init(model: try Checkpoint.load(from: checkpoint, configuration: configuration))
    }

    /// A solver on a shipped model (verified against its manifest), found from any working
    /// folder as `ShippedModels` says.
    public static func shipped(_ name: String = ShippedModels.defaultSudoku) throws -> Solver {
        Solver(model: try ModelPackage(directory: try ShippedModels.locate(name)).model)
    }

    private func run(_ tokens: [UInt8], identifier: Int32 = 0) -> (trace: [ReasoningStep], halt: Int) {
        let trace = Evaluator.trace(model: model, inputs: tokens.map(Int32.init), puzzleIdentifiers: [identifier],
                                    steps: maxSteps, withConfidence: true)[0]
        return (trace, answer.index(in: trace))
    }

    /// - Parameter kind: the puzzle kind with its article ("a maze", "an ARC task").
    private func require(sequenceLength: Int, vocabularySize: Int, kind: String) throws {
        let c = model.reasoningConfiguration
        guard c.sequenceLength == sequenceLength, c.vocabularySize == vocabularySize else {
            throw SolverError.wrongModel("this checkpoint was trained for sequences of \(c.sequenceLength) tokens over a vocabulary of \(c.vocabularySize); \(kind) needs \(sequenceLength) and \(vocabularySize). Use a checkpoint trained on puzzles of that kind.")
        }
    }

    /// Solves a Sudoku; the classical solver checks the answer (and the puzzle first).
    /// - Throws: `SolverError` if the checkpoint is not a Sudoku model, or the puzzle has a
    ///   repeated digit or no solution at all.
    public func solve(_ sudoku: Sudoku) throws -> Solution<Sudoku> {
        try require(sequenceLength: 81, vocabularySize: SudokuDataset.vocabularySize, kind: "a 9×9 Sudoku")
        guard sudoku.isConsistent else {
            throw SolverError.unsolvable("the puzzle repeats a digit in a row, column or box, so it has no solution.")
        }
        let classical = SudokuSolver().solve(sudoku, limit: 2)
        guard !classical.solutions.isEmpty else {
            throw SolverError.unsolvable("the puzzle has no solution (the classical solver proves it).")
        }
        func grid(_ step: ReasoningStep) -> Sudoku { SudokuDataset.sudoku(tokens: step.prediction.map { UInt8(clamping: $0) }) }
        let unique = classical.solutions.count == 1
        if trajectories > 1 {
            let c = SudokuViews.chooseByQHead(model: model, puzzles: [sudoku], trajectories: trajectories, noise: trajectoryNoise,
                                              views: trajectoryViews, maxSteps: maxSteps)[0]
            var s = Solution(answer: c.grid, steps: c.grids, trace: c.trace, haltStep: c.grids.count,
                             isVerified: sudoku.isSolved(by: c.grid))
            s.trajectory = c.trajectory
            s.trajectoriesRun = trajectories
            s.hasUniqueSolution = unique
            return s
        }
        guard views > 1 || rounds > 1 else {
            let (trace, halt) = run(SudokuDataset.tokens(sudoku))
            let steps = trace.map(grid)
            var s = Solution(answer: steps[halt], steps: steps, trace: trace, haltStep: halt + 1,
                             isVerified: sudoku.isSolved(by: steps[halt]))
            s.hasUniqueSolution = unique
            return s
        }
        // Views and rounds (`SudokuViews`): each ask runs until the rules accept its answer, else
        // to the last step.
        // Without an accepted answer, the answer is view 0's first ask: the puzzle as given.
        var first: Solution<Sudoku>? = nil
        for view in 0..<views {
            let asked = SudokuViews.ask(model: model, puzzles: [sudoku], indices: [0], view: view, rounds: rounds,
                                        commitFraction: SudokuViews.defaultCommitFraction, seed: 0, steps: maxSteps)[0]
            if asked.isAccepted {
                return Solution(answer: asked.grids[asked.grids.count - 1], steps: asked.grids, trace: asked.trace,
                                haltStep: asked.grids.count, isVerified: true, view: view, viewsTried: view + 1,
                                round: asked.rounds, committed: sudoku.blankCount - asked.givens.blankCount,
                                askedWith: asked.rounds > 1 ? asked.givens : nil, hasUniqueSolution: unique)
            }
            if view == 0 {
                first = Solution(answer: asked.firstGrids[asked.firstGrids.count - 1], steps: asked.firstGrids,
                                 trace: asked.firstTrace, haltStep: asked.firstGrids.count, isVerified: false,
                                 hasUniqueSolution: unique)
            }
        }
        first!.viewsTried = views
        return first!
    }

    /// Solves a maze; the answer is verified as a valid shortest path.
    /// A maze smaller than the model's grid is padded as the data builder pads (top-left, PAD
    /// around it) and the answer read from that corner.
    public func solve(_ maze: Maze) throws -> Solution<Maze> {
        let c = model.reasoningConfiguration
        let side = Int(Double(c.sequenceLength).squareRoot())
        guard side * side == c.sequenceLength, maze.size <= side else {
            try require(sequenceLength: maze.size * maze.size, vocabularySize: MazeDataset.vocabularySize,
                        kind: "a \(maze.size)×\(maze.size) maze")
            throw SolverError.wrongModel("this checkpoint's grid is \(side)×\(side); a \(maze.size)×\(maze.size) maze does not fit it.")
        }
        try require(sequenceLength: side * side, vocabularySize: MazeDataset.vocabularySize, kind: "a maze of up to \(side)×\(side)")
        guard let path = maze.unsolved.shortestPath() else {
            throw SolverError.unsolvable("G cannot be reached from S in this maze.")
        }
        let (trace, halt) = run(MazeDataset.tokens(maze.unsolved, paddedTo: side))
        let steps = trace.map { MazeDataset.maze(tokens: $0.prediction.map { UInt8(clamping: $0) }, size: maze.size) }
        let check = maze.unsolved.marking(path).check(steps[halt])
        return Solution(answer: steps[halt], steps: steps, trace: trace, haltStep: halt + 1,
                        isVerified: check.isValidShortest)
    }

    /// Predicts the output grid of an ARC test input (one model call, no augmentation voting).
    public func solve(arcInput: Grid, expected: Grid? = nil, identifier: Int32 = 0) throws -> Solution<Grid> {
        try require(sequenceLength: ARCEncoding.sequenceLength, vocabularySize: ARCEncoding.vocabularySize, kind: "an ARC task")
        let (trace, halt) = run(ARCEncoding.encode(arcInput), identifier: identifier)
        let steps = trace.map { ARCEncoding.crop($0.prediction.map { UInt8(clamping: $0) }) }
        return Solution(answer: steps[halt], steps: steps, trace: trace, haltStep: halt + 1,
                        isVerified: expected.map { $0 == steps[halt] })
    }
}
