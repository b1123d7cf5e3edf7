import ArgumentParser
import Foundation
import Application
import Models
import Reasoning
import Training
import Puzzles
import SafeFiles

struct SolveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "solve",
        abstract: "Solve your own puzzle and show how the model reasoned, step by step.",
        discussion: """
            PUZZLE is a Sudoku as 81 characters ('.' or '0' for blanks), or a file holding a \
            Sudoku, a maze (rows of '#', ' ', 'S', 'G') or an ARC task (.json). The trace shows \
            the predicted grid after each ACT step, the cells that changed, and what the halting rule compares (HRM: q_halt − q_continue; TRM: q_halt; \
            it says halt where that is > 0). The answer is the last step's, as `hrm eval` measures the \
            model alone; --halt early answers at the first step the Q head says halt instead (--halt-margin M: the first step past M). Sudokus \
            and mazes are then checked by the classical verifier.

            Without --checkpoint a Sudoku goes to the shipped TRM model (sudoku-9x9-trm, the \
            stronger one; --checkpoint sudoku-9x9 asks the shipped HRM) and a maze of up to 9×9 \
            to the shipped maze model (maze-9x9; smaller mazes are padded). Shipped models are \
            installed beside the binary by make install, or found in the repository it was built in; \
            HRM_MODELS names another folder. --views N (Sudoku) asks up to N views of the puzzle \
            (digits relabelled, transposed, bands, stacks, rows and columns shuffled) until the \
            rules accept an answer (each view thinks until its answer obeys the rules or its \
            last step), and shows the run of the view that gave it, mapped back to your grid. \
            --rounds R asks each view up to R times: when an answer breaks a rule, the cells the \
            model was surest of (\(Int(SudokuViews.defaultCommitFraction * 100))% of the blanks, only digits that clash with no other cell of \
            its answer) are written in as givens and the smaller puzzle is asked again. Every \
            digit still comes from the model; a wrong one written in only makes the view fail. \
            --trajectories K (Sudoku) instead runs the puzzle K times — trajectory k > 0 in view k \
            (--perturbation views, the default), from perturbed initial states (noise) or both — \
            and answers with the run whose final q_halt is highest: the model's own judgement, no \
            rules check.

            Examples:
              hrm solve "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
              hrm solve --checkpoint sudoku-9x9 "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
              hrm solve --checkpoint runs/s1 ".6..2...9...8.1.....4..7...2...9..8.5.3...4.1.7..6...3...3..2.....9.4...1...8..5."
              hrm solve --views 32 --rounds 4 "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
              hrm solve --trajectories 8 "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
              hrm solve maze.txt
              hrm solve --checkpoint runs/maze maze.txt --json
            """
    )

    @Option(help: "A run folder, a model .safetensors file, a model package, the reference's own checkpoint (a torch.save file with all_config.yaml beside it), or a shipped model's name (default: sudoku-9x9-trm, the shipped TRM 9×9 Sudoku model, for a Sudoku; maze-9x9 for a maze; sudoku-9x9 is the shipped HRM; HRM_MODELS overrides where they are found).")
    var checkpoint: String?
    @Option(help: "Configuration JSON (only for converted checkpoints without one).")
    var config: String?
    @Argument(help: "The puzzle: 81 Sudoku characters, or a file (Sudoku, maze text, ARC task JSON).")
    var puzzle: String
    @Option(help: "ACT steps to run (default: the model's halt_max_steps).")
    var maxSteps: Int?
    @Option(help: "Where the answer is taken: max (after the last step, as eval measures the model alone) or early (the first step the Q head says halt).")
    var halt: EvalCommand.HaltMode = .max
    @Option(help: "With --halt early: answer at the first step whose halting margin (HRM: q_halt − q_continue; TRM: q_halt) exceeds M rather than 0 (surer, later).")
    var haltMargin: Float = 0
    @Option(help: "Sudoku only: views of the puzzle to ask until the rules accept an answer (1: the puzzle as given).")
    var views: Int = 1
    @Option(help: "Sudoku only: asks per view, the model's surest cells written in as givens between them (1: none).")
    var rounds: Int = 1
    @OptionGroup var trajectoryOptions: TrajectoryOptions
    @Option(help: "ARC only: the dataset folder the model was trained on, to use the task's puzzle embedding.")
    var data: String?
    @Option(help: "ARC only: first fit a puzzle embedding to this task — STEPS training steps on its demonstration pairs, every other weight frozen (for a task the model never saw).")
    var adapt: Int = 0
    @Option(name: .customLong("adapt-lr"), help: "ARC only: the embedding's learning rate while adapting (SignSGD, as the reference's puzzle_emb_lr).")
    var adaptLearningRate: Float = 1e-2
    @Flag(help: "Print the answer and the trace as JSON.")
    var json = false
    @Option(help: "Also write the solve as a self-contained HTML page (every step's grid, changed cells, confidence, the halt signal, the verdict); for an ARC task, its first test input.")
    var html: String?
    @OptionGroup var output: ForceOption
    /// `hrm view`: write the page and print one line instead of the trace (set by ViewCommand;
    /// a private flag because every stored property of a command is decoded from the arguments).
    @Flag(name: .customLong("page-only"), help: .private)
    var pageOnly = false

    func validate() throws {
        if let m = maxSteps, m < 1 { throw ValidationError("--max-steps must be at least 1; got \(m).") }
        try EvalCommand.validateHalting(halt, margin: haltMargin)
        guard (1...64).contains(views) else { throw ValidationError("--views must be 1 to 64; got \(views).") }
        guard (1...16).contains(rounds) else { throw ValidationError("--rounds must be 1 to 16; got \(rounds).") }
        guard (0...10_000).contains(adapt) else { throw ValidationError("--adapt must be 0 to 10000 steps; got \(adapt).") }
        guard adaptLearningRate > 0, adaptLearningRate.isFinite else { throw ValidationError("--adapt-lr must be positive; got \(adaptLearningRate).") }
        if trajectoryOptions.trajectories > 1 && (views > 1 || rounds > 1) {
            throw ValidationError("--trajectories (the Q head chooses) and --views/--rounds (the rules choose) are two ways to ask again; give one.")
        }
    }

    func run() throws {
        if let html {
            try OutputTarget.checkFile(URL(fileURLWithPath: html), what: "a reasoning page", force: output.force,
                                       isOurs: ReasoningPage.isPage)
        }
        let isFile = FileManager.default.fileExists(atPath: puzzle)
        let text = isFile ? try String(contentsOfFile: puzzle, encoding: .utf8) : puzzle
        let source = isFile ? puzzle : "argument"
        let isARC = isFile && puzzle.hasSuffix(".json")
        let isSudoku = !isARC && !(text.contains("#") || text.contains("S"))
        if checkpoint == nil && isARC {
            throw CommandError("no ARC model ships; give --checkpoint a model trained on ARC (hrm train --config trm-arc or arc).")
        }
        // Without --checkpoint: a Sudoku goes to the shipped Sudoku TRM, a maze to the shipped
        // maze model. A reference checkpoint with RoPE does not record its length: a Sudoku's 81
        // cells, or the reference's 30×30 grids for mazes and ARC.
        let solver = Solver(model: try loadModel(try checkpoint ?? ShippedModels.locate(isSudoku ? ShippedModels.defaultSudoku : ShippedModels.defaultMaze).path,
                                                 config: config, sequenceLength: isSudoku ? 81 : 900))
        if let maxSteps { solver.maxSteps = maxSteps }
        solver.answer = halt.answer(margin: haltMargin)
        let t = trajectoryOptions
        solver.trajectories = t.trajectories
        solver.trajectoryViews = t.perturbation.usesViews
        solver.trajectoryNoise = t.noise
        solver.views = views
        solver.rounds = rounds
        if adapt > 0 && !isARC {
            throw CommandError("--adapt fits a puzzle embedding to an ARC task (a .json file); \(source) is \(isSudoku ? "a Sudoku" : "a maze").")
        }
        if !isSudoku && (trajectoryOptions.trajectories > 1 || views > 1 || rounds > 1) {
            throw CommandError("--trajectories, --views and --rounds are for Sudokus; \(source) is \(isARC ? "an ARC task" : "a maze").")
        }
        if isARC {
            try solveARC(solver, URL(fileURLWithPath: puzzle))
        } else if text.contains("#") || text.contains("S") {
            let maze = try Maze(parsing: text, source: source)
            let side = Int(Double(solver.model.reasoningConfiguration.sequenceLength).squareRoot())
            if checkpoint == nil && maze.size > side {
                throw CommandError("\(source) is a \(maze.size)×\(maze.size) maze; the shipped maze model (\(ShippedModels.defaultMaze)) solves mazes up to \(side)×\(side). Give --checkpoint a model trained on larger mazes.")
            }
            let s = try solver.solve(maze)
            let verdict = Self.mazeVerdict(s)
            try writePage(ReasoningPage(maze: maze, solution: s, canvasSide: side,
                                        title: "Maze \(maze.size)×\(maze.size) (\(source))", verdict: verdict))
            if pageOnly { return }
            report(s, render: { $0.description.split(separator: "\n").map(String.init) },
                   cells: { $0.cells.map { String($0.character) } }, columns: maze.size, verdict: verdict)
        } else {
            let sudoku = try Sudoku(parsing: text, source: source)
            let s = try solver.solve(sudoku)
            let roundNote = s.round == 1 ? "" : ", ask \(s.round) with \(s.committed) of the model's surest cells written in"
            let viewNote = s.trajectoriesRun > 1
                ? " (trajectory \(s.trajectory) of the \(s.trajectoriesRun) run, the one the Q head rated highest: q_halt \(String(format: "%+.3f", s.trace.last!.qHalt)); no rules check chose it)"
                : views == 1 && rounds == 1 ? ""
                : s.isVerified! ? (s.view == 0 ? " (view 0, the puzzle as given\(roundNote))" : " (view \(s.view) of the \(views) asked\(roundNote); views 0–\(s.view - 1) broke a rule)")
                : " (none of the \(views) views gave an accepted answer; this is view 0's first ask: the puzzle as given)"
            try writePage(ReasoningPage(sudoku: sudoku, solution: s, title: "Sudoku (\(sudoku.blankCount) blanks)",
                                        verdict: Self.sudokuVerdict(s) + viewNote))
            if pageOnly { return }
            report(s, render: { $0.description.split(separator: "\n").map(String.init) },
                   cells: { $0.cells.map { $0 == 0 ? "." : String($0) } }, columns: 9,
                   verdict: Self.sudokuVerdict(s) + viewNote)
        }
    }

    /// Writes `page` to `--html` when it was given (whole or not at all).
    private func writePage(_ page: @autoclosure () throws -> ReasoningPage) throws {
        guard let html else { return }
        try AtomicFile.write(Data(try page().html().utf8), to: URL(fileURLWithPath: html))
        if pageOnly || !json { print("wrote \(html)") }
    }

    /// What the classical checker says of a maze answer (also the demo's words).
    static func mazeVerdict(_ s: Solution<Maze>) -> String {
        s.isVerified == true ? "the classical checker accepts it: a valid shortest path"
                             : "the classical checker rejects it: not a valid shortest path"
    }

    /// What the classical solver says of a Sudoku answer (a puzzle with several solutions has
    /// no single right answer, and is said to be one).
    static func sudokuVerdict(_ s: Solution<Sudoku>) -> String {
        if s.hasUniqueSolution == false {
            return "this puzzle has more than one solution (the classical solver finds at least two), so there is no single right answer; the model's answer "
                + (s.isVerified! ? "is one of them: it obeys the rules and keeps every given" : "is none of them: it breaks a rule or changes a given")
        }
        return s.isVerified! ? "the classical solver confirms it solves the puzzle" : "the classical solver finds it wrong"
    }

    private func report<P>(_ s: Solution<P>, render: (P) -> [String], cells: (P) -> [String], columns: Int, verdict: String) {
        if json {
            printJSON(["answer": cells(s.answer).joined(), "halt_step": s.haltStep, "verified": s.isVerified as Any,
                       "view": s.view, "views_tried": s.viewsTried, "trajectory": s.trajectory, "trajectories": s.trajectoriesRun, "round": s.round, "committed": s.committed,
                       "asked_with": s.askedWith.map { cells($0).joined() } as Any,
                       "unique_solution": s.hasUniqueSolution as Any,
                       "steps": s.trace.enumerated().map { k, t in
                           ["step": k + 1, "grid": cells(s.steps[k]).joined(), "q_halt": Double(t.qHalt),
                            "q_continue": Double(t.qContinue), "halt_margin": Double(t.haltMargin),
                            "halt_probability": Double(t.haltProbability)] as [String: Any]
                       }])
            return
        }
        if let asked = s.askedWith {
            print("view \(s.view), ask \(s.round): the puzzle with \(s.committed) of the model's surest cells from its earlier asks written in:")
            print(render(asked).joined(separator: "\n") + "\n")
        }
        printTrace(s, cells: cells, columns: columns, highlight: isatty(fileno(stdout)) != 0)
        print("\nanswer (step \(s.haltStep)):")
        print(render(s.answer).joined(separator: "\n"))
        print(verdict)
    }

    private func solveARC(_ solver: Solver, _ url: URL) throws {
        let task = try ARCTask.load(url)
        // A task the model trained on has its own puzzle-embedding row; a new task gets 0 (blank).
        var identifier: Int32 = 0
        if let data {
            let names = URL(fileURLWithPath: data).appendingPathComponent("identifiers.json")
            guard let list = try? JSONDecoder().decode([String].self, from: Data(contentsOf: names)) else {
                throw CommandError("\(names.path): cannot read the dataset's identifiers (a JSON list of names).")
            }
            if let index = list.firstIndex(of: task.name) {
                guard index < solver.model.reasoningConfiguration.puzzleIdentifierCount else {
                    throw CommandError("\(data) numbers \(task.name) as puzzle \(index), but the checkpoint has only \(solver.model.reasoningConfiguration.puzzleIdentifierCount) puzzle embeddings: it was trained on another dataset.")
                }
                identifier = Int32(index)
            } else if !json {
                print("\(task.name) is not among the dataset's puzzles; using the blank puzzle embedding.")
            }
        }
        var adaptation: [String: Any]? = nil
        if adapt > 0 {
            // Row 0 is refitted to this task in the model in memory, then used for its tests.
            /// Demonstration pairs solved, and the share of their output cells right (0 for a
            /// grid of the wrong shape), with the puzzle row as it is now.
            func demos() throws -> (solved: Int, cells: Double) {
                var solved = 0, cells = 0.0
                for pair in task.train {
                    let answer = try solver.solve(arcInput: pair.input, expected: pair.output, identifier: 0).answer
                    if answer == pair.output { solved += 1 }
                    if answer.rows == pair.output.rows && answer.columns == pair.output.columns {
                        cells += Double(zip(answer.cells, pair.output.cells).filter { $0 == $1 }.count) / Double(max(answer.cells.count, 1))
                    }
                }
                return (solved, cells / Double(task.train.count))
            }
            let before = try demos()
            let start = Date()
            let log = try PuzzleAdaptation.adapt(solver.model, demonstrations: task.train, steps: adapt, learningRate: adaptLearningRate)
            let seconds = Date().timeIntervalSince(start)
            let after = try demos()
            identifier = 0
            adaptation = ["steps": adapt, "seconds": seconds, "loss_first": Double(log.first!.loss),
                          "loss_last": Double(log.last!.loss), "demonstrations": task.train.count,
                          "demonstrations_solved_before": before.solved, "demonstrations_solved_after": after.solved,
                          "demonstration_cells_before": before.cells, "demonstration_cells_after": after.cells]
            if !json {
                print(String(format: "adapted a puzzle embedding to %@ in %d steps (%.1f s): training loss %.3f → %.3f; demonstration pairs solved %d → %d of %d, their cells %.1f%% → %.1f%%",
                             task.name, adapt, seconds, log.first!.loss, log.last!.loss, before.solved, after.solved,
                             task.train.count, 100 * before.cells, 100 * after.cells))
            }
        }
        var results: [[String: Any]] = []
        for (i, pair) in task.test.enumerated() {
            let s = try solver.solve(arcInput: pair.input, expected: pair.output, identifier: identifier)
            if i == 0 {
                try writePage(ReasoningPage(arcInput: pair.input, expected: pair.output, solution: s,
                                            title: "ARC task \(task.name), test input 1 of \(task.test.count)",
                                            verdict: s.isVerified == true ? "matches the task's output" : "differs from the task's output"))
                if pageOnly { return }
            }
            if json {
                results.append(["test": i, "answer": s.answer.description, "correct": s.isVerified as Any, "halt_step": s.haltStep])
            } else {
                print("test input \(i + 1) of \(task.name): predicted \(s.answer.rows)×\(s.answer.columns) after step \(s.haltStep)")
                print(ARCEncoding.render(s.answer).joined(separator: "\n"))
                print(s.isVerified == true ? "matches the task's output" : "differs from the task's output")
            }
        }
        if json {
            var report: [String: Any] = ["task": task.name, "tests": results]
            if let adaptation { report["adaptation"] = adaptation }
            printJSON(report)
        }
    }
}

