import Testing
import Tensors
import TestSupport

/// One differentiable op, its inputs and its tolerance: a row of the gradient table.
struct GradientCase: CustomTestStringConvertible, Sendable {
    let name: String
    let inputs: @Sendable () -> [Tensor]
    let function: @Sendable ([Tensor]) -> Tensor
    var check = GradientCheck()
    var testDescription: String { name }

    init(_ name: String, _ shapes: [[Int]], range: ClosedRange<Float> = -1...1,
         check: GradientCheck = GradientCheck(), _ function: @escaping @Sendable ([Tensor]) -> Tensor) {
        self.name = name
        self.inputs = {
            var rng = RandomGenerator(seed: UInt64(name.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
            return shapes.map { Tensor.uniform($0, in: range, using: &rng) }
        }
        self.function = function
        self.check = check
    }

    /// A case with fixed inputs (for ops with kinks: inputs kept farther than the finite
    /// difference step from them).
    init(_ name: String, fixed: [([Float], [Int])], _ function: @escaping @Sendable ([Tensor]) -> Tensor) {
        self.name = name
        self.inputs = { fixed.map { Tensor($0.0, shape: $0.1) } }
        self.function = function
    }
}

/// `count` values spread over ±[0.1, 1] in a scrambled order: no two within 0.05 of each other
/// and none near zero, so |x|, max and comparisons have no kink within the finite-difference step.
func separated(_ count: Int) -> [Float] {
    var rng = RandomGenerator(seed: UInt64(count))
    return Array(0..<count).shuffled(using: &rng).map { k in
        let v = 0.1 + 0.9 * Float(k) / Float(max(count - 1, 1))
        return k % 2 == 0 ? v : -v
    }
}

/// Rotary tables for `n` positions and head width `d`, built as the reference builds them.
func rotaryTables(positions n: Int, dimension d: Int) -> (Tensor, Tensor) {
    var c = [Float](), s = [Float]()
    for p in 0..<n {
        for i in 0..<d {
            let k = i % (d / 2)
            let invFreq = 1 / Foundation.pow(10000, Float(2 * k) / Float(d))
            c.append(Foundation.cos(Float(p) * invFreq))
            s.append(Foundation.sin(Float(p) * invFreq))
        }
    }
    return (Tensor(c, shape: [n, d]), Tensor(s, shape: [n, d]))
}

import Foundation

extension GradientCase {
    static let all: [GradientCase] = [
        // Binary, with and without broadcasting.
        GradientCase("add", [[3, 4], [3, 4]]) { $0[0] + $0[1] },
        GradientCase("add broadcast row", [[2, 3, 4], [4]]) { $0[0] + $0[1] },
        GradientCase("subtract broadcast column", [[3, 4], [3, 1]]) { $0[0] - $0[1] },
        GradientCase("multiply", [[5, 3], [5, 3]]) { $0[0] * $0[1] },
        GradientCase("multiply broadcast both", [[2, 1, 4], [3, 1]]) { $0[0] * $0[1] },
        GradientCase("divide", [[3, 4], [3, 4]], range: 0.5...2) { $0[0] / $0[1] },
        GradientCase("divide broadcast", [[3, 4], [1, 4]], range: 0.5...2) { $0[0] / $0[1] },
        GradientCase("atan2", [[3, 4], [3, 4]]) { atan2($0[0], $0[1]) },
        GradientCase("maximum", fixed: [(separated(30), [6, 5]), (separated(30).map { -$0 * 0.9 }, [6, 5])]) {
            maximum($0[0], $0[1])
        },
        // Scalar forms and unary.
        GradientCase("affine", [[4, 3]]) { affine($0[0], scale: -1.5, shift: 0.25) },
        GradientCase("scalar divide and subtract", [[4, 3]]) { 2 - $0[0] / 3 },
        GradientCase("negate", [[4, 3]]) { -$0[0] },
        GradientCase("exp", [[4, 5]]) { $0[0].exp() },
        GradientCase("log", [[4, 5]], range: 0.5...3) { $0[0].log() },
        GradientCase("sqrt", [[4, 5]], range: 0.5...3) { $0[0].sqrt() },
        GradientCase("rsqrt", [[4, 5]], range: 0.5...3) { $0[0].rsqrt() },
        GradientCase("sigmoid", [[4, 5]], range: -3...3) { $0[0].sigmoid() },
        GradientCase("silu", [[4, 5]], range: -3...3) { $0[0].silu() },
        GradientCase("square", [[4, 5]]) { $0[0].square() },
        GradientCase("abs", fixed: [(separated(20), [4, 5])]) { $0[0].abs() },
        GradientCase("select", [[4, 5], [4, 5]]) {
            select(greater(Tensor(separated(20), shape: [4, 5]), Tensor(scalar: 0)), $0[0], $0[1])
        },
        GradientCase("select broadcast", [[4], [3, 2, 4]]) { xs in
            select(Tensor([1, 0, 1], shape: [3, 1, 1]), xs[0], xs[1])
        },
        // Reductions.
        GradientCase("sum axis 1", [[3, 4, 5]]) { $0[0].sum(axis: 1) },
        GradientCase("sum last axis keepDims", [[3, 4, 5]]) { $0[0].sum(axis: -1, keepDims: true) },
        GradientCase("sum all", [[3, 4]]) { $0[0].sum() },
        GradientCase("mean axis 0", [[3, 4]]) { $0[0].mean(axis: 0) },
        GradientCase("mean all", [[3, 4]]) { $0[0].mean() },
        GradientCase("max axis", fixed: [(separated(21), [3, 7])]) { $0[0].max(axis: 1) },
        // Movement.
        GradientCase("reshaped", [[3, 4]]) { $0[0].reshaped([2, 6]) * $0[0].reshaped([2, 6]) },
        GradientCase("permuted", [[2, 3, 4]]) { $0[0].permuted([2, 0, 1]) },
        GradientCase("transposed", [[3, 5]]) { $0[0].transposed(0, 1) },
        GradientCase("sliced", [[4, 6]]) { $0[0].sliced(axis: 1, 1..<4) },
        GradientCase("broadcast", [[3, 1]]) { $0[0].broadcast(to: [2, 3, 4]) },
        GradientCase("gathered rows (repeats)", [[5, 3]]) { $0[0].gathered(rows: [4, 0, 4, 2]) },
        GradientCase("concatenated", [[2, 3], [2, 2], [2, 1]]) { concatenated($0, axis: 1) },
        // Matrix products.
        GradientCase("matmul", [[3, 4], [4, 5]]) { matmul($0[0], $0[1]) },
        GradientCase("matmul Bᵀ", [[3, 4], [5, 4]]) { matmul($0[0], $0[1], transposeB: true) },
        GradientCase("matmul Aᵀ", [[4, 3], [4, 5]]) { matmul($0[0], $0[1], transposeA: true) },
        GradientCase("matmul AᵀBᵀ", [[4, 3], [5, 4]]) {
            matmul($0[0], $0[1], transposeA: true, transposeB: true)
        },
        GradientCase("matmul 3-D · 2-D (linear)", [[2, 3, 4], [5, 4]]) {
            matmul($0[0], $0[1], transposeB: true)
        },
        GradientCase("matmul batched", [[2, 3, 4], [2, 4, 5]]) { matmul($0[0], $0[1]) },
        GradientCase("matmul batched Aᵀ", [[2, 4, 3], [2, 4, 5]]) {
            matmul($0[0], $0[1], transposeA: true)
        },
        GradientCase("matmul batched Bᵀ", [[2, 3, 4], [2, 5, 4]]) {
            matmul($0[0], $0[1], transposeB: true)
        },
        // Fused composites.
        GradientCase("softmax", [[3, 7]], range: -2...2) { softmax($0[0]) },
        GradientCase("logSoftmax", [[3, 7]], range: -2...2) { logSoftmax($0[0]) },
        GradientCase("rmsNorm", [[3, 8]]) { rmsNorm($0[0]) },
        GradientCase("rotaryEmbedding", [[2, 3, 2, 8]]) { xs in
            let (c, s) = rotaryTables(positions: 3, dimension: 8)
            return rotaryEmbedding(xs[0], cos: c, sin: s)
        },
        GradientCase("attention", [[2, 5, 2, 4], [2, 5, 2, 4], [2, 5, 2, 4]]) {
            scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2])
        },
        GradientCase("attention causal", [[1, 5, 2, 4], [1, 5, 2, 4], [1, 5, 2, 4]]) {
            scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], causal: true)
        },
        GradientCase("swiGLU", [[3, 10]], range: -2...2) { swiGLU($0[0]) },
        GradientCase("swiGLUProjected", [[2, 3, 10], [4, 5]], range: -2...2) {
            swiGLUProjected($0[0], weight: $0[1])
        },
        GradientCase("crossEntropy (ignore)", [[4, 5]], range: -2...2) {
            crossEntropy(logits: $0[0], labels: [1, -100, 4, 0])
        },
        GradientCase("stablemaxCrossEntropy (ignore)", [[4, 5]], range: -2...2) {
            stablemaxCrossEntropy(logits: $0[0], labels: [2, 0, -100, 4])
        },
        GradientCase("binaryCrossEntropyWithLogits", [[6]], range: -3...3) {
            binaryCrossEntropyWithLogits($0[0], targets: Tensor([0, 1, 0.5, 1, 0, 0.2], shape: [6]))
        },
    ]
}

