import ArgumentParser
import Foundation
import Puzzles
import SafeFiles

/// `hrm data …`: build datasets in the reference's format, and look at them.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Generate, convert and show puzzle datasets (the reference's .npy format).",
        subcommands: [SudokuDataCommand.self, MazeDataCommand.self, ARCDataCommand.self, ShowDataCommand.self]
    )
}

struct SudokuDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sudoku",
        abstract: "Generate Sudokus with unique solutions, or convert the Sudoku-Extreme CSV.",
        discussion: """
            Generated puzzles are minimal (no given can be removed) unless --clues is set; \
            --min-rating keeps only puzzles whose solver backtrack count reaches it. Each \
            training original gets --augment variants (digit relabelling, transpose, band and \
            row shuffles), as the reference builds Sudoku-Extreme-1k. The same seed gives the \
            same bytes.

            Examples:
              hrm data sudoku --out data/sudoku-1k --count 1000 --min-rating 20 --augment 1000
              hrm data sudoku --out data/sudoku-mixed --count 100000 --blanks 4-64
              hrm data sudoku --out data/sudoku-6x6 --size 6 --count 20000 --blanks 6-18
              hrm data sudoku --out data/sudoku-extreme-1k --from-csv sudoku-extreme/ --subsample 1000 --augment 1000
            """
    )

    @Option(help: "Output dataset folder (written whole at the end; nothing partial is left on failure).")
    var out: String
    @OptionGroup var output: ForceOption
    @Option(help: "Side of the grid: 9, or 4 / 6 for small Sudokus (boxes 2×2 / 2×3) that a small model learns in minutes.")
    var size: Int = 9
    @Option(help: "Training puzzles to generate.")
    var count: Int = 1000
    @Option(name: .customLong("test-count"), help: "Test puzzles to generate.")
    var testCount: Int = 200
    @Option(name: .customLong("min-rating"), help: "Keep only puzzles rated at least this (solver backtracks).")
    var minRating: Int = 0
    @Option(help: "Stop removing givens at this many clues (default: minimal puzzles).")
    var clues: Int?
    @Option(help: ArgumentHelp("Blank cells drawn per puzzle from LO-HI (a mix of difficulties; minimal puzzles cap it near 60).", valueName: "LO-HI"))
    var blanks: String?
    @Option(help: "Augmented variants per training puzzle.")
    var augment: Int = 0
    @Option(help: "Random seed.")
    var seed: UInt64 = 0
    @Option(name: .customLong("from-csv"), help: "A Sudoku-Extreme CSV file (training rows), or a folder with train.csv and test.csv.")
    var fromCSV: String?
    @Option(name: .customLong("test-csv"), help: "Test rows, when --from-csv is a file.")
    var testCSV: String?
    @Option(help: "Keep this many random training rows of the CSV.")
    var subsample: Int?
    @Option(name: .customLong("test-subsample"), help: "Keep this many random test rows of the CSV.")
    var testSubsample: Int?

    func validate() throws {
        guard count > 0, testCount >= 0 else { throw ValidationError("--count must be positive and --test-count not negative.") }
        guard augment >= 0 else { throw ValidationError("--augment must not be negative; got \(augment).") }
        if let clues, !(17...81).contains(clues) {
            throw ValidationError("--clues must be between 17 and 81 (no 9×9 Sudoku with fewer than 17 clues has a unique solution); got \(clues).")
        }
        if fromCSV != nil && (clues != nil || blanks != nil) { throw ValidationError("--clues and --blanks apply to generated puzzles, not to --from-csv.") }
        if clues != nil && blanks != nil { throw ValidationError("give --clues or --blanks, not both.") }
        guard [4, 6, 9].contains(size) else { throw ValidationError("--size must be 4, 6 or 9; got \(size).") }
        if size != 9 && (fromCSV != nil || clues != nil || minRating != 0 || augment != 0) {
            throw ValidationError("--size \(size) takes --count, --test-count, --blanks and --seed only.")
        }
        _ = try blankRange()
        if let s = subsample, s <= 0 { throw ValidationError("--subsample must be positive; got \(s).") }
    }

    /// `--blanks LO-HI`, checked against the grid's size.
    func blankRange() throws -> ClosedRange<Int>? {
        try blanks.map { try parseBlankRange($0, least: 0, most: size == 9 ? 64 : size * size, example: size == 9 ? "4-60" : "6-18") }
    }

    func run() throws {
        try checkOutput(out, force: output.force)
        if size != 9 { return try runSmall() }
        let start = Date()
        var train: [(puzzle: Sudoku, solution: Sudoku)] = []
        var test: [(puzzle: Sudoku, solution: Sudoku)] = []
        var rng = SplitMix(seed: seed ^ 0x5EED_5EED)
        if let fromCSV {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: fromCSV, isDirectory: &isDirectory)
            let trainURL = isDirectory.boolValue ? URL(fileURLWithPath: fromCSV).appendingPathComponent("train.csv") : URL(fileURLWithPath: fromCSV)
            let testURL = isDirectory.boolValue ? URL(fileURLWithPath: fromCSV).appendingPathComponent("test.csv") : testCSV.map { URL(fileURLWithPath: $0) }
            func load(_ url: URL, keep: Int?) throws -> [(puzzle: Sudoku, solution: Sudoku)] {
                var rows = try SudokuRecord.readCSV(url).filter { $0.rating >= minRating }
                if let keep, keep < rows.count { rows = Array(rows.shuffled(using: &rng).prefix(keep)) }
                return rows.map { ($0.question, $0.answer) }
            }
            train = try load(trainURL, keep: subsample)
            if let testURL { test = try load(testURL, keep: testSubsample) }
            print("read \(train.count) training and \(test.count) test puzzles (rating ≥ \(minRating))")
        } else {
            let bar = ProgressBar("generating", total: count + testCount, unit: "puzzles")
            let generator = SudokuGenerator(minimumRating: minRating, targetClues: clues, clueRange: try blankRange().map { (81 - $0.upperBound)...(81 - $0.lowerBound) })
            let all = SudokuDataset.generate(count: count + testCount, generator: generator, seed: seed) { bar.update($0) }
            bar.finish()
            train = all[..<count].map { ($0.puzzle, $0.solution) }
            test = all[count...].map { ($0.puzzle, $0.solution) }
            let ratings = all.map(\.rating).sorted()
            print("ratings (solver backtracks): median \(ratings[ratings.count / 2]), max \(ratings.last!); clues: mean \(String(format: "%.1f", Double(all.map { 81 - $0.puzzle.blankCount }.reduce(0, +)) / Double(all.count)))")
        }
        let dataset = SudokuDataset.build(train: train, test: test, augmentations: augment, using: &rng)
        try dataset.write(to: URL(fileURLWithPath: out), force: output.force)
        printSummary(dataset, out: out, seconds: Date().timeIntervalSince(start))
    }
}

