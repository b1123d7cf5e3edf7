import ArgumentParser
import Cluster
import Foundation
import Application
import Models
import Reasoning
import Training
import Layers
import Puzzles
import Tensors

/// `hrm bench …`: benchmarks that print numbers (never tests; the machine is noisy).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the engine's speed.",
        subcommands: [KernelsCommand.self, ModelBenchCommand.self, SudokuBenchCommand.self, DataBenchCommand.self, PeakCommand.self, AllReduceBenchCommand.self],
        defaultSubcommand: KernelsCommand.self
    )
}

/// `hrm bench data`: reading a dataset folder and drawing training batches from it, with the
/// process's peak memory — how the memory-mapped datasets are measured.
struct DataBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Time reading a dataset and drawing training batches from it, with the peak memory.",
        discussion: """
            Reads the folder as training does (token files memory-mapped and checked, the index \
            arrays loaded), then draws one pass of the reference's training batches and collates \
            --batches of them to int32, as the trainer feeds the model. Prints the read time, \
            batches and examples per second, and the peak resident memory of the process.

            Example:
              hrm bench data --data data/arc-1-aug-1000 --batch 768 --batches 500
            """
    )

    @Option(help: "Dataset folder.")
    var data: String
    @Option(help: "Split to sample: train or test.")
    var split: String = "train"
    @Option(help: "Examples per batch (the reference's global batch is 768).")
    var batch: Int = 768
    @Option(help: "Batches to collate.")
    var batches: Int = 200

    func validate() throws {
        guard batch >= 1, batches >= 1 else { throw ValidationError("--batch and --batches must be at least 1.") }
    }

    func run() throws {
        let start = Date()
        let dataset = try PuzzleDataset.read(from: URL(fileURLWithPath: data), splits: [split])
        guard let s = dataset.splits[split] else { throw CommandError("\(data) has no \(split) split.") }
        let read = Date().timeIntervalSince(start)
        print(String(format: "read %@ (%d examples of %d tokens, %.2f GB of tokens, mapped: %@) in %.1f s; peak memory %.0f MB",
                     split, s.exampleCount, s.metadata.sequenceLength, Double(s.inputs.count + s.labels.count) / 1e9,
                     s.inputs.isMapped ? "yes" : "no", read, ModelBenchmark.peakRSSMegabytes()))
        var rng = SplitMix(seed: 0)
        let drawn = s.trainingBatches(batchSize: batch, epochs: 1, using: &rng)
        guard !drawn.isEmpty else { throw CommandError("\(data)'s \(split) split has fewer than \(batch) examples per pass.") }
        let t0 = Date()
        var tokens = 0
        for i in 0..<batches { tokens &+= Int(drawn[i % drawn.count].inputs[0]) }
        let seconds = Date().timeIntervalSince(t0)
        print(String(format: "collated %d batches of %d: %.1f batches/s, %.0f examples/s; peak memory %.0f MB (checksum %d)",
                     batches, batch, Double(batches) / seconds, Double(batches * batch) / seconds,
                     ModelBenchmark.peakRSSMegabytes(), tokens))
    }
}

