import Foundation
import SafeFiles

/// A `.npy` file that cannot be used, with the file and what was expected.
public enum NPYError: Error, CustomStringConvertible, Equatable {
    case unreadable(file: String, reason: String)
    case malformed(file: String, reason: String)
    case unsupportedDType(file: String, found: String, expected: String)
    case wrongShape(file: String, found: [Int], expected: String)
    case truncated(file: String, expectedBytes: Int, foundBytes: Int)

    public var description: String {
        switch self {
        case .unreadable(let f, let r): return "\(f): cannot read the file (\(r))."
        case .malformed(let f, let r): return "\(f): not a valid .npy file: \(r)."
        case .unsupportedDType(let f, let d, let e): return "\(f): dtype '\(d)' is not supported; expected \(e)."
        case .wrongShape(let f, let s, let e): return "\(f): shape \(s); expected \(e)."
        case .truncated(let f, let e, let n):
            return "\(f): the data is truncated: the header promises \(e) bytes, the file has \(n)."
        }
    }
}

/// An integer array read from or written to a `.npy` file (the reference's dataset arrays).
public struct NPYArray: Equatable, Sendable {
    public var shape: [Int]
    /// Row-major values, widened to Int32.
    public var values: [Int32]

    public init(shape: [Int], values: [Int32]) {
        precondition(shape.reduce(1, *) == values.count, "\(values.count) values for shape \(shape)")
        self.shape = shape
        self.values = values
    }
}

/// NumPy's `.npy` format, versions 1–3: magic `\x93NUMPY`, version, header length, a Python
/// dict literal `{'descr': '<i4', 'fortran_order': False, 'shape': (3, 81), }`, then raw data.
public enum NPY {
    /// Integer element types this reader accepts (little-endian or byte-order-free).
    public static let integerTypes: [String: Int] = [
        "|u1": 1, "|i1": 1, "<u1": 1, "<i1": 1, "|b1": 1, "<i2": 2, "<u2": 2, "<i4": 4, "<u4": 4, "<i8": 8, "<u8": 8,
    ]

