import Cluster
import Foundation
import Layers
import Puzzles
import Reasoning
import Tensors

/// What an evaluation measured (spec §13.1), plus the inference-time-scaling curve.
public struct EvaluationReport: Codable, Equatable, Sendable {
    /// Examples evaluated.
    public var count: Int
    /// Fraction of examples whose every supervised cell is right (at the step each one stopped).
    public var exactAccuracy: Double
    /// Fraction of supervised cells that are right.
    public var cellAccuracy: Double
    /// Fraction right among supervised cells whose label differs from the input (Sudoku blanks,
    /// maze path cells): the signal that moves first in training.
    public var changedCellAccuracy: Double
    /// Mean ACT steps used per example.
    public var meanSteps: Double
    /// Exact accuracy if every example stopped after step k (k = 1…max).
    public var exactAccuracyPerStep: [Double]
    public var cellAccuracyPerStep: [Double]
    /// Whether examples stopped when the Q head said halt (the model's halting rule).
    public var haltEarly: Bool
    /// With `haltEarly`: the halting margin a step had to exceed to stop (0: the model's own
    /// rule); nil when every example ran every step.
    public var haltMargin: Double? = nil
    public var maxSteps: Int
    /// Fraction of halted examples whose Q head was right about being solved.
    public var qHaltAccuracy: Double
    public var seconds: Double
    /// ARC only: pass@K after de-augmenting and voting (spec §13.2).
    public var arc: ARCScorer.Score?
    /// 9×9 Sudoku with views only: exact accuracy when each puzzle may be asked in several views
    /// until the rules accept an answer (`SudokuViews`).
    public var sudokuViews: RulesCheckedScore?
    /// 9×9 Sudoku with trajectories only: exact accuracy when each puzzle is run several times
    /// and the answer is the one the model's Q head rates highest (`SudokuViews.chooseByQHead`).
    public var trajectories: TrajectoryScore?
    /// Mazes only: the share of predictions that mark *a* shortest S→G path (the verifier's
    /// "valid and shortest"), beside `exactAccuracy`, which asks for the stored one.
    public var mazeShortestPathAccuracy: Double?
    /// Mazes only: exact and shortest against the length of the shortest path.
    public var maze: MazeScore?

    enum CodingKeys: String, CodingKey {
        case mazeShortestPathAccuracy = "maze_shortest_path_accuracy", maze
        case count, exactAccuracy = "exact_accuracy", cellAccuracy = "cell_accuracy"
        case changedCellAccuracy = "changed_cell_accuracy", meanSteps = "mean_steps"
        case exactAccuracyPerStep = "exact_accuracy_per_step", cellAccuracyPerStep = "cell_accuracy_per_step"
        case haltEarly = "halt_early", haltMargin = "halt_margin", maxSteps = "max_steps", qHaltAccuracy = "q_halt_accuracy", seconds, arc
        case sudokuViews = "sudoku_views", trajectories
    }
}

/// Test-time scaling without a rules check: each puzzle run `trajectories` times (from
/// perturbed initial states and/or in augmented views), the answer taken from the run whose
/// final q_halt is highest (filled by `SudokuViews.chooseByQHead` in Application).
public struct TrajectoryScore: Codable, Equatable, Sendable {
    public var trajectories: Int
    /// Standard deviation of the start-state noise of every trajectory but the first.
    public var noise: Double
    /// Whether trajectory k > 0 sees view k of the puzzle (`SudokuViews.augmentation`).
    public var views: Bool
    /// Fraction of puzzles whose chosen answer equals the known solution.
    public var exactAccuracy: Double
    /// Fraction where at least one trajectory was right (what a perfect chooser would get).
    public var anyRight: Double
    /// ACT steps (model calls) per puzzle over all trajectories.
    public var meanSteps: Double
    public var seconds: Double

    public init(trajectories: Int, noise: Double, views: Bool, exactAccuracy: Double, anyRight: Double,
                meanSteps: Double, seconds: Double) {
        (self.trajectories, self.noise, self.views, self.exactAccuracy) = (trajectories, noise, views, exactAccuracy)
        (self.anyRight, self.meanSteps, self.seconds) = (anyRight, meanSteps, seconds)
    }

