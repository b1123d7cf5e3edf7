import Foundation

/// Input a user supplied that is not a valid puzzle; each case names where and what was expected.
public enum PuzzleFormatError: Error, CustomStringConvertible, Equatable {
    /// A line of the wrong length (`source` is a file name or "argument").
    case wrongLength(source: String, line: Int, found: Int, expected: String)
    case badCharacter(source: String, line: Int, column: Int, found: Character, expected: String)
    case badRow(source: String, line: Int, reason: String)
    case contradiction(source: String, reason: String)
    case badJSON(source: String, reason: String)
    case gridTooLarge(source: String, field: String, rows: Int, columns: Int)
    case unreadable(source: String, reason: String)

    public var description: String {
        switch self {
        case .wrongLength(let s, let l, let f, let e):
            return "\(s)\(Self.at(l)): \(f) cells; expected \(e)."
        case .badCharacter(let s, let l, let c, let f, let e):
            return "\(s)\(Self.at(l)), column \(c): '\(f)' is not allowed; expected \(e)."
        case .badRow(let s, let l, let r): return "\(s)\(Self.at(l)): \(r)."
        case .contradiction(let s, let r): return "\(s): \(r)."
        case .badJSON(let s, let r): return "\(s): \(r)."
        case .gridTooLarge(let s, let f, let r, let c):
            return "\(s): \(f) is \(r)×\(c); grids may be at most 30×30."
        case .unreadable(let s, let r): return "\(s): cannot read (\(r))."
        }
    }

    private static func at(_ line: Int) -> String { line > 0 ? ", line \(line)" : "" }
}

/// Reads a whole text file, with the error naming it.
func readText(_ url: URL) throws -> String {
    do { return try String(contentsOf: url, encoding: .utf8) } catch {
        throw PuzzleFormatError.unreadable(source: url.path, reason: error.localizedDescription)
    }
}
