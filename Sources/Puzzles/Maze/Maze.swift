import Foundation

/// A square maze in the reference's alphabet (spec §10.3): `#` wall, space open, `S` start,
/// `G` goal, `o` a cell of the path (in solutions). Tokens: PAD 0, `#` 1, ` ` 2, `S` 3, `G` 4, `o` 5.
///
/// ```swift
/// let maze = try Maze(parsing: text)
/// if let path = maze.shortestPath() { print(maze.marking(path)) }
/// ```
public struct Maze: Equatable, Hashable, Sendable, CustomStringConvertible {
    public enum Cell: UInt8, Sendable {
        case wall = 1, open = 2, start = 3, goal = 4, path = 5

        public var character: Character {
            switch self {
            case .wall: return "#"
            case .open: return " "
            case .start: return "S"
            case .goal: return "G"
            case .path: return "o"
            }
        }

        public init?(_ c: Character) {
            switch c {
            case "#": self = .wall
            case " ": self = .open
            case "S": self = .start
            case "G": self = .goal
            case "o": self = .path
            default: return nil
            }
        }
    }

    public let size: Int
    /// `size × size` cells, row-major.
    public var cells: [Cell]

    public init(size: Int, cells: [Cell]) {
        precondition(cells.count == size * size, "\(cells.count) cells for a \(size)×\(size) maze")
        self.size = size
        self.cells = cells
    }

    /// Parses `size` lines of exactly `size` characters from `# SGo` (ragged rows are refused,
    /// not padded: a short row could be a wall as well as open), or one line of size² characters.
    /// - Throws: `PuzzleFormatError` naming the source, line and column.
    public init(parsing text: String, source: String = "argument") throws {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
        while let last = lines.last, last.trimmingCharacters(in: .whitespaces).isEmpty, lines.count > 1 {
            lines.removeLast()
        }
        if lines.count == 1 {
            let n = Int(Double(lines[0].count).squareRoot())
            guard n * n == lines[0].count, n > 1 else {
                throw PuzzleFormatError.wrongLength(source: source, line: 1, found: lines[0].count,
                                                    expected: "a square number of cells (e.g. 900 for 30×30), or one line per row")
            }
            let row = Array(lines[0])
            lines = (0..<n).map { String(row[($0 * n)..<(($0 + 1) * n)]) }
        }
        let n = lines.count
        guard n >= 2, n <= 30 else {
            throw PuzzleFormatError.wrongLength(source: source, line: 0, found: n, expected: "2 to 30 rows")
        }
        var cells: [Cell] = []
        for (r, line) in lines.enumerated() {
            guard line.count == n else {
                throw PuzzleFormatError.wrongLength(source: source, line: r + 1, found: line.count,
                                                    expected: "\(n), as many as the maze has rows (a square maze; every row the same length, trailing spaces included)")
            }
            for (c, ch) in line.enumerated() {
                guard let cell = Cell(ch) else {
                    throw PuzzleFormatError.badCharacter(source: source, line: r + 1, column: c + 1, found: ch,
                                                         expected: "'#' wall, ' ' open, 'S' start, 'G' goal or 'o' path")
                }
                cells.append(cell)
            }
        }
        let starts = cells.filter { $0 == .start }.count, goals = cells.filter { $0 == .goal }.count
        guard starts == 1, goals == 1 else {
            throw PuzzleFormatError.contradiction(source: source,
                                                  reason: "a maze needs exactly one 'S' and one 'G' (found \(starts) and \(goals))")
        }
        self.init(size: n, cells: cells)
        guard shortestPath() != nil else {
            let (s, g) = (start, goal)
            throw PuzzleFormatError.contradiction(source: source,
                reason: "S (line \(s / n + 1), column \(s % n + 1)) cannot reach G (line \(g / n + 1), column \(g % n + 1)): walls close every route; expected a maze with a path")
        }
    }

    public var start: Int { cells.firstIndex(of: .start)! }
    public var goal: Int { cells.firstIndex(of: .goal)! }

    /// The maze with every path mark removed (the puzzle a solution was drawn on).
    public var unsolved: Maze {
        Maze(size: size, cells: cells.map { $0 == .path ? .open : $0 })
    }