    enum CodingKeys: String, CodingKey {
        case trajectories, noise, views, exactAccuracy = "exact_accuracy", anyRight = "any_right"
        case meanSteps = "mean_steps", seconds
    }
}

/// Exact accuracy when each puzzle may be asked in several views until a rules checker accepts
/// an answer (filled by `SudokuViews.score` in Application).
public struct RulesCheckedScore: Codable, Equatable, Sendable {
    public var views: Int
    public var rounds: Int
    /// Fraction of puzzles whose answer equals the known solution.
    public var exactAccuracy: Double
    /// Views asked per puzzle, asks over them (rounds included), and ACT steps over all asks.
    public var meanViewsTried: Double
    public var meanAsks: Double
    public var meanSteps: Double
    public var seconds: Double

    public init(views: Int, rounds: Int, exactAccuracy: Double, meanViewsTried: Double, meanAsks: Double,
                meanSteps: Double, seconds: Double) {
        (self.views, self.rounds, self.exactAccuracy) = (views, rounds, exactAccuracy)
        (self.meanViewsTried, self.meanAsks, self.meanSteps, self.seconds) = (meanViewsTried, meanAsks, meanSteps, seconds)
    }

    enum CodingKeys: String, CodingKey {
        case views, rounds, exactAccuracy = "exact_accuracy", meanViewsTried = "mean_views_tried"
        case meanAsks = "mean_asks", meanSteps = "mean_steps", seconds
    }
}

/// One example's trace through the ACT steps: the prediction and Q values at each step.
public struct ReasoningStep: Codable, Equatable, Sendable {
    /// `[S]` predicted tokens after this step.
    public var prediction: [Int32]
    public var qHalt: Float
    public var qContinue: Float
    /// `[S]` the probability the model gives its predicted token at each position (stablemax or
    /// softmax, as it was trained), when `Evaluator.trace` was asked for it; not written to JSON.
    public var confidence: [Float] = []
    /// The model's halting rule (HRM: q_halt > q_continue; TRM: q_halt > 0); not written to JSON.
    public var halting: HaltingRule = .haltAboveContinue

    public init(prediction: [Int32], qHalt: Float, qContinue: Float, confidence: [Float] = [],
                halting: HaltingRule = .haltAboveContinue) {
        (self.prediction, self.qHalt, self.qContinue, self.confidence) = (prediction, qHalt, qContinue, confidence)
        self.halting = halting
    }

    /// sigmoid(q_halt): the model's belief that it is done.
    public var haltProbability: Float { 1 / (1 + Foundation.exp(-qHalt)) }
    /// How far past its halting threshold the model is (HRM: q_halt − q_continue; TRM:
    /// q_halt): positive means the model stops at this step.
    public var haltMargin: Float { halting.margin(qHalt: qHalt, qContinue: qContinue) }
    public var halts: Bool { halting.halts(qHalt: qHalt, qContinue: qContinue) }

    enum CodingKeys: String, CodingKey { case prediction, qHalt = "q_halt", qContinue = "q_continue" }
}

/// Which step of a trace gives the answer.
public enum AnswerStep: Sendable, Equatable {
    /// After every ACT step, as the reference evaluates ("the model alone").
    case last
    /// The first step whose halting margin (HRM: q_halt − q_continue; TRM: q_halt) exceeds
    /// `margin` — 0 is the model's own halting rule; a larger margin stops surer and later —
    /// or the last step if none does: the compute saver (`--halt early`, `--halt-margin`).
    case firstHalt(margin: Float)

    /// The model's own halting rule: the first step it says halt.
    public static let early = AnswerStep.firstHalt(margin: 0)

    /// Whether a row stops thinking at `step` (always false for `.last`: it runs every step).
    public func stops(at step: ReasoningStep) -> Bool {
        if case .firstHalt(let margin) = self { return step.haltMargin > margin }
        return false
    }

    /// The index in `trace` of the step whose prediction is the answer.
    public func index(in trace: [ReasoningStep]) -> Int {
        trace.firstIndex(where: stops(at:)) ?? (trace.count - 1)
    }

    /// The margin of `.firstHalt`; nil for `.last`.
    public var margin: Float? {
        if case .firstHalt(let margin) = self { return margin }
        return nil
    }
}

