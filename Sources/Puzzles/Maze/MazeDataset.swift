import Foundation

/// Maze datasets in the reference's format (spec §10.3, §12.2): tokens PAD 0, `#` 1, ` ` 2,
/// `S` 3, `G` 4, `o` 5; inputs are the maze, labels the maze with its path; all cells
/// supervised; one puzzle-embedding id; optionally the 8 dihedral variants per training maze.
public enum MazeDataset {
    public static let vocabularySize = 6

    public static func tokens(_ m: Maze) -> [UInt8] { m.cells.map(\.rawValue) }

    /// The maze a token row encodes (PAD reads as a wall).
    public static func maze(tokens: [UInt8]) -> Maze {
        let n = Int(Double(tokens.count).squareRoot())
        return Maze(size: n, cells: tokens.map { Maze.Cell(rawValue: $0) ?? .wall })
    }

    public static func build(train: [(puzzle: Maze, solution: Maze)], test: [(puzzle: Maze, solution: Maze)],
                             dihedralAugmentation: Bool = false) -> PuzzleDataset {
        let n = (train.first ?? test.first)?.puzzle.size ?? 30
        var trainBuilder = DatasetSplitBuilder(sequenceLength: n * n)
        for (puzzle, solution) in train {
            for t in dihedralAugmentation ? Array(0..<8) : [0] {
                trainBuilder.addPuzzle(identifier: 0, examples: [(
                    Dihedral.apply(t, to: tokens(puzzle), rows: n, columns: n).cells,
                    Dihedral.apply(t, to: tokens(solution), rows: n, columns: n).cells)])
            }
            trainBuilder.endGroup()
        }
        var testBuilder = DatasetSplitBuilder(sequenceLength: n * n)
        testBuilder.addSingletons(test.map { (tokens($0.puzzle), tokens($0.solution)) })
        return PuzzleDataset(splits: [
            "train": trainBuilder.build(vocabularySize: vocabularySize, puzzleIdentifierCount: 1),
            "test": testBuilder.build(vocabularySize: vocabularySize, puzzleIdentifierCount: 1),
        ])
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
