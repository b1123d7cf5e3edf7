import Foundation
import Testing
@testable import Application
import Models
import Puzzles
import Reasoning
import Tensors
import Training
import TestSupport

/// The reasoning page (`hrm view`, `hrm solve --html`, `hrm demo`): its data is the solve's, it
/// loads nothing, and a real browser (headless Chromium, where installed) draws every step.
@Suite struct ReasoningPageTests {
    static let sudoku = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
    static let maze = """
        #######
        #S    #
        # ### #
        # #   #
        # # ###
        #    G#
        #######
        """

    /// A tiny untrained TRM of the given shape (pages are about drawing, not accuracy).
    static func solver(sequence: Int, vocabulary: Int) -> Solver {
        var rng = RandomGenerator(seed: 4)
        var c = TRMConfiguration.tiny
        (c.sequenceLength, c.vocabularySize) = (sequence, vocabulary)
        return Solver(model: ModelConfiguration.trm(c).makeModel(using: &rng))
    }

    /// The three kinds of page, each with the number of cells of one board.
    static func pages() throws -> [(page: ReasoningPage, cells: Int)] {
        let s = try Solver.shipped()
        let sudoku = try Sudoku(parsing: Self.sudoku)
        let sudokuPage = ReasoningPage(sudoku: sudoku, solution: try s.solve(sudoku), title: "Sudoku <b>&</b>", verdict: "v")
        let maze = try Maze(parsing: Self.maze)
        let m = solver(sequence: 64, vocabulary: MazeDataset.vocabularySize)
        let mazePage = ReasoningPage(maze: maze, solution: try m.solve(maze), canvasSide: 8, verdict: "v")
        let input = Grid(rows: 3, columns: 4, cells: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2])
        let a = solver(sequence: ARCEncoding.sequenceLength, vocabulary: ARCEncoding.vocabularySize)
        let arcPage = ReasoningPage(arcInput: input, expected: input, solution: try a.solve(arcInput: input, expected: input), verdict: "v")
        return [(sudokuPage, 81), (mazePage, 49), (arcPage, -1)]
    }

    /// The JSON the page carries.
    static func embedded(_ html: String) throws -> ReasoningPage {
        let open = #"<script type="application/json" id="solve-data">"#
        let start = try #require(html.range(of: open)).upperBound
        let end = try #require(html.range(of: "</script>", range: start..<html.endIndex)).lowerBound
        let json = String(html[start..<end]).replacingOccurrences(of: "<\\/", with: "</")
        return try JSONDecoder().decode(ReasoningPage.self, from: Data(json.utf8))
    }

    @Test func thePageCarriesTheSolveAndLoadsNothing() throws {
        let s = try Solver.shipped()
        let sudoku = try Sudoku(parsing: Self.sudoku)
        let solution = try s.solve(sudoku)
        let page = ReasoningPage(sudoku: sudoku, solution: solution, title: "Sudoku <b>&</b> </script>", verdict: "ok")
        #expect(page.steps.count == solution.steps.count && page.answerStep == solution.haltStep)
        #expect(page.steps.map(\.board.cells) == solution.steps.map { $0.cells.map(Int.init) })
        #expect(page.steps.allSatisfy { $0.confidence.count == 81 && $0.confidence.allSatisfy { $0 > 0 && $0 <= 1 } })
        #expect(page.steps.map(\.qHalt) == solution.trace.map(\.qHalt))
        #expect(page.puzzle.cells == sudoku.cells.map(Int.init) && page.verified == true)
        let html = try page.html()
        #expect(try Self.embedded(html) == page, "the JSON in the page decodes to the page")
        #expect(html.contains("Sudoku &lt;b&gt;&amp;&lt;/b&gt;") && !html.contains("<b>&</b>"), "the title is escaped")
        #expect(html.components(separatedBy: "</script>").count == 3, "two scripts, neither ended early by the data")
        let outside = html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "")
        for s in ["http:", "https:", " src=", " href=", "@import", "url("] { #expect(!outside.contains(s), "\(s)") }
        #expect(html.hasPrefix("<!DOCTYPE html>\n" + ReasoningPage.signature))
    }

    @Test func mazeAndARCPagesCropTheCanvas() throws {
        let all = try Self.pages()
        let maze = all[1].page, arc = all[2].page
        #expect(maze.kind == .maze && maze.puzzle.rows == 7 && maze.steps.allSatisfy { $0.board.cells.count == 49 && $0.confidence.count == 49 })
        #expect(maze.puzzle.cells.filter { $0 == Int(Maze.Cell.start.rawValue) }.count == 1)
        #expect(arc.kind == .arc && arc.expected?.columns == 4)
        #expect(arc.steps.allSatisfy { $0.confidence.count == $0.board.rows * $0.board.columns })
    }

    // MARK: - In a browser

    /// Debian's `chromium`, where installed (CI installs it).
    static let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs headless Chromium on `file` with `arguments`; its standard output.
    static func browser(_ arguments: [String], file: URL, profile: URL) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: chromium!)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile.path)"] + arguments + [file.absoluteString]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    static func count(_ pattern: String, in text: String) throws -> Int {
        try NSRegularExpression(pattern: pattern).numberOfMatches(in: text, range: NSRange(text.startIndex..., in: text))
    }

    @Test(.enabled(if: chromium != nil, "needs headless Chromium (apt-get install chromium)"))
    func chromiumDrawsEveryStepOfEveryKind() throws {
        let dir = try temporaryDirectory("hrm-page")
        for (page, boardCells) in try Self.pages() {
            let file = dir.appendingPathComponent("\(page.kind).html")
            try Data(try page.html().utf8).write(to: file)
            // The DOM after the script ran, without the scripts' own text.
            let raw = try Self.browser(["--dump-dom"], file: file, profile: dir.appendingPathComponent("profile"))
            let dom = try NSRegularExpression(pattern: "<script[^>]*>.*?</script>", options: .dotMatchesLineSeparators)
                .stringByReplacingMatches(in: raw, range: NSRange(raw.startIndex..., in: raw), withTemplate: "")
            #expect(dom.count < raw.count && !dom.contains("JSON.parse"))
            let n = page.steps.count
            #expect(dom.contains("data-rendered=\"yes\"") && dom.contains("data-steps=\"\(n)\""), "\(page.kind): the script ran")
            #expect(try Self.count(#"<div class="frame strip"#, in: dom) == n, "\(page.kind): one frame per step")
            #expect(try Self.count(#"<circle class="halt-point""#, in: dom) == n, "\(page.kind): one halt point per step")
            // Boards: the puzzle, the step shown, every frame (and ARC's expected grid).
            let cells = boardCells > 0 ? boardCells : page.puzzle.cells.count
            var expected = page.puzzle.cells.count + page.steps[page.answerStep - 1].board.cells.count
            expected += page.steps.map(\.board.cells.count).reduce(0, +) + (page.expected?.cells.count ?? 0)
            #expect(cells == page.puzzle.rows * page.puzzle.columns)
            #expect(try Self.count(#"<div class="cell[ "]"#, in: dom) == expected, "\(page.kind): every cell drawn")
            // Changed marks: each frame's against its step before, and the shown step's.
            // (A grid of another shape than the step before, as ARC's can be, changed everywhere.)
            func changes(_ k: Int) -> Int {
                guard k > 0 else { return 0 }
                let (a, b) = (page.steps[k].board, page.steps[k - 1].board)
                guard a.rows == b.rows && a.columns == b.columns else { return a.cells.count }
                return zip(a.cells, b.cells).filter { $0 != $1 }.count
            }
            let marked = (0..<n).map(changes).reduce(0, +) + changes(page.answerStep - 1)
            #expect(try Self.count(#"<div class="cell[^"]*\bchanged\b"#, in: dom) == marked, "\(page.kind): changed cells marked")
            if page.kind == .sudoku {
                let answer = page.steps[page.answerStep - 1].board.cells
                #expect(dom.contains("step \(page.answerStep) of \(n) (the answer)"))
                #expect(try Self.count(#"data-value="\#(answer[2])""#, in: dom) > 0)
            }
            let png = dir.appendingPathComponent("\(page.kind).png")
            _ = try Self.browser(["--screenshot=\(png.path)", "--window-size=1200,900"], file: file, profile: dir.appendingPathComponent("profile"))
            let image = try Data(contentsOf: png)
            #expect(image.starts(with: [0x89, 0x50, 0x4E, 0x47]) && image.count > 10_000, "\(page.kind): a screenshot")
        }
    }
}
