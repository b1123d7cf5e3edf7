import Foundation
import Testing
import Application
import Models
import Reasoning
import Training
import SafeFiles
import Puzzles
import Tensors
import TestSupport

/// The repository's shipped model folder.
let shippedModelDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("models/sudoku-9x9")

@Suite struct ModelPackageTests {
    func package(in dir: URL) throws -> URL {
        var rng = RandomGenerator(seed: 1)
        let model = HierarchicalReasoningModel(configuration: .tiny, using: &rng)
        let checkpoint = dir.appendingPathComponent("model-in.safetensors")
        try Checkpoint.save(model, to: checkpoint)
        let folder = dir.appendingPathComponent("pkg")
        try ModelPackage.create(from: checkpoint, in: folder, summary: "tiny", commands: ["hrm train …"])
        return folder
    }

    @Test func aPackageRoundTripsAndKeepsOtherFiles() throws {
        let dir = try temporaryDirectory("hrm-pkg")
        let folder = try package(in: dir)
        try Data("notes".utf8).write(to: folder.appendingPathComponent("README.md"))
        let loaded = try ModelPackage(directory: folder)
        #expect(loaded.manifest.summary == "tiny" && loaded.manifest.commands == ["hrm train …"])
        #expect(loaded.manifest.parameters == loaded.model.parameterCount && ModelConfiguration(of: loaded.model) == .hrm(.tiny))
        // Without force an existing package is refused; with it, re-exporting replaces the weights
        // and manifest but keeps the README; nothing is left beside it.
        #expect(throws: OutputError.self) {
            try ModelPackage.create(from: dir.appendingPathComponent("model-in.safetensors"), in: folder, summary: "again", commands: [])
        }
        try ModelPackage.create(from: dir.appendingPathComponent("model-in.safetensors"), in: folder, summary: "again", commands: [],
                                force: true)
        #expect(try ModelPackage(directory: folder).manifest.summary == "again")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("README.md").path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["model-in.safetensors", "pkg"])
    }

    @Test func damageIsReportedWithTheWayToRestore() throws {
        let dir = try temporaryDirectory("hrm-pkg-bad")
        let folder = try package(in: dir)
        let weights = folder.appendingPathComponent(ModelPackage.modelFile)
        let original = try Data(contentsOf: weights)
        func message() -> String {
            do { _ = try ModelPackage(directory: folder); return "loaded" } catch { return "\(error)" }
        }
        try original.prefix(original.count / 2).write(to: weights)               // truncated
        #expect(message().contains("bytes, the manifest says") && message().contains("git checkout -- \(folder.path)"))
        var flipped = original
        flipped[flipped.count - 3] ^= 0x40                                        // same size, one bit off
        try flipped.write(to: weights)
        #expect(message().contains("checksum") && message().contains("git checkout"))
        try FileManager.default.removeItem(at: weights)
        #expect(message().contains("model.safetensors is missing") && message().contains("git checkout"))
        try original.write(to: weights)
        #expect(message() == "loaded")
        try Data("{}".utf8).write(to: folder.appendingPathComponent(ModelPackage.manifestFile))
        #expect(message().contains("manifest.json is damaged"))
    }

    @Test func theShippedModelVerifiesAndFitsTheSizeLimit() throws {
        let package = try ModelPackage(directory: shippedModelDirectory)
        let c = package.model.reasoningConfiguration
        #expect(c.sequenceLength == 81 && c.vocabularySize == SudokuDataset.vocabularySize)
        #expect(package.manifest.bytes <= 8 << 20, "the shipped model must stay under 8 MB")
        #expect(!package.manifest.commands.isEmpty)
    }

    @Test func accuracyByDifficultyAddsUpToTheWholeReport() {
        var rng = RandomGenerator(seed: 2)
        var config = HRMConfiguration.tiny
        (config.sequenceLength, config.vocabularySize) = (81, 11)
        let model = HierarchicalReasoningModel(configuration: config, using: &rng)
        var g = SplitMix(seed: 3)
        let puzzles = SudokuDataset.generate(count: 12, generator: SudokuGenerator(clueRange: 30...75), seed: 4)
            .map { (puzzle: $0.puzzle, solution: $0.solution) }
        let split = SudokuDataset.build(train: [], test: puzzles, augmentations: 0, using: &g).splits["test"]!
        let (report, buckets) = Evaluator.evaluateByDifficulty(model: model, split: split, batchSize: 5, bucketWidth: 10)
        #expect(buckets.reduce(0) { $0 + $1.count } == 12)
        #expect(buckets.allSatisfy { b in b.blanks.count == 10 && b.blanks.lowerBound % 10 == 0 })
        let byBucket = Dictionary(grouping: puzzles) { $0.puzzle.blankCount / 10 }
        #expect(buckets.map { $0.count } == byBucket.keys.sorted().map { byBucket[$0]!.count })
        let exact = buckets.reduce(0.0) { $0 + $1.exactAccuracy * Double($1.count) } / 12
        #expect(abs(exact - report.exactAccuracy) < 1e-12)
        let cells = buckets.reduce(0.0) { $0 + $1.blankCellAccuracy * Double(byBucket[$1.blanks.lowerBound / 10]!.reduce(0) { $0 + $1.puzzle.blankCount }) }
        #expect(abs(cells / Double(puzzles.reduce(0) { $0 + $1.puzzle.blankCount }) - report.changedCellAccuracy) < 1e-9)
    }
}