/// Evaluation as the reference runs it — every example for `maxSteps` ACT steps — and the
/// early-halting variant that stops each example when its Q head says halt.
public enum Evaluator {
    /// Runs up to `steps` evaluation ACT steps on a batch and returns each row's trace.
    ///
    /// With `answer` `.firstHalt`, a row stops at the first step whose halting margin exceeds
    /// the given one (`AnswerStep.early`: where its Q head says halt) and leaves the batch, so
    /// later steps compute only the rows still thinking: evaluation cost follows the Q head.
    /// Its trace then ends at that step. `until`, when given, stops a row the same way when it
    /// returns true for (the row, its step), e.g. when a checker accepts the answer.
    /// `withConfidence` fills each step's `confidence`.
    /// `startNoise` (one per row) perturbs each row's initial states
    /// (`AdaptiveComputation.startNoise`), for test-time trajectories.
    public static func trace(model: any ReasoningModel, inputs: [Int32], puzzleIdentifiers: [Int32],
                             steps: Int, answer: AnswerStep = .last, withConfidence: Bool = false,
                             startNoise: [(scale: Float, seed: UInt64)]? = nil,
                             until: ((_ row: Int, _ step: ReasoningStep) -> Bool)? = nil) -> [[ReasoningStep]] {
        let c = model.reasoningConfiguration
        let s = c.sequenceLength
        var active = Array(0..<puzzleIdentifiers.count)  // original row of each batch row
        var batch = PuzzleBatch(inputs: inputs, labels: Array(repeating: ignoreLabel, count: inputs.count),
                                puzzleIdentifiers: puzzleIdentifiers)
        let act = AdaptiveComputation(model: model, isTraining: false)
        act.haltMaxSteps = max(steps, 1)
        precondition(startNoise.map { $0.count == puzzleIdentifiers.count } ?? true, "one start noise per row")
        act.startNoise = startNoise
        var carry = act.initialCarry(batch: batch)
        var rng = RandomGenerator(seed: 0)
        var traces = [[ReasoningStep]](repeating: [], count: puzzleIdentifiers.count)
        withoutGradients {
            for _ in 0..<max(steps, 1) {
                let out = act.step(&carry, batch: batch, using: &rng)
                act.startNoise = nil  // rows are reset at the first step only; later ones may leave the batch
                let b = active.count, v = out.logits.shape[2]
                let predictions = out.logits.reshaped([b * s, v]).argmax(axis: 1).int32s
                let confidence = withConfidence
                    ? Self.confidence(logits: out.logits.scalars, vocabulary: v, lossType: c.lossType) : []
                let qh = out.qHalt.scalars, qc = out.qContinue.scalars
                var keep: [Int] = []
                for row in 0..<b {
                    let step = ReasoningStep(prediction: Array(predictions[(row * s)..<((row + 1) * s)]),
                                             qHalt: qh[row], qContinue: qc[row],
                                             confidence: withConfidence ? Array(confidence[(row * s)..<((row + 1) * s)]) : [],
                                             halting: c.halting)
                    traces[active[row]].append(step)
                    let stop = answer.stops(at: step) || (until?(active[row], step) ?? false)
                    if !stop { keep.append(row) }
                }
                if keep.isEmpty { break }
                if keep.count < b {
                    // Finished rows leave the batch: gather the rest of the carry.
                    let rows = keep.map(Int32.init)
                    func pick(_ a: [Int32]) -> [Int32] { keep.flatMap { a[($0 * s)..<(($0 + 1) * s)] } }
                    batch = PuzzleBatch(inputs: pick(carry.current.inputs), labels: pick(carry.current.labels),
                                        puzzleIdentifiers: keep.map { carry.current.puzzleIdentifiers[$0] })
                    carry = ACTCarry(zHigh: carry.zHigh.gathered(rows: rows), zLow: carry.zLow.gathered(rows: rows),
                                     steps: keep.map { carry.steps[$0] }, halted: keep.map { carry.halted[$0] },
                                     current: batch)
                    active = keep.map { active[$0] }
                }
            }
        }
        return traces
    }

