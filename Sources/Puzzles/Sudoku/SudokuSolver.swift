/// A fast classical Sudoku solver: bitmask candidates, naked and hidden singles, and a
/// depth-first search that branches on the cell with the fewest candidates.
///
/// It finds solutions up to a limit (2 proves uniqueness) and counts its **guesses** (branch
/// choices) and **backtracks** (guesses that failed). The backtrack count is the difficulty
/// rating used here (the Sudoku-Extreme CSV's `rating` is tdoku's count of the same kind; the
/// numbers differ from solver to solver, since they depend on how much the solver infers).
///
/// Not thread-safe: it reuses its buffers; make one per thread.
public final class SudokuSolver {
    public struct Result: Sendable {
        /// Solutions found, at most the limit asked for.
        public var solutions: [Sudoku]
        public var guesses: Int
        public var backtracks: Int
    }

    /// The 27 units (rows, columns, boxes), 9 cells each.
    public static let units: [[Int]] = {
        var u: [[Int]] = []
        for r in 0..<9 { u.append((0..<9).map { r * 9 + $0 }) }
        for c in 0..<9 { u.append((0..<9).map { $0 * 9 + c }) }
        for b in 0..<9 {
            let r0 = (b / 3) * 3, c0 = (b % 3) * 3
            u.append((0..<9).map { (r0 + $0 / 3) * 9 + c0 + $0 % 3 })
        }
        return u
    }()

    /// For each cell, its 20 peers, flattened `[81 × 20]`.
    static let peers: [Int] = {
        var p: [Int] = []
        for i in 0..<81 {
            var set = Set<Int>()
            for u in units where u.contains(i) { set.formUnion(u) }
            set.remove(i)
            p += set.sorted()
        }
        return p
    }()
    static let flatUnits: [Int] = units.flatMap { $0 }

    private let depthCapacity = 82
    /// Per search level: candidate masks (bits 1–9) and values of the 81 cells.
    private let candidates: UnsafeMutablePointer<UInt16>
    private let values: UnsafeMutablePointer<UInt8>
    private var order: [UInt8] = Array(1...9)
    /// Copies of `peers` and `flatUnits` as raw buffers: the hot loops then read plain memory
    /// instead of a lazily initialised global array with bounds checks.
    private let peerTable: UnsafeMutablePointer<UInt8>
    private let unitTable: UnsafeMutablePointer<UInt8>

    public init() {
        candidates = .allocate(capacity: 81 * depthCapacity)
        values = .allocate(capacity: 81 * depthCapacity)
        peerTable = .allocate(capacity: 81 * 20)
        unitTable = .allocate(capacity: 27 * 9)
        for (i, p) in SudokuSolver.peers.enumerated() { peerTable[i] = UInt8(p) }
        for (i, u) in SudokuSolver.flatUnits.enumerated() { unitTable[i] = UInt8(u) }
    }

    deinit {
        candidates.deallocate()
        values.deallocate()
        peerTable.deallocate()
        unitTable.deallocate()
    }

    /// Solves `puzzle`, stopping after `limit` solutions.
    public func solve(_ puzzle: Sudoku, limit: Int = 1) -> Result {
        var result = Result(solutions: [], guesses: 0, backtracks: 0)
        guard puzzle.isConsistent else { return result }
        let cand = candidates, val = values
        for i in 0..<81 { cand[i] = 0x3FE; val[i] = 0 }
        var ok = true
        for i in 0..<81 where puzzle.cells[i] != 0 && ok {
            ok = assign(level: 0, cell: i, digit: puzzle.cells[i])
        }
        if ok && propagate(level: 0) { search(level: 0, limit: limit, into: &result) }
        return result
    }

    /// Solves with the digit order of each branch shuffled by `generator` (for generating grids).
    public func solve<G: RandomNumberGenerator>(_ puzzle: Sudoku, limit: Int, shuffledBy generator: inout G) -> Result {
        order.shuffle(using: &generator)
        defer { order = Array(1...9) }
        return solve(puzzle, limit: limit)
    }

    // MARK: - Search

    private func search(level: Int, limit: Int, into result: inout Result) {
        let cand = candidates + level * 81, val = values + level * 81
        // The unfilled cell with the fewest candidates.
        var best = -1, bestCount = 10
        for i in 0..<81 where val[i] == 0 {
            let n = cand[i].nonzeroBitCount
            if n < bestCount {
                best = i
                bestCount = n
                if n == 2 { break }
            }
        }
        if best < 0 {
            result.solutions.append(Sudoku(cells: Array(UnsafeBufferPointer(start: val, count: 81))))
            return
        }
        let mask = cand[best]
        let digits = order
        for digit in digits where mask & (1 << UInt16(digit)) != 0 {
            if result.solutions.count >= limit { return }
            result.guesses += 1
            let next = level + 1
            (candidates + next * 81).update(from: cand, count: 81)
            (values + next * 81).update(from: val, count: 81)
            if assign(level: next, cell: best, digit: digit) && propagate(level: next) {
                let before = result.solutions.count
                search(level: next, limit: limit, into: &result)
                if result.solutions.count == before { result.backtracks += 1 }
            } else {
                result.backtracks += 1
            }
        }
    }

    /// Places `digit` in `cell` and removes it from the peers; false on a contradiction.
    /// Cells left with a single candidate are filled by `propagate`.
    @inline(__always)
    private func assign(level: Int, cell: Int, digit: UInt8) -> Bool {
        let cand = candidates + level * 81, val = values + level * 81
        let bit = UInt16(1) << UInt16(digit)
        guard cand[cell] & bit != 0 else { return false }
        val[cell] = digit
        cand[cell] = 0
        let base = cell * 20
        for k in 0..<20 {
            let p = Int(peerTable[base + k])
            if val[p] == 0 {
                cand[p] &= ~bit
                if cand[p] == 0 { return false }
            } else if val[p] == digit {
                return false
            }
        }
        return true
    }

    /// Naked and hidden singles until nothing changes; false on a contradiction.
    private func propagate(level: Int) -> Bool {
        let cand = candidates + level * 81, val = values + level * 81
        var changed = true
        while changed {
            changed = false
            for i in 0..<81 where val[i] == 0 && cand[i].nonzeroBitCount == 1 {
                if !assign(level: level, cell: i, digit: UInt8(cand[i].trailingZeroBitCount)) { return false }
                changed = true
            }
            for u in 0..<27 {
                var seenOnce: UInt16 = 0, seenTwice: UInt16 = 0, placed: UInt16 = 0
                for k in 0..<9 {
                    let i = Int(unitTable[u * 9 + k])
                    if val[i] != 0 {
                        placed |= 1 << UInt16(val[i])
                    } else {
                        seenTwice |= seenOnce & cand[i]
                        seenOnce |= cand[i]
                    }
                }
                if (seenOnce | placed) != 0x3FE { return false }  // a digit has no place left
                var singles = seenOnce & ~seenTwice & ~placed
                while singles != 0 {
                    let digit = UInt8(singles.trailingZeroBitCount)
                    singles &= singles - 1
                    for k in 0..<9 {
                        let i = Int(unitTable[u * 9 + k])
                        if val[i] == 0 && cand[i] & (1 << UInt16(digit)) != 0 {
                            if !assign(level: level, cell: i, digit: digit) { return false }
                            changed = true
                            break
                        }
                    }
                }
            }
        }
        return true
    }
}
