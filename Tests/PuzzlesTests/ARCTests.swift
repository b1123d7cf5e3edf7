import Foundation
import Testing
import Puzzles
import TestSupport

/// A handful of real ARC tasks carried by the repository (`Fixtures/arc`, with their licence).
let arcFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/arc")

/// The whole ARC-AGI-1/2 folders, where `HRM_ARC_DATA` names them (CI: `../shared/data`).
let fullARCData: URL? = ProcessInfo.processInfo.environment["HRM_ARC_DATA"].map { URL(fileURLWithPath: $0) }
let fullARCDataReason: Comment = "set HRM_ARC_DATA to a folder holding arc-agi-1/ and arc-agi-2/ (e.g. ../shared/data) to run the tests over the whole ARC folders"

@Suite struct ARCTests {
    @Test(.enabled(if: fullARCData != nil, fullARCDataReason))
    func loadsTheRealTaskFolders() throws {
        let sharedData = try #require(fullARCData)
        let training = try ARCTask.loadFolder(sharedData.appendingPathComponent("arc-agi-1/training"))
        #expect(training.count == 400)
        let evaluation2 = try ARCTask.loadFolder(sharedData.appendingPathComponent("arc-agi-2/evaluation"))
        #expect(evaluation2.count == 120)
        #expect(training.allSatisfy { !$0.train.isEmpty && !$0.test.isEmpty })
        // Spec §12.3 counts: ARC-1 training has 1302 demonstration and 416 test pairs.
        #expect(training.map(\.train.count).reduce(0, +) == 1302)
        #expect(training.map(\.test.count).reduce(0, +) == 416)
    }

