import Foundation

/// ARC datasets built as the reference's `build_arc_dataset.py` builds them (spec §12.3).
///
/// For every folder given, each subfolder's tasks are read; a task's demonstration pairs go to
/// `train`, its test pairs to `test` when the subfolder is named `evaluation`, else to `train`.
/// Each task keeps its original and gains up to `augmentations` distinct variants (colour map,
/// then dihedral transform). Identifiers number the task names from 1 (0 is `<blank>`). Training
/// examples are placed at random offsets on the 30×30 canvas, except one kept at the top-left per
/// puzzle; test examples stay at the top-left.
public enum ARCDataset {
    public static let retryFactor = 5

    /// Tasks by split assignment: `(task, toTestSplit)` for every subfolder of every folder.
    public static func loadTasks(from folders: [URL]) throws -> [(task: ARCTask, testToTestSplit: Bool)] {
        var out: [(ARCTask, Bool)] = []
        for folder in folders {
            let subfolders: [String]
            do {
                subfolders = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().filter {
                    var isDirectory: ObjCBool = false
                    return FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path, isDirectory: &isDirectory)
                        && isDirectory.boolValue
                }
            } catch {
                throw PuzzleFormatError.unreadable(source: folder.path, reason: "not a readable folder")
            }
            guard !subfolders.isEmpty else {
                throw PuzzleFormatError.unreadable(source: folder.path,
                                                   reason: "no subfolders of task files (expected e.g. training/ and evaluation/)")
            }
            for sub in subfolders {
                for task in try ARCTask.loadFolder(folder.appendingPathComponent(sub)) {
                    out.append((task, sub == "evaluation"))
                }
            }
        }
        return out
    }

    /// A hash of all pairs of a task (both splits), to tell variants apart.
    static func fingerprint(_ task: ARCTask) -> [Int] {
        (task.train + task.test).map { $0.hashValue }.sorted()
    }

    /// Builds the dataset in memory; `progress` receives the number of tasks done.
    public static func build<G: RandomNumberGenerator>(
        tasks: [(task: ARCTask, testToTestSplit: Bool)], augmentations: Int, using g: inout G,
        progress: (Int) -> Void = { _ in }
    ) -> PuzzleDataset {
        var train = DatasetSplitBuilder(sequenceLength: ARCEncoding.sequenceLength)
        var test = DatasetSplitBuilder(sequenceLength: ARCEncoding.sequenceLength)
        let identifiers = serialize(tasks: tasks, augmentations: augmentations, using: &g, train: &train, test: &test, progress: progress)
        return PuzzleDataset(identifiers: identifiers, splits: [
            "train": train.build(vocabularySize: ARCEncoding.vocabularySize, puzzleIdentifierCount: identifiers.count),
            "test": test.build(vocabularySize: ARCEncoding.vocabularySize, puzzleIdentifierCount: identifiers.count),
        ])
    }

    /// Builds the dataset straight into the folder `directory`, one task's variants at a time,
    /// so memory holds one task's augmentations and the index arrays, not the tokens (ARC-AGI-1
    /// at 1000 augmentations is about 6 GB of them). The same tasks, count and generator give
    /// the same bytes as `build`.
    public static func write<G: RandomNumberGenerator>(
        tasks: [(task: ARCTask, testToTestSplit: Bool)], augmentations: Int, using g: inout G,
        to directory: URL, force: Bool = false, progress: (Int) -> Void = { _ in }
    ) throws {
        try PuzzleDataset.stream(to: directory, force: force, splits: ["train", "test"], sequenceLength: ARCEncoding.sequenceLength) { builders in
            var train = builders["train"]!, test = builders["test"]!
            let identifiers = serialize(tasks: tasks, augmentations: augmentations, using: &g, train: &train, test: &test, progress: progress)
            builders = ["train": train, "test": test]
            return (identifiers, ARCEncoding.vocabularySize, 0)
        }
    }

    /// Draws each task's variants (the original first, distinct by content) and serialises them
    /// at once, translating training examples (except one kept per puzzle); identifiers are
    /// given in first-seen order (every task's variants, in task order). Returns the identifiers.
    static func serialize<G: RandomNumberGenerator>(
        tasks: [(task: ARCTask, testToTestSplit: Bool)], augmentations: Int, using g: inout G,
        train: inout DatasetSplitBuilder, test: inout DatasetSplitBuilder, progress: (Int) -> Void
    ) -> [String] {
        var identifiers = ["<blank>"]
        var idOf: [String: Int32] = [:]
        func identifier(_ name: String) -> Int32 {
            if let id = idOf[name] { return id }
            identifiers.append(name)
            idOf[name] = Int32(identifiers.count - 1)
            return idOf[name]!
        }
        func add(_ pairs: [ARCPair], id: Int32, translate: Bool, to builder: inout DatasetSplitBuilder) {
            guard !pairs.isEmpty else { return }
            let keep = Int.random(in: 0..<pairs.count, using: &g)
            let examples = pairs.enumerated().map { e, pair -> (input: [UInt8], label: [UInt8]) in
                var (r0, c0) = (0, 0)
                if translate && e != keep {
                    r0 = Int.random(in: 0...(ARCEncoding.side - max(pair.input.rows, pair.output.rows)), using: &g)
                    c0 = Int.random(in: 0...(ARCEncoding.side - max(pair.input.columns, pair.output.columns)), using: &g)
                }
                return (ARCEncoding.encode(pair.input, row: r0, column: c0), ARCEncoding.encode(pair.output, row: r0, column: c0))
            }
            builder.addPuzzle(identifier: id, examples: examples)
        }
        for (index, entry) in tasks.shuffled(using: &g).enumerated() {
            var variants = [entry.task]
            var seen: Set<[Int]> = [fingerprint(entry.task)]
            var trials = 0
            while variants.count <= augmentations && trials < retryFactor * augmentations {
                trials += 1
                let variant = ARCAugmentation(using: &g).apply(entry.task)
                if seen.insert(fingerprint(variant)).inserted { variants.append(variant) }
            }
            for v in variants {
                add(entry.testToTestSplit ? v.train : v.train + v.test, id: identifier(v.name), translate: true, to: &train)
            }
            train.endGroup()
            if entry.testToTestSplit {
                for v in variants { add(v.test, id: idOf[v.name]!, translate: false, to: &test) }
                test.endGroup()
            }
            progress(index + 1)
        }
        return identifiers
    }
}
