import Foundation

/// Maze datasets in the reference's format (spec §10.3, §12.2): tokens PAD 0, `#` 1, ` ` 2,
/// `S` 3, `G` 4, `o` 5; inputs are the maze, labels the maze with its path; all cells
/// supervised; one puzzle-embedding id; optionally the 8 dihedral variants per training maze.
public enum MazeDataset {
    public static let vocabularySize = 6

    public static func tokens(_ m: Maze) -> [UInt8] { m.cells.map(\.rawValue) }

    /// Whether a dataset's sizes are a maze dataset's: this vocabulary and a square grid.
    public static func isMazeShaped(_ metadata: DatasetMetadata) -> Bool {
        let side = Int(Double(metadata.sequenceLength).squareRoot())
        return metadata.vocabularySize == vocabularySize && side * side == metadata.sequenceLength
    }

    /// A maze's tokens in the top-left corner of a `side × side` grid, PAD (0) around it (PAD
    /// labels are ignored by the loss), so one model serves every size up to `side`.
    public static func tokens(_ m: Maze, paddedTo side: Int) -> [UInt8] {
        precondition(side >= m.size, "a \(m.size)×\(m.size) maze does not fit \(side)×\(side)")
        var out = [UInt8](repeating: 0, count: side * side)
        for r in 0..<m.size {
            for c in 0..<m.size { out[r * side + c] = m.cells[r * m.size + c].rawValue }
        }
        return out
    }

    /// The maze a token row encodes (PAD reads as a wall); with `size`, the top-left
    /// `size × size` corner of a padded row.
    public static func maze(tokens: [UInt8], size: Int? = nil) -> Maze {
        let n = Int(Double(tokens.count).squareRoot())
        let m = min(size ?? n, n)
        let cells = (0..<(m * m)).map { i in Maze.Cell(rawValue: tokens[(i / m) * n + i % m]) ?? .wall }
        return Maze(size: m, cells: cells)
    }

    /// How a predicted token row compares with its example: exact, and a valid shortest path.
    /// PAD cells of the input (a padded maze's surroundings) are walls whatever was predicted
    /// there; nil when the label is not a maze with one S and one G.
    public static func check(input: [UInt8], label: [UInt8], prediction: [UInt8]) -> Maze.Check? {
        guard input.count == label.count, label.count == prediction.count,
              label.filter({ $0 == Maze.Cell.start.rawValue }).count == 1,
              label.filter({ $0 == Maze.Cell.goal.rawValue }).count == 1 else { return nil }
        let masked = zip(input, prediction).map { $0 == 0 ? 0 : $1 }
        return maze(tokens: label).check(maze(tokens: masked))
    }

    /// `count` mazes drawn from `seed`, the i-th of kind `kinds[i % kinds.count]` (`[.perfect,
    /// .open]` is `hrm data maze --kind mixed`: even mazes perfect, odd ones open), each with a
    /// shortest path of at least `minimumPathLength` cells. The same arguments give the same
    /// mazes: `hrm data maze`, the demo's fresh mazes and the tests draw them here.
    ///
    /// With `heldOutFrom: k`, every maze from index k on (a test split) is redrawn until none of
    /// its 8 dihedral views is an earlier maze: no test maze is a training maze in any view, nor
    /// another test maze. Small sizes have few mazes (without this, 9 of 500 9×9 test mazes were
    /// views of some of 20,000 training mazes).
    /// - Throws: `MazeGenerationError` when an open maze's settings make such paths too rare, or
    ///   the size has too few distinct mazes left for the held-out ones.
    public static func generate(count: Int, size: Int, minimumPathLength: Int, kinds: [MazeKind] = [.perfect],
                                density: Double = 0.4, seed: UInt64, heldOutFrom: Int? = nil,
                                progress: ((Int) -> Void)? = nil) throws -> [(puzzle: Maze, solution: Maze)] {
        precondition(!kinds.isEmpty, "at least one kind of maze")
        var rng = SplitMix(seed: seed)
        var mazes: [(puzzle: Maze, solution: Maze)] = []
        mazes.reserveCapacity(count)
        // FNV-1a of each earlier puzzle's tokens (8 bytes a maze, and the same on every run; a
        // collision only costs a redraw).
        var seen = Set<UInt64>()
        func key(_ cells: [UInt8]) -> UInt64 {
            var h = FNV1a()
            cells.withUnsafeBytes { h.combine($0) }
            return h.value
        }
        let redraws = 1000
        for i in 0..<count {
            let generator = MazeGenerator(size: size, minimumPathLength: minimumPathLength, kind: kinds[i % kinds.count], density: density)
            var tries = 0
            while true {
                guard let maze = generator.generate(using: &rng, attempts: 20_000) else {
                    throw MazeGenerationError.tooRare(size: size, density: density, minimumPathLength: minimumPathLength, attempts: 20_000)
                }
                guard let k = heldOutFrom else { mazes.append(maze); break }
                // Only the puzzle as drawn is remembered; a held-out maze is checked in all its views.
                if i < k || !(0..<8).contains(where: { seen.contains(key(Dihedral.apply($0, to: tokens(maze.puzzle), rows: size, columns: size).cells)) }) {
                    seen.insert(key(tokens(maze.puzzle)))
                    mazes.append(maze)
                    break
                }
                tries += 1
                if tries == redraws {
                    throw MazeGenerationError.tooFewDistinct(size: size, minimumPathLength: minimumPathLength, index: i, redraws: redraws)
                }
            }
            progress?(i + 1)
        }
        return mazes
    }

