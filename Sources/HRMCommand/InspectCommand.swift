import ArgumentParser
import Foundation
import Application
import Models
import Reasoning
import Training
import Puzzles
import SafeFiles
import Tensors

/// `hrm inspect …`: look inside a model.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Look inside a model: dump its activations to compare implementations.",
        subcommands: [ForwardCommand.self]
    )
}

/// `hrm inspect forward`: evaluation ACT steps, every step's outputs to a safetensors file.
struct ForwardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Run evaluation ACT steps and write each step's logits and Q values.",
        discussion: """
            Writes, per step k (from 1), logits.k [B, S, V], q_halt.k [B] and q_continue.k [B] \
            (float32) to a safetensors file, for comparison with another implementation (for \
            example the reference run with forward_dtype=float32). The reference's own \
            checkpoint (a torch.save file) is read directly, its configuration from the \
            all_config.yaml beside it and the inputs' length; a converted one carries no \
            configuration: give it with --config (the reference's field names, plus seq_len, \
            vocab_size and num_puzzle_identifiers).

            Example:
              hrm inspect forward --checkpoint model.safetensors --inputs x.npy --steps 4 --out dump.safetensors
            """
    )

    @Option(help: "The model checkpoint: ours (.safetensors, a run or package folder) or the reference's torch.save file.")
    var checkpoint: String

    @Option(help: "Configuration JSON with the reference's field names (required for converted checkpoints).")
    var config: String?

    @Option(help: "Input tokens, a [B, S] integer .npy file.")
    var inputs: String

    @Option(name: .customLong("puzzle-ids"), help: "Puzzle identifiers, a [B] integer .npy file (default: all 0).")
    var puzzleIds: String?

    @Option(help: "Evaluation ACT steps to run.")
    var steps: Int = 1

    @Option(help: "Where to write the dump (.safetensors).")
    var out: String
    @OptionGroup var output: ForceOption

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1; got \(steps).") }
    }

    /// A dump this command wrote (what --force may replace).
    static func isDump(_ url: URL) -> Bool {
        guard let file = try? SafetensorsFile(contentsOf: url) else { return false }
        return file.metadata["format"] == dumpFormat || (file.metadata["checkpoint"] != nil && file.metadata["steps"] != nil)
    }
    static let dumpFormat = "swift-hrm forward dump 1"

    func run() throws {
        try OutputTarget.checkFile(URL(fileURLWithPath: out), what: "a forward dump", force: output.force, isOurs: Self.isDump)
        guard FileManager.default.fileExists(atPath: checkpoint) || ShippedModels.all.contains(checkpoint) else {
            throw CommandError("\(checkpoint): no such checkpoint file or folder.")
        }
        // The inputs first: their length is what a reference checkpoint with RoPE does not record.
        let tokens = try NPY.readIntegers(URL(fileURLWithPath: inputs))
        let model = try loadModel(checkpoint, config: config, sequenceLength: tokens.shape.count == 2 ? tokens.shape[1] : nil)
        let batchSize = tokens.shape.first ?? 0
        let ids = try puzzleIds.map { try NPY.readIntegers(URL(fileURLWithPath: $0)).values }
            ?? Array(repeating: 0, count: batchSize)
        let problems = ForwardDump.problems(inputs: tokens.values, shape: tokens.shape, puzzleIdentifiers: ids,
                                            configuration: model.reasoningConfiguration)
        guard problems.isEmpty else { throw CommandError(problems.joined(separator: "; ") + ".") }
        let dump = ForwardDump.run(model: model, inputs: tokens.values, puzzleIdentifiers: ids, steps: steps)
        var writer = SafetensorsWriter()
        for (name, tensor) in dump { writer.add(name, tensor) }
        writer.metadata = ["checkpoint": checkpoint, "steps": String(steps), "format": Self.dumpFormat]
        try writer.write(to: URL(fileURLWithPath: out))
        print("wrote \(out): \(steps) step(s) × logits [\(batchSize), \(model.reasoningConfiguration.sequenceLength), \(model.reasoningConfiguration.vocabularySize)], q_halt, q_continue")
    }
}

/// Reads a configuration JSON file with the reference's field names.
func loadConfiguration(path: String) throws -> ModelConfiguration {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
        throw CommandError("\(path): cannot read the configuration file (\(error.localizedDescription)).")
    }
    let c: ModelConfiguration
    do { c = try JSONDecoder().decode(ModelConfiguration.self, from: data) } catch let DecodingError.keyNotFound(key, _) {
        throw CommandError("\(path): the configuration lacks the field '\(key.stringValue)'.")
    } catch let DecodingError.typeMismatch(_, context) {
        throw CommandError("\(path): field '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type.")
    } catch let error as DecodingError {
        throw CommandError("\(path): \(Checkpoint.describe(error)).")
    } catch {
        throw CommandError("\(path): not a valid configuration JSON (\(error)).")
    }
    guard c.problems.isEmpty else { throw CommandError("\(path): " + c.problems.joined(separator: "; ") + ".") }
    return c
}

/// A user-facing error: one sentence, printed by the command line, exit status 1.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ text: String) { description = text }
}
