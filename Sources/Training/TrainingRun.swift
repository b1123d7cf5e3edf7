import Cluster
import Foundation
import SafeFiles
import Layers
import Models
import Puzzles
import Reasoning
import Tensors

/// Everything a run is configured with, saved as `config.json` in the run folder.
public struct RunConfiguration: Codable, Equatable, Sendable {
    public var model: ModelConfiguration
    public var training: TrainingConfiguration
    public var dataPath: String
    /// Passes over all groups (the reference's epochs).
    public var epochs: Int
    /// Epochs between evaluations (and checkpoints).
    public var evalInterval: Int
    /// Test examples evaluated at each evaluation (nil: all).
    public var evalLimit: Int?
    public var evalBatchSize: Int
    /// Training steps between metric log lines.
    public var logInterval: Int

    enum CodingKeys: String, CodingKey {
        case model = "arch", training = "train", dataPath = "data_path", epochs
        case evalInterval = "eval_interval", evalLimit = "eval_limit", evalBatchSize = "eval_batch_size"
        case logInterval = "log_interval"
    }

    public init(model: ModelConfiguration, training: TrainingConfiguration, dataPath: String, epochs: Int,
                evalInterval: Int, evalLimit: Int? = 1000, evalBatchSize: Int = 64, logInterval: Int = 10) {
        self.model = model
        self.training = training
        self.dataPath = dataPath
        self.epochs = epochs
        self.evalInterval = evalInterval
        self.evalLimit = evalLimit
        self.evalBatchSize = evalBatchSize
        self.logInterval = logInterval
    }

    /// The field names `key=value` overrides may use, model fields first.
    public static var overridableKeys: [String] {
        ["H_cycles", "L_cycles", "H_layers", "L_layers", "hidden_size", "expansion", "num_heads", "pos_encodings",
         "rms_norm_eps", "rope_theta", "halt_max_steps", "halt_exploration_prob", "puzzle_emb_ndim", "loss_type",
         "mlp_t", "puzzle_emb_len", "no_ACT_continue" /* TRM */, "act_enabled", "global_batch_size", "lr", "lr_min_ratio", "lr_warmup_steps", "beta1", "beta2", "weight_decay",
         "puzzle_emb_lr", "puzzle_emb_weight_decay", "seed", "ema", "ema_rate", "epochs", "eval_interval", "eval_limit",
         "eval_batch_size", "log_interval"]
    }

    /// Applies `key=value` overrides (model fields, training fields, or run fields).
    public func overriding(_ assignments: [String]) throws -> RunConfiguration {
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(self)) as! [String: Any]
        var arch = json["arch"] as! [String: Any], train = json["train"] as! [String: Any]
        for assignment in assignments {
            let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw RunError.badOverride("'\(assignment)' is not key=value") }
            var key = parts[0]
            for prefix in ["arch.", "train."] where key.hasPrefix(prefix) { key.removeFirst(prefix.count) }
            let text = parts[1]
            let value: Any = Int(text).map { $0 as Any } ?? Double(text).map { $0 as Any }
                ?? (text == "true" || text == "false" ? (text == "true") as Any : text as Any)
            if key == "architecture" {
                throw RunError.badOverride("the architecture comes from --config (a preset or file), not from an override")
            }
            if arch[key] != nil || ["puzzle_emb_ndim", "loss_type", "act_enabled"].contains(key) { arch[key] = value }
            else if train[key] != nil { train[key] = value }
            else if ["epochs", "eval_interval", "eval_limit", "eval_batch_size", "log_interval"].contains(key) { json[key] = value }
            else {
                throw RunError.badOverride("unknown setting '\(key)'; settings are: \(Self.overridableKeys.joined(separator: ", "))")
            }
        }
        json["arch"] = arch
        json["train"] = train
        do {
            return try JSONDecoder().decode(RunConfiguration.self, from: JSONSerialization.data(withJSONObject: json))
        } catch {
            throw RunError.badOverride("a value has the wrong type (\(Checkpoint.describe(error)))")
        }
    }

    /// Problems with the configuration, as sentences.
    public var problems: [String] {
        var p = model.problems
        if epochs < 1 { p.append("epochs must be at least 1") }
        if evalInterval < 1 || epochs % max(evalInterval, 1) != 0 {
            p.append("eval_interval (\(evalInterval)) must be at least 1 and divide epochs (\(epochs))")
        }
        if training.globalBatchSize < 1 { p.append("global_batch_size must be at least 1") }
        if evalBatchSize < 1 { p.append("eval_batch_size must be at least 1") }
        if let l = evalLimit, l < 1 { p.append("eval_limit must be at least 1") }
        return p
    }
}

