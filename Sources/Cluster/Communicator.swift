import Foundation

/// The processes of one data-parallel job and the few collective operations training needs.
///
/// Every method but `rank`/`size` is collective: every rank must call it, in the same order,
/// with the same counts. `LocalCommunicator` (one process) makes each of them the identity, so
/// code written against this protocol runs unchanged without MPI.
public protocol Communicator: AnyObject {
    /// This process's index, 0 ..< size (rank 0 writes files and prints).
    var rank: Int { get }
    var size: Int { get }
    /// Replaces `count` floats at `buffer` by their sum over the ranks (in pieces of
    /// `Cluster.chunkCount` floats: large single messages are slower, notes §5).
    func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int)
    /// Replaces `values` by their elementwise sum over the ranks.
    func sum(_ values: inout [Double])
    /// Every rank's `values` (the same count on each), rank 0's first.
    func allGather(_ values: [Float]) -> [Float]
    func allGather(_ values: [Int32]) -> [Int32]
    func allGather(_ values: [UInt64]) -> [UInt64]
    /// Every rank's bytes (any count), in rank order.
    func allGather(bytes: [UInt8]) -> [[UInt8]]
    /// Ends the job cleanly (MPI_Finalize); nothing collective may follow.
    func finish()
}

extension Communicator {
    public var isDistributed: Bool { size > 1 }
    public var isRoot: Bool { rank == 0 }

    /// Whether `flag` is true on any rank (e.g. a Ctrl-C seen by one of them).
    public func any(_ flag: Bool) -> Bool {
        guard isDistributed else { return flag }
        var v = [flag ? 1.0 : 0.0]
        sum(&v)
        return v[0] > 0
    }

    /// Every rank's text, in rank order.
    public func allGather(text: String) -> [String] {
        allGather(bytes: Array(text.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Makes the ranks agree on whether to go on: each gives the problem it found (nil: none);
    /// if any rank found one, every rank throws `ClusterError.refused` with the first one (rank
    /// 0's when it has one), so all of them stop together and rank 0 alone needs to print it.
    public func agree(_ problem: String?) throws {
        guard isDistributed else {
            if let problem { throw ClusterError.refused(problem) }
            return
        }
        let all = allGather(text: problem ?? "")
        if let first = all.firstIndex(where: { !$0.isEmpty }) {
            throw ClusterError.refused(all[first])
        }
    }

    /// Checks that every rank runs the same thing: each `(what, hash)` must be equal on all
    /// ranks, else every rank throws naming the first difference and the ranks involved.
    public func checkSame(_ identities: [(what: String, hash: UInt64)]) throws {
        guard isDistributed else { return }
        let all = allGather(identities.map(\.hash))
        let n = identities.count
        for (i, identity) in identities.enumerated() {
            for r in 1..<size where all[r * n + i] != all[i] {
                throw ClusterError.refused("rank \(r) runs with a different \(identity.what) than rank 0; start every rank with the same one")
            }
        }
    }
}

/// Why a data-parallel job stopped.
public enum ClusterError: Error, CustomStringConvertible {
    /// A problem every rank agreed on (`Communicator.agree`); rank 0 prints it.
    case refused(String)
    /// This build cannot join an MPI job it was started in.
    case unavailable(String)

    public var description: String {
        switch self {
        case .refused(let s), .unavailable(let s): return s
        }
    }
}

/// One process: every collective is the identity.
public final class LocalCommunicator: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {}
    public func sum(_ values: inout [Double]) {}
    public func allGather(_ values: [Float]) -> [Float] { values }
    public func allGather(_ values: [Int32]) -> [Int32] { values }
    public func allGather(_ values: [UInt64]) -> [UInt64] { values }
    public func allGather(bytes: [UInt8]) -> [[UInt8]] { [bytes] }
    public func finish() {}
}

/// Joining the job this process was started in.
public enum Cluster {
    /// Floats per all-reduce message (1 M: the 27 M-float sum takes 21 ms in such pieces on
    /// loopback against 50 ms in one, notes §5).
    public static let chunkCount = 1 << 20

    /// Whether this build can join MPI jobs (the package trait `MPI`).
    public static var isAvailable: Bool {
        #if MPI
        return true
        #else
        return false
        #endif
    }

    /// The number of processes the launcher (mpirun, srun) started, from its environment;
    /// nil when this process was started alone.
    public static var launchedSize: Int? {
        let env = ProcessInfo.processInfo.environment
        for key in ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"] {
            if let n = env[key].flatMap(Int.init) { return n }
        }
        return nil
    }

    /// The job this process belongs to: MPI's world when it was started by an MPI launcher
    /// (and this build has MPI), else one process alone.
    /// - Parameter peerTimeout: seconds a collective may wait for the other ranks before this
    ///   rank says so and ends the whole job (a rank that hangs or whose machine vanished).
    /// - Throws: `ClusterError.unavailable` when a launcher started several processes but this
    ///   build has no MPI: each would otherwise train alone and write the same files.
    public static func join(peerTimeout: Double = 300) throws -> any Communicator {
        guard let n = launchedSize else { return LocalCommunicator() }
        #if MPI
        return try MPICommunicator(peerTimeout: peerTimeout)
        #else
        guard n > 1 else { return LocalCommunicator() }
        throw ClusterError.unavailable("this hrm was built without MPI, but it was started as one of \(n) processes (mpirun); each would train alone and write the same files. Build it with `make build MPI=1` (the package trait MPI) and start that binary under mpirun.")
        #endif
    }

    /// A 64-bit FNV-1a hash over bytes, for checking that ranks run the same binary, data and
    /// configuration (not cryptographic).
    public struct Hasher {
        public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
        public init() {}
        public mutating func add(_ bytes: UnsafeRawBufferPointer) {
            var h = value
            // Eight bytes at a time (FNV over words; several GB/s), then the tail byte by byte.
            let words = bytes.count / 8
            for i in 0..<words {
                h = (h ^ bytes.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) &* 0x100_0000_01b3
            }
            for i in (words * 8)..<bytes.count { h = (h ^ UInt64(bytes[i])) &* 0x100_0000_01b3 }
            value = h
        }
        public mutating func add(_ data: Data) { data.withUnsafeBytes { add($0) } }
        public mutating func add(_ text: String) { add(Data(text.utf8)) }

        /// Adds a file's contents, read in 8 MB pieces.
        public mutating func add(contentsOf url: URL) throws {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            while let piece = try handle.read(upToCount: 8 << 20), !piece.isEmpty { add(piece) }
        }

        /// Adds every regular file under `folder` (names and contents, in sorted order).
        public mutating func add(folder: URL) throws {
            let fm = FileManager.default
            let names = (fm.subpaths(atPath: folder.path) ?? []).sorted()
            for name in names {
                let url = folder.appendingPathComponent(name)
                var isFolder: ObjCBool = false
                guard fm.fileExists(atPath: url.path, isDirectory: &isFolder), !isFolder.boolValue else { continue }
                add(name)
                try add(contentsOf: url)
            }
        }
    }

    /// The hash of this process's executable (so ranks started from different builds are told).
    public static func executableHash() -> UInt64 {
        var h = Hasher()
        #if os(Linux)
        let path = "/proc/self/exe"
        #else
        let path = Bundle.main.executablePath ?? CommandLine.arguments[0]
        #endif
        if (try? h.add(contentsOf: URL(fileURLWithPath: path))) == nil { h.add(CommandLine.arguments[0]) }
        return h.value
    }
}
