import Foundation
import Application
import Models
import Reasoning
import Training
import Puzzles
import TestSupport
import Testing

/// The shipped models are found from any working folder: installed beside the binary, next to
/// it, in the repository it was built in, or where HRM_MODELS says.
@Suite struct ShippedModelsTests {
    /// A folder laid out as `make install PREFIX=…` lays it out: bin/hrm and
    /// share/swift-hrm/models/sudoku-9x9 (a copy of the shipped package).
    func installed() throws -> (prefix: URL, binary: URL) {
        let prefix = try temporaryDirectory("hrm-install")
        let binary = prefix.appendingPathComponent("bin/hrm")
        try FileManager.default.createDirectory(at: binary.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data().write(to: binary)
        let models = prefix.appendingPathComponent("share/swift-hrm/models")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: shippedModelDirectory, to: models.appendingPathComponent(ShippedModels.sudoku9x9))
        return (prefix, binary)
    }

    @Test func anInstalledBinaryFindsItsModelsWhateverTheWorkingFolder() throws {
        let (prefix, binary) = try installed()
        let found = try ShippedModels.locate(ShippedModels.sudoku9x9, environment: [:], executable: binary)
        #expect(found.path == prefix.appendingPathComponent("share/swift-hrm/models/sudoku-9x9").standardizedFileURL.path)
        #expect(try ModelPackage(directory: found).manifest.checksum == ModelPackage(directory: shippedModelDirectory).manifest.checksum)
    }

    @Test func hrmModelsOverridesEveryOtherPlace() throws {
        let (_, binary) = try installed()
        let elsewhere = try temporaryDirectory("hrm-models")
        #expect(throws: ModelPackageError.self) {
            try ShippedModels.locate(ShippedModels.sudoku9x9, environment: ["HRM_MODELS": elsewhere.path], executable: binary)
        }
        try FileManager.default.copyItem(at: shippedModelDirectory, to: elsewhere.appendingPathComponent(ShippedModels.sudoku9x9))
        let found = try ShippedModels.locate(ShippedModels.sudoku9x9, environment: ["HRM_MODELS": elsewhere.path], executable: binary)
        #expect(found.deletingLastPathComponent().path == elsewhere.standardizedFileURL.path)
    }

    @Test func aLoneBinarySaysWhereItLookedAndHowToInstall() throws {
        let lone = try temporaryDirectory("hrm-lone").appendingPathComponent("hrm")
        do {
            _ = try ShippedModels.locate(ShippedModels.sudoku9x9, environment: [:], executable: lone)
            // The test process's own folder may hold models/ (run from the repository).
            #expect(FileManager.default.fileExists(atPath: "models/sudoku-9x9/manifest.json"))
        } catch {
            let message = "\(error)"
            #expect(message.contains("make install") && message.contains("HRM_MODELS") && message.contains(lone.deletingLastPathComponent().path))
        }
    }

    /// The Solver API finds the shipped model from the test binary (built inside the repository).
    @Test func theSolverAPIFindsTheShippedModel() throws {
        let solver = try Solver.shipped()
        let s = try solver.solve(try Sudoku(parsing: "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"))
        #expect(s.isVerified == true && s.hasUniqueSolution == true)
        #expect(solver.model.reasoningConfiguration.architecture == .trm, "the default shipped model is the TRM")
        // By default the answer is the last step's (as eval measures the model alone) ...
        #expect(s.haltStep == s.trace.count && s.trace.count == solver.model.reasoningConfiguration.haltMaxSteps)
        // ... with .early the first step the halting rule fires (TRM: q_halt > 0).
        solver.answer = .early
        let early = try solver.solve(try Sudoku(parsing: "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"))
        let first = early.trace.firstIndex { $0.qHalt > 0 }.map { $0 + 1 } ?? early.trace.count
        #expect(early.haltStep == first && early.trace[early.haltStep - 1].halts == (early.trace[early.haltStep - 1].haltMargin > 0))
        #expect(early.answer == early.steps[first - 1] && s.answer == s.steps[s.steps.count - 1])
        // ... and with a margin the first step whose q_halt exceeds it: never sooner.
        solver.answer = .firstHalt(margin: 3)
        let surer = try solver.solve(try Sudoku(parsing: "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"))
        let past = surer.trace.firstIndex { $0.qHalt > 3 }.map { $0 + 1 } ?? surer.trace.count
        #expect(surer.haltStep == past && past >= first)
    }

    /// A puzzle with several solutions is said to have them (not called wrong).
    @Test func aPuzzleWithSeveralSolutionsIsSaidToHaveThem() throws {
        let solved = try Sudoku(parsing: "534678912672195348198342567859761423426853791713924856961537284287419635345286179")
        var cells = solved.cells
        for i in 0..<45 { cells[i] = 0 }   // five blank rows: many solutions
        let solver = try Solver.shipped()
        let s = try solver.solve(Sudoku(cells: cells))
        #expect(s.hasUniqueSolution == false)
        #expect(throws: SolverError.self) { try solver.solve(arcInput: Grid(rows: 1, columns: 1, cells: [0]), expected: nil, identifier: 0) }
        do {
            _ = try solver.solve(arcInput: Grid(rows: 1, columns: 1, cells: [0]), expected: nil, identifier: 0)
        } catch {
            #expect("\(error)".contains("an ARC task needs"), "\(error)")
        }
    }
}
