import Foundation
import Testing
import HRM
import Puzzles
import Tensors

/// Views of a Sudoku checked by the rules, with the shipped model: what a view accepts is a
/// solution, view 0 is the plain answer, and further views solve puzzles view 0 does not (they
/// would not if an answer were mapped back to the wrong cells or digits).
@Suite struct SudokuViewsTests {
    static let model = Result { try ModelPackage(directory: shippedModelDirectory).model }
    static let puzzles = SudokuDataset.generate(count: 32, generator: SudokuGenerator(clueRange: 32...41), seed: 77)

    @Test func viewsSolveWhatViewZeroMissesAndOnlyAcceptSolutions() throws {
        let model = try Self.model.get()
        let puzzles = Self.puzzles.map(\.puzzle)
        let one = SudokuViews.solve(model: model, puzzles: puzzles, views: 1, seed: 3)
        let eight = SudokuViews.solve(model: model, puzzles: puzzles, views: 8, seed: 3)
        for (i, (a, b)) in zip(one, eight).enumerated() {
            #expect(a.viewsTried == 1 && (a.acceptedView == nil || a.acceptedView == 0))
            if let v = b.acceptedView {
                #expect(puzzles[i].isSolved(by: b.grid), "puzzle \(i): view \(v)'s accepted answer breaks a rule")
                #expect(b.viewsTried == v + 1)
            } else {
                #expect(b.grid == a.grid && b.viewsTried == 8, "puzzle \(i): without an accepted view the answer is view 0's")
            }
            if a.acceptedView == 0 { #expect(b.acceptedView == 0 && b.grid == a.grid) }
        }
        let (solvedByOne, solvedByEight) = (one.filter { $0.acceptedView != nil }.count, eight.filter { $0.acceptedView != nil }.count)
        #expect(solvedByEight > solvedByOne, "views solved \(solvedByEight) of 32, view 0 alone \(solvedByOne)")
        #expect(zip(eight, Self.puzzles).allSatisfy { $0.acceptedView == nil || $0.grid == $1.solution })
        let score = SudokuViews.score(model: model, puzzles: puzzles, solutions: Self.puzzles.map(\.solution), views: 8, seed: 3)
        #expect(score.exactAccuracy == Double(solvedByEight) / 32)
        #expect(score.meanViewsTried == Double(eight.map(\.viewsTried).reduce(0, +)) / 32)
    }

    /// `hrm solve --views` asks the same views as the batch evaluation (puzzle index 0, seed 0).
    @Test func theSolverAsksTheSameViews() throws {
        let model = try Self.model.get()
        let solver = Solver(model: model)
        solver.views = 8
        let missed = Self.puzzles.map(\.puzzle).filter {
            SudokuViews.solve(model: model, puzzles: [$0], views: 1).first?.acceptedView == nil
        }
        let sample = try #require(missed.first, "view 0 solved every sample puzzle")
        let batch = SudokuViews.solve(model: model, puzzles: [sample], views: 8)[0]
        let solution = try solver.solve(sample)
        #expect(solution.answer == batch.grid)
        #expect(solution.isVerified == (batch.acceptedView != nil))
        #expect(solution.view == (batch.acceptedView ?? 0) && solution.viewsTried == batch.viewsTried)
        if solution.isVerified == true { #expect(sample.isSolved(by: solution.answer)) }
    }
}
