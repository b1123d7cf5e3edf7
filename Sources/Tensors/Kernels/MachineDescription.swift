#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif
import CPeak
import Foundation

/// What the engine runs on, for every benchmark's header: the CPU, its vector extensions, the
/// BLAS and the kernel it chose, and a warning when the environment forces a weaker kernel than
/// the CPU supports (this project's machines set `OPENBLAS_CORETYPE=Haswell`).
public struct MachineDescription: Codable, Equatable, Sendable {
    public var cpu: String
    /// The vector extensions that matter here, as the CPU reports them.
    public var extensions: [String]
    public var blas: String
    /// OpenBLAS's kernel (`openblas_get_corename`), "Accelerate" on Apple platforms.
    public var blasKernel: String
    public var threads: Int
    /// oneDNN's version and the ISA it dispatches to (`OneDNN.libraryDescription`); nil when the
    /// build has no oneDNN.
    public var onednn: String?
    /// Sentences for the user: a forced weaker kernel, a missing instruction set.
    public var warnings: [String]

    /// The running machine.
    public static var current: MachineDescription {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        func field(_ key: String) -> String? {
            info.split(separator: "\n").first { $0.hasPrefix(key) }
                .flatMap { $0.split(separator: ":", maxSplits: 1).last }
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        var cpu = field("model name") ?? "unknown CPU"
        if let family = field("cpu family"), let model = field("model\t") ?? field("model ") {
            cpu += " (family \(family), model \(model))"
        }
        var extensions: [String] = []
        if hrm_cpu_has_fma256() != 0 { extensions.append("avx2+fma") }
        if hrm_cpu_has_avx512f() != 0 { extensions.append("avx512f") }
        if hrm_cpu_has_avx512bf16() != 0 { extensions.append("avx512_bf16") }
        #if canImport(Accelerate)
        let (blas, kernel) = ("Accelerate", "Accelerate")
        #else
        let config = String(cString: openblas_get_config()).trimmingCharacters(in: .whitespaces)
        let (blas, kernel) = ("OpenBLAS (\(config))", String(cString: openblas_get_corename()))
        #endif
        var warnings: [String] = []
        let forced = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]
        if let forced, hrm_cpu_has_avx512f() != 0, !["skylakex", "cooperlake", "sapphirerapids"].contains(forced.lowercased()) {
            warnings.append("OPENBLAS_CORETYPE=\(forced) makes OpenBLAS use \(kernel) kernels on a CPU with AVX-512; fp32 products may run slower than this CPU allows: about half on full-width AVX-512 (Zen 5), about the same on Zen 4, which splits 512-bit operations (unset it in the benchmark's command to see).")
        }
        return MachineDescription(cpu: cpu, extensions: extensions, blas: blas, blasKernel: kernel,
                                  threads: Parallel.threadCount, onednn: OneDNN.libraryDescription, warnings: warnings)
    }

    /// The header lines a benchmark prints.
    public var lines: [String] {
        ["cpu: \(cpu); \(extensions.isEmpty ? "no AVX2" : extensions.joined(separator: ", ")); \(threads) threads",
         "blas: \(blas), kernel \(blasKernel)",
         "onednn: \(onednn ?? "not in this build (make build ONEDNN=1 for bf16 products)")"] + warnings.map { "warning: \($0)" }
    }
}
