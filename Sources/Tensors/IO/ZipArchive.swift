import Foundation

/// A zip archive read in place: the central directory (ZIP64 included) and the byte ranges of
/// stored (uncompressed) entries, the container `torch.save` writes. Nothing is inflated or
/// extracted; an entry's bytes are a slice of the (memory-mapped) file.
///
/// ```swift
/// let zip = try ZipArchive(data: try Data(contentsOf: url, options: .alwaysMapped), path: url.path)
/// let range = try zip.range(of: "archive/data.pkl")
/// ```
public struct ZipArchive {
    public struct Entry: Sendable, Equatable {
        public var name: String
        /// Where the entry's bytes lie in the archive.
        public var range: Range<Int>
        public var crc32: UInt32
    }

    public let path: String
    /// Entries in central-directory order.
    public let entries: [Entry]
    private let index: [String: Int]

    /// Reads the central directory of `data` (`path` names the file in errors).
    /// - Throws: `TorchCheckpointError.notReadable` for anything that is not a well-formed
    ///   archive of stored entries lying inside the file.
    public init(data: Data, path: String) throws {
        self.path = path
        let bytes = ByteReader(data: data, path: path)
        func fail(_ reason: String) -> TorchCheckpointError { .notReadable(file: path, reason: reason) }
        // End of central directory: 22 bytes plus a comment of at most 65,535 bytes.
        guard data.count >= 22 else { throw fail("\(data.count) bytes is too short for a zip archive") }
        var eocd = -1
        let lowest = max(0, data.count - 22 - 65_535)
        var at = data.count - 22
        while at >= lowest {
            if try bytes.u32(at) == 0x0605_4b50 { eocd = at; break }
            at -= 1
        }
        guard eocd >= 0 else { throw fail("no end-of-central-directory record (not a zip archive, or truncated)") }
        var count = Int(try bytes.u16(eocd + 10))
        var directorySize = Int(try bytes.u32(eocd + 12))
        var directoryOffset = Int(try bytes.u32(eocd + 16))
        if count == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            // ZIP64: a locator right before the record points at the 64-bit record.
            guard eocd >= 20, try bytes.u32(eocd - 20) == 0x0706_4b50 else { throw fail("ZIP64 sizes without a ZIP64 locator") }
            let record = try bytes.int64(eocd - 20 + 8)
            guard try bytes.u32(record) == 0x0606_4b50 else { throw fail("the ZIP64 locator points at no ZIP64 record") }
            count = try bytes.int64(record + 32)
            directorySize = try bytes.int64(record + 40)
            directoryOffset = try bytes.int64(record + 48)
        }
        guard directoryOffset <= data.count, directorySize <= data.count - directoryOffset else {
            throw fail("the central directory (\(directorySize) bytes at \(directoryOffset)) lies outside the \(data.count)-byte file")
        }
        guard count <= directorySize / 46 + 1 else { throw fail("\(count) entries cannot fit a \(directorySize)-byte directory") }
        var entries: [Entry] = []
        var index: [String: Int] = [:]
        var p = directoryOffset
        for _ in 0..<count {
            guard try bytes.u32(p) == 0x0201_4b50 else { throw fail("central-directory entry \(entries.count) has a bad signature") }
            let flags = try bytes.u16(p + 8), method = try bytes.u16(p + 10)
            let crc = try bytes.u32(p + 16)
            var compressed = Int(try bytes.u32(p + 20)), size = Int(try bytes.u32(p + 24))
            let nameLength = Int(try bytes.u16(p + 28)), extraLength = Int(try bytes.u16(p + 30))
            let commentLength = Int(try bytes.u16(p + 32))
            var localOffset = Int(try bytes.u32(p + 42))
            let name = String(decoding: try bytes.slice(p + 46, nameLength), as: UTF8.self)
            // The ZIP64 extra field holds, in this order, whichever of the sizes and offset
            // overflowed their 32-bit fields.
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = try bytes.u16(e), length = Int(try bytes.u16(e + 2))
                if id == 0x0001 {
                    var q = e + 4
                    if size == 0xFFFF_FFFF { size = try bytes.int64(q); q += 8 }
                    if compressed == 0xFFFF_FFFF { compressed = try bytes.int64(q); q += 8 }
                    if localOffset == 0xFFFF_FFFF { localOffset = try bytes.int64(q) }
                }
                e += 4 + length
            }
            guard method == 0 else {
                throw fail("entry '\(name)' is compressed (method \(method)); torch.save stores entries uncompressed, and only stored entries are read")
            }
            guard flags & 1 == 0 else { throw fail("entry '\(name)' is encrypted") }
            guard compressed == size else { throw fail("entry '\(name)' is stored with \(compressed) bytes for \(size)") }
            // The local header repeats the name and has its own extra field.
            guard localOffset <= data.count - 30, try bytes.u32(localOffset) == 0x0403_4b50 else {
                throw fail("entry '\(name)' has no local header at offset \(localOffset)")
            }
            let start = localOffset + 30 + Int(try bytes.u16(localOffset + 26)) + Int(try bytes.u16(localOffset + 28))
            guard start <= data.count, size <= data.count - start else {
                throw fail("entry '\(name)' (\(size) bytes at \(start)) runs past the end of the \(data.count)-byte file (truncated?)")
            }
            guard index[name] == nil else { throw fail("entry '\(name)' appears twice") }
            index[name] = entries.count
            entries.append(Entry(name: name, range: start..<(start + size), crc32: crc))
            p = extraEnd + commentLength
        }
        self.entries = entries
        self.index = index
    }

    public func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    /// The archive-wide CRC-32 (IEEE) of `bytes`, as zip stores it.
    public static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes { crc = crcTable[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        return ~crc
    }

    private static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
}

/// Bounds-checked little-endian reads from a file's bytes; every read past the end throws.
struct ByteReader {
    let data: Data
    let path: String

    func check(_ offset: Int, _ count: Int) throws {
        guard offset >= 0, count >= 0, offset <= data.count, count <= data.count - offset else {
            throw TorchCheckpointError.notReadable(file: path, reason: "a field at byte \(offset) runs past the end of the \(data.count)-byte file (truncated?)")
        }
    }

    func u8(_ o: Int) throws -> UInt8 { try check(o, 1); return data[data.startIndex + o] }
    func u16(_ o: Int) throws -> UInt16 {
        try check(o, 2)
        return data.withUnsafeBytes { UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: UInt16.self)) }
    }
    func u32(_ o: Int) throws -> UInt32 {
        try check(o, 4)
        return data.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
    }
    func u64(_ o: Int) throws -> UInt64 {
        try check(o, 8)
        return data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
    }
    /// A 64-bit size or offset, refused when it does not fit an Int.
    func int64(_ o: Int) throws -> Int {
        let v = try u64(o)
        guard v <= UInt64(Int.max) else {
            throw TorchCheckpointError.notReadable(file: path, reason: "a 64-bit size at byte \(o) is \(v), larger than any file")
        }
        return Int(v)
    }
    func slice(_ o: Int, _ count: Int) throws -> Data {
        try check(o, count)
        return data.subdata(in: (data.startIndex + o)..<(data.startIndex + o + count))
    }
}