    /// The probability of the largest logit in each row of `vocabulary` logits, under the
    /// normalisation the model was trained with: stablemax (s(x) = x + 1 for x ≥ 0, 1 / (1 − x)
    /// below) or softmax.
    static func confidence(logits: [Float], vocabulary v: Int, lossType: LossType) -> [Float] {
        stride(from: 0, to: logits.count, by: v).map { start in
            let row = logits[start..<(start + v)]
            let top = row.max()!
            switch lossType {
            case .stablemax:
                func s(_ x: Float) -> Float { x >= 0 ? x + 1 : 1 / (1 - x) }
                return s(top) / row.reduce(0) { $0 + s($1) }
            case .softmax:
                return 1 / row.reduce(0) { $0 + Foundation.exp($1 - top) }
            }
        }
    }

    /// Evaluates `split` (the first `limit` examples, if given).
    ///
    /// Split over the ranks of `communicator`: rank r evaluates batches r, r + N, … of the same
    /// batching, and the counts are summed over the ranks before the report is formed; the counts are integers, so the report's accuracies
    /// equal one process's exactly.
    public static func evaluate(model: any ReasoningModel, split: DatasetSplit, batchSize: Int,
                                maxSteps: Int? = nil, answer: AnswerStep = .last, limit: Int? = nil,
                                communicator: any Communicator = LocalCommunicator(),
                                progress: (Int, Int) -> Void = { _, _ in },
                                onExample: (_ batch: DatasetBatch, _ row: Int, _ step: ReasoningStep) -> Void = { _, _, _ in })
        -> EvaluationReport
    {
        let start = Date()
        let steps = maxSteps ?? model.reasoningConfiguration.haltMaxSteps
        let total = min(limit ?? split.exampleCount, split.exampleCount)
        let s = split.metadata.sequenceLength
        var exactPerStep = [Double](repeating: 0, count: steps), cellsPerStep = [Double](repeating: 0, count: steps)
        var exact = 0.0, cellsRight = 0.0, cells = 0.0, changedRight = 0.0, changed = 0.0, stepsUsed = 0.0
        var qRight = 0.0
        var done = 0, seen = 0
        // Mazes: a valid shortest path and the table by path length (one process only).
        var maze = MazeDataset.isMazeShaped(split.metadata) && !communicator.isDistributed ? MazeScore() : nil
        for (index, batch) in split.evaluationBatches(batchSize: batchSize).enumerated() {
            let rows = min(batch.count, total - seen)
            if rows <= 0 { break }
            seen += rows
            if index % communicator.size != communicator.rank { continue }
            let traces = trace(model: model, inputs: batch.inputs, puzzleIdentifiers: batch.puzzleIdentifiers,
                               steps: steps, answer: answer)
            for row in 0..<rows {
                let labels = batch.labels[(row * s)..<((row + 1) * s)]
                let inputs = batch.inputs[(row * s)..<((row + 1) * s)]
                func score(_ p: [Int32]) -> (right: Int, supervised: Int, changedRight: Int, changed: Int) {
                    var r = 0, n = 0, cr = 0, cn = 0
                    for (t, (l, x)) in zip(labels, inputs).enumerated() where l != ignoredLabel {
                        n += 1
                        let ok = p[t] == l
                        if ok { r += 1 }
                        if l != x { cn += 1; if ok { cr += 1 } }
                    }
                    return (r, n, cr, cn)
                }
                // Rows that halted early keep their last answer for the later steps of the curve.
                let trace = traces[row] + Array(repeating: traces[row].last!, count: steps - traces[row].count)
                for (k, step) in trace.enumerated() {
                    let sc = score(step.prediction)
                    exactPerStep[k] += sc.right == sc.supervised ? 1 : 0
                    cellsPerStep[k] += Double(sc.right)
                }
                let stop = traces[row].count - 1
                onExample(batch, row, trace[stop])
                if maze != nil {
                    func bytes(_ t: some Collection<Int32>) -> [UInt8] { t.map { UInt8(clamping: max($0, 0)) } }
                    maze!.add(input: bytes(inputs), label: bytes(labels), prediction: bytes(trace[stop].prediction))
                }
                let sc = score(trace[stop].prediction)
                let solved = sc.right == sc.supervised
                exact += solved ? 1 : 0
                cellsRight += Double(sc.right)
                cells += Double(sc.supervised)
                changedRight += Double(sc.changedRight)
                changed += Double(sc.changed)
                stepsUsed += Double(stop + 1)
                qRight += (trace[stop].qHalt >= 0) == solved ? 1 : 0
            }
            done += rows
            progress(done, total)
            if seen >= total { break }
        }
        if communicator.isDistributed {
            var sums = [Double(done), exact, cellsRight, cells, changedRight, changed, stepsUsed, qRight]
                + exactPerStep + cellsPerStep
            communicator.sum(&sums)
            (done, exact, cellsRight, cells, changedRight, changed, stepsUsed, qRight) =
                (Int(sums[0]), sums[1], sums[2], sums[3], sums[4], sums[5], sums[6], sums[7])
            exactPerStep = Array(sums[8..<(8 + steps)])
            cellsPerStep = Array(sums[(8 + steps)...])
        }
        let n = Double(max(done, 1))
        var report = EvaluationReport(
            count: done, exactAccuracy: exact / n, cellAccuracy: cellsRight / max(cells, 1),
            changedCellAccuracy: changedRight / max(changed, 1), meanSteps: stepsUsed / n,
            exactAccuracyPerStep: exactPerStep.map { $0 / n }, cellAccuracyPerStep: cellsPerStep.map { $0 / max(cells, 1) },
            haltEarly: answer != .last, maxSteps: steps, qHaltAccuracy: qRight / n,
            seconds: Date().timeIntervalSince(start))
        report.haltMargin = answer.margin.map(Double.init)
        if let maze, maze.count > 0 {
            report.maze = maze
            report.mazeShortestPathAccuracy = maze.shortestAccuracy
        }
        return report
    }
}

