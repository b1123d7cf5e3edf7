/// A small 2-D grid of byte values, row-major (colours, digits or maze cells).
public struct Grid: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let rows: Int
    public let columns: Int
    public var cells: [UInt8]

    public init(rows: Int, columns: Int, cells: [UInt8]) {
        precondition(cells.count == rows * columns, "\(cells.count) cells for \(rows)×\(columns)")
        self.rows = rows
        self.columns = columns
        self.cells = cells
    }

    public init(rows: Int, columns: Int, fill: UInt8 = 0) {
        self.init(rows: rows, columns: columns, cells: Array(repeating: fill, count: rows * columns))
    }

    public subscript(row: Int, column: Int) -> UInt8 {
        get { cells[row * columns + column] }
        set { cells[row * columns + column] = newValue }
    }

    /// The grid as rows of digits (values above 9 as letters).
    public var description: String {
        (0..<rows).map { r in
            String((0..<columns).map { c in
                let v = self[r, c]
                return v < 10 ? Character(String(v)) : Character(UnicodeScalar(UInt8(87) + v))
            })
        }.joined(separator: "\n")
    }
}
