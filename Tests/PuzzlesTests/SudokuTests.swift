import Foundation
import Testing
import Puzzles
import TestSupport

/// A classic puzzle and its unique solution.
let classic = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
let classicSolution = "534678912672195348198342567859761423426853791713924856961537284287419635345286179"

@Suite struct SudokuTests {
    @Test func parsesAndPrints() throws {
        let s = try Sudoku(parsing: classic)
        #expect(s.string == classic)
        #expect(s.blankCount == 51)
        #expect(try Sudoku(parsing: classic.replacingOccurrences(of: ".", with: "0")) == s)
        #expect(s.description.split(separator: "\n").first == "5 3 . | . 7 . | . . .")
        // A pasted 9-line grid with separators parses too.
        #expect(try Sudoku(parsing: s.description) == s)
    }

    @Test func rejectsBadInputWithPosition() {
        #expect(throws: PuzzleFormatError.wrongLength(source: "argument", line: 0, found: 80, expected: "81 (9 rows of 9)")) {
            try Sudoku(parsing: String(classic.dropLast()))
        }
        #expect(throws: PuzzleFormatError.badCharacter(source: "argument", line: 0, column: 3, found: "x",
                                                       expected: "a digit 1–9, or '.' or '0' for a blank")) {
            try Sudoku(parsing: "53x" + classic.dropFirst(3))
        }
        // Found by fuzzing (tools/fuzz, sudoku-text): a digit followed by a combining mark is one
        // Character that sorts between "1" and "9" but has no ASCII value; it used to trap.
        for odd in ["3\u{0743}", "3\u{0335}", "٣"] {
            #expect(throws: PuzzleFormatError.self) { try Sudoku(parsing: odd + classic.dropFirst(1)) }
        }
    }

    @Test func solverFindsTheUniqueSolution() throws {
        let solver = SudokuSolver()
        let r = solver.solve(try Sudoku(parsing: classic), limit: 2)
        #expect(r.solutions.count == 1)
        #expect(r.solutions.first?.string == classicSolution)
    }

    @Test func solverDetectsMultipleAndNoSolutions() throws {
        let solver = SudokuSolver()
        // One complete row and nothing else: many solutions; the limit stops at 2.
        let open = Sudoku(cells: Array(try Sudoku(parsing: classicSolution).cells.prefix(9)) + Array(repeating: 0, count: 72))
        #expect(solver.solve(open, limit: 2).solutions.count == 2)
        // Repeated digit in a row: inconsistent, no solution.
        var broken = try Sudoku(parsing: classic)
        broken.cells[2] = 5
        #expect(!broken.isConsistent && solver.solve(broken, limit: 2).solutions.isEmpty)
        // Consistent givens with no solution: row 0 holds 1–8, so its last cell must be 9, but
        // column 8 already has a 9.
        var cells = [UInt8](repeating: 0, count: 81)
        for c in 0..<8 { cells[c] = UInt8(c + 1) }
        cells[9 + 8] = 9
        let stuck = Sudoku(cells: cells)
        #expect(stuck.isConsistent && solver.solve(stuck, limit: 2).solutions.isEmpty)
    }

    @Test func generatedPuzzlesAreUniqueMinimalAndSolvedByTheirSolution() {
        var rng = SplitMix(seed: 1)
        let solver = SudokuSolver()
        for _ in 0..<5 {
            let g = SudokuGenerator().generate(using: &rng, solver: solver)
            #expect(g.puzzle.isSolved(by: g.solution))
            let r = solver.solve(g.puzzle, limit: 2)
            #expect(r.solutions == [g.solution])
            // Minimal: every given is needed.
            for i in 0..<81 where g.puzzle.cells[i] != 0 {
                var fewer = g.puzzle
                fewer.cells[i] = 0
                #expect(solver.solve(fewer, limit: 2).solutions.count == 2)
            }
        }
    }

    @Test func generatorHonoursRatingAndClueTarget() {
        var rng = SplitMix(seed: 2)
        let hard = SudokuGenerator(minimumRating: 3).generate(using: &rng)
        #expect(hard.rating >= 3 && SudokuSolver().solve(hard.puzzle, limit: 2).backtracks == hard.rating)
        let easy = SudokuGenerator(targetClues: 40).generate(using: &rng)
        #expect(81 - easy.puzzle.blankCount == 40)
    }

    @Test func generatorDrawsTheClueCountFromItsRange() {
        var rng = SplitMix(seed: 4)
        let generator = SudokuGenerator(clueRange: 40...60)
        let clues = (0..<20).map { _ in 81 - generator.generate(using: &rng).puzzle.blankCount }
        #expect(clues.allSatisfy { (40...60).contains($0) })
        #expect(Set(clues).count > 5)
    }

    @Test func randomGridsAreValidAndUnpatterned() {
        // The solver alone on an empty grid fills its first band with cyclic shifts of one row;
        // a random grid must not (a band of shifted rows occurs by chance in well under 1 %).
        var rng = SplitMix(seed: 5)
        func isShift(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Bool {
            (1..<9).contains { k in (0..<9).allSatisfy { a[a.startIndex + $0] == b[b.startIndex + ($0 + k) % 9] } }
        }
        var shifted = 0
        var firstRows = Set<[UInt8]>()
        for _ in 0..<100 {
            let g = SudokuGenerator.randomGrid(using: &rng)
            #expect(g.isComplete && g.isConsistent)
            if isShift(g.cells[0..<9], g.cells[9..<18]) { shifted += 1 }
            firstRows.insert(Array(g.cells[0..<9]))
        }
        #expect(shifted < 10)
        #expect(firstRows.count == 100)
    }

    @Test func augmentationKeepsPuzzlesValid() throws {
        var rng = SplitMix(seed: 3)
        let puzzle = try Sudoku(parsing: classic), solution = try Sudoku(parsing: classicSolution)
        let solver = SudokuSolver()
        for _ in 0..<50 {
            let a = SudokuAugmentation(using: &rng)
            let (p, s) = (a.apply(puzzle), a.apply(solution))
            #expect(s.isComplete && s.isConsistent && p.isSolved(by: s))
            #expect(solver.solve(p, limit: 2).solutions == [s])
            #expect(p.blankCount == puzzle.blankCount)
            #expect(a.invert(p) == puzzle && a.invert(s) == solution)
        }
        #expect(SudokuAugmentation.identity.apply(puzzle) == puzzle)
    }

    @Test func readsTheSudokuExtremeCSV() throws {
        let dir = try temporaryDirectory("hrm-csv")
        let good = dir.appendingPathComponent("train.csv")
        try "source,question,answer,rating\nsrc,\(classic),\(classicSolution),7\n".write(to: good, atomically: true, encoding: .utf8)
        let records = try SudokuRecord.readCSV(good)
        #expect(records.count == 1 && records[0].rating == 7 && records[0].question.string == classic)

        let bad = dir.appendingPathComponent("bad.csv")
        try "source,question,answer,rating\nsrc,\(classic),\(classicSolution)\n".write(to: bad, atomically: true, encoding: .utf8)
        #expect(throws: PuzzleFormatError.badRow(source: bad.path, line: 2, reason: "3 fields; expected 4 (source,question,answer,rating)")) {
            try SudokuRecord.readCSV(bad)
        }
        let wrong = dir.appendingPathComponent("wrong.csv")
        try "src,\(classic),\(classic.replacingOccurrences(of: ".", with: "1")),1\n".write(to: wrong, atomically: true, encoding: .utf8)
        #expect(throws: PuzzleFormatError.self) { try SudokuRecord.readCSV(wrong) }
    }
}
