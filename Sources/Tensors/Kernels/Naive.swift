import Foundation

/// Naive twins of the fast kernels: obvious loops in Float64 over arrays, with libm functions.
///
/// They are the tests' oracles (fast op vs twin on awkward shapes) and a readable statement of
/// what each fast kernel computes. Slow on purpose; never call them on a hot path.
public enum NaiveKernels {
    /// `op(a) · op(b)` for row-major `a` (`[m, k]`, or `[k, m]` when transposed) and `b`.
    public static func matmul(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int,
                              transposeA: Bool, transposeB: Bool) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let av = transposeA ? a[p * m + i] : a[i * k + p]
                    let bv = transposeB ? b[j * k + p] : b[p * n + j]
                    s += Double(av) * Double(bv)
                }
                c[i * n + j] = Float(s)
            }
        }
        return c
    }

    /// Softmax of each `n`-wide row.
    public static func softmax(_ x: [Float], rowLength n: Int) -> [Float] {
        var y = x
        for r in 0..<(x.count / n) {
            let row = x[(r * n)..<(r * n + n)].map(Double.init)
            let m = row.max()!
            let e = row.map { Foundation.exp($0 - m) }
            let s = e.reduce(0, +)
            for i in 0..<n { y[r * n + i] = Float(e[i] / s) }
        }
        return y
    }

    /// RMSNorm of each `n`-wide row, no gain.
    public static func rmsNorm(_ x: [Float], rowLength n: Int, epsilon: Float) -> [Float] {
        var y = x
        for r in 0..<(x.count / n) {
            var ss = 0.0
            for i in 0..<n { ss += Double(x[r * n + i]) * Double(x[r * n + i]) }
            let scale = 1 / (ss / Double(n) + Double(epsilon)).squareRoot()
            for i in 0..<n { y[r * n + i] = Float(Double(x[r * n + i]) * scale) }
        }
        return y
    }

    /// Half-split rotary embedding of `[b, n, h, d]` with `[n, d]` tables.
    public static func rotary(_ x: [Float], cos: [Float], sin: [Float], b: Int, n: Int, h: Int,
                              d: Int) -> [Float] {
        var y = x
        let half = d / 2
        for bi in 0..<b {
            for p in 0..<n {
                for hi in 0..<h {
                    let base = ((bi * n + p) * h + hi) * d
                    for i in 0..<d {
                        let rot = i < half ? -x[base + i + half] : x[base + i - half]
                        y[base + i] = Float(Double(x[base + i]) * Double(cos[p * d + i])
                                            + Double(rot) * Double(sin[p * d + i]))
                    }
                }
            }
        }
        return y
    }

    /// Attention over `[b, n, h, d]` q, k, v: softmax(q·kᵀ/√d)·v per head.
    public static func attention(q: [Float], k: [Float], v: [Float], b: Int, n: Int, h: Int,
                                 d: Int, causal: Bool) -> [Float] {
        var o = [Float](repeating: 0, count: q.count)
        let scale = 1 / Double(d).squareRoot()
        func at(_ t: [Float], _ bi: Int, _ p: Int, _ hi: Int, _ i: Int) -> Double {
            Double(t[((bi * n + p) * h + hi) * d + i])
        }
        for bi in 0..<b {
            for hi in 0..<h {
                for i in 0..<n {
                    var scores = [Double](repeating: -Double.infinity, count: n)
                    for j in 0..<n where !causal || j <= i {
                        var s = 0.0
                        for c in 0..<d { s += at(q, bi, i, hi, c) * at(k, bi, j, hi, c) }
                        scores[j] = s * scale
                    }
                    let m = scores.max()!
                    let e = scores.map { Foundation.exp($0 - m) }
                    let z = e.reduce(0, +)
                    for c in 0..<d {
                        var s = 0.0
                        for j in 0..<n { s += e[j] / z * at(v, bi, j, hi, c) }
                        o[((bi * n + i) * h + hi) * d + c] = Float(s)
                    }
                }
            }
        }
        return o
    }

    /// SwiGLU of rows `[gate | up]` of width `2f`.
    public static func swiGLU(_ x: [Float], f: Int) -> [Float] {
        var y = [Float](repeating: 0, count: x.count / 2)
        for r in 0..<(x.count / (2 * f)) {
            for i in 0..<f {
                let g = Double(x[r * 2 * f + i]), u = Double(x[r * 2 * f + f + i])
                y[r * f + i] = Float(g / (1 + Foundation.exp(-g)) * u)
            }
        }
        return y
    }

    /// Sums `[outer, n, inner]` over the middle axis.
    public static func sum(_ x: [Float], outer: Int, n: Int, inner: Int) -> [Float] {
        var y = [Float](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            for i in 0..<inner {
                var s = 0.0
                for r in 0..<n { s += Double(x[(o * n + r) * inner + i]) }
                y[o * inner + i] = Float(s)
            }
        }
        return y
    }

    /// Permutes a row-major tensor's axes (result axis i = input axis `axes[i]`).
    public static func permute(_ x: [Float], shape: [Int], axes: [Int]) -> [Float] {
        let outShape = axes.map { shape[$0] }
        let inStrides = Shape.strides(shape)
        var y = [Float](repeating: 0, count: x.count)
        var coord = [Int](repeating: 0, count: shape.count)
        for idx in 0..<x.count {
            var r = idx
            for d in stride(from: outShape.count - 1, through: 0, by: -1) {
                coord[d] = r % outShape[d]
                r /= outShape[d]
            }
            var src = 0
            for d in 0..<axes.count { src += coord[d] * inStrides[axes[d]] }
            y[idx] = x[src]
        }
        return y
    }
}
