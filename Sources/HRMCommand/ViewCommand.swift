import ArgumentParser
import Foundation

/// `hrm view`: `hrm solve` whose output is the reasoning page alone.
struct ViewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "view",
        abstract: "Write one self-contained HTML page of a solve: every ACT step's grid, what changed, the model's confidence, the Q head's halt signal and the verdict.",
        discussion: """
            Takes what hrm solve takes (a Sudoku, a maze file, an ARC task .json; --checkpoint, \
            --views, --trajectories, …) and writes the page to --out instead of printing the \
            trace. The page needs no network and no other file: open it in any browser; pick a \
            step with the slider, the arrow keys or a click on the strip of all steps.

            Examples:
              hrm view "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
              hrm view --checkpoint runs/maze maze.txt --out maze.html
              hrm view --checkpoint runs/arc task.json --data data/arc --out arc.html
            """
    )

    @OptionGroup var solve: SolveCommand
    @Option(help: "The page to write.")
    var out: String = "reasoning.html"

    func validate() throws {
        if solve.html != nil { throw ValidationError("hrm view writes the page to --out; --html is hrm solve's option.") }
    }

    func run() throws {
        var command = solve
        command.html = out
        command.pageOnly = true
        try command.run()
    }
}