/// A run that cannot start or continue, in one sentence.
public enum RunError: Error, CustomStringConvertible {
    case badOverride(String)
    case invalid(String)
    case nonFiniteLoss(step: Int, lastCheckpointStep: Int?)

    public var description: String {
        switch self {
        case .badOverride(let s): return "override: \(s)."
        case .invalid(let s): return s
        case .nonFiniteLoss(let step, let last):
            return "the loss became non-finite at step \(step); training stopped. "
                + (last.map { "The last good checkpoint (step \($0)) is intact; resume from it with a lower lr." }
                   ?? "No checkpoint had been written yet.")
        }
    }
}

/// What a run reports as it goes.
public enum TrainingEvent {
    case step(TrainingStepResult, totalSteps: Int, examplesPerSecond: Double)
    case evaluation(EvaluationReport, step: Int)
    case checkpoint(step: Int)
}

/// A training run in a folder: `config.json`, `model.safetensors`, `state.safetensors`,
/// `metrics.jsonl` (one object per log step and per evaluation, the reference's metric names).
///
/// The loop is the reference's (spec §9.5): passes of `eval_interval` epochs, each followed by an
/// evaluation on the test split and a checkpoint; the sampler of pass k is seeded with
/// `seed + k`, so a resumed run regenerates the same batches and skips those already done.
///
/// Data-parallel (a `Communicator` of N ranks, `mpirun -np N hrm train`): every rank draws the
/// same global batches and the `Trainer` computes its share; evaluations are split by batches
/// and summed; rank 0 alone writes the folder. Its checkpoint holds the whole batch's carry, so
/// it is the checkpoint one process would write, and it resumes with any number of ranks that
/// divides the batch (the data and, for `--resume`, the run folder at the same path on every
/// machine).
public final class TrainingRun {
    public let directory: URL
    public let configuration: RunConfiguration
    public let dataset: PuzzleDataset
    public let trainer: Trainer
    public private(set) var pass = 0
    public private(set) var batchInPass = 0
    public private(set) var lastCheckpointStep: Int?
    /// Whether the last `run` ended because `shouldStop` said so (on any rank).
    public private(set) var stoppedOnRequest = false
    /// Metrics summed since the last log line (saved with checkpoints so a resumed run logs the
    /// same lines as an uninterrupted one).
    private var window = ACTMetrics()
    private var windowSteps = 0

    public var totalSteps: Int { trainer.configuration.totalSteps }
    public var communicator: any Communicator { trainer.communicator }
    public var passes: Int { configuration.epochs / configuration.evalInterval }

    /// What a run folder holds (so `--force` replaces only a run hrm wrote).
    public static let layout = FolderLayout(
        name: "a run", required: ["config.json"],
        optional: ["model.safetensors", "state.safetensors", "metrics.jsonl", "curves.svg", "curves.png"])

