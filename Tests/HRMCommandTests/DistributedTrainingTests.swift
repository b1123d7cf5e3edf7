import Cluster
import Foundation
import Testing
import Puzzles
import Tensors
import TestSupport

/// `mpirun -np 2 hrm train` against one process (README, "Many machines"). These run in a build
/// with the MPI trait (`make test MPI=1`), where they require mpirun; the plain build checks
/// instead that it refuses to run as one of several processes.
@Suite(.serialized) struct DistributedTrainingTests {
    /// The `hrm` binary built beside this test bundle.
    static var hrm: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("hrm")
    }

    static var mpirun: String? {
        for dir in ["/usr/bin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: dir + "/mpirun") {
            return dir + "/mpirun"
        }
        return nil
    }

    struct Finished { var status: Int32; var output: String; var seconds: Double }

    /// Runs `executable arguments` with one thread per process, output captured.
    @discardableResult
    static func launch(_ executable: String, _ arguments: [String], environment extra: [String: String] = [:],
                       whileRunning: ((Process) -> Void)? = nil) throws -> Finished {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("OMPI_") || key.hasPrefix("PMIX_") || key.hasPrefix("PMI_") { env[key] = nil }
        env["HRM_THREADS"] = "1"
        env["OPENBLAS_NUM_THREADS"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        env.merge(extra) { _, b in b }
        p.environment = env
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("hrm-mpi-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        p.standardOutput = handle
        p.standardError = handle
        let start = Date()
        try p.run()
        whileRunning?(p)
        p.waitUntilExit()
        try handle.close()
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: log)
        return Finished(status: p.terminationStatus, output: output, seconds: Date().timeIntervalSince(start))
    }

    static func mpi(_ ranks: Int, _ arguments: [String], whileRunning: ((Process) -> Void)? = nil) throws -> Finished {
        try launch(mpirun!, ["-np", String(ranks), "--oversubscribe", "--bind-to", "none", hrm.path] + arguments,
                   whileRunning: whileRunning)
    }

    static func dataset(in dir: URL) throws -> URL {
        let data = dir.appendingPathComponent("data")
        let splits = SmallSudokuGenerator.generateSplits(SmallSudokuGenerator(size: 4, blanks: 2...6), count: 64, testCount: 16, seed: 5)
        try SudokuDataset.build(size: 4, train: splits.train, test: splits.test).write(to: data)
        return data
    }

    static func metrics(_ run: URL) throws -> [[String: Any]] {
        try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    /// Two ranks on loopback against one process, same global batch: the same losses and weights
    /// up to the order of float sums, over 24 steps with two evaluations and checkpoints; the
    /// finished 2-rank run then resumes on 2 ranks (its whole-batch carry split again) and on 1.
    @Test(arguments: ["tiny", "trm-tiny"])
    func twoRanksTrainAsOneProcess(_ preset: String) throws {
        guard Cluster.isAvailable else { return }
        guard Self.mpirun != nil else { Issue.record("this build has MPI but mpirun is missing (apt-get install openmpi-bin)"); return }
        #expect(FileManager.default.isExecutableFile(atPath: Self.hrm.path), "no hrm binary at \(Self.hrm.path)")
        let dir = try temporaryDirectory("hrm-mpi")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try Self.dataset(in: dir)
        func train(_ out: String) -> [String] {
            ["train", "--data", data.path, "--config", preset, "--out", dir.appendingPathComponent(out).path,
             "global_batch_size=16", "epochs=6", "eval_interval=3", "eval_limit=16", "eval_batch_size=4",
             "log_interval=1", "lr=1e-3", "lr_warmup_steps=4", "seed=3", "halt_exploration_prob=0.5"]
        }
        let one = try Self.launch(Self.hrm.path, train("one"))
        #expect(one.status == 0, "\(one.output)")
        let two = try Self.mpi(2, train("two"))
        #expect(two.status == 0, "\(two.output)")
        #expect(two.output.contains("data-parallel over 2 ranks: 8 rows"), "\(two.output)")
        // Rank 0 alone prints: one "run" line, not two.
        #expect(two.output.components(separatedBy: "run \(dir.path)/two:").count == 2, "\(two.output)")

        let a = try Self.metrics(dir.appendingPathComponent("one")), b = try Self.metrics(dir.appendingPathComponent("two"))
        #expect(a.count == b.count && a.count == 24 + 2, "\(a.count) and \(b.count) metric lines")
        var worstLoss = 0.0
        for (x, y) in zip(a, b) {
            #expect(x["kind"] as? String == y["kind"] as? String && x["step"] as? Int == y["step"] as? Int)
            if x["kind"] as? String == "train" {
                for key in ["train/lm_loss", "train/q_halt_loss"] {
                    let u = x[key] as! Double, v = y[key] as! Double
                    worstLoss = max(worstLoss, abs(u - v) / max(abs(u), 1e-6))
                }
                // Counts and step numbers are integers: equal exactly.
                #expect(x["train/count"] as? Double == y["train/count"] as? Double)
                #expect(x["train/steps"] as? Double == y["train/steps"] as? Double, "halting differs at step \(x["step"]!)")
            } else {
                #expect(x["eval/count"] as? Int == y["eval/count"] as? Int)
                #expect(abs((x["eval/accuracy"] as! Double) - (y["eval/accuracy"] as! Double)) < 0.02)
            }
        }
        #expect(worstLoss < 1e-3, "losses differ by \(worstLoss) (relative)")

        func weights(_ run: String) throws -> [String: [Float]] {
            let f = try SafetensorsFile(contentsOf: dir.appendingPathComponent("\(run)/model.safetensors"))
            return try Dictionary(uniqueKeysWithValues: f.entries.keys.map { ($0, try f.tensor($0).scalars) })
        }
        let wa = try weights("one"), wb = try weights("two")
        #expect(wa.keys.sorted() == wb.keys.sorted())
        var worstWeight: Float = 0
        for (name, x) in wa {
            for (u, v) in zip(x, wb[name]!) { worstWeight = max(worstWeight, abs(u - v)) }
        }
        #expect(worstWeight < 2e-3, "weights differ by \(worstWeight)")
        print("\(preset): 2 ranks against 1 process over 24 steps: losses within \(worstLoss) (relative), weights within \(worstWeight)")

        // The 2-rank checkpoint holds the whole batch's carry, as one process's does.
        let state = try SafetensorsFile(contentsOf: dir.appendingPathComponent("two/state.safetensors"))
        #expect(state.entries["carry.z_H"]?.shape.first == 16)
        for resumed in [try Self.mpi(2, ["train", "--resume", dir.appendingPathComponent("two").path]),
                        try Self.launch(Self.hrm.path, ["train", "--resume", dir.appendingPathComponent("two").path])] {
            #expect(resumed.status == 0 && resumed.output.contains("resuming"), "\(resumed.output)")
        }
        #expect(try Self.metrics(dir.appendingPathComponent("two")).count == b.count)
    }

    /// A rank that is killed, or that hangs, stops the job within a bounded time with a
    /// message, instead of leaving the other rank waiting for ever.
    @Test func aRankThatDiesOrHangsStopsTheJob() throws {
        guard Cluster.isAvailable, Self.mpirun != nil else { return }
        let dir = try temporaryDirectory("hrm-mpi-fail")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try Self.dataset(in: dir)
        for (signal, name) in [(SIGKILL, "killed"), (SIGSTOP, "stopped")] {
            let args = ["train", "--data", data.path, "--config", "tiny", "--out", dir.appendingPathComponent(name).path,
                        "--peer-timeout", "5", "global_batch_size=16", "epochs=2000", "eval_interval=2000", "log_interval=1"]
            let result = try Self.mpi(2, args) { mpirun in
                // Wait until rank 1 is training (its first metrics line is written by rank 0), then
                // send the signal to rank 1 alone.
                let metrics = dir.appendingPathComponent("\(name)/metrics.jsonl")
                let deadline = Date().addingTimeInterval(120)
                while Date() < deadline && !FileManager.default.fileExists(atPath: metrics.path) { Thread.sleep(forTimeInterval: 0.2) }
                if let pid = Self.rankProcess(1) {
                    kill(pid, signal)
                } else {
                    Issue.record("\(name): rank 1 was not found; stopping the job")
                    mpirun.terminate()
                }
            }
            #expect(result.status != 0, "\(name): the job ended with 0")
            #expect(result.seconds < 120, "\(name): the job took \(result.seconds) s to stop")
            if signal == SIGSTOP {
                #expect(result.output.contains("waited 5 s for the other ranks"), "\(result.output)")
            } else {
                #expect(result.output.contains("signal 9") || result.output.contains("waited 5 s"), "\(result.output)")
            }
        }
    }

    /// The pid of the `hrm` process that mpirun started as `rank` (from its environment).
    static func rankProcess(_ rank: Int) -> pid_t? {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(name), pid != getpid(),
                  let environ = FileManager.default.contents(atPath: "/proc/\(name)/environ"),
                  let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(name)/exe"),
                  exe.hasSuffix("/hrm") else { continue }
            let variables = environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") { return pid }
        }
        return nil
    }

    /// A batch that does not divide by the ranks: one sentence, every rank exits non-zero.
    @Test func aBatchThatDoesNotDivideIsRefused() throws {
        guard Cluster.isAvailable, Self.mpirun != nil else { return }
        let dir = try temporaryDirectory("hrm-mpi-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try Self.dataset(in: dir)
        let result = try Self.mpi(2, ["train", "--data", data.path, "--config", "tiny", "--out", dir.appendingPathComponent("r").path,
                                      "global_batch_size=15", "epochs=1", "eval_interval=1"])
        #expect(result.status != 0)
        #expect(result.output.components(separatedBy: "does not divide by the 2 ranks").count == 2, "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("r").path), "a refused run left a folder")
    }

    /// Without MPI, a process that a launcher started as one of several refuses to train alone.
    @Test func aBuildWithoutMPIRefusesToRunAsOneOfSeveral() throws {
        guard !Cluster.isAvailable else { return }
        setenv("OMPI_COMM_WORLD_SIZE", "2", 1)
        defer { unsetenv("OMPI_COMM_WORLD_SIZE") }
        #expect(Cluster.launchedSize == 2)
        #expect(throws: ClusterError.self) { _ = try Cluster.join() }
    }
}
