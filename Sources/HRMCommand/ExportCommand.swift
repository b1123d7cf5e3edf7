import ArgumentParser
import Foundation
import Application
import Models
import Reasoning
import Training

/// `hrm export`: turn a run's checkpoint into a verified model package (how the shipped model is made).
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Package a checkpoint as a shipped model: the weights plus a manifest with their size and checksum.",
        discussion: """
            The package folder holds model.safetensors (copied byte for byte) and manifest.json \
            (size, FNV-1a checksum, parameter count, a summary, and the commands that made it). \
            `hrm demo` and `hrm solve` verify both before use, so a damaged file is reported \
            instead of giving wrong answers. An existing --out is refused unless --force is given \
            and it is a model package; its other files (README, curves) are then kept, and the \
            folder is replaced whole, never left half-written.

            Example:
              hrm export runs/sudoku --out models/sudoku-9x9 --summary "9×9 Sudoku, hidden 128" \\
                --command "hrm data sudoku …" --command "hrm train …"
            """
    )

    @Argument(help: "A run folder (its model.safetensors) or a checkpoint file.")
    var checkpoint: String
    @Option(help: "The package folder to write.")
    var out: String
    @Option(help: "One sentence on what the model is.")
    var summary: String
    @Option(name: .customLong("command"), help: "A command that made the data or trained the model (repeat, in order).")
    var commands: [String] = []
    @OptionGroup var output: ForceOption

    func run() throws {
        var url = URL(fileURLWithPath: checkpoint)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: checkpoint, isDirectory: &isDirectory) else {
            throw CommandError("\(checkpoint): no such run folder or checkpoint file.")
        }
        if isDirectory.boolValue { url = url.appendingPathComponent(ModelPackage.modelFile) }
        let manifest = try ModelPackage.create(from: url, in: URL(fileURLWithPath: out), summary: summary, commands: commands,
                                                  force: output.force)
        _ = try ModelPackage(directory: URL(fileURLWithPath: out))  // read back and verify
        print("wrote \(out): \(manifest.parameters) parameters, \(manifest.bytes) bytes, checksum \(manifest.checksum)")
    }
}
