import ArgumentParser
import Foundation
import Models
import Puzzles
import Reasoning
import SafeFiles
import Tensors
import Training

/// `hrm convert`: the reference's own checkpoint (a `torch.save` file) as one of ours.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert the reference's PyTorch checkpoint to a swift-hrm checkpoint, without Python.",
        discussion: """
            Reads a file written by torch.save of the reference's state dict (the zip format, or \
            the legacy one), with the all_config.yaml the reference writes beside it, and writes \
            a safetensors checkpoint with the configuration inside (fp32), which every hrm \
            command loads. Nothing from the pickle is run: only the opcodes and globals a state \
            dict uses are read. The model's sizes come from the tensors' shapes; a RoPE model \
            does not record its sequence length, so give --seq-len (81 for Sudoku, 900 for \
            30×30 mazes and ARC) or --data.

            hrm eval, solve and inspect read such a checkpoint directly too; convert once to \
            skip the YAML and the pickle on every later load.

            Examples:
              hrm convert HRM-checkpoint-sudoku-extreme/checkpoint --seq-len 81 --out sudoku-extreme.safetensors
              hrm convert checkpoints/run/step_26040 --data data/maze-30x30-hard-1k --out maze.safetensors
            """
    )

    @Argument(help: "The reference's checkpoint file (all_config.yaml beside it), or its folder.")
    var checkpoint: String
    @Option(help: "The safetensors checkpoint to write.")
    var out: String
    @Option(help: "Configuration JSON instead of all_config.yaml (the reference's field names, with seq_len, vocab_size, num_puzzle_identifiers).")
    var config: String?
    @Option(name: .customLong("seq-len"), help: "The sequence length, where the tensors do not record it (RoPE models).")
    var sequenceLength: Int?
    @Option(help: "A dataset folder whose seq_len to use (instead of --seq-len).")
    var data: String?
    @OptionGroup var output: ForceOption

    func validate() throws {
        if let n = sequenceLength, n < 1 { throw ValidationError("--seq-len must be at least 1; got \(n).") }
        if sequenceLength != nil && data != nil { throw ValidationError("give --seq-len or --data, not both.") }
    }

    /// A checkpoint this command (or training) wrote: what --force may replace.
    static func isCheckpoint(_ url: URL) -> Bool {
        (try? SafetensorsFile(contentsOf: url))?.metadata[Checkpoint.configurationKey] != nil
    }

    func run() throws {
        let target = URL(fileURLWithPath: out)
        _ = try OutputTarget.checkFile(target, what: "a checkpoint", force: output.force, isOurs: Self.isCheckpoint)
        var length = sequenceLength
        if let data {
            let dataset = try PuzzleDataset.read(from: URL(fileURLWithPath: data), splits: ["test"])
            length = dataset.splits["test"]?.metadata.sequenceLength
        }
        var source = URL(fileURLWithPath: checkpoint)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: checkpoint, isDirectory: &isDirectory), isDirectory.boolValue {
            source = source.appendingPathComponent("checkpoint")
        }
        guard TorchCheckpointFile.looksLikeTorch(source) else {
            throw CommandError("\(source.path): not a PyTorch checkpoint (neither a zip archive nor a pickle); hrm reads safetensors checkpoints as they are.")
        }
        let file = try TorchCheckpointFile(contentsOf: source)
        let model = try Checkpoint.load(file, configuration: try config.map { try loadConfiguration(path: $0) },
                                        sequenceLength: length)
        try Checkpoint.save(model, to: target, metadata: ["converted_from": source.lastPathComponent])
        let c = model.reasoningConfiguration
        print("read \(file.tensors.count) tensors (\(file.format == .zip ? "zip" : "legacy") format) from \(source.path)")
        if !file.otherEntries.isEmpty { print("ignored entries that are not tensors: \(file.otherEntries.joined(separator: ", "))") }
        print("wrote \(out): \(c.architecture.rawValue.uppercased()), hidden \(c.hiddenSize), seq_len \(c.sequenceLength), vocab_size \(c.vocabularySize), \(c.puzzleIdentifierCount) puzzle ids, \(model.trainableParameterCount) parameters")
    }
}