    /// A new run. The model's data sizes (seq_len, vocab_size, num_puzzle_identifiers) come from
    /// the dataset; the step budget from epochs, groups and the batch (spec §9.4). Everything is
    /// checked before the folder is created, so a refused run leaves nothing behind.
    /// - Parameters:
    ///   - initialWeights: a model whose weights the run starts from (a curriculum's previous
    ///     stage); every tensor must have the shape this configuration and dataset need.
    ///   - force: replace an existing run folder (only a run, nothing else).
    ///   - communicator: the ranks sharing the run; every check is agreed between them
    ///     (`ClusterError.refused` on every rank when one fails) and rank 0 alone writes.
    public convenience init(newRunIn directory: URL, configuration c: RunConfiguration, dataset: PuzzleDataset,
                initialWeights: (any ReasoningModel)? = nil, force: Bool = false,
                communicator: any Communicator = LocalCommunicator()) throws {
        guard communicator.isDistributed else {
            try self.init(checkedNewRunIn: directory, configuration: c, dataset: dataset, initialWeights: initialWeights,
                          force: force, communicator: communicator)
            return
        }
        try Self.checkSameJob(configuration: c, communicator: communicator)
        var made: TrainingRun? = nil
        var problem: String? = nil
        do {
            made = try TrainingRun(checkedNewRunIn: directory, configuration: c, dataset: dataset,
                                   initialWeights: initialWeights, force: force, communicator: communicator)
        } catch { problem = "\(error)" }
        try communicator.agree(problem)
        self.init(made: made!)
    }

    private init(made: TrainingRun) {
        (directory, configuration, dataset, trainer) = (made.directory, made.configuration, made.dataset, made.trainer)
        (pass, batchInPass, lastCheckpointStep, window, windowSteps) = (made.pass, made.batchInPass, made.lastCheckpointStep, made.window, made.windowSteps)
    }

    /// Every rank must run the same binary on the same data with the same configuration (hashes
    /// compared at start-up), and the global batch must divide by the ranks.
    static func checkSameJob(configuration c: RunConfiguration, communicator: any Communicator) throws {
        var problem: String? = nil
        if c.training.globalBatchSize % communicator.size != 0 {
            problem = "global_batch_size (\(c.training.globalBatchSize)) does not divide by the \(communicator.size) ranks; choose a batch that is a multiple of \(communicator.size) (each rank computes an equal share)."
        }
        try communicator.agree(problem)
        var data = Cluster.Hasher()
        do { try data.add(folder: URL(fileURLWithPath: c.dataPath)) } catch { data.add("unreadable \(error)") }
        var config = Cluster.Hasher()
        config.add((try? JSONEncoder.sorted.encode(c)) ?? Data())
        try communicator.checkSame([("hrm binary", Cluster.executableHash()), ("configuration", config.value),
                                    ("dataset (\(c.dataPath))", data.value)])
    }