@Suite struct GradientTests {
    @Test(arguments: GradientCase.all)
    func gradientMatchesFiniteDifferences(_ c: GradientCase) {
        let results = c.check.run(c.inputs(), c.function)
        for (i, r) in results.enumerated() {
            #expect(r.isClose, "input \(i): \(r)")
        }
    }

    @Test func checkerCatchesAWrongGradient() {
        // A deliberately wrong backward (the gradient of x² reported as x) must be caught.
        let results = GradientCheck().run([Tensor([0.5, -1, 2], shape: [3])]) { xs in
            let x = xs[0]
            return withoutGradients { x.square() } + (x - withoutGradients { x.copy() }) * 0.5 * 2
        }
        #expect(results[0].isClose == false)
    }

    @Test func gradientsAccumulateAcrossBackwardCalls() {
        let x = Tensor([1, 2, 3], shape: [3]).requiringGradient()
        (x * 2).sum().backward()
        (x * 3).sum().backward()
        #expect(x.gradient?.scalars == [5, 5, 5])
    }

    @Test func withoutGradientsRecordsNothing() {
        let x = Tensor([1, 2], shape: [2]).requiringGradient()
        let y = withoutGradients { (x * x).sum() }
        #expect(y.requiresGradient == false)
        #expect(y.isLeaf)
    }

