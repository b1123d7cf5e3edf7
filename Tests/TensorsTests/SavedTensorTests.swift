import Testing
@testable import Tensors
import TestSupport

/// Saved activations under mixed precision: packed to bf16 once, parameters never, and the
/// gradients they give (exact for products, within bf16 rounding elsewhere).
@Suite struct SavedTensorTests {
    static let bf16 = MatmulPrecision.bf16(.emulated)

    @Test func activationsArePackedOnlyUnderBF16AndParametersNever() {
        var rng = RandomGenerator(seed: 3)
        let w = Tensor.uniform([4, 4], in: -1...1, using: &rng).requiringGradient()
        let activation = w * 2
        let input = Tensor.uniform([4, 4], in: -1...1, using: &rng)
        #expect(!SavedTensor(activation).isPacked, "fp32 packs nothing")
        GEMM.$precision.withValue(Self.bf16) {
            #expect(SavedTensor(activation).isPacked)
            #expect(SavedTensor(input).isPacked)
            #expect(!SavedTensor(w).isPacked, "a parameter was packed")
            let unpacked = SavedTensor(activation).unpacked()
            #expect(unpacked.shape == activation.shape)
            #expect(unpacked.scalars == activation.scalars.map(BFloat16.rounded))
        }
    }

    @Test func aTensorSavedTwiceIsPackedOnce() {
        var rng = RandomGenerator(seed: 4)
        let x = Tensor.uniform([3, 5], in: -1...1, using: &rng)
        let other = Tensor.uniform([3, 5], in: -1...1, using: &rng)
        GEMM.$precision.withValue(Self.bf16) {
            let first = PackedBF16.packing(x), again = PackedBF16.packing(x.reshaped([15]))
            #expect(first === again, "the same storage was packed twice")
            #expect(PackedBF16.packing(other) !== first)
        }
    }

    /// Under bf16 the graph keeps the bf16 packing, not the float32 activation: the activation's
    /// storage is freed during the forward pass (it is kept under fp32).
    @Test func theGraphKeepsThePackingNotTheActivation() {
        var rng = RandomGenerator(seed: 5)
        let x = Tensor.uniform([8, 16], in: -1...1, using: &rng).requiringGradient()
        let w = Tensor.uniform([16, 16], in: -1...1, using: &rng).requiringGradient()
        for precision in [MatmulPrecision.fp32, Self.bf16] {
            weak var hidden: Storage?
            let y: Tensor = GEMM.$precision.withValue(precision) {
                let h = x * 3
                hidden = h.storage
                return matmul(h, w, transposeB: true)
            }
            if precision == .fp32 {
                #expect(hidden != nil, "fp32: the product's input must stay for backward")
            } else {
                #expect(hidden == nil, "bf16: the graph still holds the float32 activation")
            }
            GEMM.$precision.withValue(precision) { y.sum().backward() }
        }
    }

    /// A product rounds its inputs to bf16 in backward too, so packing its saved input loses
    /// nothing: gradients are bit-identical with and without packing.
    @Test func packingAProductsInputChangesNoGradientBit() {
        var rng = RandomGenerator(seed: 6)
        let x = Tensor.uniform([6, 24], in: -1...1, using: &rng)
        let w1 = Tensor.uniform([32, 24], in: -0.5...0.5, using: &rng).requiringGradient()
        let w2 = Tensor.uniform([8, 32], in: -0.5...0.5, using: &rng).requiringGradient()
        func grads(packing: Bool) -> [[Float]] {
            SavedTensor.$packingOverride.withValue(packing) {
                GEMM.$precision.withValue(Self.bf16) {
                    let h = matmul(x, w1, transposeB: true) * 1.5
                    let loss = matmul(h, w2, transposeB: true).square().sum()
                    return gradients(of: loss, withRespectTo: [w1, w2]).map(\.scalars)
                }
            }
        }
        let (packed, plain) = (grads(packing: true), grads(packing: false))
        // x and h are packed (both are product inputs); `square` keeps its input as it is.
        #expect(packed[0] == plain[0])
        #expect(packed[1] == plain[1])
    }

    /// A block like the model's (norm, attention, SwiGLU) trains on packed activations: its
    /// gradients stay within bf16 rounding of the unpacked ones.
    @Test func blockGradientsStayWithinBF16Rounding() {
        var rng = RandomGenerator(seed: 7)
        let (b, n, h, d) = (2, 6, 2, 8)
        let x = Tensor.uniform([b, n, h * d], in: -1...1, using: &rng)
        let wqkv = Tensor.uniform([3 * h * d, h * d], in: -0.3...0.3, using: &rng).requiringGradient()
        let wGateUp = Tensor.uniform([4 * h * d, h * d], in: -0.3...0.3, using: &rng).requiringGradient()
        let wDown = Tensor.uniform([h * d, 2 * h * d], in: -0.3...0.3, using: &rng).requiringGradient()
        func grads(packing: Bool) -> [[Float]] {
            SavedTensor.$packingOverride.withValue(packing) {
                GEMM.$precision.withValue(Self.bf16) {
                    let qkv = matmul(x, wqkv, transposeB: true).reshaped([b, n, 3 * h, d])
                    let a = scaledDotProductAttention(query: qkv.sliced(axis: 2, 0..<h),
                                                      key: qkv.sliced(axis: 2, h..<(2 * h)),
                                                      value: qkv.sliced(axis: 2, (2 * h)..<(3 * h)))
                    let y = rmsNorm(x + a.reshaped([b, n, h * d]))
                    let z = rmsNorm(y + swiGLUProjected(matmul(y, wGateUp, transposeB: true), weight: wDown))
                    let loss = (z * z * z).sum()
                    return gradients(of: loss, withRespectTo: [wqkv, wGateUp, wDown]).map(\.scalars)
                }
            }
        }
        let (packed, plain) = (grads(packing: true), grads(packing: false))
        for (p, q) in zip(packed, plain) {
            #expect(p != q, "nothing was packed")
            let scale = q.map(abs).max() ?? 1
            let worst = zip(p, q).map { abs($0 - $1) }.max() ?? 0
            // bf16 keeps 8 significant bits (relative error ≤ 2⁻⁹ per value); a few roundings
            // compound through backward. 2 % of the largest gradient, as the parity tests.
            #expect(worst <= 0.02 * scale, "worst \(worst) of \(scale)")
        }
    }

