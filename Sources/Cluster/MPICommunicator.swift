#if MPI
import CMPI
import Foundation

/// MPI's world (Open MPI; the package trait `MPI`).
///
/// Every collective is watched: a rank that waits longer than `peerTimeout` seconds for the
/// others (one of them died, hung, or lost its network) prints one line saying so and aborts the
/// whole job, so no rank hangs for ever. (A rank that dies outright is also noticed by mpirun,
/// which then stops the others itself.)
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    public let peerTimeout: Double
    private let watch = NSLock()
    private var waitingSince: Double? = nil
    private var operation = ""
    private var finished = false
    nonisolated(unsafe) private static var initialized = false

    init(peerTimeout: Double) throws {
        precondition(!Self.initialized, "MPI joins once per process")
        Self.initialized = true
        var provided: Int32 = 0
        guard MPI_Init_thread(nil, nil, cmpi_thread_funneled(), &provided) == MPI_SUCCESS else {
            throw ClusterError.unavailable("MPI_Init failed; is this process started by mpirun?")
        }
        var r: Int32 = 0, n: Int32 = 0
        MPI_Comm_rank(cmpi_comm_world(), &r)
        MPI_Comm_size(cmpi_comm_world(), &n)
        rank = Int(r)
        size = Int(n)
        self.peerTimeout = peerTimeout
        let watchdog = Thread { [weak self] in
            while let self, !self.isFinished {
                Thread.sleep(forTimeInterval: 0.5)
                self.checkTimeout()
            }
        }
        watchdog.name = "hrm MPI watchdog"
        watchdog.start()
    }

    private var isFinished: Bool { watch.lock(); defer { watch.unlock() }; return finished }

    private func checkTimeout() {
        watch.lock()
        let since = waitingSince, op = operation
        watch.unlock()
        guard let since, Date().timeIntervalSince1970 - since > peerTimeout else { return }
        let line = "hrm rank \(rank) of \(size): waited \(Int(peerTimeout)) s for the other ranks in \(op) (a rank died, hangs, or cannot be reached); stopping the whole job.\n"
        FileHandle.standardError.write(Data(line.utf8))
        MPI_Abort(cmpi_comm_world(), 3)
        _exit(3)
    }

    /// Runs one collective under the watchdog.
    private func watched<T>(_ name: String, _ body: () -> T) -> T {
        watch.lock()
        waitingSince = Date().timeIntervalSince1970
        operation = name
        watch.unlock()
        defer {
            watch.lock()
            waitingSince = nil
            watch.unlock()
        }
        return body()
    }

    public func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        watched("a gradient sum") {
            var start = 0
            while start < count {
                let n = min(Cluster.chunkCount, count - start)
                MPI_Allreduce(cmpi_in_place(), buffer + start, Int32(n), cmpi_float(), cmpi_sum(), cmpi_comm_world())
                start += n
            }
        }
    }

    public func sum(_ values: inout [Double]) {
        let n = Int32(values.count)
        watched("a sum of metrics") {
            values.withUnsafeMutableBufferPointer { p in
                _ = MPI_Allreduce(cmpi_in_place(), p.baseAddress, n, cmpi_double(), cmpi_sum(), cmpi_comm_world())
            }
        }
    }

    private func gather<T>(_ values: [T], _ type: MPI_Datatype, _ name: String) -> [T] {
        guard let zero = values.first else { return [] }
        var out = [T](repeating: zero, count: values.count * size)
        let n = Int32(values.count)
        watched(name) {
            values.withUnsafeBufferPointer { send in
                out.withUnsafeMutableBufferPointer { receive in
                    _ = MPI_Allgather(send.baseAddress, n, type, receive.baseAddress, n, type, cmpi_comm_world())
                }
            }
        }
        return out
    }

    public func allGather(_ values: [Float]) -> [Float] { gather(values, cmpi_float(), "a gather of rows") }
    public func allGather(_ values: [Int32]) -> [Int32] { gather(values, cmpi_int32(), "a gather of ids") }
    public func allGather(_ values: [UInt64]) -> [UInt64] { gather(values, cmpi_uint64(), "a check of identities") }

    public func allGather(bytes: [UInt8]) -> [[UInt8]] {
        let counts = allGather([Int32(bytes.count)])
        let total = counts.reduce(0) { $0 + Int($1) }
        var offsets = [Int32](repeating: 0, count: size)
        for r in 1..<max(size, 1) { offsets[r] = offsets[r - 1] + counts[r - 1] }
        var out = [UInt8](repeating: 0, count: max(total, 1))
        watched("a gather of messages") {
            bytes.withUnsafeBufferPointer { send in
                out.withUnsafeMutableBufferPointer { receive in
                    _ = MPI_Allgatherv(send.baseAddress, Int32(bytes.count), cmpi_byte(), receive.baseAddress,
                                       counts, offsets, cmpi_byte(), cmpi_comm_world())
                }
            }
        }
        return (0..<size).map { r in Array(out[Int(offsets[r])..<Int(offsets[r] + counts[r])]) }
    }

    public func finish() {
        watch.lock()
        let already = finished
        finished = true
        watch.unlock()
        if !already { MPI_Finalize() }
    }
}
#endif