/// `hrm bench allreduce`: the time of the gradient sum over the ranks against its size, as
/// training runs it (in `Cluster.chunkCount` pieces). Needs an MPI build under mpirun.
struct AllReduceBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "Time the sum of N floats over the ranks of an mpirun job (the gradient exchange of data-parallel training).",
        discussion: """
            Every rank sums a buffer of each size with the others, --repeat times after one \
            warm-up; rank 0 prints the median of the slowest rank's time, the algorithm \
            bandwidth (bytes / time) and the pieces the sum was sent in. 27,275,266 floats are \
            the paper's HRM (sudoku), 5,028,866 the TRM (trm-sudoku).

            Example:
              mpirun -np 2 .build-mpi/release/hrm bench allreduce --sizes 1024,1048576,27275266
            """
    )

    @Option(help: "Float counts, comma-separated.")
    var sizes: String = "1024,65536,1048576,5028866,27275266"
    @Option(name: .customLong("repeat"), help: "Timed repetitions per size.")
    var repetitions: Int = 7
    @Option(help: ArgumentHelp("Seconds a rank waits for the others before it stops the job.", valueName: "SECONDS"))
    var peerTimeout: Double = 120

    static func parseSizes(_ text: String) -> [Int]? {
        let v = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !v.isEmpty, v.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return v.map { $0! }
    }

    func validate() throws {
        guard Self.parseSizes(sizes) != nil else { throw ValidationError("--sizes must be positive float counts, comma-separated (e.g. 1024,1048576).") }
        guard repetitions >= 1 else { throw ValidationError("--repeat must be at least 1.") }
    }

    func run() throws {
        let world = try Cluster.join(peerTimeout: peerTimeout)
        defer { world.finish() }
        guard world.isDistributed else {
            throw CommandError(Cluster.isAvailable
                ? "hrm bench allreduce measures an exchange between ranks; start it under mpirun with 2 or more processes (mpirun -np 2 \(CommandLine.arguments[0]) bench allreduce)."
                : "hrm bench allreduce needs a build with MPI (make build MPI=1), started under mpirun.")
        }
        if world.isRoot {
            print("\(world.size) ranks; pieces of \(Cluster.chunkCount) floats; median of \(repetitions) (slowest rank)")
        }
        for n in Self.parseSizes(sizes)! {
            var buffer = [Float](repeating: 1, count: n)
            var times: [Double] = []
            for round in 0...repetitions {
                let start = Date()
                buffer.withUnsafeMutableBufferPointer { world.sum($0.baseAddress!, count: n) }
                let mine = Date().timeIntervalSince(start)
                let slowest = world.allGather([Float(mine)]).max()!
                if round > 0 { times.append(Double(slowest)) }
            }
            let median = times.sorted()[times.count / 2]
            if world.isRoot {
                let pieces = (n + Cluster.chunkCount - 1) / Cluster.chunkCount
                print(String(format: "%11d floats (%8.1f MB): %9.3f ms  %6.2f GB/s  (%d piece%@)", n, Double(n * 4) / 1e6,
                             median * 1e3, Double(n * 4) / median / 1e9, pieces, pieces == 1 ? "" : "s"))
            }
        }
    }
}

/// `hrm bench peak`: the machine's fp32 FMA and bf16 dot-product peaks, and what it runs on.
struct PeakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peak",
        abstract: "Measure this machine's fp32 FMA peak and, where the CPU has it, its bf16 dot-product peak.",
        discussion: """
            Runs independent chains of the CPU's widest multiply-add instruction on every \
            engine thread at once (fp32 FMA at 512 and 256 bits where the CPU has them; bf16 \
            vdpbf16ps where it has AVX512_BF16) and prints GFLOP/s, the best of three rounds, \
            with the CPU, the BLAS and the kernel OpenBLAS chose. Other benchmarks state their \
            share of these limits.

            Example:
              hrm bench peak --json
            """
    )

    @Flag(help: "Print one JSON object: the machine and its peaks.")
    var json = false

    func run() throws {
        let machine = MachineDescription.current
        let peaks = MachinePeak.measure()
        if json {
            struct Report: Encodable { var machine: MachineDescription; var peaks: [MachinePeak.Result] }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(Report(machine: machine, peaks: peaks)), as: UTF8.self))
            return
        }
        machine.lines.forEach { print($0) }
        if peaks.isEmpty { print("no peak loop for this CPU (x86-64 with AVX2 or AVX-512 only)") }
        for p in peaks {
            print(String(format: "%@ peak: %7.1f GFLOP/s  (%@, %d threads)", p.name, p.gflops, p.instruction, p.threads))
        }
    }
}

