import Foundation
import Testing
import Tensors
import TestSupport

/// bf16 rounding, the bf16 matrix products (emulated everywhere; through oneDNN where this
/// build and CPU allow), and the oneDNN plumbing itself (fp32 products through oneDNN in builds
/// with the `OneDNN` trait).
@Suite struct MixedPrecisionTests {
    @Test func roundingIsToNearestEven() {
        #expect(BFloat16.bits(of: 1) == 0x3F80)
        #expect(BFloat16.bits(of: -2) == 0xC000)
        // 1 + 2⁻⁸ lies halfway between 1 and 1 + 2⁻⁷: ties go to the even mantissa (1).
        #expect(BFloat16.rounded(1 + 0x1p-8) == 1)
        // 1 + 3·2⁻⁸ lies halfway between 1 + 2⁻⁷ (odd) and 1 + 2⁻⁶ (even): up.
        #expect(BFloat16.rounded(1 + 3 * 0x1p-8) == 1 + 0x1p-6)
        // Just above half: up.
        #expect(BFloat16.rounded(1 + 0x1p-8 + 0x1p-20) == 1 + 0x1p-7)
        #expect(BFloat16.rounded(.infinity) == .infinity)
        #expect(BFloat16.rounded(-.infinity) == -.infinity)
        #expect(BFloat16.rounded(.nan).isNaN)
        #expect(BFloat16.rounded(Float.greatestFiniteMagnitude) == .infinity)
        var rng = RandomGenerator(seed: 1)
        for _ in 0..<1000 {
            let x = Float.random(in: -1000...1000, using: &rng)
            let r = BFloat16.rounded(x)
            #expect(r.bitPattern & 0xFFFF == 0)
            #expect(abs(r - x) <= abs(x) * 0x1p-8, "\(x) → \(r)")
        }
    }

    static let cases: [KernelTwinTests.MatMulCase] = [
        .init(m: 7, n: 13, k: 5, transposeA: false, transposeB: true),
        .init(m: 17, n: 3, k: 33, transposeA: true, transposeB: false),
        .init(m: 5, n: 9, k: 2, transposeA: true, transposeB: true),
        .init(m: 151, n: 131, k: 129, transposeA: false, transposeB: true),
        .init(m: 37, n: 263, k: 257, transposeA: true, transposeB: false),
    ]

    /// `op(A)·op(B)` of the bf16-rounded inputs, in Double.
    static func roundedProduct(_ a: Tensor, _ b: Tensor, _ c: KernelTwinTests.MatMulCase) -> [Float] {
        NaiveKernels.matmul(a.scalars.map(BFloat16.rounded), b.scalars.map(BFloat16.rounded),
                            m: c.m, n: c.n, k: c.k, transposeA: c.transposeA, transposeB: c.transposeB)
    }

    static func inputs(_ c: KernelTwinTests.MatMulCase) -> (Tensor, Tensor) {
        var rng = RandomGenerator(seed: 11)
        return (Tensor.uniform(c.transposeA ? [c.k, c.m] : [c.m, c.k], in: -1...1, using: &rng),
                Tensor.uniform(c.transposeB ? [c.n, c.k] : [c.k, c.n], in: -1...1, using: &rng))
    }

    @Test(arguments: cases)
    func emulatedProductsAreProductsOfRoundedInputs(_ c: KernelTwinTests.MatMulCase) {
        let (a, b) = Self.inputs(c)
        let mixed = GEMM.$precision.withValue(.bf16(.emulated)) {
            matmul(a, b, transposeA: c.transposeA, transposeB: c.transposeB)
        }
        let expected = Self.roundedProduct(a, b, c)
        let r = compare(mixed.scalars, expected, relative: 1e-5, absolute: 1e-5)
        #expect(r.isClose, "\(r)")
        // And the rounding did happen: the fp32 product differs by about 2⁻⁹·√k.
        let full = matmul(a, b, transposeA: c.transposeA, transposeB: c.transposeB)
        let largest = zip(full.scalars, mixed.scalars).map { abs($0 - $1) }.max()!
        #expect(largest > 1e-4, "bf16 and fp32 products agree to \(largest): no rounding")
        #expect(largest < 0.05 * Float(c.k).squareRoot(), "bf16 error \(largest) is too large")
    }