    /// A dataset of mazes; `paddedTo` places mazes of any smaller size in a grid of that side
    /// (a curriculum over sizes in one dataset), else all mazes must have one size.
    public static func build(train: [(puzzle: Maze, solution: Maze)], test: [(puzzle: Maze, solution: Maze)],
                             dihedralAugmentation: Bool = false, paddedTo: Int? = nil) -> PuzzleDataset {
        let n = paddedTo ?? (train.first ?? test.first)?.puzzle.size ?? 30
        precondition((train + test).allSatisfy { paddedTo == nil ? $0.puzzle.size == n : $0.puzzle.size <= n },
                     "mazes of several sizes need paddedTo")
        func padded(_ cells: [UInt8], _ m: Int) -> [UInt8] {
            m == n ? cells : tokens(Maze(size: m, cells: cells.map { Maze.Cell(rawValue: $0)! }), paddedTo: n)
        }
        var trainBuilder = DatasetSplitBuilder(sequenceLength: n * n)
        for (puzzle, solution) in train {
            let m = puzzle.size
            for t in dihedralAugmentation ? Array(0..<8) : [0] {
                trainBuilder.addPuzzle(identifier: 0, examples: [(
                    padded(Dihedral.apply(t, to: tokens(puzzle), rows: m, columns: m).cells, m),
                    padded(Dihedral.apply(t, to: tokens(solution), rows: m, columns: m).cells, m))])
            }
            trainBuilder.endGroup()
        }
        var testBuilder = DatasetSplitBuilder(sequenceLength: n * n)
        testBuilder.addSingletons(test.map { (tokens($0.puzzle, paddedTo: n), tokens($0.solution, paddedTo: n)) })
        return PuzzleDataset(splits: [
            "train": trainBuilder.build(vocabularySize: vocabularySize, puzzleIdentifierCount: 1),
            "test": testBuilder.build(vocabularySize: vocabularySize, puzzleIdentifierCount: 1),
        ])
    }
}

/// Why `MazeDataset.generate` could not draw the mazes asked for.
public enum MazeGenerationError: Error, CustomStringConvertible, Equatable {
    /// No open maze of these settings had a unique shortest path long enough in `attempts` draws.
    case tooRare(size: Int, density: Double, minimumPathLength: Int, attempts: Int)
    /// `redraws` draws in a row gave only mazes already drawn (in some view) for held-out maze `index`.
    case tooFewDistinct(size: Int, minimumPathLength: Int, index: Int, redraws: Int)

    public var description: String {
        switch self {
        case let .tooRare(size, density, minimumPathLength, attempts):
            return "no \(size)×\(size) open maze at density \(density) had a unique shortest path of at least \(minimumPathLength) cells in \(attempts) tries; lower --min-path or change --density."
        case let .tooFewDistinct(size, minimumPathLength, index, redraws):
            return "test maze \(index + 1): \(redraws) draws in a row gave \(size)×\(size) mazes (paths ≥ \(minimumPathLength) cells) already drawn in some rotation or reflection; this size has too few distinct mazes for --count and --test-count: lower them, or raise --size."
        }
    }
}

/// The eight dihedral transforms of a grid (spec §12.4), with their inverses.
public enum Dihedral {
    /// `inverse[t]` undoes transform `t`.
    public static let inverse = [0, 3, 2, 1, 4, 5, 6, 7]

    /// Transform `t` of an `rows × columns` row-major grid; the result is a `Grid` (its shape
    /// swaps for transposing transforms 1, 3, 6, 7).
    public static func apply(_ t: Int, to cells: [UInt8], rows h: Int, columns w: Int) -> Grid {
        precondition((0..<8).contains(t), "dihedral transform \(t) is not in 0…7")
        let swaps = [1, 3, 6, 7].contains(t)
        let (outRows, outColumns) = swaps ? (w, h) : (h, w)
        var out = [UInt8](repeating: 0, count: cells.count)
        for i in 0..<outRows {
            for j in 0..<outColumns {
                let (r, c): (Int, Int)
                switch t {
                case 0: (r, c) = (i, j)
                case 1: (r, c) = (j, w - 1 - i)
                case 2: (r, c) = (h - 1 - i, w - 1 - j)
                case 3: (r, c) = (h - 1 - j, i)
                case 4: (r, c) = (i, w - 1 - j)
                case 5: (r, c) = (h - 1 - i, j)
                case 6: (r, c) = (j, i)
                default: (r, c) = (h - 1 - j, w - 1 - i)
                }
                out[i * outColumns + j] = cells[r * w + c]
            }
        }
        return Grid(rows: outRows, columns: outColumns, cells: out)
    }

    public static func apply(_ t: Int, to grid: Grid) -> Grid {
        apply(t, to: grid.cells, rows: grid.rows, columns: grid.columns)
    }
}
