import Foundation

/// One input/output pair of an ARC task.
public struct ARCPair: Equatable, Hashable, Sendable {
    public var input: Grid
    public var output: Grid
    public init(input: Grid, output: Grid) {
        self.input = input
        self.output = output
    }
}

/// An ARC task (ARC-AGI-1 or -2 JSON): demonstration pairs (`train`) and test pairs.
public struct ARCTask: Equatable, Sendable {
    public var name: String
    public var train: [ARCPair]
    public var test: [ARCPair]

    public init(name: String, train: [ARCPair], test: [ARCPair]) {
        self.name = name
        self.train = train
        self.test = test
    }

    /// Reads a task file: `{"train": [{"input": [[…]], "output": [[…]]}, …], "test": […]}`.
    /// - Throws: `PuzzleFormatError` naming the file and the field (e.g. `train[2].output`).
    public static func load(_ url: URL) throws -> ARCTask {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw PuzzleFormatError.unreadable(source: url.path, reason: error.localizedDescription)
        }
        return try ARCTask(parsing: data, source: url.path, name: url.deletingPathExtension().lastPathComponent)
    }

    /// Parses a task file's bytes (`source` names it in errors; `name` unless the JSON has one).
    public init(parsing data: Data, source: String, name defaultName: String) throws {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw PuzzleFormatError.badJSON(source: source, reason: "not a JSON object with 'train' and 'test' lists")
        }
        func pairs(_ key: String) throws -> [ARCPair] {
            guard let list = object[key] as? [Any] else {
                throw PuzzleFormatError.badJSON(source: source, reason: "field '\(key)' must be a list of {input, output} pairs")
            }
            return try list.enumerated().map { i, item in
                guard let pair = item as? [String: Any] else {
                    throw PuzzleFormatError.badJSON(source: source, reason: "\(key)[\(i)] must be an object with 'input' and 'output'")
                }
                return ARCPair(input: try Self.grid(pair["input"], field: "\(key)[\(i)].input", source: source),
                               output: try Self.grid(pair["output"], field: "\(key)[\(i)].output", source: source))
            }
        }
        self.init(name: (object["name"] as? String) ?? defaultName, train: try pairs("train"), test: try pairs("test"))
    }

    static func grid(_ value: Any?, field: String, source: String) throws -> Grid {
        guard let rows = value as? [[Any]], !rows.isEmpty, !rows[0].isEmpty else {
            throw PuzzleFormatError.badJSON(source: source, reason: "\(field) must be a non-empty list of rows")
        }
        let h = rows.count, w = rows[0].count
        guard h <= 30, w <= 30 else { throw PuzzleFormatError.gridTooLarge(source: source, field: field, rows: h, columns: w) }
        var cells: [UInt8] = []
        for (r, row) in rows.enumerated() {
            guard row.count == w else {
                throw PuzzleFormatError.badJSON(source: source, reason: "\(field) row \(r) has \(row.count) cells; row 0 has \(w)")
            }
            for (c, v) in row.enumerated() {
                guard let n = v as? Int, (0...9).contains(n) else {
                    throw PuzzleFormatError.badJSON(source: source, reason: "\(field)[\(r)][\(c)] is \(v); colours are whole numbers 0–9")
                }
                cells.append(UInt8(n))
            }
        }
        return Grid(rows: h, columns: w, cells: cells)
    }

    /// Every `*.json` task in `folder`, sorted by file name.
    public static func loadFolder(_ folder: URL) throws -> [ARCTask] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder.path) } catch {
            throw PuzzleFormatError.unreadable(source: folder.path, reason: "not a readable folder of task files")
        }
        return try names.filter { $0.hasSuffix(".json") }.sorted().map { try load(folder.appendingPathComponent($0)) }
    }
}

/// One of the reference's ARC augmentations (spec §12.3): a colour permutation that keeps 0,
/// applied first, then a dihedral transform.
public struct ARCAugmentation: Equatable, Hashable, Sendable {
    public var transform: Int
    /// `colourMap[c]` replaces colour c; `colourMap[0] == 0`.
    public var colourMap: [UInt8]

    public static let identity = ARCAugmentation(transform: 0, colourMap: Array(0...9))

    public init(transform: Int, colourMap: [UInt8]) {
        precondition((0..<8).contains(transform) && colourMap.count == 10 && colourMap[0] == 0
                     && Set(colourMap) == Set(0...9), "not an ARC augmentation")
        self.transform = transform
        self.colourMap = colourMap
    }

