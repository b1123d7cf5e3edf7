import Foundation
import Testing
import Puzzles

let smallMaze = """
#######
#S    #
# ### #
#   # #
### # #
#    G#
#######
"""

@Suite struct MazeTests {
    @Test func parsesFindsTheShortestPathAndPrints() throws {
        let maze = try Maze(parsing: smallMaze)
        #expect(maze.size == 7 && maze.description == smallMaze)
        let path = try #require(maze.shortestPath())
        #expect(path.first == maze.start && path.last == maze.goal)
        #expect(path.count == 9)  // S, 7 steps, G: (1,1)→(1,5)→(5,5) is 4 + 4 moves
        let solved = maze.marking(path)
        #expect(solved.cells.filter { $0 == .path }.count == 7)
        #expect(solved.unsolved == maze)
    }

    @Test func rejectsBadMazes() {
        #expect(throws: PuzzleFormatError.self) { try Maze(parsing: "#S#\n#x#\n#G#") }
        #expect(throws: PuzzleFormatError.self) { try Maze(parsing: "###\n# #\n###") }  // no S or G
        #expect(throws: PuzzleFormatError.self) { try Maze(parsing: "#S  #\n#G#") }      // not square
        // A ragged row (shorter than the others) is named by its line, never padded.
        do {
            _ = try Maze(parsing: "#####\n#S  #\n# #\n#  G#\n#####", source: "m.txt")
            Issue.record("a ragged maze was accepted")
        } catch {
            #expect("\(error)".hasPrefix("m.txt, line 3: 3 cells; expected 5"), "\(error)")
        }
    }

    /// A 3×3 room with S and G in opposite corners: several equally short routes.
    static let openSquare = """
        #####
        #S  #
        #   #
        #  G#
        #####
        """

