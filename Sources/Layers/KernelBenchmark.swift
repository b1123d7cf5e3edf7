import Foundation
import Tensors

/// One timed kernel: median seconds per call over several samples, and a rate.
public struct BenchmarkResult: Codable, Sendable {
    public var name: String
    public var shape: String
    /// Median seconds per call.
    public var seconds: Double
    public var minimumSeconds: Double
    public var maximumSeconds: Double
    /// Achieved GFLOP/s (for products), or nil.
    public var gflops: Double?
    /// Achieved GB/s of memory traffic (for streaming kernels), or nil.
    public var gbps: Double?
    /// What this result is compared with, and the ratio: this rate / the baseline's rate, each
    /// from its fastest sample (noise on a shared machine only ever slows a sample, so the
    /// fastest samples compare capability); for a share of time, the ratio of median times.
    public var baseline: String?
    public var ratio: Double?

    enum CodingKeys: String, CodingKey {
        case name, shape, seconds, gflops, gbps, baseline, ratio
        case minimumSeconds = "min_seconds", maximumSeconds = "max_seconds"
    }
}

/// Times the engine's kernels at HRM's shapes (`hrm bench kernels`).
///
/// For each batch size: raw `memcpy` bandwidth; each HRM GEMM through the engine and as one
/// raw `cblas_sgemm` with BLAS's own threads (the figure the engine must match); the streaming
/// kernels (add, SwiGLU, RMSNorm, softmax, rotary) against memcpy bandwidth; and attention's
/// forward+backward as a share of a whole transformer block's forward+backward.
public struct KernelBenchmark {
    public var batchSizes: [Int] = [8, 64]
    public var positions = 82
    public var hiddenSize = 512
    public var headCount = 8
    public var expansion: Float = 4
    /// Samples per kernel (the median is reported).
    public var samples = 7
    /// Minimum seconds per sample (short kernels are repeated inside a sample).
    public var minimumSampleSeconds = 0.02

    public init() {}

    /// Runs everything, calling `report` as each result is ready.
    public func run(report: (BenchmarkResult) -> Void) {
        for b in batchSizes { runBatch(b, report: report) }
    }

    // MARK: - Per batch

