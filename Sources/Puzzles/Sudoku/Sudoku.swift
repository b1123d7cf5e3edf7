import Foundation

/// A 9×9 Sudoku: 81 cells row by row, 0 for a blank, 1–9 for a digit.
///
/// ```swift
/// let puzzle = try Sudoku(parsing: "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79")
/// print(puzzle)          // the grid with box separators
/// ```
public struct Sudoku: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var cells: [UInt8]

    public init(cells: [UInt8]) {
        precondition(cells.count == 81 && cells.allSatisfy { $0 <= 9 }, "a Sudoku has 81 cells of 0–9")
        self.cells = cells
    }

    /// Parses 81 characters (`.` or `0` for a blank, `1`–`9`); spaces and line breaks are
    /// ignored, so a pasted 9-line grid works too.
    /// - Throws: `PuzzleFormatError` naming `source` and `line`, the column and what was expected.
    public init(parsing text: String, source: String = "argument", line: Int = 0) throws {
        var cells: [UInt8] = []
        cells.reserveCapacity(81)
        var column = 0
        for ch in text {
            column += 1
            if ch == " " || ch == "\n" || ch == "\r" || ch == "\t" || ch == "|" || ch == "-" || ch == "+" { continue }
            // By ASCII value: a Character range would also admit graphemes such as "3" followed by
            // a combining mark, which sort between "1" and "9" but are no digit.
            switch ch.asciiValue {
            case UInt8(ascii: ".")?, UInt8(ascii: "0")?, UInt8(ascii: "_")?: cells.append(0)
            case let a? where (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(a): cells.append(a - UInt8(ascii: "0"))
            default:
                throw PuzzleFormatError.badCharacter(source: source, line: line, column: column, found: ch,
                                                     expected: "a digit 1–9, or '.' or '0' for a blank")
            }
        }
        guard cells.count == 81 else {
            throw PuzzleFormatError.wrongLength(source: source, line: line, found: cells.count,
                                                expected: "81 (9 rows of 9)")
        }
        self.cells = cells
    }

    /// The 81-character form, `.` for blanks.
    public var string: String {
        String(cells.map { $0 == 0 ? "." : Character(String($0)) })
    }

    public var blankCount: Int { cells.lazy.filter { $0 == 0 }.count }
    public var isComplete: Bool { blankCount == 0 }

    public subscript(row: Int, column: Int) -> UInt8 {
        get { cells[row * 9 + column] }
        set { cells[row * 9 + column] = newValue }
    }

    /// Whether no row, column or box repeats a digit (blanks allowed).
    public var isConsistent: Bool {
        for unit in SudokuSolver.units {
            var seen: UInt16 = 0
            for i in unit where cells[i] != 0 {
                let bit = UInt16(1) << cells[i]
                if seen & bit != 0 { return false }
                seen |= bit
            }
        }
        return true
    }

    /// Whether `digit` may go in `cell`: no row, column or box it shares with `cell` holds it
    /// (the cell's own value is not looked at).
    public func allows(_ digit: UInt8, at cell: Int) -> Bool {
        !SudokuSolver.peers[(cell * 20)..<(cell * 20 + 20)].contains { cells[$0] == digit }
    }

    /// Whether `solution` is complete, consistent, and agrees with every given of `self`.
    public func isSolved(by solution: Sudoku) -> Bool {
        solution.isComplete && solution.isConsistent
            && zip(cells, solution.cells).allSatisfy { $0 == 0 || $0 == $1 }
    }

    /// The grid with box separators, blanks as `.`.
    public var description: String {
        var lines: [String] = []
        for r in 0..<9 {
            if r == 3 || r == 6 { lines.append("------+-------+------") }
            var parts: [String] = []
            for b in 0..<3 {
                parts.append((0..<3).map { c in
                    let v = self[r, b * 3 + c]
                    return v == 0 ? "." : String(v)
                }.joined(separator: " "))
            }
            lines.append(parts.joined(separator: " | "))
        }
        return lines.joined(separator: "\n")
    }
}

/// One row of the Sudoku-Extreme CSV (`source,question,answer,rating`).
public struct SudokuRecord: Equatable, Sendable {
    public var source: String
    public var question: Sudoku
    public var answer: Sudoku
    public var rating: Int

    public init(source: String, question: Sudoku, answer: Sudoku, rating: Int) {
        self.source = source
        self.question = question
        self.answer = answer
        self.rating = rating
    }

    /// Reads a Sudoku-Extreme CSV: a header line, then `source,question,answer,rating` rows.
    /// - Throws: `PuzzleFormatError` naming the file, the line and what was wrong.
    public static func readCSV(_ url: URL) throws -> [SudokuRecord] {
        try parseCSV(try readText(url), source: url.path)
    }

    /// Parses a Sudoku-Extreme CSV's text (`source` names it in errors).
    public static func parseCSV(_ text: String, source: String) throws -> [SudokuRecord] {
        var records: [SudokuRecord] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = index + 1
            let row = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if row.isEmpty { continue }
            if line == 1 && row.hasPrefix("source") { continue }
            let fields = row.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == 4 else {
                throw PuzzleFormatError.badRow(source: source, line: line,
                                               reason: "\(fields.count) fields; expected 4 (source,question,answer,rating)")
            }
            let question = try Sudoku(parsing: String(fields[1]), source: source, line: line)
            let answer = try Sudoku(parsing: String(fields[2]), source: source, line: line)
            guard let rating = Int(fields[3].trimmingCharacters(in: .whitespaces)) else {
                throw PuzzleFormatError.badRow(source: source, line: line,
                                               reason: "rating '\(fields[3])' is not a whole number")
            }
            guard answer.isComplete, question.isSolved(by: answer) else {
                throw PuzzleFormatError.badRow(source: source, line: line,
                                               reason: "the answer does not solve the question")
            }
            records.append(SudokuRecord(source: String(fields[0]), question: question, answer: answer, rating: rating))
        }
        return records
    }
}
