import ArgumentParser
import Foundation
import SafeFiles
import Application
import Models
import Reasoning
import Training
import Puzzles
import Tensors

/// `hrm demo`: the shipped 9×9 Sudoku models (TRM and HRM) side by side on fresh puzzles, one
/// solve with its trace, the shipped maze model on fresh mazes with one solve drawn, then a
/// small model learning 4×4 Sudoku live.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Solve fresh Sudokus with the shipped TRM and HRM models side by side, and fresh mazes with the shipped maze model, show the reasoning, then watch a small HRM learn live.",
        discussion: """
            1. Loads the shipped models (models/sudoku-9x9-trm and models/sudoku-9x9, each checked \
            against its manifest; --model picks others, and may be repeated), \
            generates --puzzles 9×9 Sudokus it never saw (blanks drawn from --blanks), and prints \
            its exact accuracy by number of blanks, each puzzle running all ACT steps (as the \
            reference evaluates and hrm solve answers), beside it halting where its Q head says \
            halt, and the accuracy when each puzzle may be asked again in up to --views views (digits \
            relabelled, grid transposed and shuffled) until the rules accept an answer (each \
            view thinking until its answer obeys the rules or its last step, and asked up to \
            --rounds times, the model's surest cells written in as givens between asks). Then, on \
            --hard-puzzles fresh rated-hard puzzles (--min-rating 20: Sudoku-Extreme's difficulty), \
            a table of every test-time mode with its model calls per puzzle: alone, halting early, \
            the Q head choosing among --trajectories views (no rules check), and the rules checking \
            up to --hard-views views (one ask each). With several models, a table puts their accuracies side by side. 2. Shows one solve by \
            the first model, step by step. 3. The shipped maze model (models/maze-9x9; --maze-model \
            picks another) on --mazes fresh mazes of its size, half perfect and half open, exact \
            and "a shortest path" by path length, and one maze solved step by step (maze.html). \
            4. Trains a small HRM on --live-size×--live-size Sudokus for --minutes with a progress bar, then \
            evaluates it on fresh puzzles. DIR gets the data, the live run, its curves and \
            report.json; the shipped models are only read.

            Examples:
              hrm demo
              hrm demo --out demo-output --minutes 2 --puzzles 200
              hrm demo --skip-live --puzzles 2000 --blanks 20-60     # the README's accuracy table
            """
    )

    @Option(help: "Folder for the data, the live run, the curves and report.json.")
    var out: String = "demo-output"
    @OptionGroup var output: ForceOption
    @Option(help: "A model package; repeat for several (default: the shipped 9×9 Sudoku models sudoku-9x9-trm and sudoku-9x9, wherever they are installed; HRM_MODELS overrides).")
    var model: [String] = []
    @Option(help: "Fresh 9×9 puzzles for the shipped model.")
    var puzzles: Int = 500
    @Option(help: ArgumentHelp("Blanks of those puzzles, drawn uniformly from LO-HI (minimal puzzles cap it near 60).", valueName: "LO-HI"))
    var blanks: String = "5-60"
    @Option(help: "Minutes of live training.")
    var minutes: Double = 3
    @Option(name: .customLong("live-size"), help: "Side of the live run's Sudokus: 4 or 6.")
    var liveSize: Int = 4
    @Option(name: .customLong("live-count"), help: "Generated training puzzles for the live run (500 more are held out).")
    var liveCount: Int = 20_000
    @Flag(name: .customLong("skip-live"), help: "Only evaluate the shipped model.")
    var skipLive = false
    @Option(help: "Views per puzzle for the rules-checked column (1 turns it off).")
    var views: Int = 32
    @Option(help: "Asks per view for that column: between them the cells the model is surest of become givens (1: none).")
    var rounds: Int = 4
    @Option(help: "Random seed of the held-out puzzles (refused if the shipped model's data used it).")
    var seed: UInt64 = 2026
    @Option(name: .customLong("hard-puzzles"), help: "Fresh rated-hard 9×9 puzzles (rating ≥ --min-rating) for the hard table (0 skips it).")
    var hardPuzzles: Int = 100
    @Option(name: .customLong("min-rating"), help: "Least rating (classical-solver backtracks) of the hard puzzles; 20 is Sudoku-Extreme's difficulty.")
    var minRating: Int = 20
    @Option(help: "Trajectories for the hard table's Q-head column: views of the puzzle, the answer the Q head rates highest (1 turns it off).")
    var trajectories: Int = 8
    @Option(name: .customLong("hard-views"), help: "Views for the hard table's rules-checked column, one ask each (at most 10 asks: issue #19's budget; 1 turns it off).")
    var hardViews: Int = 10
    @Option(name: .customLong("maze-model"), help: "The maze model package for the maze section (default: the shipped maze-9x9, wherever it is installed).")
    var mazeModel: String?
    @Option(help: "Fresh mazes for the maze section, half perfect and half open (0 skips it).")
    var mazes: Int = 200

    func validate() throws {
        guard minutes > 0, minutes <= 60 else { throw ValidationError("--minutes must be in (0, 60]; got \(minutes).") }
        guard (1...100_000).contains(puzzles) else { throw ValidationError("--puzzles must be 1 to 100000; got \(puzzles).") }
        guard liveCount >= 16 else { throw ValidationError("--live-count must be at least 16; got \(liveCount).") }
        guard (1...64).contains(views) else { throw ValidationError("--views must be 1 to 64; got \(views).") }
        guard (1...16).contains(rounds) else { throw ValidationError("--rounds must be 1 to 16; got \(rounds).") }
        guard (0...10_000).contains(hardPuzzles) else { throw ValidationError("--hard-puzzles must be 0 to 10000; got \(hardPuzzles).") }
        guard (1...200).contains(minRating) else { throw ValidationError("--min-rating must be 1 to 200; got \(minRating).") }
        guard (1...256).contains(trajectories) else { throw ValidationError("--trajectories must be 1 to 256; got \(trajectories).") }
        guard (1...64).contains(hardViews) else { throw ValidationError("--hard-views must be 1 to 64; got \(hardViews).") }
        guard (0...10_000).contains(mazes) else { throw ValidationError("--mazes must be 0 to 10000; got \(mazes).") }
        guard SmallSudoku.sizes.contains(liveSize) else { throw ValidationError("--live-size must be 4 or 6; got \(liveSize).") }
        _ = try blankRange()
    }

    func blankRange() throws -> ClosedRange<Int> {
        try parseBlankRange(blanks, least: 1, most: 64, example: "5-60")
    }

    /// What the demo writes in --out (so --force replaces only an earlier demo's folder).
    static let layout = FolderLayout(name: "a demo's output", required: [], optional: ["report.json", "reasoning.html", "maze.html"],
                                     subfolders: [("run", TrainingRun.layout), ("data-*", PuzzleDataset.layout)])

    func run() throws {
        setvbuf(stdout, nil, _IOLBF, 0)  // lines in order with the progress bars, also into a log
        let dir = URL(fileURLWithPath: out)
        let models = try self.model.isEmpty
            ? ShippedModels.sudoku.map { try ShippedModels.locate($0).path } : self.model
        let mazeModel = mazes == 0 ? nil : try self.mazeModel ?? ShippedModels.locate(ShippedModels.defaultMaze).path
        for model in models + (mazeModel.map { [$0] } ?? []) {
            let modelDir = URL(fileURLWithPath: model).standardizedFileURL
            guard !modelDir.path.hasPrefix(dir.standardizedFileURL.path + "/") && modelDir != dir.standardizedFileURL else {
                throw CommandError("--out \(out) holds the shipped model \(model); the demo would overwrite it. Choose another folder.")
            }
        }
        let maze = try mazeModel.map { ($0, try mazePackage($0)) }
        if try OutputTarget.checkFolder(dir, layout: Self.layout, force: output.force) { try OutputTarget.remove(dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var report: [String: Any] = [:]
        var reports: [[String: Any]] = []
        var hard: [(puzzle: Sudoku, solution: Sudoku)] = []
        if hardPuzzles > 0 {
            let bar = ProgressBar("generating \(hardPuzzles) rated-hard puzzles (rating ≥ \(minRating))", total: hardPuzzles, unit: "puzzles")
            hard = SudokuDataset.generate(count: hardPuzzles, generator: SudokuGenerator(minimumRating: minRating), seed: seed &+ 1) { bar.update($0) }
                .map { (puzzle: $0.puzzle, solution: $0.solution) }
            bar.finish()
        }
        for (k, model) in models.enumerated() {
            if k > 0 { print("") }
            reports.append(try shipped(dir, model: model, number: models.count > 1 ? "1\(Character(UnicodeScalar(97 + k)!))" : "1",
                                       showSolve: k == 0, hard: hard))
        }
        if reports.count > 1 { printSideBySide(reports) }
        report["shipped"] = reports[0]
        report["shipped_models"] = reports
        if let (path, package) = maze { report["maze"] = try mazeSection(dir, model: path, package: package) }
        if !skipLive { report["live"] = try live(dir) }
        try AtomicFile.write(try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys, .prettyPrinted]),
                             to: dir.appendingPathComponent("report.json"))
        print("\nwrote \(dir.appendingPathComponent("report.json").path)")
    }

    // MARK: - The shipped model

    /// The models' exact accuracy by blanks, alone and with views, one column each.
    private func printSideBySide(_ reports: [[String: Any]]) {
        let names = reports.map { ($0["architecture"] as? String ?? "?").uppercased() }
        print("\n   side by side (the same \(puzzles) puzzles; exact, the model alone" + (views > 1 || rounds > 1 ? " / with up to \(viewsAndRounds(views, rounds))" : "") + "):")
        print("   blanks   " + names.map { $0.padding(toLength: 16, withPad: " ", startingAt: 0) }.joined())
        let rows = (reports[0]["by_blanks"] as? [[String: Any]] ?? []).map { $0["blanks"] as? String ?? "" }
        func cell(_ b: [String: Any]?) -> String {
            guard let b, let e = b["exact_accuracy"] as? Double else { return "—".padding(toLength: 16, withPad: " ", startingAt: 0) }
            let v = (b["exact_accuracy_views"] as? Double).map { String(format: " / %5.1f%%", 100 * $0) } ?? ""
            return (String(format: "%5.1f%%", 100 * e) + v).padding(toLength: 16, withPad: " ", startingAt: 0)
        }
        for row in rows {
            let cells = reports.map { r in cell((r["by_blanks"] as? [[String: Any]])?.first { $0["blanks"] as? String == row }) }
            print("   " + row.padding(toLength: 9, withPad: " ", startingAt: 0) + cells.joined())
        }
        let all = reports.map { r -> String in
            var b: [String: Any] = ["exact_accuracy": r["exact_accuracy"] as Any]
            if let v = r["exact_accuracy_views"] { b["exact_accuracy_views"] = v }
            return cell(b)
        }
        print("   all      " + all.joined())
        guard reports.allSatisfy({ $0["hard"] != nil }) else { return }
        let hardRows: [(String, String)] = [("alone", "exact_accuracy"), ("early", "exact_accuracy_halt_early"),
                                            ("Q head", "exact_accuracy_trajectories"), ("rules", "exact_accuracy_views")]
        print("   rated-hard (≥ \(minRating)), the same \(hardPuzzles) puzzles: alone, halting early, the Q head over \(trajectories) views, the rules over up to \(hardViews) views:")
        for (name, key) in hardRows {
            let cells = reports.map { r -> String in
                guard let h = r["hard"] as? [String: Any], let e = h[key] as? Double else { return "—".padding(toLength: 16, withPad: " ", startingAt: 0) }
                return String(format: "%5.1f%%", 100 * e).padding(toLength: 16, withPad: " ", startingAt: 0)
            }
            guard cells.contains(where: { !$0.hasPrefix("—") }) else { continue }
            print("   " + name.padding(toLength: 9, withPad: " ", startingAt: 0) + cells.joined())
        }
    }

    private func shipped(_ dir: URL, model: String, number: String, showSolve: Bool,
                         hard: [(puzzle: Sudoku, solution: Sudoku)]) throws -> [String: Any] {
        let package: ModelPackage
        do { package = try ModelPackage(directory: URL(fileURLWithPath: model)) } catch let e as ModelPackageError {
            throw CommandError(e.description)
        }
        // The data commands in the manifest name their seeds; fresh puzzles must come from another.
        let used = Self.dataSeeds(package)
        guard !used.contains(seed), hard.isEmpty || !used.contains(seed &+ 1) else {
            throw CommandError("--seed \(used.contains(seed) ? seed : seed &+ 1) made the shipped model's training data (\(ModelPackage.manifestFile)); pick another --seed so the puzzles are new (the hard puzzles use --seed + 1).")
        }
        let shape = package.model.reasoningConfiguration
        guard shape.sequenceLength == 81, shape.vocabularySize == SudokuDataset.vocabularySize else {
            throw CommandError("\(model) is not a 9×9 Sudoku model (seq_len \(shape.sequenceLength), vocab_size \(shape.vocabularySize); expected 81 and \(SudokuDataset.vocabularySize)).")
        }
        let range = try blankRange()
        let architecture = package.model.reasoningConfiguration.architecture.rawValue
        print("\(number). The shipped \(architecture.uppercased()) model (\(model): \(package.manifest.summary))")
        print("   on \(puzzles) fresh 9×9 Sudokus with \(range.lowerBound)–\(range.upperBound) blanks, generated now with seed \(seed) (never seen in training):")
        let generator = SudokuGenerator(clueRange: (81 - range.upperBound)...(81 - range.lowerBound))
        let bar = ProgressBar("   generating", total: puzzles, unit: "puzzles")
        let fresh = SudokuDataset.generate(count: puzzles, generator: generator, seed: seed) { bar.update($0) }
            .map { (puzzle: $0.puzzle, solution: $0.solution) }
        bar.finish()
        var rng = SplitMix(seed: seed)
        let split = SudokuDataset.build(train: [], test: fresh, augmentations: 0, using: &rng).splits["test"]!

        let evalBar = ProgressBar("   solving", total: puzzles, unit: "puzzles")
        // Every puzzle runs all ACT steps, as the reference evaluates and `hrm solve` answers;
        // halting early (where the Q head says halt) beside it.
        let (result, buckets) = Evaluator.evaluateByDifficulty(model: package.model, split: split, batchSize: 64) { done, _ in
            evalBar.update(done)
        }
        evalBar.finish()
        let (early, earlyBuckets) = Evaluator.evaluateByDifficulty(model: package.model, split: split, batchSize: 64, answer: .early)
        // The same puzzles again, each asked in up to `views` views × `rounds` rounds until the rules accept an answer.
        let viewStart = Date()
        let viewBar = ProgressBar("   up to \(viewsAndRounds(views, rounds))", total: puzzles, unit: "puzzles")
        let checked = views > 1 || rounds > 1
        let answers = checked
            ? SudokuViews.solve(model: package.model, puzzles: fresh.map(\.puzzle), views: views, rounds: rounds, seed: seed) { done, _ in
                viewBar.update(done)
            } : []
        if checked { viewBar.finish() }
        let viewSeconds = Date().timeIntervalSince(viewStart)
        let solvedWithViews = zip(answers, fresh).map { $0.grid == $1.solution }
        func viewAccuracy(_ blanks: ClosedRange<Int>) -> Double {
            let rows = fresh.indices.filter { blanks.contains(fresh[$0].puzzle.blankCount) }
            return Double(rows.filter { solvedWithViews[$0] }.count) / Double(max(rows.count, 1))
        }
        let column = checked ? "   exact, ≤ \(viewsAndRounds(views, rounds))" : ""
        print("   blanks    puzzles   exact   blank cells right   exact, halting early" + column)
        for (b, e) in zip(buckets, earlyBuckets) {
            print(String(format: "   %2d–%2d   %7d   %5.1f%%   %5.1f%%              %5.1f%%", b.blanks.lowerBound, b.blanks.upperBound, b.count,
                         100 * b.exactAccuracy, 100 * b.blankCellAccuracy, 100 * e.exactAccuracy)
                  + (checked ? String(repeating: " ", count: column.count - 6) + String(format: "%5.1f%%", 100 * viewAccuracy(b.blanks)) : ""))
        }
        print(String(format: "   all       %7d   %5.1f%%   %5.1f%%              %5.1f%%   (%.1f s; all %d ACT steps, as the reference evaluates; halting early where the Q head says halt: %.2f steps on average)",
                     result.count, 100 * result.exactAccuracy, 100 * result.changedCellAccuracy, 100 * early.exactAccuracy,
                     result.seconds, result.maxSteps, early.meanSteps))
        let viewScore = checked ? SudokuViews.Score(answers: answers, solutions: fresh.map(\.solution), views: views,
                                                    rounds: rounds, seconds: viewSeconds) : nil
        if let v = viewScore {
            print(String(format: "   asking up to %@ until the rules accept an answer: %.1f%% exact (%.2f views, %.2f asks per puzzle, %.1f s)",
                         viewsAndRounds(views, rounds), 100 * v.exactAccuracy, v.meanViewsTried, v.meanAsks, v.seconds))
        }

        var report: [String: Any] = [
            "model": model, "architecture": architecture, "checksum": package.manifest.checksum,
            "parameters": package.manifest.parameters,
            "puzzles": result.count, "blanks": "\(range.lowerBound)-\(range.upperBound)", "seed": seed,
            "exact_accuracy": result.exactAccuracy, "blank_cell_accuracy": result.changedCellAccuracy,
            "seconds": result.seconds, "act_steps": result.maxSteps, "halting": "all_steps",
            "exact_accuracy_halt_early": early.exactAccuracy, "blank_cell_accuracy_halt_early": early.changedCellAccuracy,
            "mean_act_steps_halt_early": early.meanSteps,
            "views": views, "rounds": rounds]
        var byBlanks: [[String: Any]] = zip(buckets, earlyBuckets).map { b, e in
            ["blanks": "\(b.blanks.lowerBound)-\(b.blanks.upperBound)", "puzzles": b.count,
             "exact_accuracy": b.exactAccuracy, "blank_cell_accuracy": b.blankCellAccuracy,
             "exact_accuracy_halt_early": e.exactAccuracy]
        }
        // The views figures only when views or rounds were asked (with neither they would be the model alone).
        if let v = viewScore {
            report["exact_accuracy_views"] = v.exactAccuracy
            report["views_seconds"] = v.seconds
            report["mean_views_tried"] = v.meanViewsTried
            report["mean_asks"] = v.meanAsks
            for (k, b) in buckets.enumerated() { byBlanks[k]["exact_accuracy_views"] = viewAccuracy(b.blanks) }
        }
        report["by_blanks"] = byBlanks
        if !hard.isEmpty { report["hard"] = hardTable(package.model, hard) }
        if showSolve { try showOneSolve(package.model, fresh: fresh, in: dir) }
        return report
    }

    /// The seeds the data commands of a package's manifest used (`hrm data … --seed N`).
    static func dataSeeds(_ package: ModelPackage) -> [UInt64] {
        package.manifest.commands.filter { $0.contains("hrm data") }.compactMap { command -> UInt64? in
            let words = command.split(separator: " ")
            return words.firstIndex(of: "--seed").flatMap { $0 + 1 < words.count ? UInt64(words[$0 + 1]) : nil }
        }
    }

    /// The rated-hard table: the model alone, halting early, the Q head choosing among
    /// `trajectories` views (no rules check), and the rules-checked views × rounds, each with its
    /// model calls (ACT steps) per puzzle.
    private func hardTable(_ model: any ReasoningModel, _ hard: [(puzzle: Sudoku, solution: Sudoku)]) -> [String: Any] {
        var rng = SplitMix(seed: seed &+ 1)
        let split = SudokuDataset.build(train: [], test: hard, augmentations: 0, using: &rng).splits["test"]!
        let alone = Evaluator.evaluate(model: model, split: split, batchSize: 64)
        let early = Evaluator.evaluate(model: model, split: split, batchSize: 64, answer: .early)
        print("   on \(hard.count) fresh rated-hard Sudokus (the classical solver backtracks ≥ \(minRating) times, Sudoku-Extreme's difficulty; seed \(seed &+ 1)):")
        print("   mode                                          exact   model calls per puzzle")
        func line(_ name: String, _ exact: Double, _ calls: Double, _ note: String = "") {
            print("   " + name.padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: "%5.1f%%   %6.1f", 100 * exact, calls) + note)
        }
        line("alone (all \(alone.maxSteps) ACT steps)", alone.exactAccuracy, alone.meanSteps)
        line("alone, halting early", early.exactAccuracy, early.meanSteps)
        var table: [String: Any] = ["puzzles": hard.count, "min_rating": minRating, "seed": seed &+ 1,
                                    "exact_accuracy": alone.exactAccuracy, "calls": alone.meanSteps,
                                    "exact_accuracy_halt_early": early.exactAccuracy, "calls_halt_early": early.meanSteps]
        if trajectories > 1 {
            let bar = ProgressBar("   \(trajectories) trajectories", total: hard.count, unit: "puzzles")
            let t = SudokuViews.scoreByQHead(model: model, puzzles: hard.map(\.puzzle), solutions: hard.map(\.solution),
                                             trajectories: trajectories, noise: 0, views: true, seed: seed &+ 1) { done, _ in bar.update(done) }
            bar.finish()
            line("Q head over \(trajectories) views (no rules check)", t.exactAccuracy, t.meanSteps,
                 String(format: "   (one of them right: %.1f%%)", 100 * t.anyRight))
            table["trajectories"] = trajectories
            (table["exact_accuracy_trajectories"], table["calls_trajectories"]) = (t.exactAccuracy, t.meanSteps)
        }
        if hardViews > 1 {
            // One ask per view, so a model that fails every view costs hardViews asks, not views × rounds.
            let bar = ProgressBar("   up to \(hardViews) views", total: hard.count, unit: "puzzles")
            let v = SudokuViews.score(model: model, puzzles: hard.map(\.puzzle), solutions: hard.map(\.solution),
                                      views: hardViews, rounds: 1, seed: seed &+ 1) { done, _ in bar.update(done) }
            bar.finish()
            line("rules: up to \(hardViews) views", v.exactAccuracy, v.meanSteps,
                 String(format: "   (%.2f asks per puzzle)", v.meanAsks))
            table["views"] = hardViews
            (table["exact_accuracy_views"], table["calls_views"], table["mean_asks"]) = (v.exactAccuracy, v.meanSteps, v.meanAsks)
        }
        return table
    }

    /// 2. One solve, step by step: the first fresh puzzle with ≥ 30 blanks the model solves, else
    /// the first it solves, else the first; also drawn as `reasoning.html` in the demo's folder.
    private func showOneSolve(_ model: any ReasoningModel, fresh: [(puzzle: Sudoku, solution: Sudoku)], in dir: URL) throws {
        let solver = Solver(model: model)
        var chosen: (pair: (puzzle: Sudoku, solution: Sudoku), solution: Solution<Sudoku>, which: String)? = nil
        for pair in fresh.prefix(100) where chosen == nil || pair.puzzle.blankCount >= 30 {
            let s = try solver.solve(pair.puzzle)
            guard s.isVerified == true else { continue }
            if pair.puzzle.blankCount >= 30 {
                chosen = (pair, s, "the first fresh puzzle with 30 or more blanks it solves")
                break
            }
            chosen = (pair, s, "the first fresh puzzle it solves")
        }
        let (shown, solution, which) = try chosen ?? (fresh[0], solver.solve(fresh[0].puzzle), "the first fresh puzzle; the model gets it wrong")
        print("\n2. One solve, step by step (\(which); \(shown.puzzle.blankCount) blanks):")
        var previous = shown.puzzle
        let blanks = (0..<81).filter { shown.puzzle.cells[$0] == 0 }
        for (k, step) in solution.steps.enumerated() {
            let changed = (0..<81).filter { step.cells[$0] != previous.cells[$0] }.count
            let right = blanks.filter { step.cells[$0] == shown.solution.cells[$0] }.count
            print(String(format: "   step %d: %2d cells changed, %2d of %d blanks right, %@ %+.2f%@", k + 1, changed, right,
                         blanks.count, solution.trace[k].halting.marginName, solution.trace[k].haltMargin, k + 1 == solution.haltStep ? "  ← the answer" : ""))
            previous = step
        }
        var answer = solution.answer.description.split(separator: "\n").map(String.init)
        let puzzleLines = shown.puzzle.description.split(separator: "\n").map(String.init)
        // Mark wrong digits with '*' (row r of the grid is line r + r/3 of the drawing).
        for i in 0..<81 where solution.answer.cells[i] != shown.solution.cells[i] {
            let (r, c) = (i / 9, i % 9)
            var chars = Array(answer[r + r / 3])
            chars[2 * c + 2 * (c / 3)] = "*"
            answer[r + r / 3] = String(chars)
        }
        print("   puzzle                  answer after step \(solution.haltStep)\(solution.isVerified == true ? "" : " (* = wrong)")")
        for (a, b) in zip(puzzleLines, answer) { print("   \(a)   \(b)") }
        print(solution.isVerified == true ? "   The classical solver confirms the answer." : "   The classical solver finds the answer wrong.")
        let page = dir.appendingPathComponent("reasoning.html")
        try AtomicFile.write(Data(try ReasoningPage(sudoku: shown.puzzle, solution: solution, title: "Sudoku (\(shown.puzzle.blankCount) blanks), \(which)",
                                                    verdict: SolveCommand.sudokuVerdict(solution)).html().utf8), to: page)
        print("   Every step drawn, with the model's confidence and its halt signal: \(page.path) (open it in a browser)")
    }

    // MARK: - The maze model

    /// The maze model's package, checked to be a maze model whose training data did not come
    /// from the mazes' seed (before any other work of the demo).
    private func mazePackage(_ model: String) throws -> ModelPackage {
        let package: ModelPackage
        do { package = try ModelPackage(directory: URL(fileURLWithPath: model)) } catch let e as ModelPackageError {
            throw CommandError(e.description)
        }
        let shape = package.model.reasoningConfiguration
        let side = Int(Double(shape.sequenceLength).squareRoot())
        guard side * side == shape.sequenceLength, side >= 5, shape.vocabularySize == MazeDataset.vocabularySize else {
            throw CommandError("\(model) is not a maze model (seq_len \(shape.sequenceLength), vocab_size \(shape.vocabularySize); expected a square grid of at least 5×5 and \(MazeDataset.vocabularySize)).")
        }
        guard !Self.dataSeeds(package).contains(seed &+ 2) else {
            throw CommandError("--seed \(seed) gives the mazes seed \(seed &+ 2), which made the maze model's training data (\(ModelPackage.manifestFile)); pick another --seed so the mazes are new.")
        }
        return package
    }

    /// 3. The maze model on fresh mazes of its size (half perfect, half open with several
    /// routes), exact and "a shortest path" by path length, then one solve drawn step by step
    /// (also as `maze.html`).
    private func mazeSection(_ dir: URL, model: String, package: ModelPackage) throws -> [String: Any] {
        let shape = package.model.reasoningConfiguration
        let side = Int(Double(shape.sequenceLength).squareRoot())
        let mazeSeed = seed &+ 2
        let minPath = side - 1
        print("\n3. The shipped maze model (\(model): \(package.manifest.summary))")
        print("   on \(mazes) fresh \(side)×\(side) mazes, half perfect (one route), half open (several routes, one shortest), shortest paths ≥ \(minPath) cells, generated now with seed \(mazeSeed):")
        let bar = ProgressBar("   generating", total: mazes, unit: "mazes")
        let fresh = try MazeDataset.generate(count: mazes, size: side, minimumPathLength: minPath, kinds: [.perfect, .open], seed: mazeSeed) { bar.update($0) }
        bar.finish()
        let split = MazeDataset.build(train: [], test: fresh).splits["test"]!
        let evalBar = ProgressBar("   solving", total: mazes, unit: "mazes")
        let result = Evaluator.evaluate(model: package.model, split: split, batchSize: 64, progress: { done, _ in evalBar.update(done) })
        evalBar.finish()
        let score = result.maze ?? MazeScore()
        print("   path length   mazes   exact   a shortest path")
        for b in score.buckets {
            print("   " + (b.label + " cells").padding(toLength: 13, withPad: " ", startingAt: 0)
                  + String(format: "%6d   %5.1f%%   %5.1f%%", b.count, 100 * b.exactAccuracy, 100 * b.shortestAccuracy))
        }
        print(String(format: "   all          %6d   %5.1f%%   %5.1f%%   (%.1f s; all %d ACT steps; exact = the stored path, a shortest path = any S→G path of the least length)",
                     result.count, 100 * result.exactAccuracy, 100 * score.shortestAccuracy, result.seconds, result.maxSteps))
        try showOneMaze(package.model, fresh: fresh, in: dir)
        return ["model": model, "architecture": shape.architecture.rawValue, "checksum": package.manifest.checksum,
                "mazes": result.count, "size": side, "min_path": minPath, "seed": mazeSeed,
                "exact_accuracy": result.exactAccuracy, "shortest_path_accuracy": score.shortestAccuracy,
                "cell_accuracy": result.cellAccuracy, "path_cell_accuracy": result.changedCellAccuracy,
                "seconds": result.seconds, "act_steps": result.maxSteps,
                "by_path_length": score.buckets.map { ["path_length": $0.label, "mazes": $0.count, "exact_accuracy": $0.exactAccuracy,
                                                       "shortest_path_accuracy": $0.shortestAccuracy] }]
    }

    /// One maze solve, step by step: the longest-path maze among the first 50 fresh ones that
    /// the model solves, else the first.
    private func showOneMaze(_ model: any ReasoningModel, fresh: [(puzzle: Maze, solution: Maze)], in dir: URL) throws {
        let solver = Solver(model: model)
        // The shortest path's cells, S and G included (the stored solution marks one).
        func pathLength(_ solution: Maze) -> Int { solution.cells.filter { $0 == .path }.count + 2 }
        var chosen: (pair: (puzzle: Maze, solution: Maze), solution: Solution<Maze>, length: Int)? = nil
        for pair in fresh.prefix(50) {
            let s = try solver.solve(pair.puzzle)
            let length = pathLength(pair.solution)
            if s.isVerified == true, length > chosen?.length ?? 0 { chosen = (pair, s, length) }
        }
        let which = chosen == nil ? "the first fresh maze; the model gets it wrong" : "the fresh maze with the longest path, of the first 50, that it solves"
        let (shown, solution, length) = try chosen ?? (fresh[0], solver.solve(fresh[0].puzzle), pathLength(fresh[0].solution))
        print("   One solve, step by step (\(which); shortest path \(length) cells, S and G included):")
        let truePath = Set(shown.solution.cells.indices.filter { shown.solution.cells[$0] == .path })
        // One line per step, runs of steps that mark the same cells as one line.
        let lines = solution.steps.map { step -> String in
            let marked = step.cells.indices.filter { step.cells[$0] == .path }
            return String(format: "%2d path cells marked, %2d of the %d right, %@", marked.count,
                          marked.filter { truePath.contains($0) }.count, truePath.count,
                          shown.solution.check(step).isValidShortest ? "a shortest path" : "not a shortest path")
        }
        var first = 0
        for k in solution.steps.indices where k + 1 == solution.steps.count || solution.steps[k + 1] != solution.steps[k] {
            let steps = first == k ? "step \(k + 1)" : "steps \(first + 1)–\(k + 1)"
            let isAnswer = (first + 1...k + 1).contains(solution.haltStep)
            print("   " + (steps + ":").padding(toLength: 14, withPad: " ", startingAt: 0) + lines[k]
                  + (isAnswer ? "  ← the answer (step \(solution.haltStep))" : ""))
            first = k + 1
        }
        let puzzleLines = shown.puzzle.description.split(separator: "\n").map(String.init)
        let answerLines = solution.answer.description.split(separator: "\n").map(String.init)
        print("   maze" + String(repeating: " ", count: max(shown.puzzle.size - 1, 1)) + "answer after step \(solution.haltStep) (o = the path)")
        for (a, b) in zip(puzzleLines, answerLines) { print("   \(a)   \(b)") }
        let verdict = SolveCommand.mazeVerdict(solution)
        print("   \(verdict.prefix(1).uppercased() + verdict.dropFirst()).")
        let page = dir.appendingPathComponent("maze.html")
        let side = Int(Double(model.reasoningConfiguration.sequenceLength).squareRoot())
        try AtomicFile.write(Data(try ReasoningPage(maze: shown.puzzle, solution: solution, canvasSide: side,
                                                    title: "Maze \(shown.puzzle.size)×\(shown.puzzle.size), \(which)", verdict: verdict).html().utf8), to: page)
        print("   Every step drawn: \(page.path) (open it in a browser)")
    }

    // MARK: - The live run

    private func live(_ dir: URL) throws -> [String: Any] {
        let runDir = dir.appendingPathComponent("run")
        let (count, testCount) = (liveCount, 500)
        print("\n4. A small HRM learns \(liveSize)×\(liveSize) Sudoku live: \(count) generated puzzles, \(minutes) minute(s) of training…")
        let generator = SmallSudokuGenerator(size: liveSize, blanks: 0...(liveSize * liveSize))
        let (train, test) = SmallSudokuGenerator.generateSplits(generator, count: count, testCount: testCount, seed: seed)
        let dataset = SudokuDataset.build(size: liveSize, train: train, test: test)
        try dataset.write(to: dir.appendingPathComponent("data-\(liveSize)x\(liveSize)"))

        var model = HRMConfiguration.tiny
        (model.sequenceLength, model.vocabularySize) = (liveSize * liveSize, liveSize + 2)
        (model.hiddenSize, model.puzzleEmbeddingWidth, model.highLayerCount, model.lowLayerCount) = (64, 64, 2, 2)
        var training = TrainingConfiguration()
        (training.globalBatchSize, training.learningRate, training.warmupSteps, training.seed) = (64, 1e-3, 50, seed)
        let config = RunConfiguration(model: .hrm(model), training: training,
                                      dataPath: dir.appendingPathComponent("data-\(liveSize)x\(liveSize)").path,
                                      epochs: 1000, evalInterval: 1000, evalLimit: testCount, evalBatchSize: 64, logInterval: 10)
        let run = try TrainingRun(newRunIn: runDir, configuration: config, dataset: dataset)
        let start = Date()
        let bar = ProgressBar("   training", total: Int(minutes * 60), unit: "s")
        try run.run(shouldStop: { Date().timeIntervalSince(start) > minutes * 60 }) { event in
            if case .step(let r, _, _) = event {
                let m = r.metrics.normalized(lossDivisor: 1)
                bar.update(Int(Date().timeIntervalSince(start)),
                           extra: String(format: "step %d  cells %.3f  exact %.3f", r.step, m.accuracy, m.exactAccuracy))
            }
        }
        bar.finish()
        let trainedMinutes = Date().timeIntervalSince(start) / 60
        let report = Evaluator.evaluate(model: run.trainer.model, split: dataset.splits["test"]!, batchSize: 64)
        print(String(format: "   on %d fresh %d×%d puzzles it never saw: exact %.1f%%, blank cells %.1f%%, all cells %.1f%% (after %d steps, %.1f min)",
                     report.count, liveSize, liveSize, 100 * report.exactAccuracy, 100 * report.changedCellAccuracy,
                     100 * report.cellAccuracy, run.trainer.step, trainedMinutes))
        if FileManager.default.fileExists(atPath: runDir.appendingPathComponent("metrics.jsonl").path) {
            try PlotCommand.draw(folder: runDir.path, force: false)
        }
        return ["exact_accuracy": report.exactAccuracy, "cell_accuracy": report.cellAccuracy,
                "blank_cell_accuracy": report.changedCellAccuracy, "minutes": trainedMinutes,
                "steps": run.trainer.step, "puzzles": report.count, "size": liveSize]
    }
}