extension SudokuDataCommand {
    /// 4×4 / 6×6: generated on all cores, puzzle i from (seed, i); a test puzzle equal to a
    /// training one is replaced, so the test split is never seen in training.
    func runSmall() throws {
        let start = Date()
        let range = try blankRange() ?? 0...(size * size)
        let generator = SmallSudokuGenerator(size: size, blanks: range)
        let bar = ProgressBar("generating", total: count + testCount, unit: "puzzles")
        let (train, test) = SmallSudokuGenerator.generateSplits(generator, count: count, testCount: testCount, seed: seed) { bar.update($0) }
        bar.finish()
        let dataset = SudokuDataset.build(size: size, train: train, test: test)
        try dataset.write(to: URL(fileURLWithPath: out), force: output.force)
        printSummary(dataset, out: out, seconds: Date().timeIntervalSince(start))
    }
}

/// A `--blanks LO-HI` value (`hrm data sudoku`, `hrm demo`): least ≤ LO ≤ HI ≤ most.
func parseBlankRange(_ text: String, least: Int, most: Int, example: String) throws -> ClosedRange<Int> {
    let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
    guard parts.count == 2, let lo = parts[0], let hi = parts[1], least <= lo, lo <= hi, hi <= most else {
        throw ValidationError("--blanks must be LO-HI with \(least) ≤ LO ≤ HI ≤ \(most) (e.g. \(example)); got '\(text)'.")
    }
    return lo...hi
}

