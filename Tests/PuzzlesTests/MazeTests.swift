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
    }

    @Test func checkerTellsExactFromValidShortest() throws {
        let maze = try Maze(parsing: """
            #####
            #S  #
            #   #
            #  G#
            #####
            """)
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
