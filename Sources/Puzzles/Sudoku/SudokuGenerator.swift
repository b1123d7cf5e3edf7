/// Generates Sudokus with a unique solution, verified by `SudokuSolver`.
///
/// A random complete grid is drawn (see `randomGrid`), then
/// givens are removed in random order while the solution stays unique. Removing until no given
/// can go gives a *minimal* puzzle; `targetClues` stops earlier, and `clueRange` draws that stop
/// per puzzle (a mix of difficulties: a puzzle that turns minimal first keeps more clues). A
/// puzzle is kept when its rating (the solver's backtracks) is at least `minimumRating`.
public struct SudokuGenerator {
    public var minimumRating: Int
    /// Stop removing at this many givens (nil: remove until minimal).
    public var targetClues: Int?
    /// Draw the stop uniformly from this range for each puzzle (overrides `targetClues`).
    public var clueRange: ClosedRange<Int>?

    public init(minimumRating: Int = 0, targetClues: Int? = nil, clueRange: ClosedRange<Int>? = nil) {
        self.minimumRating = minimumRating
        self.targetClues = targetClues
        self.clueRange = clueRange
    }

    /// A random complete grid: the three diagonal boxes (which share no row or column) get
    /// independent random permutations, the solver completes them with a shuffled digit order,
    /// and a random relabelling / transpose / band and row shuffle mixes the result. (The solver
    /// alone on an empty grid gives patterned grids: its first band is a cyclic shift.)
    public static func randomGrid<G: RandomNumberGenerator>(using generator: inout G,
                                                             solver: SudokuSolver = SudokuSolver()) -> Sudoku {
        var seed = Sudoku(cells: Array(repeating: 0, count: 81))
        for box in [0, 4, 8] {
            let (top, left) = (box / 3 * 3, box % 3 * 3)
            for (k, digit) in (UInt8(1)...9).shuffled(using: &generator).enumerated() {
                seed[top + k / 3, left + k % 3] = digit
            }
        }
        let grid = solver.solve(seed, limit: 1, shuffledBy: &generator).solutions[0]
        return SudokuAugmentation(using: &generator).apply(grid)
    }

    /// One puzzle and its solution; tries until the rating is reached.
    public func generate<G: RandomNumberGenerator>(using generator: inout G,
                                                   solver: SudokuSolver = SudokuSolver())
        -> (puzzle: Sudoku, solution: Sudoku, rating: Int)
    {
        while true {
            let solution = Self.randomGrid(using: &generator, solver: solver)
            var puzzle = solution
            var clues = 81
            let target = clueRange.map { Int.random(in: $0, using: &generator) } ?? targetClues
            for cell in Array(0..<81).shuffled(using: &generator) {
                if let target, clues <= target { break }
                let saved = puzzle.cells[cell]
                puzzle.cells[cell] = 0
                if solver.solve(puzzle, limit: 2).solutions.count != 1 {
                    puzzle.cells[cell] = saved
                } else {
                    clues -= 1
                }
            }
            let rating = solver.solve(puzzle, limit: 2).backtracks
            if rating >= minimumRating { return (puzzle, solution, rating) }
        }
    }
}

/// The reference's Sudoku augmentation (spec §12.1): a digit relabelling, an optional
/// transpose, a shuffle of the bands and of the rows within each band, and the same for stacks
/// and columns. Applied identically to a puzzle and its solution, it maps valid pairs to valid
/// pairs.
public struct SudokuAugmentation: Equatable, Sendable {
    /// `digitMap[d]` replaces digit d (index 0 stays 0).
    public var digitMap: [UInt8]
    public var transpose: Bool
    /// Row r of the result is row `rowOrder[r]` of the (transposed) input; same for columns.
    public var rowOrder: [Int]
    public var columnOrder: [Int]

    /// A random augmentation, drawing in the reference's order.
    public init<G: RandomNumberGenerator>(using g: inout G) {
        digitMap = [0] + Array(UInt8(1)...9).shuffled(using: &g)
        transpose = Double.random(in: 0..<1, using: &g) < 0.5
        let bands = Array(0..<3).shuffled(using: &g)
        rowOrder = bands.flatMap { b in Array(0..<3).shuffled(using: &g).map { 3 * b + $0 } }
        let stacks = Array(0..<3).shuffled(using: &g)
        columnOrder = stacks.flatMap { s in Array(0..<3).shuffled(using: &g).map { 3 * s + $0 } }
    }

    public init(digitMap: [UInt8], transpose: Bool, rowOrder: [Int], columnOrder: [Int]) {
        precondition(digitMap.count == 10 && digitMap[0] == 0 && Set(digitMap).count == 10,
                     "digitMap must fix 0 and permute 1–9")
        precondition(rowOrder.sorted() == Array(0..<9) && columnOrder.sorted() == Array(0..<9),
                     "row and column orders must be permutations of 0–8")
        self.digitMap = digitMap
        self.transpose = transpose
        self.rowOrder = rowOrder
        self.columnOrder = columnOrder
    }

    /// The augmentation that changes nothing.
    public static let identity = SudokuAugmentation(digitMap: Array(0...9), transpose: false,
                                                    rowOrder: Array(0..<9), columnOrder: Array(0..<9))

    public func apply(_ s: Sudoku) -> Sudoku {
        var out = [UInt8](repeating: 0, count: 81)
        for r in 0..<9 {
            for c in 0..<9 {
                let (sr, sc) = (rowOrder[r], columnOrder[c])
                let v = transpose ? s[sc, sr] : s[sr, sc]
                out[r * 9 + c] = digitMap[Int(v)]
            }
        }
        return Sudoku(cells: out)
    }

    /// The grid `apply` was given, from what it returned: `invert(apply(s)) == s`. Maps a
    /// model's answer on an augmented puzzle back to the original's cells and digits.
    public func invert(_ s: Sudoku) -> Sudoku {
        var inverseDigit = [UInt8](repeating: 0, count: 10)
        for d in 0...9 { inverseDigit[Int(digitMap[d])] = UInt8(d) }
        var out = [UInt8](repeating: 0, count: 81)
        for r in 0..<9 {
            for c in 0..<9 {
                let (sr, sc) = (rowOrder[r], columnOrder[c])
                out[transpose ? sc * 9 + sr : sr * 9 + sc] = inverseDigit[Int(s[r, c])]
            }
        }
        return Sudoku(cells: out)
    }
}
