import ArgumentParser
import Tensors

/// `--precision fp32|bf16|bf16-emulated`, shared by the commands that run the model. bf16 that
/// cannot run here (no oneDNN in this build, or a CPU without bf16 kernels) is refused with the
/// reason; nothing else ever runs in its place.
struct PrecisionOptions: ParsableArguments {
    @Option(help: "Matrix products: fp32; bf16 (bf16 inputs, fp32 accumulation, through oneDNN: needs a build with --traits OneDNN and a CPU with AVX512_BF16); bf16-emulated (the same numbers on fp32 BLAS, for checking; not faster).")
    var precision: String = "fp32"

    func validate() throws {
        guard let p = MatmulPrecision(named: precision) else {
            throw ValidationError("--precision must be fp32, bf16 or bf16-emulated; got '\(precision)'.")
        }
        if let reason = GEMM.unavailability(of: p) {
            throw ValidationError("--precision \(precision) cannot run here: \(reason) Nothing is run in its place.")
        }
    }

    /// The precision, once `validate()` has accepted its spelling.
    var value: MatmulPrecision { MatmulPrecision(named: precision)! }

    /// Runs `body` with the model's matrix products at this precision.
    func run<R>(_ body: () throws -> R) rethrows -> R {
        try GEMM.$precision.withValue(value, operation: body)
    }
}
