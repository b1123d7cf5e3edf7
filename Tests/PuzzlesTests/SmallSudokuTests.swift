import Testing
import Puzzles

@Suite struct SmallSudokuTests {
    @Test(arguments: [4, 6])
    func generatedPuzzlesHaveOneSolutionAndTheDrawnBlanks(size: Int) {
        var rng = SplitMix(seed: UInt64(size))
        let solver = SmallSudokuSolver(size: size)
        let generator = SmallSudokuGenerator(size: size, blanks: 2...(size * size / 2))
        var solutions = Set<SmallSudoku>()
        for _ in 0..<30 {
            let (puzzle, solution) = generator.generate(using: &rng)
            #expect(solution.blankCount == 0 && solution.isConsistent && puzzle.isSolved(by: solution))
            #expect(solver.solve(puzzle, limit: 2) == [solution])
            #expect(generator.blanks.contains(puzzle.blankCount))
            solutions.insert(solution)
        }
        #expect(solutions.count > 10)
    }

    @Test func solverCountsAllSolutionsOfAnEmptyFourByFour() {
        // 288 complete 4×4 Sudoku grids exist.
        #expect(SmallSudokuSolver(size: 4).solve(.empty(size: 4), limit: 1000).count == 288)
    }

    @Test func consistencyAndSolvedByCatchBrokenGrids() {
        let grid = SmallSudoku(size: 4, cells: [1, 2, 3, 4, 3, 4, 1, 2, 2, 1, 4, 3, 4, 3, 2, 1])
        #expect(grid.isConsistent && grid.blankCount == 0)
        var box = grid
        (box.cells[0], box.cells[1], box.cells[4], box.cells[5]) = (1, 2, 2, 1)   // rows fine, box repeats
        #expect(!box.isConsistent)
        var puzzle = grid
        puzzle.cells[0] = 0
        #expect(puzzle.isSolved(by: grid))
        puzzle.cells[1] = 3
        #expect(!puzzle.isSolved(by: grid))
        #expect(grid.description == "1 2 | 3 4\n3 4 | 1 2\n----+----\n2 1 | 4 3\n4 3 | 2 1")
    }

    @Test func splitsAreDeterministicDisjointAndEncoded() {
        let generator = SmallSudokuGenerator(size: 4, blanks: 4...10)
        let a = SmallSudokuGenerator.generateSplits(generator, count: 200, testCount: 50, seed: 9)
        let b = SmallSudokuGenerator.generateSplits(generator, count: 200, testCount: 50, seed: 9)
        #expect(a.train.map(\.puzzle) == b.train.map(\.puzzle) && a.test.map(\.puzzle) == b.test.map(\.puzzle))
        #expect(Set(a.train.map(\.puzzle)).isDisjoint(with: a.test.map(\.puzzle)))
        let dataset = SudokuDataset.build(size: 4, train: a.train, test: a.test)
        let train = dataset.splits["train"]!
        #expect(train.metadata.vocabularySize == 6 && train.metadata.sequenceLength == 16 && train.exampleCount == 200)
        #expect(SudokuDataset.smallSudoku(tokens: SudokuDataset.tokens(a.train[0].puzzle), size: 4) == a.train[0].puzzle)
    }
}