struct MazeDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "maze",
        abstract: "Generate square mazes with long shortest paths (the reference's Maze-Hard kind, or open ones), or read the reference's CSV.",
        discussion: """
            --kind perfect (the default, the reference's kind): mazes carved on the odd lattice, \
            one route between any two cells. --kind open: each interior cell a wall with \
            probability --density, so there are several routes; S and G are drawn until exactly \
            one route is shortest (so "exact" and "a shortest path" agree). --kind mixed: half \
            of each, alternating. S and G are drawn until the shortest path has at least \
            --min-path cells; the labels mark that path with 'o'. --augment adds the 8 rotations \
            and reflections of each training maze as one group.

            --from-csv reads the reference's Maze-Hard CSV instead (source,question,answer,rating; \
            900 characters of '# SGo' per maze): a folder with train.csv and test.csv (as the \
            reference's download has), or one file (then --test-csv for the test split).

            Examples:
              hrm data maze --out data/maze-30x30-hard --size 30 --min-path 110 --count 1000
              hrm data maze --out data/maze-15-mixed --size 15 --min-path 30 --kind mixed --augment
              hrm data maze --out data/maze-30x30-hard-1k --from-csv maze-30x30-hard-1k --augment
            """
    )

    @Option(help: "Output dataset folder (written whole at the end; nothing partial is left on failure).")
    var out: String
    @OptionGroup var output: ForceOption
    @Option(help: "Side of the square maze (at most 30).")
    var size: Int = 30
    @Option(name: .customLong("min-path"), help: "Minimum shortest-path length in cells (S and G included).")
    var minPath: Int = 110
    @Option(help: "perfect (one route between any two cells), open (random walls, one shortest route of several) or mixed (half each).")
    var kind: Kind = .perfect
    @Option(help: "Open mazes: the probability that an interior cell is a wall.")
    var density: Double = 0.4
    @Option(help: "Training mazes.")
    var count: Int = 1000
    @Option(name: .customLong("test-count"), help: "Test mazes (each redrawn until it is none of the training mazes, nor an earlier test maze, in any rotation or reflection).")
    var testCount: Int = 200
    @Flag(help: "Add the 8 dihedral variants of each training maze.")
    var augment = false
    @Option(help: "Random seed.")
    var seed: UInt64 = 0
    @Option(name: .customLong("from-csv"), help: "Read the reference's Maze-Hard CSV: a folder with train.csv and test.csv, or one training file.")
    var fromCSV: String?
    @Option(name: .customLong("test-csv"), help: "With --from-csv FILE: the test split's CSV.")
    var testCSV: String?
    @Option(name: .customLong("pad-to"), help: "Place each maze in the top-left of a grid of this side, PAD around it (for a model of that size; sizes can then be mixed in one dataset).")
    var padTo: Int?

    enum Kind: String, ExpressibleByArgument, CaseIterable { case perfect, open, mixed }

    func validate() throws {
        guard (5...30).contains(size) else { throw ValidationError("--size must be 5 to 30; got \(size).") }
        guard count > 0, testCount >= 0 else { throw ValidationError("--count must be positive and --test-count not negative.") }
        guard density > 0, density < 1 else { throw ValidationError("--density must be between 0 and 1 (exclusive); got \(density).") }
        if let padTo, !(size...30).contains(padTo) { throw ValidationError("--pad-to must be between --size (\(size)) and 30; got \(padTo).") }
        if fromCSV != nil { return }
        if testCSV != nil { throw ValidationError("--test-csv goes with --from-csv.") }
        let cells = kind == .perfect ? ((size - 1) / 2) * ((size - 1) / 2) * 2 - 1 : (size - 2) * (size - 2)
        guard minPath >= 2, minPath <= cells else {
            throw ValidationError("--min-path \(minPath) cannot be reached in a \(size)×\(size) \(kind.rawValue) maze (at most \(cells) cells).")
        }
    }

    func run() throws {
        try checkOutput(out, force: output.force)
        let start = Date()
        var mazes: [(puzzle: Maze, solution: Maze)] = []
        var trainCount = count
        if let fromCSV {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: fromCSV, isDirectory: &isDirectory)
            let folder = URL(fileURLWithPath: fromCSV)
            let trainURL = isDirectory.boolValue ? folder.appendingPathComponent("train.csv") : folder
            let testURL = isDirectory.boolValue ? folder.appendingPathComponent("test.csv") : testCSV.map { URL(fileURLWithPath: $0) }
            let train = try Maze.readCSV(trainURL).map { ($0.puzzle, $0.solution) }
            let test = try testURL.map { try Maze.readCSV($0).map { ($0.puzzle, $0.solution) } } ?? []
            guard let first = train.first else { throw CommandError("\(trainURL.path) holds no mazes.") }
            if let odd = (train + test).first(where: { $0.0.size != first.0.size }) {
                throw CommandError("the CSV mixes \(first.0.size)×\(first.0.size) and \(odd.0.size)×\(odd.0.size) mazes; a dataset has one size.")
            }
            print("read \(train.count) training and \(test.count) test mazes (\(first.0.size)×\(first.0.size))")
            mazes = train + test
            trainCount = train.count
        } else {
            let bar = ProgressBar("generating", total: count + testCount, unit: "mazes")
            let kinds: [MazeKind] = kind == .mixed ? [.perfect, .open] : [kind == .perfect ? .perfect : .open]
            do {
                mazes = try MazeDataset.generate(count: count + testCount, size: size, minimumPathLength: minPath, kinds: kinds,
                                                 density: density, seed: seed, heldOutFrom: count) { bar.update($0) }
            } catch let e as MazeGenerationError { throw CommandError(e.description) }
            bar.finish()
        }
        if let padTo, let big = mazes.first(where: { $0.puzzle.size > padTo }) {
            throw CommandError("--pad-to \(padTo) is smaller than the \(big.puzzle.size)×\(big.puzzle.size) mazes read.")
        }
        let dataset = MazeDataset.build(train: Array(mazes[..<trainCount]), test: Array(mazes[trainCount...]),
                                        dihedralAugmentation: augment, paddedTo: padTo)
        try dataset.write(to: URL(fileURLWithPath: out), force: output.force)
        let lengths = mazes.map { $0.puzzle.shortestPath()!.count }.sorted()
        print("shortest paths: min \(lengths.first!), median \(lengths[lengths.count / 2]), max \(lengths.last!) cells")
        printSummary(dataset, out: out, seconds: Date().timeIntervalSince(start))
    }
}

