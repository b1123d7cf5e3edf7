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

    /// Builds the dataset; `progress` receives the number of tasks done.
    public static func build<G: RandomNumberGenerator>(
        tasks: [(task: ARCTask, testToTestSplit: Bool)], augmentations: Int, using g: inout G,
        progress: (Int) -> Void = { _ in }
    ) -> PuzzleDataset {
        // 1. Variants per task (the original first), distinct by content.
        var groups: [(variants: [ARCTask], testToTestSplit: Bool)] = []
        for (index, entry) in tasks.shuffled(using: &g).enumerated() {
            var variants = [entry.task]
            var seen: Set<[Int]> = [fingerprint(entry.task)]
            var trials = 0
            while variants.count <= augmentations && trials < retryFactor * augmentations {
                trials += 1
                let variant = ARCAugmentation(using: &g).apply(entry.task)
                if seen.insert(fingerprint(variant)).inserted { variants.append(variant) }
            }
            groups.append((variants, entry.testToTestSplit))
            progress(index + 1)
        }
        // 2. Identifiers in first-seen order: train split groups, then test split groups.
        var identifiers = ["<blank>"]
        var idOf: [String: Int32] = [:]
        func identifier(_ name: String) -> Int32 {
            if let id = idOf[name] { return id }
            identifiers.append(name)
            idOf[name] = Int32(identifiers.count - 1)
            return idOf[name]!
        }
        for group in groups { for v in group.variants { _ = identifier(v.name) } }

        // 3. Serialise, translating training examples (except one kept per puzzle).
        var train = DatasetSplitBuilder(sequenceLength: ARCEncoding.sequenceLength)
        var test = DatasetSplitBuilder(sequenceLength: ARCEncoding.sequenceLength)
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
        for group in groups {
            for v in group.variants {
                add(group.testToTestSplit ? v.train : v.train + v.test, id: idOf[v.name]!, translate: true, to: &train)
            }
            train.endGroup()
            if group.testToTestSplit {
                for v in group.variants { add(v.test, id: idOf[v.name]!, translate: false, to: &test) }
                test.endGroup()
            }
        }
        let count = identifiers.count
        return PuzzleDataset(identifiers: identifiers, splits: [
            "train": train.build(vocabularySize: ARCEncoding.vocabularySize, puzzleIdentifierCount: count),
            "test": test.build(vocabularySize: ARCEncoding.vocabularySize, puzzleIdentifierCount: count),
        ])
    }
}