/// Accuracy of the examples whose number of cells to fill (label ≠ input: a Sudoku's blanks)
/// falls in `blanks`.
public struct DifficultyBucket: Codable, Equatable, Sendable {
    public var blanks: ClosedRange<Int>
    public var count: Int
    public var exactAccuracy: Double
    /// Fraction right among the cells to fill.
    public var blankCellAccuracy: Double

    enum CodingKeys: String, CodingKey {
        case blanks, count = "puzzles", exactAccuracy = "exact_accuracy", blankCellAccuracy = "blank_cell_accuracy"
    }
}

extension Evaluator {
    /// `evaluate`, plus the same accuracies grouped by the number of cells to fill, in buckets
    /// of `bucketWidth` starting at multiples of it (e.g. 30–34, 35–39, …); empty buckets omitted.
    public static func evaluateByDifficulty(model: any ReasoningModel, split: DatasetSplit, batchSize: Int,
                                            bucketWidth: Int = 5, maxSteps: Int? = nil, answer: AnswerStep = .last,
                                            progress: (Int, Int) -> Void = { _, _ in })
        -> (report: EvaluationReport, buckets: [DifficultyBucket])
    {
        precondition(bucketWidth > 0)
        let s = split.metadata.sequenceLength
        var tally: [Int: (count: Int, exact: Int, right: Int, cells: Int)] = [:]
        let report = evaluate(model: model, split: split, batchSize: batchSize, maxSteps: maxSteps, answer: answer,
                              progress: progress) { batch, row, step in
            var blanks = 0, right = 0, exact = true
            for t in 0..<s {
                let (label, input) = (batch.labels[row * s + t], batch.inputs[row * s + t])
                if label == ignoredLabel { continue }
                let ok = step.prediction[t] == label
                exact = exact && ok
                if label != input { blanks += 1; if ok { right += 1 } }
            }
            let key = blanks / bucketWidth
            var t = tally[key] ?? (0, 0, 0, 0)
            t = (t.count + 1, t.exact + (exact ? 1 : 0), t.right + right, t.cells + blanks)
            tally[key] = t
        }
        let buckets = tally.keys.sorted().map { key -> DifficultyBucket in
            let t = tally[key]!
            return DifficultyBucket(blanks: (key * bucketWidth)...(key * bucketWidth + bucketWidth - 1), count: t.count,
                                    exactAccuracy: Double(t.exact) / Double(t.count),
                                    blankCellAccuracy: Double(t.right) / Double(max(t.cells, 1)))
        }
        return (report, buckets)
    }
}