    private init(checkedNewRunIn directory: URL, configuration c: RunConfiguration, dataset: PuzzleDataset,
                 initialWeights: (any ReasoningModel)?, force: Bool, communicator: any Communicator) throws {
        guard let train = dataset.splits["train"] else { throw RunError.invalid("\(c.dataPath) has no train split") }
        var config = c
        config.model.setDataSizes(sequenceLength: train.metadata.sequenceLength, vocabularySize: train.metadata.vocabularySize,
                                  puzzleIdentifierCount: train.metadata.puzzleIdentifierCount,
                                  batchSize: config.training.globalBatchSize)
        config.training.totalSteps = Int(Double(config.epochs) * Double(train.metadata.totalGroups)
                                         * train.metadata.meanPuzzleExamples / Double(config.training.globalBatchSize))
        guard config.problems.isEmpty else { throw RunError.invalid("invalid configuration: " + config.problems.joined(separator: "; ") + ".") }
        var rng = RandomGenerator(seed: config.training.seed)
        let model = config.model.makeModel(using: &rng)
        if let initialWeights {
            guard initialWeights.reasoningConfiguration.architecture == config.model.architecture else {
                throw RunError.invalid("--init: the weights are \(initialWeights.reasoningConfiguration.architecture.rawValue.uppercased()), this run trains \(config.model.architecture.rawValue.uppercased()).")
            }
            let from = Dictionary(uniqueKeysWithValues: initialWeights.namedParameters().map { ($0.name, $0.tensor) })
            var problems: [String] = []
            for (name, to) in model.namedParameters() {
                guard let source = from[name] else { problems.append("it has no tensor \(name)"); continue }
                if source.shape != to.shape { problems.append("tensor \(name) has shape \(source.shape), this run needs \(to.shape)") }
            }
            guard problems.isEmpty else { throw RunError.invalid("--init: the weights do not fit this run: " + problems.joined(separator: "; ") + ".") }
            for (name, to) in model.namedParameters() { to.pointer.update(from: from[name]!.pointer, count: to.count) }
        }
        self.directory = directory
        self.configuration = config
        self.dataset = dataset
        trainer = Trainer(model: model, configuration: config.training, communicator: communicator)
        guard communicator.isRoot else { return }
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent("config.json").path) && !force {
            throw RunError.invalid("\(directory.path) already holds a run; continue it with --resume \(directory.path), replace it with --force, or choose another --out.")
        }
        if try OutputTarget.checkFolder(directory, layout: Self.layout, force: force) {
            try OutputTarget.remove(directory)
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw FileWriteError(path: directory.path, reason: "creating the run folder: \(error.localizedDescription)")
        }
        let data = try JSONEncoder.sorted.encode(config)
        try AtomicFile.write(data, to: directory.appendingPathComponent("config.json"))
    }

    /// Continues the run in `directory` exactly where its last checkpoint left it.
    ///
    /// The checkpoint is `state.safetensors` alone (weights, optimizer, carry, sampler position,
    /// log window; one atomic file), so whatever instant a previous process was killed at, the
    /// state is one whole checkpoint; `model.safetensors` is rewritten from it if the kill came
    /// between the two files. The state must belong to `config.json` (same configuration) and
    /// its step to its metadata; a mismatched or damaged state is refused with one sentence and
    /// left as it is.
    public convenience init(resuming directory: URL, communicator: any Communicator = LocalCommunicator()) throws {
        guard communicator.isDistributed else {
            try self.init(checkedResuming: directory, communicator: communicator)
            return
        }
        var made: TrainingRun? = nil
        var problem: String? = nil
        do {
            made = try TrainingRun(checkedResuming: directory, communicator: communicator)
        } catch { problem = "\(error)" }
        try communicator.agree(problem)
        try Self.checkSameJob(configuration: made!.configuration, communicator: communicator)
        self.init(made: made!)
    }

    private init(checkedResuming directory: URL, communicator: any Communicator) throws {
        let configURL = directory.appendingPathComponent("config.json")
        let config: RunConfiguration
        do { config = try JSONDecoder().decode(RunConfiguration.self, from: Data(contentsOf: configURL)) } catch {
            throw RunError.invalid("\(configURL.path): cannot read the run's configuration (\(error.localizedDescription)).")
        }
        let stateURL = directory.appendingPathComponent("state.safetensors")
        guard FileManager.default.fileExists(atPath: stateURL.path) else {
            throw RunError.invalid("\(directory.path) has no checkpoint yet (state.safetensors); start it again with --force instead.")
        }
        let state: SafetensorsFile
        do { state = try SafetensorsFile(contentsOf: stateURL) } catch {
            throw RunError.invalid("\(stateURL.path) is damaged (\(error)); the run cannot resume from it.")
        }
        if let saved = state.metadata["run_config"] {
            let savedConfig = try? JSONDecoder().decode(RunConfiguration.self, from: Data(saved.utf8))
            guard savedConfig == config else {
                throw RunError.invalid("\(stateURL.path) was written for another configuration than \(configURL.path); the run cannot resume from it (was config.json edited, or a file copied from another run?).")
            }
        }
        self.directory = directory
        self.configuration = config
        self.dataset = try PuzzleDataset.read(from: URL(fileURLWithPath: config.dataPath))
        let modelURL = directory.appendingPathComponent("model.safetensors")
        let model: any ReasoningModel
        if TrainingState.holdsWeights(state) {
            var rng = RandomGenerator(seed: 0)
            model = config.model.makeModel(using: &rng)
        } else {
            // Format 1: the weights are in model.safetensors, which must be from the same step.
            model = try Checkpoint.load(from: modelURL)
            let modelStep = (try? SafetensorsFile(contentsOf: modelURL))?.metadata["step"]
            guard modelStep == state.metadata["step"] else {
                throw RunError.invalid("\(directory.path): model.safetensors (step \(modelStep ?? "?")) and state.safetensors (step \(state.metadata["step"] ?? "?")) are from different checkpoints; the run cannot resume exactly.")
            }
            guard ModelConfiguration(of: model) == config.model else {
                throw RunError.invalid("\(directory.path): model.safetensors does not match config.json.")
            }
        }
        trainer = Trainer(model: model, configuration: config.training, communicator: communicator)
        guard config.training.globalBatchSize % communicator.size == 0 else {
            throw RunError.invalid("global_batch_size (\(config.training.globalBatchSize)) of \(directory.path) does not divide by the \(communicator.size) ranks; resume it with a number of ranks that divides it")
        }
        try TrainingState.load(state, into: trainer)
        guard trainer.step <= config.training.totalSteps else {
            throw RunError.invalid("\(stateURL.path) is at step \(trainer.step), past the run's \(config.training.totalSteps) steps.")
        }
        pass = Int(state.metadata["pass"] ?? "") ?? 0
        batchInPass = Int(state.metadata["batch_in_pass"] ?? "") ?? 0
        windowSteps = Int(state.metadata["log_window_steps"] ?? "") ?? 0
        if let json = state.metadata["log_window"], let m = try? JSONDecoder().decode(ACTMetrics.self, from: Data(json.utf8)) {
            window = m
        }
        lastCheckpointStep = trainer.step
        guard communicator.isRoot else { return }
        removeStaleTemporaryFiles()
        if (try? SafetensorsFile(contentsOf: modelURL))?.metadata["step"] != String(trainer.step) {
            try saveWeights()
        }
        try truncateMetrics(after: trainer.step)
    }

    /// Trains until the step budget is spent or `shouldStop` says so (then it checkpoints first).
    /// - Throws: `RunError.nonFiniteLoss` (after which no checkpoint is written).
    public func run(shouldStop: () -> Bool = { false }, events: (TrainingEvent) -> Void = { _ in }) throws {
        guard let train = dataset.splits["train"] else { throw RunError.invalid("the dataset has no train split") }
        let c = configuration
        var windowStart = Date(), rateSteps = 0
        while pass < passes {
            var sampler = SplitMix(seed: c.training.seed &+ UInt64(pass) &+ 1)
            let batches = train.trainingBatches(batchSize: c.training.globalBatchSize, epochs: c.evalInterval, using: &sampler)
            while batchInPass < batches.count && trainer.step < totalSteps {
                if communicator.any(shouldStop()) {
                    stoppedOnRequest = true
                    try saveCheckpoint()
                    events(.checkpoint(step: trainer.step))
                    return
                }
                let b = batches[batchInPass]
                let result = trainer.trainStep(PuzzleBatch(inputs: b.inputs, labels: b.labels, puzzleIdentifiers: b.puzzleIdentifiers))
                guard result.totalLoss.isFinite else {
                    throw RunError.nonFiniteLoss(step: trainer.step, lastCheckpointStep: lastCheckpointStep)
                }
                batchInPass += 1
                window = window + result.metrics
                windowSteps += 1
                rateSteps += 1
                let rate = Double(rateSteps * c.training.globalBatchSize) / max(Date().timeIntervalSince(windowStart), 1e-9)
                events(.step(result, totalSteps: totalSteps, examplesPerSecond: rate))
                if trainer.step % c.logInterval == 0 {
                    if communicator.isRoot { try logTraining(window, steps: windowSteps, lr: result.learningRate) }
                    window = ACTMetrics()
                    windowSteps = 0
                    windowStart = Date()
                    rateSteps = 0
                }
            }
            pass += 1
            batchInPass = 0
            if let test = dataset.splits["test"], test.exampleCount > 0 {
                let report = Evaluator.evaluate(model: trainer.evaluationModel(), split: test, batchSize: c.evalBatchSize,
                                                limit: c.evalLimit, communicator: communicator)
                if communicator.isRoot { try logEvaluation(report) }
                events(.evaluation(report, step: trainer.step))
            }
            try saveCheckpoint()
            events(.checkpoint(step: trainer.step))
            if trainer.step >= totalSteps { break }
        }
    }

    // MARK: - Files

    /// Writes a checkpoint: first `state.safetensors`, the whole checkpoint in one atomic,
    /// flushed file (the commit point), then `model.safetensors`, the weights for `hrm eval`
    /// and `hrm solve` (the EMA weights when the run keeps an average, as the TRM reference saves).
    /// - Throws: `FileWriteError` when the disk refuses (full, read-only); the previous
    ///   checkpoint is then intact.
    public func saveCheckpoint() throws {
        let carry = trainer.gatheredCarry()  // collective: every rank takes part, rank 0 writes
        lastCheckpointStep = trainer.step
        guard communicator.isRoot else { return }
        try TrainingState.save(trainer, carry: carry, to: directory.appendingPathComponent("state.safetensors"),
                               extra: ["pass": String(pass), "batch_in_pass": String(batchInPass),
                                       "log_window_steps": String(windowSteps),
                                       "log_window": String(decoding: try JSONEncoder.sorted.encode(window), as: UTF8.self),
                                       "run_config": String(decoding: try JSONEncoder.sorted.encode(configuration), as: UTF8.self)])
        lastCheckpointStep = trainer.step
        try saveWeights()
    }

    private func saveWeights() throws {
        try Checkpoint.save(trainer.evaluationModel(), to: directory.appendingPathComponent("model.safetensors"),
                            metadata: ["step": String(trainer.step)])
    }

    /// Temporary files of killed processes (`.NAME.partial-PID`, hrm's own names).
    private func removeStaleTemporaryFiles() {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: directory.path)) ?? [] where AtomicFile.isTemporaryName(name) {
            try? fm.removeItem(at: directory.appendingPathComponent(name))
        }
    }

    private func appendMetrics(_ object: [String: Any]) throws {
        let url = directory.appendingPathComponent("metrics.jsonl")
        var line = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        line.append(0x0A)
        // Appended, not rewritten: a kill mid-line leaves a torn last line, which resuming drops
        // (with every line newer than the checkpoint).
        do {
            if !FileManager.default.fileExists(atPath: url.path) { try AtomicFile.write(Data(), to: url) }
            let handle = try FileHandle(forWritingTo: url)
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: line)
        } catch let error as FileWriteError {
            throw error
        } catch {
            throw FileWriteError(path: url.path, reason: "appending a line: \(error.localizedDescription)")
        }
    }

    private func logTraining(_ m: ACTMetrics, steps: Int, lr: Float) throws {
        // The reference's normalisation (spec §9.6): losses by the global batch, the rest by count.
        let n = m.normalized(lossDivisor: Double(configuration.training.globalBatchSize * max(steps, 1)))
        try appendMetrics([
            "kind": "train", "step": trainer.step, "train/lr": Double(lr),
            "train/count": n.count, "train/accuracy": n.accuracy, "train/exact_accuracy": n.exactAccuracy,
            "train/q_halt_accuracy": n.qHaltAccuracy, "train/steps": n.steps, "train/lm_loss": n.lmLoss,
            "train/q_halt_loss": n.qHaltLoss, "train/q_continue_loss": n.qContinueLoss,
        ])
    }

    private func logEvaluation(_ r: EvaluationReport) throws {
        var line: [String: Any] = [
            "kind": "eval", "step": trainer.step, "eval/count": r.count, "eval/exact_accuracy": r.exactAccuracy,
            "eval/accuracy": r.cellAccuracy, "eval/changed_cell_accuracy": r.changedCellAccuracy,
            "eval/steps": r.meanSteps, "eval/q_halt_accuracy": r.qHaltAccuracy,
        ]
        // Maze data: a valid shortest path, any of them (issue #21's measure beside exact).
        if let m = r.mazeShortestPathAccuracy { line["eval/maze_shortest_path_accuracy"] = m }
        try appendMetrics(line)
    }

    /// Drops metric lines newer than the checkpoint being resumed (they will be recomputed).
    private func truncateMetrics(after step: Int) throws {
        let url = directory.appendingPathComponent("metrics.jsonl")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return }
        let kept = text.split(separator: "\n").filter { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let s = o["step"] as? Int else { return false }
            return s <= step
        }
        let trimmed = kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")
        if trimmed != text { try AtomicFile.write(Data(trimmed.utf8), to: url) }
    }
}