/// `hrm bench kernels`: each kernel at HRM's shapes beside raw BLAS and memcpy.
struct KernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Time the engine's kernels at HRM's shapes against raw cblas_sgemm and memcpy.",
        discussion: """
            For each batch size (82 positions, hidden 512, 8 heads of 64, SwiGLU 1536): every \
            HRM matrix product through the engine and as one raw cblas_sgemm (and, in a build \
            with oneDNN, through oneDNN's fp32 kernels on the engine's threads), the streaming \
            kernels against memcpy bandwidth, and attention's forward+backward as a share of a \
            whole transformer block's. Medians of several samples after a warm-up.

            Example:
              hrm bench kernels --batch 64 --samples 9 --json > kernels.jsonl
            """
    )

    @Option(help: "Comma-separated batch sizes (each × 82 positions).")
    var batch: String = "8,64"

    @Option(help: "Timed samples per kernel; the median is reported.")
    var samples: Int = 7

    @Flag(help: "Print one JSON object per line instead of a table.")
    var json = false

    func validate() throws {
        guard let sizes = parseBatchSizes(batch), !sizes.isEmpty else {
            throw ValidationError("--batch must be positive whole numbers separated by commas, e.g. 8,64; got '\(batch)'.")
        }
        _ = sizes
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1; got \(samples).") }
    }

    func run() throws {
        var bench = KernelBenchmark()
        bench.batchSizes = parseBatchSizes(batch) ?? [8, 64]
        bench.samples = samples
        if !json {
            MachineDescription.current.lines.forEach { print($0) }
            print("threads: \(Parallel.threadCount)   (median of \(samples) samples)")
            print(pad("kernel", 44) + pad("shape", 34) + pad("time", 12) + pad("rate", 16) + "vs baseline")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var results: [BenchmarkResult] = []
        bench.run { r in
            results.append(r)
            if json {
                if let data = try? encoder.encode(r), let line = String(data: data, encoding: .utf8) {
                    print(line)
                }
            } else {
                print(formatRow(r))
            }
            fflush(stdout)
        }
        guard let summary = KernelBenchmarkSummary(results: results) else { return }
        if json {
            if let data = try? encoder.encode(summary), let line = String(data: data, encoding: .utf8) {
                print(line)
            }
        } else {
            print("")
            print(String(format: "matmul / raw cblas_sgemm: median %.0f%%, lowest %.0f%%   (target ≥ 95%%)",
                         summary.matmulRatioMedian * 100, summary.matmulRatioMinimum * 100))
            if let r = summary.onednnFP32Ratio {
                print(String(format: "oneDNN fp32 / raw cblas_sgemm: median %.0f%%, lowest %.0f%%, highest %.0f%%", r[0] * 100, r[1] * 100, r[2] * 100))
            }
            print(String(format: "elementwise and norm kernels / memcpy: lowest %.0f%% (%@)   (target ≥ 50%%)",
                         summary.streamingRatioMinimum * 100, summary.streamingSlowest))
            print(String(format: "softmax (exp-bound, inside attention) / memcpy: %.0f%%", summary.softmaxRatioMinimum * 100))
            print(String(format: "attention forward+backward: %.1f%% of a block's time   (target < 10%%)",
                         summary.attentionShare * 100))
        }
    }
}

func parseBatchSizes(_ text: String) -> [Int]? {
    let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard parts.allSatisfy({ $0 != nil && $0! > 0 }) else { return nil }
    return parts.map { $0! }
}

private func pad(_ s: String, _ n: Int) -> String {
    s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count)
}

private func formatRow(_ r: BenchmarkResult) -> String {
    let t = r.seconds >= 1e-3 ? String(format: "%.3f ms", r.seconds * 1e3) : String(format: "%.1f µs", r.seconds * 1e6)
    var rate = ""
    if let g = r.gflops { rate = String(format: "%.1f GFLOP/s", g) }
    if let g = r.gbps { rate = String(format: "%.1f GB/s", g) }
    var versus = ""
    if let ratio = r.ratio, let base = r.baseline {
        versus = base.hasPrefix("transformer")
            ? String(format: "%.1f%% of block time", ratio * 100)
            : String(format: "%.0f%% of %@", ratio * 100, base)
    }
    return pad(r.name, 44) + pad(r.shape, 34) + pad(t, 12) + pad(rate, 16) + versus
}

/// `hrm bench sudoku`: the classical solver's speed on easy and hard sets.
struct SudokuBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sudoku",
        abstract: "Time the classical Sudoku solver (one core) on easy and hard puzzles.",
        discussion: """
            Easy: minimal generated puzzles (any rating). Hard: generated puzzles whose solver \
            backtrack count is at least --hard-rating, or the rows of --hard-csv (e.g. \
            Sudoku-Extreme's test.csv). Each puzzle is solved to completion with uniqueness \
            checked (limit 2), on one thread; the median of several passes is reported.

            Example:
              hrm bench sudoku --hard-rating 20 --count 300
            """
    )

    @Option(help: "Puzzles per set.")
    var count: Int = 300
    @Option(name: .customLong("hard-rating"), help: "Minimum backtracks for the generated hard set.")
    var hardRating: Int = 20
    @Option(name: .customLong("hard-csv"), help: "Use this Sudoku-Extreme CSV as the hard set instead.")
    var hardCSV: String?
    @Option(help: "Timed passes over each set.")
    var passes: Int = 5

    func validate() throws {
        guard count > 0, passes > 0 else { throw ValidationError("--count and --passes must be positive.") }
    }

    func run() throws {
        let easy = SudokuDataset.generate(count: count, generator: SudokuGenerator(), seed: 1).map(\.puzzle)
        let hard: [Sudoku]
        if let hardCSV {
            hard = Array(try SudokuRecord.readCSV(URL(fileURLWithPath: hardCSV)).prefix(count).map(\.question))
        } else {
            let bar = ProgressBar("generating hard set", total: count, unit: "puzzles")
            hard = SudokuDataset.generate(count: count, generator: SudokuGenerator(minimumRating: hardRating), seed: 2) { bar.update($0) }.map(\.puzzle)
            bar.finish()
        }
        let solver = SudokuSolver()
        for (name, set) in [("easy (minimal, any rating)", easy), (hardCSV.map { "hard (\($0))" } ?? "hard (rating ≥ \(hardRating))", hard)] {
            var rates: [Double] = []
            var backtracks = 0
            for _ in 0..<passes {
                let start = DispatchTime.now().uptimeNanoseconds
                backtracks = 0
                for p in set {
                    let r = solver.solve(p, limit: 2)
                    precondition(r.solutions.count == 1, "bench puzzles must have a unique solution")
                    backtracks += r.backtracks
                }
                rates.append(Double(set.count) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
            }
            rates.sort()
            print(String(format: "%@: %.0f puzzles/s (median of %d passes; range %.0f–%.0f), mean %.1f backtracks",
                         name, rates[rates.count / 2], passes, rates.first!, rates.last!, Double(backtracks) / Double(set.count)))
        }
    }
}

