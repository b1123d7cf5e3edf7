import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A dataset's token bytes: in memory (what a builder made) or a read-only memory map of the
/// `.npy` file they are stored in, so a dataset of many gigabytes is read without being loaded.
/// Only the pages a batch touches become resident; scans over all of it (`forEachChunk`) hand
/// each chunk's pages back to the kernel as they go.
///
/// ```swift
/// let tokens = try TokenBytes(mapping: url, offset: 128, count: rows * 900)
/// let row = Array(tokens[900..<1800])
/// ```
public struct TokenBytes: RandomAccessCollection, Equatable, @unchecked Sendable {
    /// Owns the bytes: a heap copy or a mapping, released when the last copy goes.
    final class Storage {
        let base: UnsafeRawPointer?
        let count: Int
        /// The mapping (page-aligned start and length) to unmap, or nil for heap memory.
        let mapping: (start: UnsafeMutableRawPointer, length: Int)?
        /// Bytes read through the mapping since its pages were last handed back.
        var touched = 0
        let lock = NSLock()

        init(copying bytes: UnsafeRawBufferPointer) {
            count = bytes.count
            if bytes.count > 0 {
                let memory = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
                memory.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
                base = UnsafeRawPointer(memory)
            } else {
                base = nil
            }
            mapping = nil
        }

        init(base: UnsafeRawPointer?, count: Int, mapping: (start: UnsafeMutableRawPointer, length: Int)) {
            (self.base, self.count, self.mapping) = (base, count, mapping)
        }

        deinit {
            if let mapping {
                munmap(mapping.start, mapping.length)
            } else if let base {
                UnsafeMutableRawPointer(mutating: base).deallocate()
            }
        }
    }

    let storage: Storage

    public init(_ bytes: [UInt8]) {
        storage = bytes.withUnsafeBytes { Storage(copying: $0) }
    }

    /// Maps `count` bytes of `url` from byte `offset`, read-only.
    /// - Throws: `DatasetError.invalid` when the file is shorter than that or cannot be mapped.
    public init(mapping url: URL, offset: Int, count: Int) throws {
        func fail(_ reason: String) -> DatasetError { .invalid(file: url.path, field: nil, reason: reason) }
        guard count > 0 else {
            storage = Storage(copying: UnsafeRawBufferPointer(start: nil, count: 0))
            return
        }
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw fail("cannot be opened (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, Int(info.st_size) >= offset + count else {
            throw fail("holds \(info.st_size) bytes; its header promises \(offset + count) (truncated?)")
        }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = offset / page * page
        let length = offset + count - start
        guard let memory = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, off_t(start)), memory != MAP_FAILED else {
            throw fail("cannot be memory-mapped (\(String(cString: strerror(errno))))")
        }
        storage = Storage(base: UnsafeRawPointer(memory + (offset - start)), count: count, mapping: (memory, length))
    }

    /// Whether the bytes are a file mapping (not a heap copy).
    public var isMapped: Bool { storage.mapping != nil }

    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.count }

    public subscript(position: Int) -> UInt8 {
        precondition(position >= 0 && position < storage.count, "token index \(position) out of 0..<\(storage.count)")
        return storage.base!.load(fromByteOffset: position, as: UInt8.self)
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage.base, count: storage.count))
    }

    /// Visits every byte in chunks of `chunk` bytes. For a mapping, each chunk's pages are
    /// released after its visit (`MADV_DONTNEED` on a read-only private map drops them; they
    /// are read again from the file if touched later), so a scan does not grow the resident set.
    public func forEachChunk(_ chunk: Int = 1 << 26, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        guard let base = storage.base else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        var start = 0
        while start < storage.count {
            let end = Swift.min(storage.count, start + chunk)
            try body(UnsafeRawBufferPointer(start: base + start, count: end - start))
            if storage.mapping != nil {
                // Whole pages inside [start, end) only, so no byte still to be visited is dropped
                // (dropping is harmless anyway: the file stays the source).
                let address = Int(bitPattern: base + start)
                let first = (address + page - 1) / page * page, last = Int(bitPattern: base + end) / page * page
                if last > first { madvise(UnsafeMutableRawPointer(bitPattern: first), last - first, MADV_DONTNEED) }
            }
            start = end
        }
    }

    /// How many bytes of reads a mapping takes before its resident pages are handed back.
    public static let residentBudget = 512 << 20

    /// Records that `bytes` were read (a batch's rows). Once `residentBudget` is passed, the
    /// whole mapping's pages are dropped from this process (`MADV_DONTNEED`); they stay in the
    /// kernel's page cache, so reading them again costs a minor fault, not a disk read. This
    /// keeps random sampling over a dataset larger than memory at a bounded resident set.
    public func noteRead(_ bytes: Int) {
        guard let mapping = storage.mapping else { return }
        storage.lock.lock()
        defer { storage.lock.unlock() }
        storage.touched += bytes
        if storage.touched >= Self.residentBudget {
            madvise(mapping.start, mapping.length, MADV_DONTNEED)
            storage.touched = 0
        }
    }

    public static func == (a: TokenBytes, b: TokenBytes) -> Bool {
        guard a.count == b.count else { return false }
        if a.storage === b.storage || a.count == 0 { return true }
        return memcmp(a.storage.base!, b.storage.base!, a.count) == 0
    }
}
