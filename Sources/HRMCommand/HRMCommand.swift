import ArgumentParser

/// The `hrm` executable: data, training, evaluation, solving and benchmarks for the
/// Hierarchical Reasoning Model on an ordinary CPU.
@main
struct HRMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hrm",
        abstract: "The Hierarchical Reasoning Model (HRM) and the Tiny Recursive Model (TRM) on a CPU, in Swift.",
        discussion: """
            Generate puzzle data, train with deep supervision and adaptive computation, evaluate, \
            solve a puzzle you type in with its reasoning trace, and benchmark the engine. \
            `hrm demo` shows a shipped Sudoku model and a small model learning live.

            Examples:
              hrm demo
              hrm solve "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
              hrm view "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79" --out reasoning.html
              hrm bench kernels --batch 8,64
            """,
        version: "0.1.0",
        subcommands: [DemoCommand.self, DataCommand.self, TrainCommand.self, EvalCommand.self, SolveCommand.self, ViewCommand.self, AnalyzeCommand.self, PlotCommand.self, ExportCommand.self, ConvertCommand.self, BenchCommand.self, InspectCommand.self]
    )
}
