/// A 4×4 (boxes 2×2) or 6×6 (boxes 2×3) Sudoku: the same rule as the 9×9 one on a grid a
/// small model learns in minutes (the demo's live run). Cells row by row, 0 for a blank.
///
/// ```swift
/// var rng = SplitMix(seed: 1)
/// let (puzzle, solution) = SmallSudokuGenerator(size: 6, blanks: 12...20).generate(using: &rng)
/// print(puzzle)
/// ```
public struct SmallSudoku: Equatable, Hashable, Sendable, CustomStringConvertible {
    public static let sizes = [4, 6]
    public let size: Int
    public var cells: [UInt8]

    /// Box height × width for a side: 4 → 2×2, 6 → 2×3.
    public var boxRows: Int { 2 }
    public var boxColumns: Int { size / 2 }

    public init(size: Int, cells: [UInt8]) {
        precondition(Self.sizes.contains(size) && cells.count == size * size && cells.allSatisfy { $0 <= size },
                     "a \(size)×\(size) Sudoku has \(size * size) cells of 0–\(size)")
        self.size = size
        self.cells = cells
    }

    public static func empty(size: Int) -> SmallSudoku {
        SmallSudoku(size: size, cells: Array(repeating: 0, count: size * size))
    }

    public var blankCount: Int { cells.lazy.filter { $0 == 0 }.count }

    /// Whether `solution` is complete, consistent and keeps every given.
    public func isSolved(by solution: SmallSudoku) -> Bool {
        solution.size == size && solution.blankCount == 0 && solution.isConsistent
            && zip(cells, solution.cells).allSatisfy { $0 == 0 || $0 == $1 }
    }

    /// No row, column or box repeats a digit.
    public var isConsistent: Bool {
        SmallSudokuSolver.units(size: size).allSatisfy { unit in
            var seen = 0
            for i in unit where cells[i] != 0 {
                if seen & (1 << cells[i]) != 0 { return false }
                seen |= 1 << cells[i]
            }
            return true
        }
    }

    public var description: String {
        var lines: [String] = []
        for r in 0..<size {
            var row = ""
            for c in 0..<size {
                if c > 0 && c % boxColumns == 0 { row += "| " }
                let v = cells[r * size + c]
                row += (v == 0 ? "." : String(v)) + " "
            }
            row.removeLast()
            if r > 0 && r % boxRows == 0 { lines.append(String(row.map { $0 == "|" ? "+" : "-" })) }
            lines.append(row)
        }
        return lines.joined(separator: "\n")
    }
}

/// Counts solutions of small Sudokus by backtracking over bit masks (most constrained cell
/// first); fast enough for 6×6 uniqueness checks in the generator.
public struct SmallSudokuSolver: Sendable {
    /// Rows, columns and boxes as cell-index lists.
    public static func units(size: Int) -> [[Int]] {
        let (bh, bw) = (2, size / 2)
        var units: [[Int]] = []
        for r in 0..<size { units.append((0..<size).map { r * size + $0 }) }
        for c in 0..<size { units.append((0..<size).map { $0 * size + c }) }
        for br in stride(from: 0, to: size, by: bh) {
            for bc in stride(from: 0, to: size, by: bw) {
                units.append((0..<size).map { (br + $0 / bw) * size + bc + $0 % bw })
            }
        }
        return units
    }

    let size: Int
    let peers: [[Int]]

    public init(size: Int) {
        precondition(SmallSudoku.sizes.contains(size))
        self.size = size
        let units = Self.units(size: size)
        peers = (0..<size * size).map { cell in
            Array(Set(units.filter { $0.contains(cell) }.joined()).subtracting([cell])).sorted()
        }
    }

    /// Up to `limit` solutions; `order` shuffles the digits tried (for random grids).
    public func solve<G: RandomNumberGenerator>(_ puzzle: SmallSudoku, limit: Int, shuffledBy generator: inout G?) -> [SmallSudoku] {
        var cells = puzzle.cells
        var found: [SmallSudoku] = []
        let full = (1 << (size + 1)) - 2
        func candidates(_ i: Int) -> Int {
            var used = 0
            for p in peers[i] { used |= 1 << cells[p] }
            return full & ~used
        }
        func search() {
            var best = -1, bestMask = 0, bestCount = Int.max
            for i in cells.indices where cells[i] == 0 {
                let m = candidates(i)
                if m.nonzeroBitCount < bestCount { (best, bestMask, bestCount) = (i, m, m.nonzeroBitCount) }
                if bestCount == 0 { return }
            }
            if best < 0 {
                found.append(SmallSudoku(size: size, cells: cells))
                return
            }
            var digits = (1...size).filter { bestMask & (1 << $0) != 0 }
            if generator != nil { digits.shuffle(using: &generator!) }
            for d in digits where found.count < limit {
                cells[best] = UInt8(d)
                search()
            }
            cells[best] = 0
        }
        search()
        return found
    }