    @Test func checkerTellsExactFromValidShortest() throws {
        let maze = try Maze(parsing: Self.openSquare)
        let stored = maze.marking(try #require(maze.shortestPath()))
        #expect(stored.check(stored) == Maze.Check(isExact: true, isValidShortest: true))
        // Another equally short route: valid and shortest, but not the stored one.
        var other = maze
        for (r, c) in [(2, 1), (3, 1), (3, 2)] { other.cells[r * 5 + c] = .path }
        let otherCheck = stored.check(other)
        #expect(otherCheck.isExact == (other == stored))
        if other != stored { #expect(otherCheck.isValidShortest) }
        // A longer detour is not valid-shortest; a broken path neither.
        var broken = maze
        broken.cells[1 * 5 + 2] = .path
        #expect(stored.check(broken) == Maze.Check(isExact: false, isValidShortest: false))
    }

    /// eval's maze table: exact and a shortest path, by the shortest path's length.
    @Test func mazeScoreCountsByPathLength() throws {
        let maze = try Maze(parsing: Self.openSquare)
        let stored = maze.marking(try #require(maze.shortestPath()))  // 5 cells: S, 3 path, G
        var other = maze
        for (r, c) in [(2, 1), (3, 1), (3, 2)] { other.cells[r * 5 + c] = .path }
        var broken = maze
        broken.cells[1 * 5 + 2] = .path
        var rng = SplitMix(seed: 7)
        let long = MazeGenerator(size: 15, minimumPathLength: 30).generate(using: &rng)
        func t(_ m: Maze) -> [UInt8] { MazeDataset.tokens(m) }
        var score = MazeScore()
        var added = false
        added = score.add(input: t(maze), label: t(stored), prediction: t(stored))
        #expect(added)
        added = score.add(input: t(maze), label: t(stored), prediction: t(other))
        #expect(added)
        added = score.add(input: t(maze), label: t(stored), prediction: t(broken))
        #expect(added)
        added = score.add(input: t(long.puzzle), label: t(long.solution), prediction: t(long.solution))
        #expect(added)
        // A label without S is no maze: not counted.
        added = score.add(input: t(maze), label: t(maze).map { $0 == Maze.Cell.start.rawValue ? Maze.Cell.open.rawValue : $0 }, prediction: t(stored))
        #expect(!added)
        #expect(score.count == 4)
        let b = score.buckets
        let length = long.puzzle.shortestPath()!.count
        #expect(b.count == 2 && b[0].label == "1–9" && b[0].count == 3 && b[0].exact == (other == stored ? 2 : 1))
        #expect(b[0].shortest == 2 && b[1].count == 1 && b[1].exact == 1 && b[1].shortest == 1)
        #expect(b[1].lowest <= length && length <= (b[1].highest ?? .max), "path \(length) in \(b[1].label)")
        #expect(abs(score.shortestAccuracy - 3.0 / 4) < 1e-12)
        #expect(MazeScore().buckets.isEmpty && MazeScore().allBuckets.last?.label == "200+")
    }

    @Test func generatedMazesHaveLongUniquePaths() {
        var rng = SplitMix(seed: 4)
        let generator = MazeGenerator(size: 30, minimumPathLength: 110)
        for _ in 0..<5 {
            let (puzzle, solution) = generator.generate(using: &rng)
            let path = puzzle.shortestPath()!
            #expect(path.count >= 110)
            #expect(solution == puzzle.marking(path))
            #expect(solution.check(solution).isValidShortest)
        }
    }

    @Test func openMazesHaveSeveralRoutesButOneShortest() throws {
        var rng = SplitMix(seed: 9)
        let generator = MazeGenerator(size: 15, minimumPathLength: 30, kind: .open, density: 0.4)
        for _ in 0..<10 {
            let (puzzle, solution) = try #require(generator.generate(using: &rng, attempts: 20_000))
            let path = try #require(puzzle.shortestPath())
            #expect(path.count >= 30 && puzzle.shortestPathCount() == 1 && solution == puzzle.marking(path))
            #expect(puzzle.hasAlternativeRoute)
        }
        // A perfect maze has one route; a room has several.
        var perfect = SplitMix(seed: 1)
        #expect(!MazeGenerator(size: 15, minimumPathLength: 20).generate(using: &perfect).puzzle.hasAlternativeRoute)
        // Counting: the 3×3 room of checkerTellsExactFromValidShortest has 6 shortest routes.
        let room = try Maze(parsing: "#####\n#S  #\n#   #\n#  G#\n#####")
        #expect(room.shortestPathCount(cap: 10) == 6 && room.shortestPathCount() == 2)
        // Impossible settings give nil, not an endless loop.
        #expect(MazeGenerator(size: 7, minimumPathLength: 25, kind: .open).generate(using: &rng, attempts: 50) == nil)
    }

    /// `MazeDataset.generate` (what `hrm data maze` and the demo draw): kinds alternate, paths
    /// are long enough, the same seed gives the same mazes, and impossible settings throw.
    @Test func generatedSetsAlternateKindsAndRepeatBySeed() throws {
        let mazes = try MazeDataset.generate(count: 6, size: 9, minimumPathLength: 8, kinds: [.perfect, .open], seed: 41)
        #expect(mazes.count == 6)
        for (i, m) in mazes.enumerated() {
            let path = try #require(m.puzzle.shortestPath())
            #expect(path.count >= 8 && m.solution == m.puzzle.marking(path))
            #expect(m.puzzle.hasAlternativeRoute == (i % 2 == 1), "maze \(i): even ones perfect, odd ones open")
        }
        let again = try MazeDataset.generate(count: 6, size: 9, minimumPathLength: 8, kinds: [.perfect, .open], seed: 41)
        #expect(zip(mazes, again).allSatisfy { $0.puzzle == $1.puzzle && $0.solution == $1.solution })
        let other = try MazeDataset.generate(count: 6, size: 9, minimumPathLength: 8, kinds: [.perfect, .open], seed: 42)
        #expect(!zip(mazes, other).allSatisfy { $0.puzzle == $1.puzzle })
        do {
            _ = try MazeDataset.generate(count: 1, size: 7, minimumPathLength: 25, kinds: [.open], seed: 1)
            Issue.record("no 7×7 open maze has a 25-cell unique shortest path")
        } catch let e as MazeGenerationError {
            #expect(e.description.contains("7×7") && e.description.contains("--min-path"))
        }
    }

    /// Held-out mazes are none of the earlier ones in any rotation or reflection (7×7 perfect
    /// mazes are few, so a plain draw repeats some); a size with too few mazes says so.
    @Test func heldOutMazesAreNoViewOfAnEarlierOne() throws {
        func views(_ m: Maze) -> [[UInt8]] {
            (0..<8).map { Dihedral.apply($0, to: MazeDataset.tokens(m), rows: m.size, columns: m.size).cells }
        }
        let plain = try MazeDataset.generate(count: 300, size: 7, minimumPathLength: 5, seed: 3)
        let repeated = (200..<300).filter { i in views(plain[i].puzzle).contains { v in plain[..<i].contains { MazeDataset.tokens($0.puzzle) == v } } }
        #expect(!repeated.isEmpty, "a plain draw of 7×7 mazes repeats some, so the check below can fail")
        let held = try MazeDataset.generate(count: 300, size: 7, minimumPathLength: 5, seed: 3, heldOutFrom: 200)
        #expect(zip(plain[..<200], held[..<200]).allSatisfy { $0.puzzle == $1.puzzle }, "the training mazes are the same draws")
        #expect(views(held[0].puzzle)[0] == MazeDataset.tokens(held[0].puzzle), "view 0 is the maze itself")
        for i in 200..<300 {
            let earlier = Set(held[..<i].map { MazeDataset.tokens($0.puzzle) })
            #expect(!views(held[i].puzzle).contains(where: earlier.contains), "test maze \(i) is an earlier maze in some view")
            #expect(held[i].puzzle.shortestPath()!.count >= 5)
        }
        #expect(throws: MazeGenerationError.self) {
            try MazeDataset.generate(count: 200, size: 5, minimumPathLength: 3, seed: 1, heldOutFrom: 10)
        }
    }

    @Test func disconnectedMazesAreRefusedNamingSAndG() {
        do {
            _ = try Maze(parsing: "#####\n#S# #\n### #\n#  G#\n#####", source: "m.txt")
            Issue.record("a maze without a path was accepted")
        } catch {
            #expect("\(error)" == "m.txt: S (line 2, column 2) cannot reach G (line 4, column 4): walls close every route; expected a maze with a path.")
        }
    }

    @Test func readsTheReferenceCSVAndNamesBadRows() throws {
        var rng = SplitMix(seed: 2)
        let (puzzle, solution) = MazeGenerator(size: 30, minimumPathLength: 110).generate(using: &rng)
        func flat(_ m: Maze) -> String { m.description.replacingOccurrences(of: "\n", with: "") }
        let good = "source,question,answer,rating\nhard,\(flat(puzzle)),\(flat(solution)),3\n"
        let rows = try Maze.parseCSV(good, source: "train.csv")
        #expect(rows.count == 1 && rows[0].puzzle == puzzle && rows[0].solution == solution && rows[0].rating == 3)
        func message(_ text: String) -> String {
            do { _ = try Maze.parseCSV(text, source: "train.csv"); return "" } catch { return "\(error)" }
        }
        #expect(message("source,question,answer,rating\nx,\(flat(puzzle)),\(flat(puzzle)),3") == "train.csv, line 2: the answer does not mark a shortest path of the question.")
        #expect(message("source,question,answer,rating\nx,\(flat(puzzle)),\(flat(solution))") .contains("line 2: 3 fields; expected 4"))
        #expect(message("source,question,answer,rating\nx,\(flat(puzzle).dropLast()),\(flat(solution)),1")
                == "train.csv, line 2: the question: 899 cells; expected a square number of cells (e.g. 900 for 30×30), or one line per row.")
        #expect(message("source,question,answer,rating\nx,\(flat(puzzle)),\(flat(solution)),hard").contains("line 2: rating 'hard'"))
    }

    @Test func smallerMazesArePaddedAndReadBack() throws {
        let maze = try Maze(parsing: smallMaze)
        let tokens = MazeDataset.tokens(maze, paddedTo: 9)
        #expect(tokens.count == 81 && tokens[7] == 0 && tokens[9 * 8] == 0 && tokens[9 + 1] == Maze.Cell.start.rawValue)
        #expect(MazeDataset.maze(tokens: tokens, size: 7) == maze)
        let solution = maze.marking(maze.shortestPath()!)
        let d = MazeDataset.build(train: [(maze, solution)], test: [(maze, solution)], dihedralAugmentation: true, paddedTo: 9)
        let train = try #require(d.splits["train"])
        #expect(train.metadata.sequenceLength == 81 && train.exampleCount == 8)
        // Whatever is predicted on the PAD cells, the check reads them as walls.
        var predicted = MazeDataset.tokens(solution, paddedTo: 9)
        predicted[8] = Maze.Cell.open.rawValue
        let check = try #require(MazeDataset.check(input: tokens, label: MazeDataset.tokens(solution, paddedTo: 9), prediction: predicted))
        #expect(check.isValidShortest)
    }

    @Test func dihedralTransformsInvert() {
        let cells = (0..<12).map { UInt8($0) }
        for t in 0..<8 {
            let g = Dihedral.apply(t, to: cells, rows: 3, columns: 4)
            #expect(Dihedral.apply(Dihedral.inverse[t], to: g).cells == cells, "transform \(t)")
        }
        // Spec §12.4: transform 1 (90° counter-clockwise) of [[0,1],[2,3]] is [[1,3],[0,2]].
        #expect(Dihedral.apply(1, to: [0, 1, 2, 3], rows: 2, columns: 2).cells == [1, 3, 0, 2])
    }
}
