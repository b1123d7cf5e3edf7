import Testing
import Tensors
import TestSupport

/// Each fast kernel against its naive twin (`NaiveKernels`) on awkward shapes: sizes of 1,
/// primes, sizes that are not multiples of the 16-lane loops, and sizes above the threading
/// thresholds so that the split paths run.
@Suite struct KernelTwinTests {
    struct MatMulCase: CustomTestStringConvertible, Sendable {
        let m, n, k: Int
        let transposeA, transposeB: Bool
        var testDescription: String { "\(m)×\(n)×\(k) \(transposeA ? "T" : "N")\(transposeB ? "T" : "N")" }
    }
    static let matmulCases: [MatMulCase] = [
        .init(m: 1, n: 1, k: 1, transposeA: false, transposeB: false),
        .init(m: 7, n: 13, k: 5, transposeA: false, transposeB: true),
        .init(m: 17, n: 3, k: 33, transposeA: true, transposeB: false),
        .init(m: 5, n: 9, k: 2, transposeA: true, transposeB: true),
        // Above GEMM.parallelThreshold: split by rows, then by columns.
        .init(m: 151, n: 131, k: 129, transposeA: false, transposeB: true),
        .init(m: 37, n: 263, k: 257, transposeA: true, transposeB: false),
        .init(m: 20, n: 400, k: 300, transposeA: false, transposeB: false),
    ]

    @Test(arguments: matmulCases)
    func matmulMatchesNaive(_ c: MatMulCase) {
        var rng = RandomGenerator(seed: 7)
        let a = Tensor.uniform(c.transposeA ? [c.k, c.m] : [c.m, c.k], in: -1...1, using: &rng)
        let b = Tensor.uniform(c.transposeB ? [c.n, c.k] : [c.k, c.n], in: -1...1, using: &rng)
        let fast = matmul(a, b, transposeA: c.transposeA, transposeB: c.transposeB)
        let naive = NaiveKernels.matmul(a.scalars, b.scalars, m: c.m, n: c.n, k: c.k,
                                        transposeA: c.transposeA, transposeB: c.transposeB)
        let r = compare(fast.scalars, naive, relative: 1e-4, absolute: 1e-4)
        #expect(fast.shape == [c.m, c.n])
        #expect(r.isClose, "\(r)")
    }

    @Test(arguments: [(1, 1), (3, 17), (5, 512), (300, 129), (1000, 82)])
    func softmaxMatchesNaive(rows: Int, n: Int) {
        var rng = RandomGenerator(seed: 3)
        let x = Tensor.uniform([rows, n], in: -8...8, using: &rng)
        let r = compare(softmax(x).scalars, NaiveKernels.softmax(x.scalars, rowLength: n),
                        relative: 1e-5, absolute: 1e-7)
        #expect(r.isClose, "\(r)")
    }

    @Test(arguments: [(1, 1), (3, 17), (7, 512), (129, 333)])
    func rmsNormMatchesNaive(rows: Int, n: Int) {
        var rng = RandomGenerator(seed: 4)
        let x = Tensor.uniform([rows, n], in: -3...3, using: &rng)
        let r = compare(rmsNorm(x).scalars,
                        NaiveKernels.rmsNorm(x.scalars, rowLength: n, epsilon: 1e-5),
                        relative: 1e-5, absolute: 1e-6)
        #expect(r.isClose, "\(r)")
    }

    @Test(arguments: [(1, 1, 1, 2), (2, 7, 3, 8), (3, 82, 8, 64)])
    func rotaryMatchesNaive(b: Int, n: Int, h: Int, d: Int) {
        var rng = RandomGenerator(seed: 5)
        let x = Tensor.uniform([b, n, h, d], in: -1...1, using: &rng)
        let (c, s) = rotaryTables(positions: n, dimension: d)
        let r = compare(rotaryEmbedding(x, cos: c, sin: s).scalars,
                        NaiveKernels.rotary(x.scalars, cos: c.scalars, sin: s.scalars,
                                            b: b, n: n, h: h, d: d),
                        relative: 1e-5, absolute: 1e-6)
        #expect(r.isClose, "\(r)")
    }

