import Foundation
import Testing
import Tensors
import TestSupport

/// Small cases whose answers were worked out by hand (or in closed form), independent of any
/// kernel or twin in the engine.
@Suite struct HandComputedTests {
    @Test func rmsNormOfSmallRows() {
        // Row [3, 4]: mean square 12.5, r = 1/√(12.5 + 1e-5) → [0.848528, 1.131371].
        // Row [1, 1]: r = 1/√(1 + 1e-5) → 0.999995 each.
        let y = rmsNorm(Tensor([3, 4, 1, 1], shape: [2, 2]))
        let r = compare(y.scalars, [0.848_528_0, 1.131_370_6, 0.999_995, 0.999_995],
                        relative: 1e-6, absolute: 1e-7)
        #expect(r.isClose, "\(r)")
    }

    @Test func attentionOfTwoPositions() {
        // One head, d = 1 (scale 1): q = [1, 0], k = [0, ln 3], v = [10, 20].
        // Position 0 scores [0, ln 3] → softmax [1/4, 3/4] → 17.5.
        // Position 1 scores [0, 0]   → [1/2, 1/2]         → 15.
        // Causal: position 0 sees only itself → 10; position 1 unchanged → 15.
        let q = Tensor([1, 0], shape: [1, 2, 1, 1])
        let k = Tensor([0, Float(Foundation.log(3.0))], shape: [1, 2, 1, 1])
        let v = Tensor([10, 20], shape: [1, 2, 1, 1])
        let full = scaledDotProductAttention(query: q, key: k, value: v)
        let causal = scaledDotProductAttention(query: q, key: k, value: v, causal: true)
        #expect(compare(full.scalars, [17.5, 15], relative: 1e-5, absolute: 1e-5).isClose,
                "\(full.scalars)")
        #expect(compare(causal.scalars, [10, 15], relative: 1e-5, absolute: 1e-5).isClose,
                "\(causal.scalars)")
    }

    @Test func attentionScalesByRootOfHeadWidth() {
        // d = 4, q = k rows chosen so q·k = 4·ln 2 · 2 = 8 ln 2 for the second key, 0 for the
        // first; scaled by 1/√4 → 4 ln 2 → weights 1/17 and 16/17.
        let a = Float(2 * Foundation.log(2.0))
        let q = Tensor([1, 1, 1, 1, 0, 0, 0, 0], shape: [1, 2, 1, 4])
        let k = Tensor([0, 0, 0, 0, a, a, a, a], shape: [1, 2, 1, 4])
        let v = Tensor([0, 0, 0, 0, 17, 17, 17, 17], shape: [1, 2, 1, 4])
        let o = scaledDotProductAttention(query: q, key: k, value: v)
        #expect(compare(Array(o.scalars[0..<4]), [16, 16, 16, 16], relative: 1e-5, absolute: 1e-4)
            .isClose, "\(o.scalars)")
    }

    @Test func stablemaxAndSoftmaxMatchTheSpecWorkedNumbers() {
        // Spec §19: logits (2, −1, 0): stablemax probabilities (2/3, 1/9, 2/9), CE for label 0
        // = 0.4054651081; softmax (0.84379, 0.04201, 0.11420).
        let logits = Tensor([2, -1, 0], shape: [1, 3])
        let ce = stablemaxCrossEntropy(logits: logits, labels: [0])
        #expect(abs(ce.item - 0.405_465_1) < 1e-6)
        let p = softmax(logits).scalars
        #expect(compare(p, [0.84379, 0.04201, 0.11420], relative: 0, absolute: 1e-5).isClose)
        let soft = crossEntropy(logits: logits, labels: [0])
        #expect(abs(soft.item + Float(Foundation.log(0.843_794_3))) < 1e-5)
        #expect(crossEntropy(logits: logits, labels: [ignoreLabel]).item == 0)
    }

    @Test func binaryCrossEntropyAtTheQHeadsInitialBias() {
        // Spec §19: sigmoid(−5) = 0.0066929; BCE target 1: 5.0067153, target 0: 0.0067153.
        let z = Tensor([-5, -5], shape: [2])
        let l = binaryCrossEntropyWithLogits(z, targets: Tensor([1, 0], shape: [2]))
        #expect(compare(l.scalars, [5.006_715_3, 0.006_715_3], relative: 1e-6, absolute: 1e-6).isClose)
        #expect(abs(z.sigmoid().scalars[0] - 0.006_692_9) < 1e-6)
    }

    @Test func rotaryAtPositionNineHundred() {
        // Spec §19: position 900, k = 0: angle 900, cos 0.0662467, sin 0.9978033. With d = 2 the
        // pair (1, 0) rotates to (cos, sin).
        let c = Tensor([Float(Foundation.cos(900.0)), Float(Foundation.cos(900.0))], shape: [1, 2])
        let s = Tensor([Float(Foundation.sin(900.0)), Float(Foundation.sin(900.0))], shape: [1, 2])
        let y = rotaryEmbedding(Tensor([1, 0], shape: [1, 1, 1, 2]), cos: c, sin: s)
        #expect(compare(y.scalars, [0.066_246_7, 0.997_803_3], relative: 0, absolute: 1e-6).isClose)
    }
}