struct ShowDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print a dataset's examples as grids: the puzzle and its solution.",
        discussion: """
            Example:
              hrm data show data/sudoku-1k --split test --index 3 --count 2
            """
    )

    @Argument(help: "A dataset folder (with train/ and test/).")
    var directory: String
    @Option(help: "The split: train or test.")
    var split: String = "train"
    @Option(help: "First example to show.")
    var index: Int = 0
    @Option(help: "How many examples to show.")
    var count: Int = 1

    func validate() throws {
        guard ["train", "test"].contains(split) else { throw ValidationError("--split must be train or test; got '\(split)'.") }
        guard index >= 0, count >= 1 else { throw ValidationError("--index must not be negative and --count positive.") }
    }

    func run() throws {
        let dataset = try PuzzleDataset.read(from: URL(fileURLWithPath: directory), splits: [split])
        guard let s = dataset.splits[split] else { throw CommandError("\(directory) has no \(split) split.") }
        guard index < s.exampleCount else {
            throw CommandError("\(directory)/\(split) has \(s.exampleCount) examples; --index \(index) is past the end.")
        }
        print("\(directory)/\(split): \(s.exampleCount) examples, \(s.puzzleCount) puzzles, \(s.groupCount) groups; vocab \(s.metadata.vocabularySize), seq_len \(s.metadata.sequenceLength)")
        for e in index..<min(index + count, s.exampleCount) {
            let puzzle = s.puzzleIndices.lastIndex { $0 <= Int32(e) } ?? 0
            let id = Int(s.puzzleIdentifiers[min(puzzle, s.puzzleCount - 1)])
            let name = id < dataset.identifiers.count ? dataset.identifiers[id] : "#\(id)"
            print("\nexample \(e) (puzzle \(min(puzzle, s.puzzleCount - 1)), identifier \(id) \(name))")
            print(TokenGrid.render(input: Array(s.input(e)), label: Array(s.label(e)), metadata: s.metadata))
        }
    }
}