    /// Reads an integer array; values must fit in Int32.
    public static func readIntegers(_ url: URL) throws -> NPYArray {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw NPYError.unreadable(file: url.path, reason: error.localizedDescription)
        }
        return try readIntegers(data: data, source: url.path)
    }

    /// Reads an integer array from a `.npy` file's bytes (`source` names it in errors). The size
    /// the header claims is checked against the bytes there before anything is allocated.
    public static func readIntegers(data: Data, source: String) throws -> NPYArray {
        let (descr, shape, body) = try readRaw(data, source: source)
        guard let width = integerTypes[descr] else {
            throw NPYError.unsupportedDType(file: source, found: descr, expected: "an integer type (uint8, int8, int16, int32, int64)")
        }
        guard let count = CheckedSize.product(shape), let bytes = CheckedSize.product([count, width]) else {
            throw NPYError.malformed(file: source, reason: "shape \(shape) is too large to exist")
        }
        guard body.count >= bytes else {
            throw NPYError.truncated(file: source, expectedBytes: bytes, foundBytes: body.count)
        }
        var values = [Int32](repeating: 0, count: count)
        var outOfRange = false
        body.withUnsafeBytes { raw in
            for i in 0..<count {
                switch (descr, width) {
                case ("|u1", _), ("<u1", _), ("|b1", _): values[i] = Int32(raw.load(fromByteOffset: i, as: UInt8.self))
                case (_, 1): values[i] = Int32(raw.load(fromByteOffset: i, as: Int8.self))
                case ("<u2", _): values[i] = Int32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                case (_, 2): values[i] = Int32(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
                case ("<u4", _):
                    let v = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                    if v > UInt32(Int32.max) { outOfRange = true }
                    values[i] = Int32(truncatingIfNeeded: v)
                case (_, 4): values[i] = Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))
                default:
                    let v = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
                    if v < Int64(Int32.min) || v > Int64(Int32.max) { outOfRange = true }
                    values[i] = Int32(truncatingIfNeeded: v)
                }
            }
        }
        if outOfRange {
            throw NPYError.malformed(file: source, reason: "values do not fit in 32-bit integers")
        }
        return NPYArray(shape: shape, values: values)
    }

    /// Writes a uint8 array (`|u1`), atomically.
    public static func write(bytes: [UInt8], shape: [Int], to url: URL) throws {
        precondition(bytes.count == shape.reduce(1, *), "\(bytes.count) values for shape \(shape)")
        var data = header(descr: "|u1", shape: shape)
        data.append(contentsOf: bytes)
        try AtomicFile.write(data, to: url)
    }

    /// Writes `array` with element type `descr` (`"|u1"` or `"<i4"`), atomically.
    public static func write(_ array: NPYArray, descr: String = "<i4", to url: URL) throws {
        precondition(descr == "|u1" || descr == "<i4", "NPY.write supports |u1 and <i4")
        var data = header(descr: descr, shape: array.shape)
        if descr == "|u1" {
            precondition(array.values.allSatisfy { $0 >= 0 && $0 <= 255 }, "values do not fit in uint8")
            data.append(contentsOf: array.values.map { UInt8($0) })
        } else {
            array.values.map { $0.littleEndian }.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        try AtomicFile.write(data, to: url)
    }

    /// The magic, version 1.0 and the header dict, padded so the data starts on 64 bytes (or
    /// exactly at `length`, for a header rewritten in place once the shape is known).
    static func header(descr: String, shape: [Int], length: Int? = nil) -> Data {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)"
            : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + header.utf8.count + 1
        let padding = length.map { $0 - unpadded } ?? (64 - unpadded % 64) % 64
        precondition(padding >= 0, "an .npy header of \(unpadded) bytes does not fit \(length ?? 0)")
        header += String(repeating: " ", count: padding) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        return data
    }

    /// The element type, shape and data offset of an `.npy` file, from its first bytes only
    /// (the data is not read: see `TokenBytes(mapping:offset:count:)`).
    public static func header(of url: URL) throws -> (descr: String, shape: [Int], dataOffset: Int) {
        let handle: FileHandle
        do { handle = try FileHandle(forReadingFrom: url) } catch {
            throw NPYError.unreadable(file: url.path, reason: error.localizedDescription)
        }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 65_536 + 12)) ?? Data()
        let (descr, shape, body) = try readRaw(head, source: url.path)
        return (descr, shape, head.count - body.count)
    }

    // MARK: - Reading the header

    static func readRaw(_ bytes: Data, source: String) throws -> (descr: String, shape: [Int], body: Data) {
        let data = bytes.startIndex == 0 ? bytes : Data(bytes)
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
        guard data.count >= 10, Array(data.prefix(6)) == magic else {
            throw NPYError.malformed(file: source, reason: "missing the \\x93NUMPY magic")
        }
        let major = data[data.startIndex + 6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(data[data.startIndex + 8]) | Int(data[data.startIndex + 9]) << 8
            headerStart = 10
        case 2, 3:
            guard data.count >= 12 else { throw NPYError.malformed(file: source, reason: "header cut short") }
            headerLength = (0..<4).reduce(0) { $0 | Int(data[data.startIndex + 8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw NPYError.malformed(file: source, reason: "unknown format version \(major)")
        }
        guard data.count >= headerStart + headerLength,
              let header = String(data: data.subdata(in: headerStart..<(headerStart + headerLength)), encoding: .utf8)
        else {
            throw NPYError.malformed(file: source, reason: "header cut short")
        }
        guard let descr = field("descr", in: header).map({ $0.trimmingCharacters(in: CharacterSet(charactersIn: "'\" ")) }) else {
            throw NPYError.malformed(file: source, reason: "header has no 'descr'")
        }
        if let order = field("fortran_order", in: header), order.contains("True") {
            throw NPYError.malformed(file: source, reason: "Fortran-ordered arrays are not supported; save with np.ascontiguousarray")
        }
        guard let shapeText = field("shape", in: header) else {
            throw NPYError.malformed(file: source, reason: "header has no 'shape'")
        }
        let dims = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let shape = dims.compactMap { Int($0) }
        guard shape.count == dims.count, shape.allSatisfy({ $0 >= 0 }) else {
            throw NPYError.malformed(file: source, reason: "cannot read shape \(shapeText)")
        }
        return (descr, shape, data.subdata(in: (headerStart + headerLength)..<data.count))
    }

    /// The raw text of `'key': value` in a header dict (tuples kept whole).
    private static func field(_ key: String, in header: String) -> String? {
        guard let keyRange = header.range(of: "'\(key)'") ?? header.range(of: "\"\(key)\""),
              let colon = header[keyRange.upperBound...].firstIndex(of: ":")
        else { return nil }
        var rest = header[header.index(after: colon)...].drop { $0 == " " }
        if rest.first == "(" {
            guard let close = rest.firstIndex(of: ")") else { return nil }
            return String(rest[...close])
        }
        if let end = rest.firstIndex(where: { $0 == "," || $0 == "}" }) { rest = rest[..<end] }
        return String(rest)
    }
}

/// Writes a `uint8` `.npy` file of rows as they come, for datasets larger than memory: a
/// header of fixed length is reserved, the rows are appended through a buffer, and `finish`
/// writes the real shape into the header. Meant for a staging folder that is installed whole
/// (`PuzzleDataset.stream`): until then a half-written file is never under a dataset's name.
public final class NPYRowWriter {
    public let url: URL
    public let rowLength: Int
    public private(set) var rows = 0
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    /// The first write the disk refused; later rows are dropped and `finish` throws it.
    private var failure: FileWriteError?
    static let headerLength = 128

    public init(url: URL, rowLength: Int) throws {
        self.url = url
        self.rowLength = rowLength
        guard FileManager.default.createFile(atPath: url.path, contents: NPY.header(descr: "|u1", shape: [0, rowLength], length: Self.headerLength)),
              let handle = FileHandle(forWritingAtPath: url.path)
        else { throw FileWriteError(path: url.path, reason: "cannot create the file") }
        self.handle = handle
        try handle.seekToEnd()
        buffer.reserveCapacity(1 << 20)
    }

    public func append(_ row: [UInt8]) {
        precondition(row.count == rowLength, "rows must have \(rowLength) tokens")
        guard failure == nil else { return }
        buffer += row
        rows += 1
        if buffer.count >= 1 << 20 { flush() }
    }

    private func flush() {
        guard failure == nil else { return }
        do { try handle.write(contentsOf: buffer) } catch {
            failure = FileWriteError(path: url.path, reason: "writing: \(error.localizedDescription)")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes the rows and writes the header with the final shape.
    /// - Throws: the first write the disk refused, or this one.
    public func finish() throws {
        flush()
        if let failure {
            try? handle.close()
            throw failure
        }
        do {
            try handle.seek(toOffset: 0)
            try handle.write(contentsOf: NPY.header(descr: "|u1", shape: [rows, rowLength], length: Self.headerLength))
            try handle.synchronize()
            try handle.close()
        } catch let e as FileWriteError { throw e } catch {
            throw FileWriteError(path: url.path, reason: "finishing: \(error.localizedDescription)")
        }
    }
}
