import Dispatch
import Foundation

/// Splitting loops over the machine's cores.
///
/// Measured on the project's 2-core machine (notes/CPU-ENGINEERING.md §3): a fork-join with
/// `concurrentPerform` costs ~0.4 µs hot, so work is split only above `minimumWork` elements;
/// smaller loops run on the calling thread. Chunks are fixed by the sizes alone, so results do
/// not depend on scheduling (determinism).
public enum Parallel {
    /// Threads the engine uses: `HRM_THREADS` if set, else the active processor count.
    public static let threadCount: Int = {
        if let s = ProcessInfo.processInfo.environment["HRM_THREADS"], let n = Int(s), n > 0 {
            return n
        }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Elements (of streaming work) below which a loop stays on one thread.
    public static let minimumWork = 32_768

    /// Calls `body` on disjoint ranges covering `0..<count`, in parallel when `count * cost`
    /// (an estimate of elements touched per item) is large enough.
    @inline(__always)
    public static func forEach(
        _ count: Int, cost: Int = 1, _ body: (Range<Int>) -> Void
    ) {
        let threads = min(threadCount, count)
        if threads <= 1 || count * cost < minimumWork {
            if count > 0 { body(0..<count) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let lo = count * t / threads
            let hi = count * (t + 1) / threads
            if lo < hi { body(lo..<hi) }
        }
    }
}