    private func runBatch(_ batch: Int, report: (BenchmarkResult) -> Void) {
        var rng = RandomGenerator(seed: 0)
        let m = batch * positions, dm = hiddenSize
        let f = SwiGLU.innerWidth(hiddenSize: dm, expansion: expansion)
        let h = headCount, d = dm / h
        let tag = "B=\(batch)"

        // memcpy, the bandwidth yardstick, at the two activation sizes the streaming kernels
        // touch ([m, D] and [m, 2F]: the second does not fit in L3, so it runs at DRAM speed).
        // Split over the engine's threads like every streaming kernel.
        var memcpyBytesPerSecond: [(elements: Int, rate: Double)] = []
        for width in [dm, 2 * f] {
            let src = Tensor.uniform([m, width], in: -1...1, using: &rng)
            let dst = Tensor(uninitializedShape: [m, width])
            let n = m * width
            var copy = time {
                let (s, d) = (src.pointer, dst.pointer)
                Parallel.forEach(n, cost: 1) { r in
                    (d + r.lowerBound).update(from: s + r.lowerBound, count: r.count)
                }
            }
            copy.name = "memcpy"
            copy.shape = "\(tag) [\(m), \(width)]"
            copy.gbps = 2 * Double(n * 4) / copy.seconds / 1e9
            memcpyBytesPerSecond.append((n, 2 * Double(n * 4) / copy.minimumSeconds))
            report(copy)
        }
        /// The memcpy rate measured at the size nearest to `elements`.
        func memcpyRate(near elements: Int) -> Double {
            memcpyBytesPerSecond.min { abs($0.elements - elements) < abs($1.elements - elements) }!.rate
        }

        // GEMMs: forward x·Wᵀ (NT), input gradient dY·W (NN), weight gradient dYᵀ·X (TN).
        for (label, outF, inF) in [("qkv", 3 * dm, dm), ("o", dm, dm), ("gate_up", 2 * f, dm),
                                   ("down", dm, f)] {
            let x = Tensor.uniform([m, inF], in: -1...1, using: &rng)
            let w = Tensor.uniform([outF, inF], in: -1...1, using: &rng)
            let dy = Tensor.uniform([m, outF], in: -1...1, using: &rng)
            let flops = 2.0 * Double(m) * Double(outF) * Double(inF)
            let cases: [(String, Bool, Bool, Tensor, Tensor, Int, Int, Int)] = [
                ("forward x·Wᵀ", false, true, x, w, m, outF, inF),
                ("backward dY·W", false, false, dy, w, m, inF, outF),
                ("backward dYᵀ·X", true, false, dy, x, outF, inF, m),
            ]
            for (what, ta, tb, a, bT, mm, nn, kk) in cases {
                let out = Tensor(uninitializedShape: [mm, nn])
                // Raw BLAS with its own threads first, then a pause: OpenBLAS's worker spins
                // for a while after a threaded call and would steal a core from the engine.
                let previous = GEMM.setBLASThreads(Parallel.threadCount)
                var raw = time {
                    GEMM.raw(transposeA: ta, transposeB: tb, m: mm, n: nn, k: kk,
                             a: a.pointer, lda: a.shape[1], b: bT.pointer, ldb: bT.shape[1],
                             c: out.pointer, ldc: nn)
                }
                GEMM.setBLASThreads(previous)
                Thread.sleep(forTimeInterval: 0.3)
                let shape = "\(tag) \(mm)×\(nn)×\(kk) \(ta ? "T" : "N")\(tb ? "T" : "N")"
                raw.name = "cblas_sgemm \(label) \(what)"
                raw.shape = shape
                raw.gflops = flops / raw.seconds / 1e9
                report(raw)
                /// A timed product rated against the raw call.
                func againstRaw(_ kind: String, _ body: () -> Void) -> BenchmarkResult {
                    var r = time(body)
                    r.name = "\(kind) \(label) \(what)"
                    r.shape = shape
                    r.gflops = flops / r.seconds / 1e9
                    r.baseline = "cblas_sgemm (BLAS threads: \(Parallel.threadCount))"
                    r.ratio = raw.minimumSeconds / r.minimumSeconds
                    return r
                }
                report(againstRaw("matmul") { _ = matmul(a, bT, transposeA: ta, transposeB: tb) })
                // oneDNN's fp32 kernels on the engine's threads, where the build has oneDNN.
                if OneDNN.isCompiledIn {
                    let call = {
                        try? GEMM.multiplyThroughOneDNN(transposeA: ta, transposeB: tb, m: mm, n: nn, k: kk,
                                                        a: a.pointer, lda: a.shape[1], b: bT.pointer, ldb: bT.shape[1],
                                                        c: out.pointer, ldc: nn)
                    }
                    if call() != nil { report(againstRaw("onednn-f32") { _ = call() }) }
                }
            }
        }

        // Streaming kernels, rated by bytes read + written, against memcpy.
        func streaming(_ name: String, _ shape: String, arrays: Double, elements: Int,
                       _ body: () -> Void) {
            var r = time(body)
            r.name = name
            r.shape = "\(tag) \(shape)"
            r.gbps = arrays * Double(elements) * 4 / r.seconds / 1e9
            r.baseline = "memcpy"
            r.ratio = (arrays * Double(elements) * 4 / r.minimumSeconds) / memcpyRate(near: elements)
            report(r)
        }
        let a1 = Tensor.uniform([m, dm], in: -1...1, using: &rng)
        let a2 = Tensor.uniform([m, dm], in: -1...1, using: &rng)
        streaming("add", "[\(m), \(dm)]", arrays: 3, elements: m * dm) { _ = a1 + a2 }
        let gu = Tensor.uniform([m, 2 * f], in: -4...4, using: &rng).requiringGradient()
        let dGu = Tensor.uniform([m, f], in: -1...1, using: &rng)
        streaming("swiGLU forward", "[\(m), \(2 * f)]", arrays: 2, elements: m * 2 * f) {
            _ = withoutGradients { swiGLU(gu) }
        }
        streaming("swiGLU forward+backward", "[\(m), \(2 * f)]", arrays: 5, elements: m * 2 * f) {
            let y = swiGLU(gu)
            _ = gradients(of: y, withRespectTo: [gu], seed: dGu)
        }
        let xr = a1.copy().requiringGradient()
        streaming("rmsNorm forward", "[\(m), \(dm)]", arrays: 2, elements: m * dm) {
            _ = withoutGradients { rmsNorm(xr) }
        }
        streaming("rmsNorm forward+backward", "[\(m), \(dm)]", arrays: 5, elements: m * dm) {
            let y = rmsNorm(xr)
            _ = gradients(of: y, withRespectTo: [xr], seed: a2)
        }
        let scores = Tensor.uniform([batch * h, positions, positions], in: -4...4, using: &rng)
        streaming("softmax forward", "[\(batch * h), \(positions), \(positions)]", arrays: 2,
                  elements: scores.count) { _ = softmax(scores) }
        let rope = RotaryEmbedding(headDimension: d, positions: positions)
        let q = Tensor.uniform([batch, positions, h, d], in: -1...1, using: &rng)
        streaming("rotary forward", "[\(batch), \(positions), \(h), \(d)]", arrays: 2,
                  elements: q.count) { _ = rope(q) }

        // Attention forward+backward against a whole block's forward+backward.
        let qa = Tensor.uniform([batch, positions, h, d], in: -1...1, using: &rng).requiringGradient()
        let ka = Tensor.uniform([batch, positions, h, d], in: -1...1, using: &rng).requiringGradient()
        let va = Tensor.uniform([batch, positions, h, d], in: -1...1, using: &rng).requiringGradient()
        let dO = Tensor.uniform([batch, positions, h, d], in: -1...1, using: &rng)
        var attention = time {
            let o = scaledDotProductAttention(query: qa, key: ka, value: va)
            _ = gradients(of: o, withRespectTo: [qa, ka, va], seed: dO)
        }
        let attentionFlops = 4.0 * 2 * Double(batch * h) * Double(positions * positions * d)
        attention.name = "attention forward+backward"
        attention.shape = "\(tag) [\(batch), \(positions), \(h), \(d)]"
        attention.gflops = attentionFlops / attention.seconds / 1e9
        let block = TransformerBlock(hiddenSize: dm, headCount: h, expansion: expansion, using: &rng)
        let hIn = Tensor.uniform([batch, positions, dm], in: -1...1, using: &rng).requiringGradient()
        let dH = Tensor.uniform([batch, positions, dm], in: -1...1, using: &rng)
        var blockResult = time(samples: max(3, samples / 2)) {
            let y = block(hIn, rotary: rope)
            _ = gradients(of: y, withRespectTo: [hIn] + block.parameters, seed: dH)
        }
        let blockFlops = 3 * 2.0 * Double(m) * Double(dm * 3 * dm + dm * dm + dm * 2 * f + f * dm)
            + attentionFlops
        blockResult.name = "transformer block forward+backward"
        blockResult.shape = "\(tag) [\(batch), \(positions), \(dm)]"
        blockResult.gflops = blockFlops / blockResult.seconds / 1e9
        report(blockResult)
        attention.baseline = "transformer block forward+backward (share of its time)"
        attention.ratio = attention.seconds / blockResult.seconds
        report(attention)
    }