    public func solve(_ puzzle: SmallSudoku, limit: Int) -> [SmallSudoku] {
        var none: SplitMix? = nil
        return solve(puzzle, limit: limit, shuffledBy: &none)
    }
}

/// Generates small Sudokus with a unique solution: a random complete grid (the solver with a
/// digit order shuffled at every branch), then givens removed in random order while the
/// solution stays unique, until the drawn number of blanks (or no given can go).
public struct SmallSudokuGenerator: Sendable {
    public let size: Int
    public var blanks: ClosedRange<Int>

    public init(size: Int, blanks: ClosedRange<Int>) {
        precondition(SmallSudoku.sizes.contains(size))
        self.size = size
        self.blanks = blanks
    }

    public func generate<G: RandomNumberGenerator>(using generator: inout G) -> (puzzle: SmallSudoku, solution: SmallSudoku) {
        let solver = SmallSudokuSolver(size: size)
        var shuffler: G? = generator
        let solution = solver.solve(.empty(size: size), limit: 1, shuffledBy: &shuffler)[0]
        generator = shuffler!
        var puzzle = solution
        let target = Int.random(in: blanks, using: &generator)
        var removed = 0
        for cell in Array(0..<size * size).shuffled(using: &generator) where removed < target {
            let saved = puzzle.cells[cell]
            puzzle.cells[cell] = 0
            if solver.solve(puzzle, limit: 2).count == 1 { removed += 1 } else { puzzle.cells[cell] = saved }
        }
        return (puzzle, solution)
    }
}

extension SmallSudokuGenerator {
    /// `count` training and `testCount` test puzzles on all cores; puzzle i depends only on
    /// (`seed`, i). A test puzzle whose givens equal a training puzzle's is redrawn, so the test
    /// split is never seen in training. `progress` gets the number finished so far.
    public static func generateSplits(_ generator: SmallSudokuGenerator, count: Int, testCount: Int, seed: UInt64,
                                      progress: @escaping @Sendable (Int) -> Void = { _ in })
        -> (train: [(puzzle: SmallSudoku, solution: SmallSudoku)], test: [(puzzle: SmallSudoku, solution: SmallSudoku)])
    {
        let results = SudokuDataset.generateInParallel(count: count + testCount, seed: seed, progress: progress) { rng in
            generator.generate(using: &rng)
        }
        let train = Array(results[..<count])
        let seen = Set(train.map(\.puzzle))
        var rng = SplitMix(seed: seed ^ 0x7E57)
        let test = results[count...].map { pair -> (puzzle: SmallSudoku, solution: SmallSudoku) in
            var pair = pair
            for _ in 0..<1000 where seen.contains(pair.puzzle) { pair = generator.generate(using: &rng) }
            return pair
        }
        return (train, test)
    }
}

extension SudokuDataset {
    /// The token row of a small Sudoku (blank → 1, digit d → d + 1; vocabulary size + 2).
    public static func tokens(_ s: SmallSudoku) -> [UInt8] { s.cells.map { $0 + 1 } }

    /// The small Sudoku a token row encodes (PAD reads as blank, out-of-range tokens clamp).
    public static func smallSudoku(tokens: [UInt8], size: Int) -> SmallSudoku {
        SmallSudoku(size: size, cells: tokens.map { $0 <= 1 ? 0 : min($0 - 1, UInt8(size)) })
    }

    /// A dataset of small Sudokus: every puzzle its own group, one puzzle identifier (0).
    public static func build(size: Int, train: [(puzzle: SmallSudoku, solution: SmallSudoku)],
                             test: [(puzzle: SmallSudoku, solution: SmallSudoku)]) -> PuzzleDataset {
        func split(_ pairs: [(puzzle: SmallSudoku, solution: SmallSudoku)]) -> DatasetSplit {
            var builder = DatasetSplitBuilder(sequenceLength: size * size)
            builder.addSingletons(pairs.map { (tokens($0.puzzle), tokens($0.solution)) })
            return builder.build(vocabularySize: size + 2, puzzleIdentifierCount: 1)
        }
        return PuzzleDataset(splits: ["train": split(train), "test": split(test)])
    }
}
