import Foundation

/// A reference-counted, 64-byte-aligned buffer of `Float`s.
///
/// Buffers come from and go back to `BufferPool`, keyed by element count, so a training loop that
/// repeats the same shapes stops allocating after its first step. Contents are undefined when a
/// storage is created; every op writes all of its output before anyone reads it.
public final class Storage: @unchecked Sendable {
    /// The first element.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of elements.
    public let count: Int

    /// Takes a buffer of `count` elements from the pool (contents undefined).
    public init(count: Int) {
        self.count = count
        self.pointer = BufferPool.shared.take(count)
    }

    deinit { BufferPool.shared.give(pointer, count: count) }
}

/// A cache of freed buffers keyed by exact element count (a caching allocator, as PyTorch has).
///
/// Thread-safe. It keeps at most `limitBytes` of idle buffers; beyond that, freed buffers go back
/// to the system. `HRM_POOL_MB` in the environment sets the limit (default 4096).
public final class BufferPool: @unchecked Sendable {
    /// The process-wide pool.
    public static let shared = BufferPool()

    private let lock = NSLock()
    private var idle: [Int: [UnsafeMutablePointer<Float>]] = [:]
    private var idleBytes = 0
    private let limitBytes: Int
    /// Buffers handed out that did not come from the cache (a steady-state loop keeps this flat).
    public private(set) var freshAllocations = 0
    /// Bytes of buffers currently handed out (tensors alive), and the most there have been.
    public private(set) var liveBytes = 0
    public private(set) var peakLiveBytes = 0
    /// Bytes of idle (cached) buffers now.
    public var cachedBytes: Int { lock.lock(); defer { lock.unlock() }; return idleBytes }

    /// Starts a new peak measurement from the current live bytes.
    public func resetPeak() {
        lock.lock()
        peakLiveBytes = liveBytes
        lock.unlock()
    }

    /// Fresh allocations made by the calling thread (ops allocate their outputs on the calling
    /// thread, so this counts one computation's allocations even while other threads run).
    public static var freshAllocationsOnThisThread: Int {
        (Thread.current.threadDictionary["swift-hrm.freshAllocations"] as? Int) ?? 0
    }

    private init() {
        let megabytes = ProcessInfo.processInfo.environment["HRM_POOL_MB"].flatMap(Int.init) ?? 4096
        limitBytes = max(0, megabytes) << 20
    }

    func take(_ count: Int) -> UnsafeMutablePointer<Float> {
        let n = max(count, 1)
        lock.lock()
        liveBytes += n * 4
        peakLiveBytes = max(peakLiveBytes, liveBytes)
        if var list = idle[n], let p = list.popLast() {
            idle[n] = list
            idleBytes -= n * 4
            lock.unlock()
            return p
        }
        freshAllocations += 1
        lock.unlock()
        let key = "swift-hrm.freshAllocations"
        let dictionary = Thread.current.threadDictionary
        dictionary[key] = ((dictionary[key] as? Int) ?? 0) + 1
        let raw = UnsafeMutableRawPointer.allocate(byteCount: n * 4, alignment: 64)
        return raw.bindMemory(to: Float.self, capacity: n)
    }

    func give(_ pointer: UnsafeMutablePointer<Float>, count: Int) {
        let n = max(count, 1)
        lock.lock()
        liveBytes -= n * 4
        if idleBytes + n * 4 <= limitBytes {
            idle[n, default: []].append(pointer)
            idleBytes += n * 4
            lock.unlock()
            return
        }
        lock.unlock()
        UnsafeMutableRawPointer(pointer).deallocate()
    }

    /// Returns every idle buffer to the system.
    public func trim() {
        lock.lock()
        let all = idle.values.flatMap { $0 }
        idle = [:]
        idleBytes = 0
        lock.unlock()
        for p in all { UnsafeMutableRawPointer(p).deallocate() }
    }
}