    /// Cells of a shortest path from S to G, both included, by breadth-first search; nil when
    /// G cannot be reached. Neighbours are tried up, left, right, down.
    public func shortestPath() -> [Int]? {
        let n = size
        var previous = [Int](repeating: -1, count: n * n)
        var queue = [start]
        previous[start] = start
        var head = 0
        while head < queue.count {
            let i = queue[head]
            head += 1
            if i == goal { break }
            let (r, c) = (i / n, i % n)
            for (dr, dc) in [(-1, 0), (0, -1), (0, 1), (1, 0)] {
                let (nr, nc) = (r + dr, c + dc)
                guard nr >= 0, nr < n, nc >= 0, nc < n else { continue }
                let j = nr * n + nc
                if previous[j] < 0 && cells[j] != .wall {
                    previous[j] = i
                    queue.append(j)
                }
            }
        }
        guard previous[goal] >= 0 else { return nil }
        var path = [goal]
        while path.last! != start { path.append(previous[path.last!]) }
        return path.reversed()
    }

    /// How many distinct shortest S→G paths there are, counting up to `cap` (0 when G cannot be
    /// reached): a maze whose count is 1 has one right answer.
    public func shortestPathCount(cap: Int = 2) -> Int {
        shortestPathCounts(from: start, cap: cap).ways[goal]
    }

    /// Whether S can reach G by more than one route: some step of the shortest path can be
    /// walled off and G is still reachable.
    public var hasAlternativeRoute: Bool {
        guard let path = shortestPath(), path.count > 1 else { return false }
        for (a, b) in zip(path, path.dropFirst()) {
            if reachable(avoiding: (a, b)) { return true }
        }
        return false
    }

    /// Whether G can be reached from S without the step between cells `edge.0` and `edge.1`.
    private func reachable(avoiding edge: (Int, Int)) -> Bool {
        let n = size
        var seen = [Bool](repeating: false, count: n * n)
        var stack = [start]
        seen[start] = true
        while let i = stack.popLast() {
            if i == goal { return true }
            let (r, c) = (i / n, i % n)
            for (dr, dc) in [(-1, 0), (0, -1), (0, 1), (1, 0)] {
                let (nr, nc) = (r + dr, c + dc)
                guard nr >= 0, nr < n, nc >= 0, nc < n else { continue }
                let j = nr * n + nc
                if (i, j) == edge || (j, i) == edge { continue }
                if !seen[j] && cells[j] != .wall {
                    seen[j] = true
                    stack.append(j)
                }
            }
        }
        return false
    }

    /// From cell `origin`: every cell's distance in steps (-1 when unreachable) and its number of
    /// shortest paths, counted up to `cap`.
    func shortestPathCounts(from origin: Int, cap: Int) -> (distance: [Int], ways: [Int]) {
        let n = size
        var distance = [Int](repeating: -1, count: n * n)
        var ways = [Int](repeating: 0, count: n * n)
        var queue = [origin]
        distance[origin] = 0
        ways[origin] = 1
        var head = 0
        while head < queue.count {
            let i = queue[head]
            head += 1
            let (r, c) = (i / n, i % n)
            for (dr, dc) in [(-1, 0), (0, -1), (0, 1), (1, 0)] {
                let (nr, nc) = (r + dr, c + dc)
                guard nr >= 0, nr < n, nc >= 0, nc < n else { continue }
                let j = nr * n + nc
                guard cells[j] != .wall else { continue }
                if distance[j] < 0 {
                    distance[j] = distance[i] + 1
                    queue.append(j)
                }
                if distance[j] == distance[i] + 1 { ways[j] = min(cap, ways[j] + ways[i]) }
            }
        }
        return (distance, ways)
    }