    /// The bf16 backends this CPU can run (emulated always; oneDNN where it has bf16 kernels).
    static var backends: [MatmulPrecision] {
        [Self.bf16] + (GEMM.unavailability(of: .bf16(.oneDNN)) == nil ? [.bf16(.oneDNN)] : [])
    }

    /// A parameter is converted once per scope however many products read it, forward and
    /// backward, and the products and gradients are bit-identical to converting at every call.
    @Test func aParameterIsConvertedOncePerScopeChangingNoBit() {
        var rng = RandomGenerator(seed: 8)
        let x = Tensor.uniform([5, 12], in: -1...1, using: &rng)
        let w = Tensor.uniform([12, 12], in: -0.5...0.5, using: &rng).requiringGradient()
        let v = Tensor.uniform([6, 12], in: -0.5...0.5, using: &rng).requiringGradient()
        for precision in Self.backends {
            func run(cached: Bool) -> (values: [[Float]], conversions: Int?) {
                BF16ParameterCache.$isEnabled.withValue(cached) {
                    GEMM.$precision.withValue(precision) {
                        BF16ParameterCache.scope {
                            // w is read by three forward products and their backward ones.
                            let h = matmul(matmul(matmul(x, w, transposeB: true) * 0.7, w, transposeB: true), w)
                            let loss = matmul(h, v, transposeB: true).square().sum()
                            let g = gradients(of: loss, withRespectTo: [w, v]).map(\.scalars)
                            return ([loss.scalars] + g, BF16ParameterCache.current?.conversions)
                        }
                    }
                }
            }
            let (cached, plain) = (run(cached: true), run(cached: false))
            #expect(cached.conversions == 2, "\(precision): w and v once each, not \(cached.conversions ?? -1)")
            #expect(plain.conversions == nil)
            #expect(cached.values == plain.values, "\(precision): the cache changed a value")
        }
    }

    /// A weight smaller than the activation it multiplies (a large batch) is not copied: the
    /// copy would cost memory and save little.
    @Test func aParameterSmallerThanItsPartnerIsNotCopied() {
        var rng = RandomGenerator(seed: 11)
        let x = Tensor.uniform([40, 12], in: -1...1, using: &rng)
        let w = Tensor.uniform([12, 12], in: -0.5...0.5, using: &rng).requiringGradient()
        let conversions = GEMM.$precision.withValue(Self.bf16) {
            BF16ParameterCache.scope {
                _ = matmul(x, w, transposeB: true)
                return BF16ParameterCache.current?.conversions
            }
        }
        #expect(conversions == 0)
    }

    /// A scope's copies end with it: a parameter changed between two scopes (as the optimizer
    /// changes it between training steps) is read with its new values.
    @Test func aParameterChangedBetweenScopesIsConvertedAfresh() {
        var rng = RandomGenerator(seed: 9)
        let x = Tensor.uniform([4, 8], in: -1...1, using: &rng)
        let w = Tensor.uniform([8, 8], in: -0.5...0.5, using: &rng).requiringGradient()
        for precision in Self.backends {
            GEMM.$precision.withValue(precision) {
                let before = BF16ParameterCache.scope { matmul(x, w, transposeB: true).scalars }
                for i in 0..<w.count { w.pointer[i] *= -2 }
                let after = BF16ParameterCache.scope { matmul(x, w, transposeB: true).scalars }
                let fresh = BF16ParameterCache.$isEnabled.withValue(false) { matmul(x, w, transposeB: true).scalars }
                #expect(after == fresh, "\(precision): a stale copy was read")
                #expect(after != before)
                for i in 0..<w.count { w.pointer[i] /= -2 }
            }
        }
    }

    /// An activation unpacked for backward carries its packing (and so does a reshape of it), so
    /// a product in backward reads those bits instead of converting the values again; the bits
    /// are exactly the values.
    @Test func anUnpackedActivationCarriesItsBits() {
        var rng = RandomGenerator(seed: 10)
        let activation = Tensor.uniform([3, 4], in: -1...1, using: &rng).requiringGradient() * 3
        GEMM.$precision.withValue(Self.bf16) {
            let unpacked = SavedTensor(activation).unpacked()
            let bits = BF16ParameterCache.bits(for: unpacked.reshaped([12]), partner: 100)
            #expect(bits != nil)
            if let bits {
                #expect((0..<12).map { BFloat16.float(bits.bits[$0]) } == unpacked.scalars)
            }
            #expect(BF16ParameterCache.bits(for: activation, partner: 1) == nil, "an activation has no bits of its own")
        }
    }
}

