import Foundation
import Testing
import Layers
import Tensors
import TestSupport

@Suite struct LayersTests {
    @Test func swiGLUInnerWidthFollowsTheReferenceRule() {
        #expect(SwiGLU.innerWidth(hiddenSize: 512, expansion: 4) == 1536)
        #expect(SwiGLU.innerWidth(hiddenSize: 128, expansion: 4) == 512)   // round(341.33)=341 → 512
        #expect(SwiGLU.innerWidth(hiddenSize: 64, expansion: 4) == 256)
    }

    @Test func paperBlockHasTheReferenceNamesShapesAndCount() {
        var rng = RandomGenerator(seed: 0)
        let block = TransformerBlock(hiddenSize: 512, headCount: 8, expansion: 4, using: &rng)
        let shapes = Dictionary(uniqueKeysWithValues: block.namedParameters().map { ($0.name, $0.tensor.shape) })
        #expect(shapes == [
            "self_attn.qkv_proj.weight": [1536, 512],
            "self_attn.o_proj.weight": [512, 512],
            "mlp.gate_up_proj.weight": [3072, 512],
            "mlp.down_proj.weight": [512, 1536],
        ])
        #expect(block.parameterCount == 3_407_872)  // spec §1.4
    }

    @Test func linearInitialisationStaysWithinTheTruncationBounds() {
        var rng = RandomGenerator(seed: 1)
        let down = Linear(inFeatures: 1536, outFeatures: 64, using: &rng)
        let bound: Float = 0.0580144924921608  // spec §19, σ = 1/√1536
        #expect(down.weight.scalars.allSatisfy { abs($0) <= bound * 1.000001 })
        #expect(down.weight.scalars.contains { abs($0) > bound * 0.95 })
    }

    @Test func rotaryTablesMatchTheSpec() {
        let rope = RotaryEmbedding(headDimension: 64, positions: 901)
        let c = rope.cos.scalars, s = rope.sin.scalars
        // inv_freq[1] = 0.7498942 → angle at position 1, k = 1.
        #expect(abs(Float(Foundation.acos(Double(c[64 + 1]))) - 0.749_894_2) < 1e-6)
        // Position 900, k = 0: cos 0.0662467, sin 0.9978033; halves repeat.
        #expect(abs(c[900 * 64] - 0.066_246_7) < 2e-5)
        #expect(abs(s[900 * 64] - 0.997_803_3) < 2e-5)
        #expect(c[900 * 64 + 32] == c[900 * 64] && s[5 * 64 + 40] == s[5 * 64 + 8])
    }

    @Test func linearGradientMatchesFiniteDifferences() {
        var rng = RandomGenerator(seed: 2)
        let layer = Linear(inFeatures: 5, outFeatures: 3, bias: true, using: &rng)
        let x = Tensor.uniform([2, 4, 5], in: -1...1, using: &rng)
        let results = GradientCheck().run([x, layer.weight, layer.bias!]) { xs in
            Linear(weight: xs[1], bias: xs[2])(xs[0])
        }
        for r in results { #expect(r.isClose, "\(r)") }
    }

    /// The block written out from primitives, weights given explicitly (in
    /// `namedParameters()` order), so gradients can be taken with respect to each of them.
    static func blockComposition(_ x: Tensor, _ w: [Tensor], heads h: Int, rope: RotaryEmbedding)
        -> Tensor
    {
        let (b, n, dModel) = (x.shape[0], x.shape[1], x.shape[2])
        let d = dModel / h
        let qkv = matmul(x, w[0], transposeB: true).reshaped([b, n, 3 * h, d])
        let o = scaledDotProductAttention(query: rope(qkv.sliced(axis: 2, 0..<h)),
                                          key: rope(qkv.sliced(axis: 2, h..<(2 * h))),
                                          value: qkv.sliced(axis: 2, (2 * h)..<(3 * h)))
        let h1 = rmsNorm(x + matmul(o.reshaped([b, n, dModel]), w[1], transposeB: true))
        return rmsNorm(h1 + matmul(swiGLU(matmul(h1, w[2], transposeB: true)), w[3], transposeB: true))
    }

    @Test func blockLayerEqualsItsComposition() {
        var rng = RandomGenerator(seed: 4)
        let block = TransformerBlock(hiddenSize: 16, headCount: 4, expansion: 4, using: &rng)
        let rope = RotaryEmbedding(headDimension: 4, positions: 5)
        let x = Tensor.uniform([2, 5, 16], in: -1...1, using: &rng)
        let expected = Self.blockComposition(x, block.parameters, heads: 4, rope: rope)
        #expect(block(x, rotary: rope).scalars == expected.scalars)
    }

    @Test func transformerBlockGradientMatchesFiniteDifferences() {
        // The whole post-norm block (attention with rotary, SwiGLU, two RMSNorms), with respect
        // to its input and all four weights. Looser tolerance: five ops deep in Float32.
        var rng = RandomGenerator(seed: 3)
        let block = TransformerBlock(hiddenSize: 8, headCount: 2, expansion: 2, using: &rng)
        let rope = RotaryEmbedding(headDimension: 4, positions: 3)
        let x = Tensor.uniform([2, 3, 8], in: -1...1, using: &rng)
        let check = GradientCheck(step: 3e-3, relative: 2e-2, absolute: 2e-3)
        let results = check.run([x] + block.parameters) { xs in
            Self.blockComposition(xs[0], Array(xs.dropFirst()), heads: 2, rope: rope)
        }
        for r in results { #expect(r.isClose, "\(r)") }
    }
}
