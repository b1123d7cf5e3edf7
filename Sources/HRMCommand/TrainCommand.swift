import ArgumentParser
import Cluster
import Foundation
import Application
import Models
import Reasoning
import Training
import Puzzles

/// Set by SIGINT; the training loop checkpoints and stops at the next step.
nonisolated(unsafe) var stopRequested = false

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an HRM or TRM model on a dataset folder: deep supervision, ACT, AdamATan2 + SignSGD.",
        discussion: """
            The reference's loop (spec §9): passes of eval_interval epochs, each followed by an \
            evaluation on the test split (the first eval_limit examples) and a checkpoint in the \
            run folder (model.safetensors, state.safetensors, config.json, metrics.jsonl). \
            Settings are overridden with key=value using the reference's names (hidden_size, \
            H_cycles, lr, global_batch_size, epochs, eval_interval, …). Ctrl-C saves a checkpoint \
            and stops; --resume continues with exactly the numbers of an uninterrupted run.

            --precision bf16 trains with bf16 matrix products (fp32 accumulation, weights, \
            optimizer and losses) where this build and CPU can (it applies to this invocation; \
            give it again with --resume).

            Defaults differ from the reference's GPU recipe where a CPU needs it: \
            global_batch_size 64, lr 1e-4 with 100 warm-up steps, epochs 100, eval_interval 10.

            Data-parallel on many processes or machines: start a build with MPI (`make build \
            MPI=1`) under mpirun. Every rank computes global_batch_size / N rows of the same \
            batches one process would draw (the batch must divide by N); gradients are summed, \
            rank 0 writes the run folder and prints. The data (and for --resume the run folder) \
            must be at the same path on every machine. A rank that waits --peer-timeout seconds \
            for the others stops the whole job with a message.

            Examples:
              hrm train --data data/sudoku-1k --config sudoku-small --out runs/s1 lr=3e-4 epochs=2000 eval_interval=200
              hrm train --resume runs/s1
              mpirun -np 4 .build-mpi/release/hrm train --data data/sudoku-1k --config sudoku-small --out runs/s4
            """
    )

    @Option(help: "Dataset folder (train/ and test/).")
    var data: String?
    @Option(help: "A model preset (\(ModelConfiguration.presets.keys.sorted().joined(separator: ", "))) or a JSON file; its \"architecture\" (hrm, trm or transformer) picks the model.")
    var config: String = "sudoku-small"
    @Option(help: "Run folder for checkpoints and metrics.")
    var out: String?
    @Option(help: "Continue the run in this folder.")
    var resume: String?
    @Option(name: .customLong("init"), help: ArgumentHelp("Start from this checkpoint's weights (a run folder or .safetensors), e.g. the previous stage of a curriculum. Its architecture replaces --config (halt_max_steps, halt_exploration_prob and act_enabled may still be overridden); the optimizer starts fresh.", valueName: "CHECKPOINT"))
    var initialWeights: String?
    @Option(help: ArgumentHelp("Under mpirun: seconds a rank waits for the others in one exchange before it stops the whole job (a rank died or hangs).", valueName: "SECONDS"))
    var peerTimeout: Double = 300
    @OptionGroup var precisionOptions: PrecisionOptions
    @OptionGroup var output: ForceOption
    @Argument(help: "Overrides, key=value (e.g. lr=3e-4 hidden_size=256 epochs=500).")
    var overrides: [String] = []

    func validate() throws {
        if resume == nil {
            guard data != nil, out != nil else { throw ValidationError("give --data and --out for a new run, or --resume RUN.") }
        } else if data != nil || out != nil || !overrides.isEmpty || output.force {
            throw ValidationError("--resume continues a run as it was configured; do not combine it with --data, --out, --force or overrides.")
        }
        if resume != nil && initialWeights != nil {
            throw ValidationError("--init starts a new run; --resume continues one. Give one of them.")
        }
        guard peerTimeout > 0 else { throw ValidationError("--peer-timeout must be positive (seconds).") }
    }

    func run() throws {
        let world = try Cluster.join(peerTimeout: peerTimeout)
        do {
            try precisionOptions.run { try runAtPrecision(world) }
            world.finish()
        } catch {
            guard world.isDistributed else { throw error }
            if case ClusterError.refused = error {
                // Every rank stops on this together; rank 0 says it once.
                world.finish()
                if world.isRoot { throw error }
                throw ExitCode(1)
            }
            if world.isRoot { throw error }
            FileHandle.standardError.write(Data("rank \(world.rank): \(HRMCommand.message(for: error))\n".utf8))
            throw ExitCode(1)
        }
    }

    private func runAtPrecision(_ world: any Communicator) throws {
        let run: TrainingRun
        // Rank 0 alone prints.
        func say(_ line: String) { if world.isRoot { print(line) } }
        if let resume {
            run = try TrainingRun(resuming: URL(fileURLWithPath: resume), communicator: world)
            say("resuming \(resume) at step \(run.trainer.step) of \(run.totalSteps)")
        } else {
            var start: (any ReasoningModel)? = nil
            if let initialWeights { start = try loadModel(initialWeights, config: nil) }
            let model = try start.map { ModelConfiguration(of: $0) } ?? resolveModelConfiguration(config)
            var training = TrainingConfiguration()
            training.globalBatchSize = 64
            training.warmupSteps = 100
            training.ema = model.architecture == .trm  // every TRM run of the reference keeps one
            let base = RunConfiguration(model: model, training: training, dataPath: data!, epochs: 100, evalInterval: 10)
            let configuration = try base.overriding(overrides)
            let dataset = try PuzzleDataset.read(from: URL(fileURLWithPath: data!))
            if let start {
                let s = start.reasoningConfiguration
                var shapeOnly = configuration.model
                shapeOnly.setHalting(maxSteps: s.haltMaxSteps, explorationProbability: s.haltExplorationProbability, actEnabled: s.actEnabled)
                shapeOnly.setDataSizes(sequenceLength: s.sequenceLength, vocabularySize: s.vocabularySize,
                                       puzzleIdentifierCount: s.puzzleIdentifierCount, batchSize: s.batchSize)
                guard shapeOnly == ModelConfiguration(of: start) else {
                    throw CommandError("--init \(initialWeights!): only halt_max_steps, halt_exploration_prob and act_enabled can change when starting from a checkpoint.")
                }
            }
            run = try TrainingRun(newRunIn: URL(fileURLWithPath: out!), configuration: configuration, dataset: dataset,
                                  initialWeights: start, force: output.force, communicator: world)
            if start != nil { say("starting from the weights of \(initialWeights!)") }
            let params = run.trainer.model.trainableParameters().reduce(0) { $0 + $1.tensor.count }
            say("run \(out!): \(params) parameters, \(run.totalSteps) steps of batch \(configuration.training.globalBatchSize), \(run.passes) evaluation(s)")
        }
        if world.isDistributed {
            let share = run.configuration.training.globalBatchSize / world.size
            say("data-parallel over \(world.size) ranks: \(share) rows of each batch of \(run.configuration.training.globalBatchSize) per rank")
        }
        signal(SIGINT) { _ in stopRequested = true }
        let bar = ProgressBar("training", total: run.totalSteps, unit: "steps", startingAt: run.trainer.step, enabled: world.isRoot)
        var loss: Float = 0
        try run.run(shouldStop: { stopRequested }) { event in
            switch event {
            case .step(let r, _, let rate):
                loss = loss == 0 ? r.totalLoss : 0.9 * loss + 0.1 * r.totalLoss
                let m = r.metrics.normalized(lossDivisor: 1)
                bar.update(r.step, extra: String(format: "loss %.3f  acc %.3f  exact %.3f  %.0f ex/s", loss / Float(run.configuration.training.globalBatchSize), m.accuracy, m.exactAccuracy, rate))
            case .evaluation(let report, let step):
                guard world.isRoot else { return }
                FileHandle.standardError.write(Data("\n".utf8))
                print(String(format: "eval at step %d: exact %.4f, cells %.4f, changed cells %.4f, mean steps %.2f (%d examples, %.1f s)",
                             step, report.exactAccuracy, report.cellAccuracy, report.changedCellAccuracy, report.meanSteps, report.count, report.seconds))
            case .checkpoint(let step):
                say("checkpoint at step \(step) in \(run.directory.path)")
            }
        }
        bar.finish()
        if world.isDistributed && run.trainer.stepSeconds > 0 {
            let t = run.trainer
            say(String(format: "rank 0: %.1f s in training steps, %.1f s (%.1f %%) of them exchanging with the other ranks",
                       t.stepSeconds, t.exchangeSeconds, 100 * t.exchangeSeconds / t.stepSeconds))
        }
        if run.stoppedOnRequest {
            say("stopped by Ctrl-C; continue with: hrm train --resume \(run.directory.path)")
        }
    }
}

/// A preset name or a configuration JSON file.
func resolveModelConfiguration(_ nameOrFile: String) throws -> ModelConfiguration {
    if let preset = ModelConfiguration.presets[nameOrFile] { return preset }
    guard FileManager.default.fileExists(atPath: nameOrFile) else {
        throw CommandError("'\(nameOrFile)' is neither a preset (\(ModelConfiguration.presets.keys.sorted().joined(separator: ", "))) nor a file.")
    }
    return try loadConfiguration(path: nameOrFile)
}