    // MARK: - Timing

    private func summary(_ times: [Double]) -> BenchmarkResult {
        let sorted = times.sorted()
        return BenchmarkResult(name: "", shape: "", seconds: sorted[sorted.count / 2],
                               minimumSeconds: sorted.first!, maximumSeconds: sorted.last!)
    }

    /// Median, minimum and maximum seconds per call of `body`, after one warm-up call.
    private func time(samples: Int? = nil, _ body: () -> Void) -> BenchmarkResult {
        body()
        var start = DispatchTime.now().uptimeNanoseconds
        body()
        let once = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let inner = max(1, Int((minimumSampleSeconds / max(once, 1e-9)).rounded(.up)))
        var times: [Double] = []
        for _ in 0..<(samples ?? self.samples) {
            start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<inner { body() }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(inner))
        }
        return summary(times)
    }
}

/// The figures the engine's targets are stated in, drawn from a run's results.
public struct KernelBenchmarkSummary: Codable, Sendable {
    /// Median over all HRM products of engine rate / raw `cblas_sgemm` rate (target ≥ 0.95).
    public var matmulRatioMedian: Double
    public var matmulRatioMinimum: Double
    /// The lowest elementwise/norm kernel rate as a fraction of memcpy bandwidth (target ≥ 0.5).
    public var streamingRatioMinimum: Double
    public var streamingSlowest: String
    /// Softmax (exp-bound, part of attention) as a fraction of memcpy, reported on its own.
    public var softmaxRatioMinimum: Double
    /// Attention forward+backward as a share of a block's, at the largest batch (target < 0.1).
    public var attentionShare: Double
    /// oneDNN's fp32 products on the engine's threads / raw `cblas_sgemm` (median, lowest,
    /// highest over the HRM products); nil in a build without oneDNN.
    public var onednnFP32Ratio: [Double]?

    enum CodingKeys: String, CodingKey {
        case onednnFP32Ratio = "onednn_f32_ratio_median_min_max"
        case matmulRatioMedian = "matmul_ratio_median", matmulRatioMinimum = "matmul_ratio_min"
        case streamingRatioMinimum = "streaming_ratio_min", streamingSlowest = "streaming_slowest"
        case softmaxRatioMinimum = "softmax_ratio_min"
        case attentionShare = "attention_share"
    }

    public init?(results: [BenchmarkResult]) {
        let gemm = results.filter { $0.name.hasPrefix("matmul") }.compactMap(\.ratio).sorted()
        let streaming = results.filter { $0.baseline == "memcpy" && $0.ratio != nil && !$0.name.hasPrefix("softmax") }
        let softmax = results.filter { $0.name.hasPrefix("softmax") }.compactMap(\.ratio)
        guard !gemm.isEmpty, let slowest = streaming.min(by: { $0.ratio! < $1.ratio! }),
              let attention = results.last(where: { $0.name.hasPrefix("attention") })?.ratio
        else { return nil }
        matmulRatioMedian = gemm[gemm.count / 2]
        matmulRatioMinimum = gemm[0]
        let dnnl = results.filter { $0.name.hasPrefix("onednn-f32") }.compactMap(\.ratio).sorted()
        onednnFP32Ratio = dnnl.isEmpty ? nil : [dnnl[dnnl.count / 2], dnnl[0], dnnl[dnnl.count - 1]]
        streamingRatioMinimum = slowest.ratio!
        streamingSlowest = "\(slowest.name) \(slowest.shape)"
        softmaxRatioMinimum = softmax.min() ?? 0
        attentionShare = attention
    }
}