    @Test func augmentationsInvertExactly() throws {
        let task = try ARCTask.loadFolder(arcFixtures.appendingPathComponent("arc-agi-1/training"))[2]
        var rng = SplitMix(seed: 9)
        for _ in 0..<20 {
            let a = ARCAugmentation(using: &rng)
            for pair in task.train + task.test {
                let moved = a.apply(pair.output)
                #expect(a.invert(moved) == pair.output)
                // Black stays black.
                #expect(pair.output.cells.indices.filter { pair.output.cells[$0] == 0 }.count
                        == moved.cells.filter { $0 == 0 }.count)
            }
            let name = a.name(for: task.name)
            let parsed = try #require(ARCAugmentation.parse(name))
            #expect(parsed.task == task.name && parsed.augmentation == a)
        }
        #expect(ARCAugmentation.parse("007bbfb7") == nil)
    }

    @Test func encodingPlacesEOSAndCropRecoversTheGrid() {
        let grid = Grid(rows: 2, columns: 3, cells: [0, 1, 2, 3, 4, 5])
        let tokens = ARCEncoding.encode(grid)
        #expect(Array(tokens[0..<4]) == [2, 3, 4, 1])      // row 0 then the EOS column
        #expect(Array(tokens[30..<34]) == [5, 6, 7, 1])
        #expect(Array(tokens[60..<64]) == [1, 1, 1, 0])    // EOS row; the corner stays PAD
        #expect(ARCEncoding.crop(tokens) == grid)
        let full = Grid(rows: 30, columns: 30, fill: 7)
        #expect(ARCEncoding.crop(ARCEncoding.encode(full)) == full)
        let shifted = ARCEncoding.encode(grid, row: 5, column: 7)
        #expect(shifted[5 * 30 + 7] == 2 && shifted[7 * 30 + 7] == 1 && shifted[5 * 30 + 10] == 1)
        #expect(ARCEncoding.crop([UInt8](repeating: 0, count: 900)).rows == 0)
    }

    @Test(.enabled(if: fullARCData != nil, fullARCDataReason))
    func theWholeARCOneFolderSplitsAsTheReference() throws {
        let tasks = try ARCDataset.loadTasks(from: [try #require(fullARCData).appendingPathComponent("arc-agi-1")])
        #expect(tasks.count == 800 && tasks.filter(\.testToTestSplit).count == 400)
    }

    @Test func fixtureTasksLoad() throws {
        #expect(try ARCTask.loadFolder(arcFixtures.appendingPathComponent("arc-agi-1/training")).count == 5)
        let evaluation2 = try ARCTask.loadFolder(arcFixtures.appendingPathComponent("arc-agi-2/evaluation"))
        #expect(evaluation2.map(\.name) == ["20270e3b", "28a6681f"])
        #expect(evaluation2.allSatisfy { !$0.train.isEmpty && !$0.test.isEmpty })
    }

    @Test func datasetFollowsTheSplitRules() throws {
        let tasks = try ARCDataset.loadTasks(from: [arcFixtures.appendingPathComponent("arc-agi-1")])
        #expect(tasks.count == 9 && tasks.filter(\.testToTestSplit).count == 4)
        let few = Array(tasks.filter { $0.testToTestSplit }.prefix(3)) + Array(tasks.filter { !$0.testToTestSplit }.prefix(2))
        var rng = SplitMix(seed: 10)
        let d = ARCDataset.build(tasks: few, augmentations: 4, using: &rng)
        let train = d.splits["train"]!, test = d.splits["test"]!
        #expect(train.groupCount == 5 && train.puzzleCount == 25)
        #expect(test.groupCount == 3 && test.puzzleCount == 15)
        #expect(d.identifiers.count == 26)
        // Test examples sit at the top-left and crop back to an original-frame grid after
        // inverting their augmentation.
        for e in 0..<test.exampleCount {
            let p = test.puzzleIndices.lastIndex { $0 <= Int32(e) }!
            let name = d.identifiers[Int(test.puzzleIdentifiers[p])]
            let grid = ARCEncoding.crop(Array(test.input(e)))
            let original: Grid
            if let (taskName, a) = ARCAugmentation.parse(name) {
                original = a.invert(grid)
                #expect(few.contains { $0.task.name == taskName && $0.task.test.contains { $0.input == original } })
            } else {
                #expect(few.contains { $0.task.name == name && $0.task.test.contains { $0.input == grid } })
            }
        }
        // PAD is ignored in labels, EOS is supervised (ignore_label_id = 0).
        #expect(train.metadata.ignoreLabelID == 0 && train.labels.contains(1))
    }

    /// The streaming build (what `hrm data arc` runs: rows go to disk task by task) writes the
    /// same dataset as the in-memory one, read back memory-mapped.
    @Test func streamedBuildEqualsTheInMemoryOne() throws {
        let tasks = try ARCDataset.loadTasks(from: [arcFixtures.appendingPathComponent("arc-agi-1")])
        var a = SplitMix(seed: 3), b = SplitMix(seed: 3)
        let inMemory = ARCDataset.build(tasks: tasks, augmentations: 3, using: &a)
        let dir = try temporaryDirectory("hrm-arc-stream").appendingPathComponent("data")
        try ARCDataset.write(tasks: tasks, augmentations: 3, using: &b, to: dir)
        let streamed = try PuzzleDataset.read(from: dir)
        #expect(streamed == inMemory)
        #expect(streamed.splits["train"]!.inputs.isMapped && streamed.splits["test"]!.labels.isMapped)
        #expect(streamed.splits["train"]!.checksum == inMemory.splits["train"]!.checksum)
        // An existing dataset is not replaced without --force, and nothing is left half-built.
        var c = SplitMix(seed: 4)
        #expect(throws: (any Error).self) { try ARCDataset.write(tasks: tasks, augmentations: 3, using: &c, to: dir) }
        #expect(try PuzzleDataset.read(from: dir) == inMemory)
    }

    /// A full disk during a streamed build: a clear error, and neither a partial dataset nor the
    /// staging folder remains.
    @Test func aStreamedBuildThatRunsOutOfDiskLeavesNothing() throws {
        guard let mount = try SmallMount.make(kilobytes: 256) else { return }
        defer { mount.remove() }
        let tasks = try ARCDataset.loadTasks(from: [arcFixtures.appendingPathComponent("arc-agi-1")])
        var rng = SplitMix(seed: 3)
        let dir = mount.url.appendingPathComponent("data")
        do {
            try ARCDataset.write(tasks: tasks, augmentations: 20, using: &rng, to: dir)
            Issue.record("a 256 KB disk held the dataset")
        } catch {
            #expect("\(error)".contains("all__"), "\(error)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: mount.url.path).isEmpty)
    }

    @Test func badTaskFilesNameTheField() throws {
        let dir = try temporaryDirectory("hrm-arc")
        let cases: [(String, String)] = [
            ("{\"train\": [{\"input\": [[1, 2], [3]], \"output\": [[1]]}], \"test\": []}", "train[0].input row 1"),
            ("{\"train\": [{\"input\": [[1, 12]], \"output\": [[1]]}], \"test\": []}", "train[0].input[0][1]"),
            ("{\"train\": []}", "field 'test'"),
            ("not json", "not a JSON object"),
        ]
        for (i, (text, expected)) in cases.enumerated() {
            let url = dir.appendingPathComponent("t\(i).json")
            try text.write(to: url, atomically: true, encoding: .utf8)
            do {
                _ = try ARCTask.load(url)
                Issue.record("\(text) must not load")
            } catch {
                #expect("\(error)".contains(expected) && "\(error)".contains(url.path), "\(error)")
            }
        }
        let big = dir.appendingPathComponent("big.json")
        let row = "[" + Array(repeating: "0", count: 31).joined(separator: ",") + "]"
        try "{\"train\": [{\"input\": [\(row)], \"output\": [[1]]}], \"test\": []}".write(to: big, atomically: true, encoding: .utf8)
        #expect(throws: PuzzleFormatError.gridTooLarge(source: big.path, field: "train[0].input", rows: 1, columns: 31)) {
            try ARCTask.load(big)
        }
    }
}

@Suite struct ARCScorerTests {
    /// A test split of two evaluation tasks with 5 variants each.
    func split() throws -> (PuzzleDataset, DatasetSplit) {
        let tasks = try ARCDataset.loadTasks(from: [arcFixtures.appendingPathComponent("arc-agi-1")])
            .filter(\.testToTestSplit).prefix(2)
        var rng = SplitMix(seed: 11)
        let d = ARCDataset.build(tasks: Array(tasks), augmentations: 5, using: &rng)
        return (d, d.splits["test"]!)
    }

    @Test func perfectPredictionsPassAndWrongOnesFail() throws {
        let (d, test) = try split()
        var right = ARCScorer(identifiers: d.identifiers), wrong = ARCScorer(identifiers: d.identifiers)
        for e in 0..<test.exampleCount {
            let p = test.puzzleIndices.lastIndex { $0 <= Int32(e) }!
            let id = test.puzzleIdentifiers[p]
            right.add(identifier: id, input: Array(test.input(e)), label: Array(test.label(e)),
                      prediction: Array(test.label(e)), haltProbability: 0.9)
            wrong.add(identifier: id, input: Array(test.input(e)), label: Array(test.label(e)),
                      prediction: Array(test.input(e)), haltProbability: 0.9)
        }
        #expect(right.score().passAt["pass@1"] == 1 && right.score().tasks == 2)
        #expect(wrong.score().passAt["pass@2"] == 0)
        let json = try JSONSerialization.jsonObject(with: right.submissionJSON()) as! [String: [[String: [[Int]]]]]
        #expect(json.count == 2 && json.values.allSatisfy { $0.allSatisfy { $0["attempt_1"] != nil && $0["attempt_2"] != nil } })
    }

    @Test func votesFromAugmentedVersionsOutweighOneWrongOriginal() throws {
        let (d, test) = try split()
        var scorer = ARCScorer(identifiers: d.identifiers)
        for e in 0..<test.exampleCount {
            let p = test.puzzleIndices.lastIndex { $0 <= Int32(e) }!
            let id = test.puzzleIdentifiers[p]
            let isOriginal = ARCAugmentation.parse(d.identifiers[Int(id)]) == nil
            // The original is answered wrongly with high confidence; its variants rightly.
            scorer.add(identifier: id, input: Array(test.input(e)), label: Array(test.label(e)),
                       prediction: isOriginal ? Array(test.input(e)) : Array(test.label(e)),
                       haltProbability: isOriginal ? 0.99 : 0.5)
        }
        #expect(scorer.score().passAt["pass@1"] == 1)
    }
}
