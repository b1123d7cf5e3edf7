#if ONEDNN
import CDNNL
#endif
import Foundation

/// oneDNN matrix products, compiled in only with the package trait `OneDNN`
/// (`swift build --traits OneDNN`, after `apt-get install libdnnl-dev`).
///
/// The engine uses oneDNN for one thing: bf16 × bf16 → fp32 products (`GEMM` in
/// `.bf16(.oneDNN)` precision), which run at about twice the fp32 GEMM rate on CPUs with
/// AVX512_BF16 (notes §1.4: 436 against 220 GFLOP/s on 2 cores). The same code runs fp32
/// products, which lets the tests check the plumbing (strides, transposes, scaling) on any CPU.
/// oneDNN keeps its own cache of created primitives, keyed by shape, so creating one per call
/// costs a lookup after the first.
public enum OneDNN {
    /// Element types of A and B (C is always fp32).
    public enum InputType: Sendable { case f32, bf16 }

    /// Whether this build includes oneDNN.
    public static var isCompiledIn: Bool {
        #if ONEDNN
        return true
        #else
        return false
        #endif
    }

    /// Why bf16 products through oneDNN cannot run here (nil when they can): not compiled in, or
    /// a CPU oneDNN has no bf16 kernels for.
    public static let bf16Unavailability: String? = {
        #if ONEDNN
        guard engine != nil else { return "oneDNN could not create a CPU engine." }
        var a = [UInt16](repeating: 0, count: 16), b = a
        var c = [Float](repeating: 0, count: 16)
        let ok = a.withUnsafeMutableBufferPointer { ap in
            b.withUnsafeMutableBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    (try? multiply(type: .bf16, transposeA: false, transposeB: false, m: 4, n: 4, k: 4,
                                   a: UnsafeRawPointer(ap.baseAddress!), lda: 4,
                                   b: UnsafeRawPointer(bp.baseAddress!), ldb: 4,
                                   c: cp.baseAddress!, ldc: 4)) != nil
                }
            }
        }
        if ok { return nil }
        return "oneDNN has no bf16 matrix product for this CPU (it needs AVX512_BF16 or at least AVX-512; \(CPUFeatures.summary))."
        #else
        return "this build has no oneDNN: install it (apt-get install libdnnl-dev) and build with --traits OneDNN (make ONEDNN=1)."
        #endif
    }()

    /// The library's version and the instruction set it dispatches to on this CPU
    /// (`dnnl_get_effective_cpu_isa`: the CPU's best, or less where `DNNL_MAX_CPU_ISA` caps
    /// it), e.g. "oneDNN 2.7.3, ISA avx512_core_bf16"; nil in a build without oneDNN.
    public static var libraryDescription: String? {
        #if ONEDNN
        let v = dnnl_version()!.pointee
        let isa = dnnl_get_effective_cpu_isa()
        var name = dnnl_cpu_isa2str(isa).map { String(cString: $0) } ?? "0x" + String(isa.rawValue, radix: 16)
        if name.hasPrefix("cpu_isa_") { name.removeFirst("cpu_isa_".count) }
        var text = "oneDNN \(v.major).\(v.minor).\(v.patch), ISA \(name)"
        if let cap = ProcessInfo.processInfo.environment["DNNL_MAX_CPU_ISA"] ?? ProcessInfo.processInfo.environment["ONEDNN_MAX_CPU_ISA"] {
            text += " (capped by DNNL_MAX_CPU_ISA=\(cap))"
        }
        return text
        #else
        return nil
        #endif
    }

    public struct Failure: Error, CustomStringConvertible {
        public var status: Int
        public var description: String { "oneDNN matmul failed with status \(status)" }
    }

    #if ONEDNN
    nonisolated(unsafe) static let engine: dnnl_engine_t? = {
        omp_set_num_threads(1)
        var e: dnnl_engine_t?
        return dnnl_engine_create(&e, dnnl_cpu, 0) == dnnl_success ? e : nil
    }()
    #endif

    /// `C = op(A) · op(B)` on the calling thread, A and B of `type` (bf16 as `UInt16` bit
    /// patterns), row-major with row strides `lda`, `ldb`, `ldc` as stored; C is fp32.
    public static func multiply(
        type: InputType, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafeRawPointer, lda: Int, b: UnsafeRawPointer, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) throws {
        #if ONEDNN
        guard let engine else { throw Failure(status: Int(dnnl_runtime_error.rawValue)) }
        var primitive: dnnl_primitive_t?
        let (aRow, aColumn) = transposeA ? (1, lda) : (lda, 1)
        let (bRow, bColumn) = transposeB ? (1, ldb) : (ldb, 1)
        var status = hrm_dnnl_matmul_create(
            &primitive, engine, type == .bf16 ? dnnl_bf16 : dnnl_f32, Int64(m), Int64(n), Int64(k),
            Int64(aRow), Int64(aColumn), Int64(bRow), Int64(bColumn), Int64(ldc))
        guard status == dnnl_success, let primitive else { throw Failure(status: Int(status.rawValue)) }
        defer { dnnl_primitive_destroy(primitive) }
        status = hrm_dnnl_matmul_execute(primitive, engine, a, b, c)
        guard status == dnnl_success else { throw Failure(status: Int(status.rawValue)) }
        #else
        throw Failure(status: -1)
        #endif
    }
}

/// The CPU's vector features that decide which kernels can run (Linux: `/proc/cpuinfo`).
public enum CPUFeatures {
    /// The instruction-set flags of interest that this CPU reports.
    public static let flags: Set<String> = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return [] }
        return Set(line.split(separator: " ").map(String.init).filter {
            $0.hasPrefix("avx") || $0 == "fma" || $0.hasPrefix("amx")
        })
    }()

    /// "this CPU has avx2, fma" or "… avx512f, avx512_bf16 …", for messages.
    public static var summary: String {
        flags.isEmpty ? "this CPU reports no AVX flags"
            : "this CPU has " + flags.sorted().joined(separator: ", ")
    }
}