/// The predicted grid after each ACT step, with the cells that changed and what the halting rule
/// compares: HRM's q_halt − q_continue, TRM's q_halt (the model stops at the first step where it
/// is positive).
func printTrace<P>(_ s: Solution<P>, cells: (P) -> [String], columns: Int, highlight: Bool) {
    var previous: [String]? = nil
    let firstHalt = s.trace.firstIndex(where: \.halts).map { $0 + 1 }
    for (k, step) in s.steps.enumerated() {
        let now = cells(step)
        let changed = previous.map { p in zip(p, now).filter { $0 != $1 }.count } ?? now.count
        print(traceLine(s.trace[k], step: k + 1, changed: changed, isAnswer: k + 1 == s.haltStep,
                        isLast: k + 1 == s.steps.count, isFirstHalt: k + 1 == firstHalt))
        print(TraceRenderer.grid(now, previous: previous, columns: columns, highlight: highlight))
        previous = now
    }
}

/// One step's line of the trace: what the halting rule compares, where the Q head first says
/// halt, and the step whose answer is given (the last, the first halt, or — with --halt-margin —
/// the first step past the margin).
func traceLine(_ step: ReasoningStep, step k: Int, changed: Int, isAnswer: Bool, isLast: Bool, isFirstHalt: Bool) -> String {
    let note: String
    switch (isAnswer, isFirstHalt) {
    case (true, true): note = "  ← > 0: the model stops here"
    case (true, false): note = isLast ? "  ← the answer (its last step)" : "  ← the answer (the first step past --halt-margin)"
    case (false, true): note = "  ← > 0: the Q head says halt here (--halt early answers here)"
    case (false, false): note = ""
    }
    return String(format: "step %d: %@ = %+.3f, %d cell(s) changed%@", k, step.halting.marginName, step.haltMargin, changed, note)
}

/// Grids of the reasoning trace with the cells that changed since the previous step marked.
enum TraceRenderer {
    static func grid(_ cells: [String], previous: [String]?, columns: Int, highlight: Bool) -> String {
        var lines: [String] = []
        for r in 0..<(cells.count / columns) {
            var line = ""
            for c in 0..<columns {
                let i = r * columns + c
                let changed = previous.map { $0[i] != cells[i] } ?? false
                if highlight {
                    line += changed ? "\u{1B}[1;33m\(cells[i])\u{1B}[0m " : "\(cells[i]) "
                } else {
                    line += changed ? "\(cells[i])*" : "\(cells[i]) "
                }
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}

func printJSON(_ object: [String: Any]) {
    if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
        print(String(decoding: data, as: UTF8.self))
    }
}