    /// Reads the reference's Maze-Hard CSV (`source,question,answer,rating`; question and
    /// answer are n² characters of `# SGo`, 900 for 30×30): each answer must mark a shortest
    /// path of its question.
    /// - Throws: `PuzzleFormatError` naming the file and line.
    public static func parseCSV(_ text: String, source: String) throws -> [(puzzle: Maze, solution: Maze, rating: Int)] {
        var records: [(puzzle: Maze, solution: Maze, rating: Int)] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = index + 1
            let row = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if row.isEmpty || (line == 1 && row.hasPrefix("source")) { continue }
            let fields = row.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == 4 else {
                throw PuzzleFormatError.badRow(source: source, line: line, reason: "\(fields.count) fields; expected 4 (source,question,answer,rating)")
            }
            func maze(_ field: Int, _ name: String) throws -> Maze {
                do { return try Maze(parsing: String(fields[field]), source: source) } catch let e as PuzzleFormatError {
                    // The maze parser's own "source, line 1: " prefix, dropped: the CSV line is named.
                    let text = e.description
                    let detail = text.hasPrefix(source) ? String(text[(text.range(of: ": ")?.upperBound ?? text.startIndex)...]) : text
                    throw PuzzleFormatError.badRow(source: source, line: line, reason: "the \(name): \(detail.hasSuffix(".") ? String(detail.dropLast()) : detail)")
                }
            }
            let question = try maze(1, "question"), answer = try maze(2, "answer")
            guard let rating = Int(fields[3].trimmingCharacters(in: .whitespaces)) else {
                throw PuzzleFormatError.badRow(source: source, line: line, reason: "rating '\(fields[3])' is not a whole number")
            }
            guard question.unsolved == question, answer.check(answer).isValidShortest, answer.unsolved == question else {
                throw PuzzleFormatError.badRow(source: source, line: line, reason: "the answer does not mark a shortest path of the question")
            }
            records.append((question, answer, rating))
        }
        return records
    }

    public static func readCSV(_ url: URL) throws -> [(puzzle: Maze, solution: Maze, rating: Int)] {
        try parseCSV(try readText(url), source: url.path)
    }

    /// The maze with `path`'s cells (except S and G) marked `o`.
    public func marking(_ path: [Int]) -> Maze {
        var m = unsolved
        for i in path where m.cells[i] == .open { m.cells[i] = .path }
        return m
    }

    /// How a predicted solution compares with the stored one.
    public struct Check: Equatable, Sendable {
        /// Every cell equals the stored solution (the reference's exact accuracy).
        public var isExact: Bool
        /// The marked cells form a path from S to G through open cells, as short as possible.
        public var isValidShortest: Bool

        public init(isExact: Bool, isValidShortest: Bool) {
            self.isExact = isExact
            self.isValidShortest = isValidShortest
        }
    }

    /// Compares `predicted` (same walls expected) with `self`, the stored solution.
    public func check(_ predicted: Maze) -> Check {
        let exact = predicted == self
        guard predicted.size == size, predicted.unsolved == unsolved, let best = unsolved.shortestPath() else {
            return Check(isExact: exact, isValidShortest: false)
        }
        // The marked cells plus S and G must number exactly a shortest path's cells, and S must
        // reach G through them: then they are exactly one shortest path (no path through a
        // subset of cells can be shorter than the shortest, nor use more cells than there are).
        let allowed = Set(predicted.cells.indices.filter { predicted.cells[$0] == .path || $0 == goal })
        guard allowed.count + 1 == best.count else { return Check(isExact: exact, isValidShortest: false) }
        let n = size
        var seen: Set<Int> = [start]
        var frontier = [start]
        while let i = frontier.popLast() {
            let (r, c) = (i / n, i % n)
            for (dr, dc) in [(-1, 0), (0, -1), (0, 1), (1, 0)] {
                let (nr, nc) = (r + dr, c + dc)
                guard nr >= 0, nr < n, nc >= 0, nc < n else { continue }
                let j = nr * n + nc
                if allowed.contains(j) && seen.insert(j).inserted { frontier.append(j) }
            }
        }
        return Check(isExact: exact, isValidShortest: seen.contains(goal))
    }

    /// The maze as text, one line per row.
    public var description: String {
        (0..<size).map { r in String(cells[(r * size)..<((r + 1) * size)].map(\.character)) }
            .joined(separator: "\n")
    }
}

/// The kinds of maze `MazeGenerator` draws.
public enum MazeKind: String, CaseIterable, Sendable {
    /// Carved on the odd lattice: one route between any two cells (the reference's Maze-Hard).
    case perfect
    /// Random walls at a density: several routes, of which exactly one is shortest.
    case open
}

/// Generates square mazes whose shortest S→G path is at least `minimumPathLength` cells long.
///
/// A perfect maze (one path between any two cells) is carved by a randomised depth-first search
/// on the odd lattice inside a wall border; `extraOpenings` walls are then knocked through to add
/// loops; S and G are drawn until their shortest path is long enough. An open maze has each
/// interior cell a wall with probability `density`, and S and G drawn until their shortest path
/// is long enough, the only one of its length, and not the only route.
public struct MazeGenerator {
    public var size: Int
    public var minimumPathLength: Int
    public var extraOpenings: Int
    public var kind: MazeKind
    public var density: Double