    /// The backward products run in the same precision as the forward one.
    @Test func gradientsOfABF16ProductUseRoundedOperands() {
        var rng = RandomGenerator(seed: 5)
        let x = Tensor.uniform([6, 10], in: -1...1, using: &rng).requiringGradient()
        let w = Tensor.uniform([4, 10], in: -1...1, using: &rng).requiringGradient()
        let g = Tensor.uniform([6, 4], in: -1...1, using: &rng)
        GEMM.$precision.withValue(.bf16(.emulated)) {
            (matmul(x, w, transposeB: true) * g).sum().backward()
        }
        // dx = g·w and dw = gᵀ·x, each from rounded operands.
        let dx = NaiveKernels.matmul(g.scalars.map(BFloat16.rounded), w.scalars.map(BFloat16.rounded),
                                     m: 6, n: 10, k: 4, transposeA: false, transposeB: false)
        let dw = NaiveKernels.matmul(g.scalars.map(BFloat16.rounded), x.scalars.map(BFloat16.rounded),
                                     m: 4, n: 10, k: 6, transposeA: true, transposeB: false)
        #expect(compare(x.gradient!.scalars, dx, relative: 1e-5, absolute: 1e-6).isClose)
        #expect(compare(w.gradient!.scalars, dw, relative: 1e-5, absolute: 1e-6).isClose)
    }

    @Test func precisionIsScopedToTheTask() {
        #expect(GEMM.precision == .fp32)
        GEMM.$precision.withValue(.bf16(.emulated)) { #expect(GEMM.precision == .bf16(.emulated)) }
        #expect(GEMM.precision == .fp32)
    }

    /// oneDNN's fp32 products equal BLAS's: the strides, transposes and thread split are right.
    /// Builds without the trait must refuse instead.
    @Test(arguments: cases)
    func oneDNNPlumbing(_ c: KernelTwinTests.MatMulCase) throws {
        let (a, b) = Self.inputs(c)
        let out = Tensor.zeros([c.m, c.n])
        let run = {
            try OneDNN.multiply(type: .f32, transposeA: c.transposeA, transposeB: c.transposeB,
                                m: c.m, n: c.n, k: c.k, a: a.pointer, lda: a.shape[1],
                                b: b.pointer, ldb: b.shape[1], c: out.pointer, ldc: c.n)
        }
        guard OneDNN.isCompiledIn else {
            #expect(throws: OneDNN.Failure.self) { try run() }
            #expect(OneDNN.bf16Unavailability!.contains("--traits OneDNN"))
            return
        }
        try run()
        let expected = matmul(a, b, transposeA: c.transposeA, transposeB: c.transposeB)
        #expect(compare(out.scalars, expected.scalars, relative: 1e-4, absolute: 1e-4).isClose)
    }

    /// The threaded oneDNN fp32 product (`hrm bench kernels`' comparison) equals BLAS's at a size
    /// the engine splits over its threads, in the three layouts HRM uses; without the trait it throws.
    @Test func oneDNNFloatProductSplitOverThreads() throws {
        var rng = RandomGenerator(seed: 9)
        let (m, n, k) = (300, 96, 80)  // 2.3 M multiply-adds: above GEMM.parallelThreshold
        for (ta, tb) in [(false, true), (false, false), (true, false)] {
            let a = Tensor.uniform(ta ? [k, m] : [m, k], in: -1...1, using: &rng)
            let b = Tensor.uniform(tb ? [n, k] : [k, n], in: -1...1, using: &rng)
            let out = Tensor.zeros([m, n])
            let run = {
                try GEMM.multiplyThroughOneDNN(transposeA: ta, transposeB: tb, m: m, n: n, k: k, a: a.pointer, lda: a.shape[1],
                                               b: b.pointer, ldb: b.shape[1], c: out.pointer, ldc: n)
            }
            guard OneDNN.isCompiledIn else {
                #expect(throws: OneDNN.Failure.self) { try run() }
                continue
            }
            try run()
            let expected = matmul(a, b, transposeA: ta, transposeB: tb)
            #expect(compare(out.scalars, expected.scalars, relative: 1e-4, absolute: 1e-4).isClose, "\(ta) \(tb)")
        }
    }

    /// Where oneDNN can run bf16 here, its products equal the emulated ones up to summation
    /// order; where it cannot, the reason is stated and `unavailability` reports it.
    @Test(arguments: cases)
    func oneDNNBF16MatchesEmulation(_ c: KernelTwinTests.MatMulCase) {
        #expect(GEMM.unavailability(of: .bf16(.oneDNN)) == OneDNN.bf16Unavailability)
        #expect(GEMM.unavailability(of: .bf16(.emulated)) == nil)
        if let reason = OneDNN.bf16Unavailability {
            #expect(reason.contains(OneDNN.isCompiledIn ? "AVX512_BF16" : "libdnnl-dev"), "\(reason)")
            return
        }
        let (a, b) = Self.inputs(c)
        let fast = GEMM.$precision.withValue(.bf16(.oneDNN)) {
            matmul(a, b, transposeA: c.transposeA, transposeB: c.transposeB)
        }
        let expected = Self.roundedProduct(a, b, c)
        #expect(compare(fast.scalars, expected, relative: 1e-5, absolute: 1e-5).isClose)
    }
}
