import Foundation
import Models
import Reasoning
import Training
import Layers
import Tensors

/// One timed configuration of `hrm bench model`.
public struct ModelBenchmarkResult: Codable, Sendable {
    public var mode: String  // "train" | "eval"
    public var preset: String
    public var precision: String
    public var batch: Int
    /// Median seconds per training ACT step, or per full evaluation (all ACT steps).
    public var seconds: Double
    public var minimumSeconds: Double
    public var maximumSeconds: Double
    /// Sequences per second (train: per ACT step; eval: whole puzzles per second).
    public var samplesPerSecond: Double
    /// Achieved GFLOP/s, counted analytically from the shapes.
    public var gflops: Double
    /// `gflops` over the GEMM peak measured in the same process.
    public var gemmPeakFraction: Double
    /// The process's peak resident memory so far (configurations run smallest first, and the
    /// pool's cache is emptied between them, so this is the largest configuration's own peak).
    public var peakRSSMegabytes: Double
    /// The most tensor memory alive at once so far (the engine's buffers in use, without the
    /// pool's idle cache or the process's code and libraries).
    public var peakTensorMegabytes: Double

    enum CodingKeys: String, CodingKey {
        case mode, preset, precision, batch, seconds, gflops
        case minimumSeconds = "min_seconds", maximumSeconds = "max_seconds"
        case samplesPerSecond = "samples_per_second", gemmPeakFraction = "gemm_peak_fraction"
        case peakRSSMegabytes = "peak_rss_mb", peakTensorMegabytes = "peak_tensor_mb"
    }
}

/// Times HRM's training ACT step and full evaluation at given batch sizes (`hrm bench model`).
public struct ModelBenchmark {
    public var presetName: String
    public var configuration: ModelConfiguration
    public var batches: [Int]
    public var modes: [String]
    public var repeats: Int
    /// The precision of the matrix products (check `GEMM.unavailability(of:)` first).
    public var precision: MatmulPrecision

    public init(presetName: String, configuration: ModelConfiguration, batches: [Int], modes: [String],
                repeats: Int, precision: MatmulPrecision = .fp32) {
        self.presetName = presetName
        self.configuration = configuration
        self.batches = batches
        self.modes = modes
        self.repeats = repeats
        self.precision = precision
    }

    /// GEMM GFLOP/s on a 2048³ product (best of 3 after a warm-up): fp32 as one raw
    /// `cblas_sgemm` with BLAS's own threads; bf16 through the engine's bf16 path (conversion
    /// of the inputs included), which is what the model's products get.
    public static func measureGEMMPeak(precision: MatmulPrecision = .fp32) -> Double {
        let n = 2048
        var rng = RandomGenerator(seed: 0)
        let a = Tensor.uniform([n, n], in: -1...1, using: &rng), c = Tensor(uninitializedShape: [n, n])
        let previous = GEMM.setBLASThreads(precision == .fp32 ? Parallel.threadCount : 1)
        defer { GEMM.setBLASThreads(previous) }
        var best = 0.0
        for _ in 0..<4 {
            let start = DispatchTime.now().uptimeNanoseconds
            if precision == .fp32 {
                GEMM.raw(transposeA: false, transposeB: true, m: n, n: n, k: n, a: a.pointer, lda: n, b: a.pointer, ldb: n, c: c.pointer, ldc: n)
            } else {
                GEMM.$precision.withValue(precision) {
                    GEMM.multiply(transposeA: false, transposeB: true, m: n, n: n, k: n, a: a.pointer, lda: n, b: a.pointer, ldb: n, c: c.pointer, ldc: n)
                }
            }
            best = max(best, 2 * pow(Double(n), 3) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) / 1e9)
        }
        Thread.sleep(forTimeInterval: 0.3)  // let BLAS's spinning workers park
        return best
    }

    public static func peakRSSMegabytes() -> Double {
        var usage = rusage()
        #if canImport(Darwin)
        getrusage(RUSAGE_SELF, &usage)
        return Double(usage.ru_maxrss) / 1_048_576
        #else
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
        #endif
    }

    public func run(report: (ModelBenchmarkResult) -> Void) {
        GEMM.$precision.withValue(precision) { runAtCurrentPrecision(report: report) }
    }

    private func runAtCurrentPrecision(report: (ModelBenchmarkResult) -> Void) {
        let peak = Self.measureGEMMPeak(precision: precision)
        var rng = RandomGenerator(seed: 0)
        let model = configuration.makeModel(using: &rng)
        let c = configuration.common
        for mode in modes {
            for b in batches.sorted() {
                // Each configuration's memory on its own: drop the previous one's cached buffers
                // (other sizes, which this one cannot reuse) and restart the tensor peak.
                BufferPool.shared.trim()
                BufferPool.shared.resetPeak()
                func batch(_ k: Int) -> PuzzleBatch {
                    let tokens = (0..<(b * c.sequenceLength)).map { Int32(($0 * 7 + k * 13) % (c.vocabularySize - 1) + 1) }
                    return PuzzleBatch(inputs: tokens, labels: tokens.reversed(), puzzleIdentifiers: Array(repeating: 0, count: b))
                }
                var times: [Double] = []
                let flops: Double
                if mode == "train" {
                    var t = TrainingConfiguration()
                    t.globalBatchSize = b
                    t.warmupSteps = 1
                    t.totalSteps = 1_000_000
                    t.ema = configuration.architecture == .trm  // as the reference trains TRM
                    let trainer = Trainer(model: model, configuration: t)
                    for k in 0..<(repeats + 2) {
                        let start = DispatchTime.now().uptimeNanoseconds
                        trainer.trainStep(batch(k))
                        if k >= 2 { times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
                    }
                    flops = c.trainingStepFLOPs * Double(b)
                } else {
                    let act = AdaptiveComputation(model: model, isTraining: false)
                    for k in 0..<(repeats + 1) {
                        let input = batch(k)
                        var carry = act.initialCarry(batch: input)
                        let start = DispatchTime.now().uptimeNanoseconds
                        withoutGradients {
                            for _ in 0..<c.haltMaxSteps { _ = act.step(&carry, batch: input, using: &rng) }
                        }
                        if k >= 1 { times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
                    }
                    flops = c.segmentFLOPs * Double(c.haltMaxSteps) * Double(b)
                }
                times.sort()
                let median = times[times.count / 2]
                report(ModelBenchmarkResult(
                    mode: mode, preset: presetName, precision: precision.description, batch: b, seconds: median,
                    minimumSeconds: times.first!, maximumSeconds: times.last!,
                    samplesPerSecond: Double(b) / median, gflops: flops / median / 1e9,
                    gemmPeakFraction: flops / median / 1e9 / peak, peakRSSMegabytes: Self.peakRSSMegabytes(),
                    peakTensorMegabytes: Double(BufferPool.shared.peakLiveBytes) / 1_048_576))
            }
        }
    }
}