    public init(size: Int = 30, minimumPathLength: Int = 110, extraOpenings: Int = 0, kind: MazeKind = .perfect, density: Double = 0.4) {
        self.size = size
        self.minimumPathLength = minimumPathLength
        self.extraOpenings = extraOpenings
        self.kind = kind
        self.density = density
    }

    /// A puzzle (S, G, walls) and its solution (the shortest path marked); nil when `attempts`
    /// walls-and-endpoints draws found none (an open maze whose settings make long unique
    /// paths too rare).
    public func generate<G: RandomNumberGenerator>(using g: inout G, attempts: Int) -> (puzzle: Maze, solution: Maze)? {
        guard kind == .open else { return generate(using: &g) }
        let n = size
        for _ in 0..<attempts {
            var cells = [Maze.Cell](repeating: .wall, count: n * n)
            for r in 1..<(n - 1) {
                for c in 1..<(n - 1) where Double.random(in: 0..<1, using: &g) >= density { cells[r * n + c] = .open }
            }
            let open = cells.indices.filter { cells[$0] == .open }
            guard open.count >= 2 else { continue }
            let layout = Maze(size: n, cells: cells)
            for _ in 0..<8 {
                // One search from S finds every G whose shortest path is long enough and unique.
                let s = open.randomElement(using: &g)!
                let (distance, ways) = layout.shortestPathCounts(from: s, cap: 2)
                let goals = open.filter { distance[$0] + 1 >= minimumPathLength && ways[$0] == 1 }
                guard let goal = goals.randomElement(using: &g) else { continue }
                var maze = layout
                maze.cells[s] = .start
                maze.cells[goal] = .goal
                guard maze.hasAlternativeRoute else { continue }
                let path = maze.shortestPath()!
                return (maze, maze.marking(path))
            }
        }
        return nil
    }

    /// A perfect maze: a puzzle (S, G, walls) and its solution (the shortest path marked).
    public func generate<G: RandomNumberGenerator>(using g: inout G) -> (puzzle: Maze, solution: Maze) {
        precondition(kind == .perfect, "open mazes are drawn by generate(using:attempts:)")
        let n = size
        while true {
            var cells = [Maze.Cell](repeating: .wall, count: n * n)
            let lattice = Array(stride(from: 1, to: n - 1, by: 2))
            let m = lattice.count
            var visited = [Bool](repeating: false, count: m * m)
            var stack = [(Int.random(in: 0..<m, using: &g), Int.random(in: 0..<m, using: &g))]
            visited[stack[0].0 * m + stack[0].1] = true
            cells[lattice[stack[0].0] * n + lattice[stack[0].1]] = .open
            while let (r, c) = stack.last {
                let options = [(-1, 0), (1, 0), (0, -1), (0, 1)].filter { dr, dc in
                    let (nr, nc) = (r + dr, c + dc)
                    return nr >= 0 && nr < m && nc >= 0 && nc < m && !visited[nr * m + nc]
                }
                guard let (dr, dc) = options.randomElement(using: &g) else { stack.removeLast(); continue }
                let (nr, nc) = (r + dr, c + dc)
                visited[nr * m + nc] = true
                cells[lattice[nr] * n + lattice[nc]] = .open
                cells[(lattice[r] + lattice[nr]) / 2 * n + (lattice[c] + lattice[nc]) / 2] = .open
                stack.append((nr, nc))
            }
            var opened = 0, tries = 0
            while opened < extraOpenings && tries < 100 * (extraOpenings + 1) {
                tries += 1
                let r = Int.random(in: 1..<(n - 1), using: &g), c = Int.random(in: 1..<(n - 1), using: &g)
                let horizontal = cells[r * n + c - 1] != .wall && cells[r * n + c + 1] != .wall
                let vertical = cells[(r - 1) * n + c] != .wall && cells[(r + 1) * n + c] != .wall
                if cells[r * n + c] == .wall && (horizontal != vertical) {
                    cells[r * n + c] = .open
                    opened += 1
                }
            }
            let open = cells.indices.filter { cells[$0] == .open }
            for _ in 0..<20 {
                let s = open.randomElement(using: &g)!, goal = open.randomElement(using: &g)!
                guard s != goal else { continue }
                var maze = Maze(size: n, cells: cells)
                maze.cells[s] = .start
                maze.cells[goal] = .goal
                if let path = maze.shortestPath(), path.count >= minimumPathLength {
                    return (maze, maze.marking(path))
                }
            }
        }
    }
}
