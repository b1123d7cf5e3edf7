import Foundation
import Testing
import Tensors
import TestSupport

@Suite struct TensorTests {
    @Test func creationAndConversion() {
        #expect(Tensor.zeros([2, 3]).scalars == [Float](repeating: 0, count: 6))
        #expect(Tensor.ones([2]).scalars == [1, 1])
        #expect(Tensor.full([1, 2], value: 3).scalars == [3, 3])
        let tokens: [Int32] = [0, 5, 10, -100]
        let t = Tensor(int32s: tokens, shape: [2, 2])
        #expect(t.int32s == tokens)
        #expect(Tensor(scalar: 2.5).item == 2.5)
    }

    @Test func sameSeedGivesTheSameBits() {
        func draw() -> [Float] {
            var rng = RandomGenerator(seed: 42)
            let a = Tensor.uniform([100], in: -1...1, using: &rng)
            let b = Tensor.normal([100], using: &rng)
            let c = Tensor.truncatedNormal([100], standardDeviation: 0.5, using: &rng)
            return a.scalars + b.scalars + c.scalars
        }
        #expect(draw() == draw())
        var other = RandomGenerator(seed: 43)
        #expect(Tensor.uniform([100], in: -1...1, using: &other).scalars != Array(draw()[0..<100]))
    }

    @Test func computationIsDeterministic() {
        // The same seed and thread count give bit-identical forward and backward results,
        // through the threaded GEMM split and the threaded elementwise loops.
        func run() -> [Float] {
            var rng = RandomGenerator(seed: 5)
            let x = Tensor.normal([4, 82, 64], using: &rng).requiringGradient()
            let w = Tensor.normal([192, 64], using: &rng).requiringGradient()
            let y = rmsNorm(swiGLU(matmul(x, w, transposeB: true)))
            let loss = (softmax(y) * y).sum()
            loss.backward()
            return y.scalars + x.gradient!.scalars + w.gradient!.scalars
        }
        #expect(run() == run())
    }

    @Test func truncatedNormalMatchesTheSpec() {
        // Spec §3.1 / §19: k = 1.1368472343385565, bounds ±2.27369·σ, realised std σ.
        #expect(abs(TruncatedNormal.stdFactor - 1.1368472343385565) < 1e-12)
        var rng = RandomGenerator(seed: 1)
        let sigma: Float = 0.044194173824159216
        let t = Tensor.truncatedNormal([200_000], standardDeviation: sigma, using: &rng)
        let v = t.scalars
        let bound = Float(2.273694468677113) * sigma
        #expect(v.allSatisfy { abs($0) <= bound * (1 + 1e-6) })
        #expect(v.max()! > bound * 0.99)
        let mean = v.reduce(0, +) / Float(v.count)
        let std = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(v.count)).squareRoot()
        #expect(abs(mean) < 0.01 * sigma * 10)
        #expect(abs(std / sigma - 1) < 0.01, "realised std \(std) vs \(sigma)")
        #expect(Tensor.truncatedNormal([3], standardDeviation: 0, using: &rng).scalars == [0, 0, 0])
    }

    @Test func inverseErfInvertsErf() {
        for x in stride(from: -3.0, through: 3.0, by: 0.25) {
            #expect(abs(inverseErf(erf(x)) - x) < 1e-9)
        }
    }

    @Test func reshapeSharesStorageAndInfersOneAxis() {
        let x = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let y = x.reshaped([3, -1])
        #expect(y.shape == [3, 2])
        x.pointer[0] = 9
        #expect(y.scalars[0] == 9)
    }

    @Test func movementOps() {
        let x = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        #expect(x.transposed(0, 1).scalars == [1, 4, 2, 5, 3, 6])
        #expect(x.sliced(axis: 1, 1..<3).scalars == [2, 3, 5, 6])
        #expect(concatenated([x, x.sliced(axis: 1, 0..<1)], axis: 1).scalars
                == [1, 2, 3, 1, 4, 5, 6, 4])
        #expect(x.gathered(rows: [1, 1, 0]).scalars == [4, 5, 6, 4, 5, 6, 1, 2, 3])
        #expect(Tensor([1, 2], shape: [2, 1]).broadcast(to: [2, 3]).scalars == [1, 1, 1, 2, 2, 2])
    }

    @Test func reductionsAndComparisons() {
        let x = Tensor([1, 5, 3, 7, 2, 7], shape: [2, 3])
        #expect(x.sum(axis: 1).scalars == [9, 16])
        #expect(x.mean(axis: 0).scalars == [4, 3.5, 5])
        #expect(x.max(axis: 1).scalars == [5, 7])
        #expect(x.argmax(axis: 1).scalars == [1, 0])  // ties go to the lowest index
        #expect(greater(x, Tensor(scalar: 3)).scalars == [0, 1, 0, 1, 0, 1])
        #expect(equal(x, Tensor([7], shape: [1])).scalars == [0, 0, 0, 1, 0, 1])
        #expect(select(less(x, Tensor(scalar: 4)), x, Tensor(scalar: 0)).scalars
                == [1, 0, 3, 0, 2, 0])
        #expect(x.sum().item == 25)
    }

    @Test func atan2MatchesLibm() {
        let y = Tensor([1, -1, 0.5, 0], shape: [4]), x = Tensor([1, 1, -2, 0], shape: [4])
        let expected = zip(y.scalars, x.scalars).map { Float(Foundation.atan2(Double($0), Double($1))) }
        #expect(atan2(y, x).scalars == expected)
    }
}