    public init<G: RandomNumberGenerator>(using g: inout G) {
        transform = Int.random(in: 0..<8, using: &g)
        colourMap = [0] + Array(UInt8(1)...9).shuffled(using: &g)
    }

    /// The reference's variant name: `<task>_t<k>_<c0c1…c9>`.
    public func name(for task: String) -> String {
        "\(task)_t\(transform)_" + colourMap.map(String.init).joined()
    }

    /// Parses a variant name back into the task and its augmentation (nil for an original).
    public static func parse(_ name: String) -> (task: String, augmentation: ARCAugmentation)? {
        let parts = name.split(separator: "_")
        guard parts.count >= 3, let t = parts[parts.count - 2].dropFirst().first.flatMap({ Int(String($0)) }),
              parts[parts.count - 2].hasPrefix("t"), parts.last!.count == 10
        else { return nil }
        let map = parts.last!.compactMap { $0.wholeNumberValue.map(UInt8.init) }
        guard map.count == 10, map[0] == 0, Set(map) == Set(0...9), (0..<8).contains(t) else { return nil }
        return (parts.dropLast(2).joined(separator: "_"), ARCAugmentation(transform: t, colourMap: map))
    }

    public func apply(_ grid: Grid) -> Grid {
        Dihedral.apply(transform, to: Grid(rows: grid.rows, columns: grid.columns, cells: grid.cells.map { colourMap[Int($0)] }))
    }

    /// Undoes `apply`: the inverse transform, then the inverse colour map.
    public func invert(_ grid: Grid) -> Grid {
        var inverseMap = [UInt8](repeating: 0, count: 10)
        for (c, m) in colourMap.enumerated() { inverseMap[Int(m)] = UInt8(c) }
        let g = Dihedral.apply(Dihedral.inverse[transform], to: grid)
        return Grid(rows: g.rows, columns: g.columns, cells: g.cells.map { inverseMap[Int($0)] })
    }

    public func apply(_ task: ARCTask) -> ARCTask {
        ARCTask(name: name(for: task.name),
                train: task.train.map { ARCPair(input: apply($0.input), output: apply($0.output)) },
                test: task.test.map { ARCPair(input: apply($0.input), output: apply($0.output)) })
    }
}

/// The reference's 30×30 token encoding of ARC grids (spec §10.3, §12.3, §13.2): PAD 0,
/// EOS 1 (a row under the grid and a column right of it), colour c → c + 2.
public enum ARCEncoding {
    public static let vocabularySize = 12
    public static let side = 30
    public static let sequenceLength = 900

    /// The 900 tokens of `grid` placed at (`row`, `column`).
    public static func encode(_ grid: Grid, row r0: Int = 0, column c0: Int = 0) -> [UInt8] {
        var canvas = [UInt8](repeating: 0, count: sequenceLength)
        for r in 0..<grid.rows {
            for c in 0..<grid.columns { canvas[(r0 + r) * side + c0 + c] = grid[r, c] + 2 }
        }
        if r0 + grid.rows < side {
            for c in 0..<grid.columns { canvas[(r0 + grid.rows) * side + c0 + c] = 1 }
        }
        if c0 + grid.columns < side {
            for r in 0..<grid.rows { canvas[(r0 + r) * side + c0 + grid.columns] = 1 }
        }
        return canvas
    }

    /// The grid a predicted canvas describes, read from the top-left as the reference's ARC
    /// evaluation does: the largest rectangle of colour tokens whose rows stop at the first
    /// non-colour cell (ties: the first found).
    public static func crop(_ tokens: [UInt8]) -> Grid {
        precondition(tokens.count == sequenceLength, "an ARC canvas has 900 tokens")
        var best = (rows: 0, columns: 0, area: 0)
        var width = side
        for r in 1...side where width > 0 {
            for c in 1...width where !(2...11).contains(tokens[(r - 1) * side + c - 1]) {
                width = c - 1
                break
            }
            if r * width > best.area { best = (r, width, r * width) }
        }
        var cells: [UInt8] = []
        for r in 0..<best.rows {
            for c in 0..<best.columns { cells.append(tokens[r * side + c] - 2) }
        }
        return Grid(rows: best.rows, columns: best.columns, cells: cells)
    }

    /// Rows of a grid as colour digits (empty grid: one line saying so).
    public static func render(_ grid: Grid) -> [String] {
        grid.rows == 0 ? ["(empty)"] : grid.description.split(separator: "\n").map(String.init)
    }
}
