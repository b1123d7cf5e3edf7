import Foundation

/// The reference's ARC scoring (spec §13.2): predictions on every augmented version of a test
/// input are mapped back to the original frame, equal answers vote, and a task counts as solved
/// at pass@K when, for every test input, the true output is among the K best-voted answers
/// (ranked by votes, then by mean halt confidence).
public struct ARCScorer {
    public struct Score: Codable, Equatable, Sendable {
        /// pass@K for K in `ks`, as fractions of tasks.
        public var passAt: [String: Double]
        public var tasks: Int
        public var testInputs: Int
    }

    struct Candidate {
        var grid: Grid
        var votes: Int
        var confidenceSum: Double
    }

    /// The names of the dataset's puzzle identifiers (`identifiers.json`).
    let identifiers: [String]
    /// task → test-input key (the original-frame input) → answer → votes.
    private var candidates: [String: [Grid: [Grid: Candidate]]] = [:]
    /// task → test-input key → true output (from the un-augmented rows).
    private var truth: [String: [Grid: Grid]] = [:]
    /// task → test inputs in the order they first appear (the submission's order).
    private var order: [String: [Grid]] = [:]
    private var taskOrder: [String] = []

    public init(identifiers: [String]) { self.identifiers = identifiers }

    /// Adds one evaluated example: its 900-token input, label and prediction, and sigmoid(q_halt).
    public mutating func add(identifier: Int32, input: [UInt8], label: [UInt8], prediction: [UInt8],
                             haltProbability: Double) {
        guard identifier > 0, Int(identifier) < identifiers.count else { return }  // padding rows
        let name = identifiers[Int(identifier)]
        let (task, augmentation) = ARCAugmentation.parse(name) ?? (name, ARCAugmentation.identity)
        let key = augmentation.invert(ARCEncoding.crop(input))
        let answer = augmentation.invert(ARCEncoding.crop(prediction))
        if candidates[task] == nil { taskOrder.append(task) }
        if augmentation == .identity {
            truth[task, default: [:]][key] = ARCEncoding.crop(label)
            if !(order[task] ?? []).contains(key) { order[task, default: []].append(key) }
        }
        var forInput = candidates[task, default: [:]][key, default: [:]]
        var c = forInput[answer] ?? Candidate(grid: answer, votes: 0, confidenceSum: 0)
        c.votes += 1
        c.confidenceSum += haltProbability
        forInput[answer] = c
        candidates[task, default: [:]][key] = forInput
    }

    /// The answers for a test input, best first.
    func ranked(_ task: String, _ key: Grid) -> [Grid] {
        (candidates[task]?[key] ?? [:]).values.sorted {
            ($0.votes, $0.confidenceSum / Double($0.votes)) > ($1.votes, $1.confidenceSum / Double($1.votes))
        }.map(\.grid)
    }

    /// pass@K over the tasks whose original test inputs were seen.
    public func score(ks: [Int] = [1, 2, 10, 100, 1000]) -> Score {
        let tasks = taskOrder.filter { !(order[$0] ?? []).isEmpty }
        var passAt: [String: Double] = [:]
        for k in ks {
            let solved = tasks.filter { task in
                order[task]!.allSatisfy { key in ranked(task, key).prefix(k).contains(truth[task]![key]!) }
            }.count
            passAt["pass@\(k)"] = Double(solved) / Double(max(tasks.count, 1))
        }
        return Score(passAt: passAt, tasks: tasks.count, testInputs: tasks.map { order[$0]!.count }.reduce(0, +))
    }

    /// Kaggle's ARC submission: for each task, one `{attempt_1, attempt_2}` per test input.
    public func submissionJSON() throws -> Data {
        var object: [String: Any] = [:]
        for task in taskOrder where order[task] != nil {
            object[task] = order[task]!.map { key -> [String: Any] in
                let top = ranked(task, key)
                func rows(_ g: Grid?) -> [[Int]] {
                    guard let g, g.rows > 0 else { return [[0]] }
                    return (0..<g.rows).map { r in (0..<g.columns).map { Int(g[r, $0]) } }
                }
                return ["attempt_1": rows(top.first), "attempt_2": rows(top.dropFirst().first ?? top.first)]
            }
        }
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    /// Whether `url` holds a submission of the form `submissionJSON` writes (task ids mapping to
    /// lists of `{attempt_1, attempt_2}`): what `--force` may replace.
    public static func isSubmission(_ url: URL) -> Bool {
        guard let data = FileManager.default.contents(atPath: url.path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
        return object.values.allSatisfy { value in
            (value as? [Any])?.allSatisfy { item in
                guard let d = item as? [String: Any] else { return false }
                return Set(d.keys) == ["attempt_1", "attempt_2"]
            } ?? false
        }
    }
}
