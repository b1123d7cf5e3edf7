/// Maze predictions scored as issue #21 reports them: exact (the stored path), a valid shortest
/// path (any of them), overall and against the length of the shortest path (cells, S and G
/// included, as `hrm data maze --min-path` counts them).
///
/// ```swift
/// var score = MazeScore()
/// score.add(input: x, label: y, prediction: p)      // token rows of one maze each
/// score.buckets.forEach { print($0.lowest, $0.count, $0.shortestAccuracy) }
/// ```
public struct MazeScore: Codable, Equatable, Sendable {
    /// The predictions of mazes whose shortest path has `lowest … highest` cells.
    public struct Bucket: Codable, Equatable, Sendable {
        public var lowest: Int
        /// nil: no upper end.
        public var highest: Int?
        public var count: Int
        public var exact: Int
        public var shortest: Int

        public var exactAccuracy: Double { count == 0 ? 0 : Double(exact) / Double(count) }
        public var shortestAccuracy: Double { count == 0 ? 0 : Double(shortest) / Double(count) }
        /// "30–49" or "150+".
        public var label: String { highest.map { "\(lowest)–\($0)" } ?? "\(lowest)+" }

        enum CodingKeys: String, CodingKey { case lowest = "path_min", highest = "path_max", count, exact, shortest }
    }

    /// Where the buckets start: short paths finely, then Maze-Hard's ≥ 110 on its own.
    public static let bucketStarts = [1, 10, 20, 30, 50, 80, 110, 150, 200]

    /// Every bucket, empty ones included, in order.
    public private(set) var allBuckets: [Bucket] = zip(MazeScore.bucketStarts, MazeScore.bucketStarts.dropFirst().map { Optional($0 - 1) } + [nil])
        .map { Bucket(lowest: $0, highest: $1, count: 0, exact: 0, shortest: 0) }

    public init() {}

    /// The buckets that hold predictions.
    public var buckets: [Bucket] { allBuckets.filter { $0.count > 0 } }
    public var count: Int { allBuckets.reduce(0) { $0 + $1.count } }
    /// The share of predictions that mark a shortest S→G path.
    public var shortestAccuracy: Double {
        count == 0 ? 0 : Double(allBuckets.reduce(0) { $0 + $1.shortest }) / Double(count)
    }

    /// Scores one prediction (token rows as `MazeDataset` writes them); false when the label is
    /// not a maze with one S and one G (nothing is counted).
    @discardableResult
    public mutating func add(input: [UInt8], label: [UInt8], prediction: [UInt8]) -> Bool {
        guard let check = MazeDataset.check(input: input, label: label, prediction: prediction) else { return false }
        // The stored solution marks one shortest path: its cells plus S and G.
        let length = label.filter { $0 == Maze.Cell.path.rawValue }.count + 2
        let k = (MazeScore.bucketStarts.lastIndex { $0 <= length }) ?? 0
        allBuckets[k].count += 1
        if check.isExact { allBuckets[k].exact += 1 }
        if check.isValidShortest { allBuckets[k].shortest += 1 }
        return true
    }

    enum CodingKeys: String, CodingKey { case allBuckets = "by_path_length" }
}
