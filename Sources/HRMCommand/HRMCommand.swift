import ArgumentParser

/// The `hrm` executable: data, training, evaluation, solving and benchmarks for the
/// Hierarchical Reasoning Model on an ordinary CPU.
@main
struct HRMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hrm",
        abstract: "The Hierarchical Reasoning Model (HRM) on a CPU, in Swift.",
        discussion: """
            Today the engine and its benchmarks are in place; the model, data, training and \
            solving commands arrive with their issues (see the README's "not done yet").

            Example:
              hrm bench kernels --batch 8,64
            """,
        version: "0.1.0",
        subcommands: [DemoCommand.self, DataCommand.self, TrainCommand.self, EvalCommand.self, SolveCommand.self, PlotCommand.self, BenchCommand.self, InspectCommand.self]
    )
}