    /// The graph keeps only what backward reads: a residual sum that `rmsNorm` consumes (its
    /// backward reads its output) is freed during the forward pass, a product's input is kept
    /// until backward has run, then freed with the graph.
    @Test func theGraphKeepsOnlyWhatBackwardReads() {
        var rng = RandomGenerator(seed: 9)
        let x = Tensor.uniform([4, 8], in: -1...1, using: &rng).requiringGradient()
        weak var residual: Storage?
        let normed: Tensor = {
            let s = x + x
            residual = s.storage
            return rmsNorm(s)
        }()
        #expect(residual == nil, "the graph keeps a value no backward reads")
        weak var factor: Storage?
        let product: Tensor = {
            let s = x + x
            factor = s.storage
            return s * s
        }()
        #expect(factor != nil, "a value backward reads was freed")
        (normed.sum() + product.sum()).backward()
        #expect(factor == nil, "backward did not free the graph's saved values")
        #expect(x.gradient != nil)
    }

    @Test func detachedStopsTheGradient() {
        let x = Tensor([1, 2], shape: [2]).requiringGradient()
        let y = (x.detached() * x).sum()   // d/dx = detached(x) = [1, 2]
        let g = gradients(of: y, withRespectTo: [x])
        #expect(g[0].scalars == [1, 2])
    }

    @Test func gradientsOfUnrelatedInputAreZero() {
        let x = Tensor([1, 2], shape: [2]).requiringGradient()
        let z = Tensor([3], shape: [1]).requiringGradient()
        let g = gradients(of: (x * x).sum(), withRespectTo: [z, x])
        #expect(g[0].scalars == [0])
        #expect(g[1].scalars == [2, 4])
    }

    @Test func sharedSubexpressionSumsItsGradients() {
        let x = Tensor([3], shape: [1]).requiringGradient()
        let y = x * x
        let g = gradients(of: (y + y * x).sum(), withRespectTo: [x])  // d(x² + x³) = 2x + 3x²
        #expect(g[0].scalars == [33])
    }
}