/// Renders token rows of the known datasets side by side.
enum TokenGrid {
    static func render(input: [UInt8], label: [UInt8], metadata: DatasetMetadata) -> String {
        let left: [String], right: [String]
        switch (metadata.vocabularySize, metadata.sequenceLength) {
        case (SudokuDataset.vocabularySize, 81):
            left = SudokuDataset.sudoku(tokens: input).description.split(separator: "\n").map(String.init)
            right = SudokuDataset.sudoku(tokens: label).description.split(separator: "\n").map(String.init)
        case (6, 16), (8, 36):
            let size = metadata.sequenceLength == 16 ? 4 : 6
            left = SudokuDataset.smallSudoku(tokens: input, size: size).description.split(separator: "\n").map(String.init)
            right = SudokuDataset.smallSudoku(tokens: label, size: size).description.split(separator: "\n").map(String.init)
        case (MazeDataset.vocabularySize, _):
            left = MazeDataset.maze(tokens: input).description.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            right = MazeDataset.maze(tokens: label).description.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        case (ARCEncoding.vocabularySize, ARCEncoding.sequenceLength):
            left = ARCEncoding.render(ARCEncoding.crop(input))
            right = ARCEncoding.render(ARCEncoding.crop(label))
        default:
            let side = Int(Double(input.count).squareRoot())
            let rows = side * side == input.count ? side : 1
            let columns = input.count / rows
            left = (0..<rows).map { r in input[(r * columns)..<((r + 1) * columns)].map { String($0, radix: 16) }.joined() }
            right = (0..<rows).map { r in label[(r * columns)..<((r + 1) * columns)].map { String($0, radix: 16) }.joined() }
        }
        let width = max(left.map(\.count).max() ?? 0, 6)
        var lines = ["puzzle".padding(toLength: width, withPad: " ", startingAt: 0) + "    solution"]
        for i in 0..<max(left.count, right.count) {
            let l = i < left.count ? left[i] : ""
            lines.append(l.padding(toLength: width, withPad: " ", startingAt: 0) + "    " + (i < right.count ? right[i] : ""))
        }
        return lines.joined(separator: "\n")
    }
}

/// Refuses an existing `--out` before any work is done (the write checks again).
func checkOutput(_ out: String, force: Bool) throws {
    try OutputTarget.checkFolder(URL(fileURLWithPath: out), layout: PuzzleDataset.layout, force: force)
}

/// The closing summary of a data command: counts, checksum, time.
func printSummary(_ dataset: PuzzleDataset, out: String, seconds: Double) {
    print("wrote \(out) in \(String(format: "%.1f", seconds)) s")
    for name in dataset.splits.keys.sorted() {
        let s = dataset.splits[name]!
        print("  \(name): \(s.groupCount) groups, \(s.puzzleCount) puzzles, \(s.exampleCount) examples; checksum \(String(s.checksum, radix: 16))")
    }
}

struct ARCDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arc",
        abstract: "Build an ARC dataset from task folders, with the reference's augmentations.",
        discussion: """
            Each folder given holds subfolders of task JSON files (ARC-AGI-1 and -2 have \
            training/ and evaluation/). Demonstration pairs train; the test pairs of tasks under \
            evaluation/ form the test split. Each task gains --augment distinct variants (colour \
            permutations keeping black, then one of the 8 rotations/reflections).

            Example:
              hrm data arc --out data/arc-1-aug-1000 --tasks ../shared/data/arc-agi-1 --augment 1000
            """
    )

    @Option(help: "Output dataset folder (written whole at the end; nothing partial is left on failure).")
    var out: String
    @OptionGroup var output: ForceOption
    @Option(parsing: .upToNextOption, help: "Folders of task subfolders (e.g. ../shared/data/arc-agi-1).")
    var tasks: [String]
    @Option(help: "Augmented variants per task.")
    var augment: Int = 1000
    @Option(help: "Random seed.")
    var seed: UInt64 = 42

    func validate() throws {
        guard !tasks.isEmpty else { throw ValidationError("--tasks needs at least one folder.") }
        guard augment >= 0 else { throw ValidationError("--augment must not be negative; got \(augment).") }
    }

    func run() throws {
        try checkOutput(out, force: output.force)
        let start = Date()
        let loaded = try ARCDataset.loadTasks(from: tasks.map { URL(fileURLWithPath: $0) })
        print("read \(loaded.count) tasks (\(loaded.filter(\.testToTestSplit).count) with test pairs for the test split)")
        var rng = SplitMix(seed: seed)
        let bar = ProgressBar("augmenting", total: loaded.count, unit: "tasks")
        // Streamed to disk task by task: the full 1000-augmentation build never sits in memory.
        try ARCDataset.write(tasks: loaded, augmentations: augment, using: &rng, to: URL(fileURLWithPath: out), force: output.force) { bar.update($0) }
        bar.finish()
        let dataset = try PuzzleDataset.read(from: URL(fileURLWithPath: out))
        print("identifiers: \(dataset.identifiers.count - 1) puzzle names")
        printSummary(dataset, out: out, seconds: Date().timeIntervalSince(start))
    }
}