    @Test(arguments: [(1, 1, 1, 1, false), (2, 9, 3, 5, false), (2, 9, 3, 5, true),
                      (3, 82, 4, 64, false), (1, 33, 2, 16, true)])
    func attentionMatchesNaive(b: Int, n: Int, h: Int, d: Int, causal: Bool) {
        var rng = RandomGenerator(seed: 6)
        let q = Tensor.uniform([b, n, h, d], in: -1...1, using: &rng)
        let k = Tensor.uniform([b, n, h, d], in: -1...1, using: &rng)
        let v = Tensor.uniform([b, n, h, d], in: -1...1, using: &rng)
        let fast = scaledDotProductAttention(query: q, key: k, value: v, causal: causal)
        let naive = NaiveKernels.attention(q: q.scalars, k: k.scalars, v: v.scalars,
                                           b: b, n: n, h: h, d: d, causal: causal)
        let r = compare(fast.scalars, naive, relative: 1e-4, absolute: 1e-5)
        #expect(r.isClose, "\(r)")
    }

    @Test(arguments: [(1, 1), (3, 7), (82, 1536), (5, 33)])
    func swiGLUMatchesNaive(rows: Int, f: Int) {
        var rng = RandomGenerator(seed: 8)
        let x = Tensor.uniform([rows, 2 * f], in: -6...6, using: &rng)
        let r = compare(swiGLU(x).scalars, NaiveKernels.swiGLU(x.scalars, f: f),
                        relative: 2e-5, absolute: 1e-6)
        #expect(r.isClose, "\(r)")
    }

    @Test(arguments: [([1], 0), ([7, 1, 3], 1), ([5, 17, 9], 1), ([300, 130], 0),
                      ([130, 300], 1), ([2, 3, 4000], 2), ([4000, 3, 5], 0)])
    func sumMatchesNaive(shape: [Int], axis: Int) {
        var rng = RandomGenerator(seed: 9)
        let x = Tensor.uniform(shape, in: -1...1, using: &rng)
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        let r = compare(x.sum(axis: axis).scalars,
                        NaiveKernels.sum(x.scalars, outer: outer, n: shape[axis], inner: inner),
                        relative: 1e-5, absolute: 1e-4)
        #expect(r.isClose, "\(r)")
    }

    @Test(arguments: [([2, 3, 4], [2, 0, 1]), ([1, 5, 1, 3], [3, 1, 0, 2]),
                      ([64, 82, 8], [1, 0, 2]), ([33, 65], [1, 0])])
    func permuteMatchesNaive(shape: [Int], axes: [Int]) {
        var rng = RandomGenerator(seed: 10)
        let x = Tensor.uniform(shape, in: -1...1, using: &rng)
        #expect(x.permuted(axes).scalars == NaiveKernels.permute(x.scalars, shape: shape, axes: axes))
    }

    @Test func broadcastBinaryMatchesElementByElement() {
        var rng = RandomGenerator(seed: 11)
        let a = Tensor.uniform([4, 1, 300], in: -1...1, using: &rng)
        let b = Tensor.uniform([3, 1], in: -1...1, using: &rng)
        let y = a * b
        #expect(y.shape == [4, 3, 300])
        var ok = true
        for i in 0..<4 { for j in 0..<3 { for k in 0..<300 {
            ok = ok && y.scalars[(i * 3 + j) * 300 + k] == a.scalars[i * 300 + k] * b.scalars[j]
        } } }
        #expect(ok)
    }

    @Test func fastExpIsAccurate() {
        var worst: Float = 0
        var x: Float = -80
        while x < 80 {
            let e = Float(Foundation.exp(Double(x)))
            worst = max(worst, abs(fastExp(x) - e) / e)
            x += 0.0137
        }
        #expect(worst < 4e-6, "largest relative error \(worst)")
    }
}

import Foundation

@Suite struct FastAtanTests {
    @Test func fastAtan2MatchesLibmOnTheHalfPlane() {
        var worst: Double = 0
        for y in stride(from: -3.0, through: 3.0, by: 0.0137) {
            for x in [0.0, 1e-9, 0.001, 0.3, 0.999, 1, 1.7, 40] {
                let exact = Foundation.atan2(y, x)
                let approx = Double(fastAtan2NonNegative(Float(y), Float(x)))
                worst = max(worst, abs(approx - exact) / max(abs(exact), 1e-3))
            }
        }
        #expect(worst < 1e-6, "largest relative error \(worst)")
        #expect(fastAtan2NonNegative(0, 0) == 0)
        #expect(abs(fastAtan2NonNegative(-2, 0) + Float.pi / 2) < 1e-6)
    }
}
