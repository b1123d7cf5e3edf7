#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif
import CPeak
import Dispatch
import Foundation

/// What the engine runs on, and the machine's limits: the fp32 FMA peak and, where the CPU has
/// it, the bf16 dot-product peak on all the engine's threads (`hrm bench peak`), so every
/// benchmark can state its share of the limit.
///
/// ```swift
/// let peak = MachinePeak.measure()          // ≈ 1 s
/// print(MachinePeak.description.lines)      // CPU, BLAS kernel, oneDNN ISA, warnings
/// ```
public enum MachinePeak {
    /// One measured peak.
    public struct Result: Codable, Equatable, Sendable {
        /// "fp32 FMA" or "bf16 dot".
        public var name: String
        /// The instruction measured ("vfmadd 512-bit", "vdpbf16ps").
        public var instruction: String
        public var threads: Int
        public var gflops: Double
    }

    /// The peaks this CPU has: fp32 FMA at its widest vector (512-bit where AVX-512F exists,
    /// 256-bit with AVX2), and bf16 dot products where AVX512_BF16 exists. Each runs the loop on
    /// `threads` threads at once, long enough (`seconds`) to be past frequency ramps; the best
    /// of three rounds is kept (noise only ever slows a round).
    public static func measure(threads: Int = Parallel.threadCount, seconds: Double = 0.3) -> [Result] {
        var results: [Result] = []
        if hrm_cpu_has_avx512f() != 0 {
            results.append(run("fp32 FMA", "vfmadd 512-bit", threads, seconds, hrm_peak_fma512))
        }
        if hrm_cpu_has_fma256() != 0 {
            results.append(run("fp32 FMA", "vfmadd 256-bit", threads, seconds, hrm_peak_fma256))
        }
        if hrm_cpu_has_avx512bf16() != 0 {
            results.append(run("bf16 dot", "vdpbf16ps 512-bit", threads, seconds, hrm_peak_bf16dot))
        }
        return results
    }

    private static func run(_ name: String, _ instruction: String, _ threads: Int, _ seconds: Double,
                            _ loop: (Int64, UnsafeMutablePointer<Float>) -> Double) -> Result {
        // Calibrate: iterations that take about `seconds` on one thread.
        var sink: Float = 0
        var iterations: Int64 = 1 << 20
        while true {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = loop(iterations, &sink)
            let t = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            if t > seconds / 4 { iterations = Int64(Double(iterations) * seconds / t); break }
            iterations *= 4
        }
        var best = 0.0
        let sinks = UnsafeMutablePointer<Float>.allocate(capacity: threads)
        defer { sinks.deallocate() }
        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            var flops = [Double](repeating: 0, count: threads)
            flops.withUnsafeMutableBufferPointer { f in
                let base = f.baseAddress!
                DispatchQueue.concurrentPerform(iterations: threads) { i in base[i] = loop(iterations, sinks + i) }
            }
            let t = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            best = max(best, flops.reduce(0, +) / t / 1e9)
        }
        return Result(name: name, instruction: instruction, threads: threads, gflops: best)
    }
}