/// `hrm bench model`: HRM's training step and evaluation, as the PyTorch baseline measures them.
struct ModelBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Time a model preset's (HRM or TRM) training ACT step and full evaluation at several batch sizes.",
        discussion: """
            Training: one ACT step with loss, backward and both optimizer updates, after 2 warm-up \
            steps. Evaluation: halt_max_steps ACT steps on a fresh batch, after 1 warm-up. \
            Reports the median and range of --repeat runs, samples/s, GFLOP/s counted from the \
            shapes (a training step is the recorded segment, the Q-target segment and the \
            backward of the last L and H calls) and the fraction of a GEMM peak measured in \
            the same process (fp32: raw sgemm; bf16: the engine's bf16 product, conversion \
            included), the process's peak resident memory (configurations run smallest \
            first with the buffer cache emptied between them, so each figure is that \
            configuration's peak) and the peak of live tensor memory.

            Example:
              hrm bench model --preset sudoku --mode train --batch 1,8,64 --repeat 3 --json
            """
    )

    @Option(help: "Model preset: \(ModelConfiguration.presets.keys.sorted().joined(separator: ", ")).")
    var preset: String = "sudoku"
    @Option(help: "train, eval, or both.")
    var mode: String = "both"
    @Option(help: "Comma-separated batch sizes.")
    var batch: String = "1,8,64"
    @OptionGroup var precisionOptions: PrecisionOptions
    @Option(help: "Timed repetitions; the median is reported.")
    var `repeat`: Int = 3
    @Flag(help: "Print one JSON object per configuration.")
    var json = false

    func validate() throws {
        guard ModelConfiguration.presets[preset] != nil else {
            throw ValidationError("unknown preset '\(preset)'; presets are \(ModelConfiguration.presets.keys.sorted().joined(separator: ", ")).")
        }
        guard ["train", "eval", "both"].contains(mode) else { throw ValidationError("--mode must be train, eval or both; got '\(mode)'.") }
        guard parseBatchSizes(batch) != nil else {
            throw ValidationError("--batch must be positive whole numbers separated by commas, e.g. 1,8,64; got '\(batch)'.")
        }
        guard `repeat` >= 1 else { throw ValidationError("--repeat must be at least 1.") }
    }

    func run() throws {
        let bench = ModelBenchmark(presetName: preset, configuration: ModelConfiguration.presets[preset]!,
                                   batches: parseBatchSizes(batch)!, modes: mode == "both" ? ["train", "eval"] : [mode],
                                   repeats: `repeat`, precision: precisionOptions.value)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        if !json { MachineDescription.current.lines.forEach { print($0) } }
        if !json { print("preset \(preset), \(precisionOptions.precision), \(Parallel.threadCount) threads; median of \(`repeat`)") }
        bench.run { r in
            if json {
                print(String(decoding: (try? encoder.encode(r)) ?? Data(), as: UTF8.self))
            } else {
                print(String(format: "%@ batch %3d: %8.3f s (%.3f–%.3f)  %7.2f samples/s  %6.1f GFLOP/s (%.0f%% of GEMM peak)  peak RSS %.0f MiB (tensors %.0f)",
                             r.mode, r.batch, r.seconds, r.minimumSeconds, r.maximumSeconds, r.samplesPerSecond, r.gflops,
                             100 * r.gemmPeakFraction, r.peakRSSMegabytes, r.peakTensorMegabytes))
            }
            fflush(stdout)
        }
    }
}
