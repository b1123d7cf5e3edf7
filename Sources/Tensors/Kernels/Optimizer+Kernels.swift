/// Fused optimizer updates over raw buffers, written with explicit 16-lane vectors: the scalar
/// loops (four pointers read and three written per element) were measured not to vectorise, and
/// the AdamATan2 update then dominated a batch-1 training step.
public enum OptimizerKernels {
    /// AdamATan2 over `count` elements (spec §9.2):
    /// `θ ← θ·decay − stepSize · atan2(m', √v' · varianceScale)` with
    /// `m' = m + b1·(g − m)`, `v' = v + b2·(g² − v)`; split over threads.
    public static func adamATan2(theta: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>,
                                 m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, count: Int,
                                 b1: Float, b2: Float, decay: Float, stepSize: Float, varianceScale: Float) {
        Parallel.forEach(count / 16 + 1, cost: 16 * 8) { blocks in
            var i = blocks.lowerBound * 16
            let end = Swift.min(blocks.upperBound * 16, count)
            while i + 16 <= end {
                let g = load16(gradient + i), m0 = load16(m + i), v0 = load16(v + i)
                let m1 = m0 + b1 * (g - m0), v1 = v0 + b2 * (g * g - v0)
                store16(m1, m + i)
                store16(v1, v + i)
                store16(load16(theta + i) * decay - stepSize * atan2NonNegative16(m1, v1.squareRoot() * varianceScale), theta + i)
                i += 16
            }
            while i < end {
                let g = gradient[i]
                m[i] += b1 * (g - m[i])
                v[i] += b2 * (g * g - v[i])
                theta[i] = theta[i] * decay - stepSize * fastAtan2NonNegative(m[i], v[i].squareRoot() * varianceScale)
                i += 1
            }
        }
    }

    /// AdamW over `count` elements: `θ ← θ·decay − lr · (m'·c1) / (√(v'·c2) + ε)`.
    public static func adamW(theta: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>,
                             m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, count: Int,
                             b1: Float, b2: Float, decay: Float, learningRate: Float, c1: Float, c2: Float,
                             epsilon: Float) {
        Parallel.forEach(count / 16 + 1, cost: 16 * 8) { blocks in
            var i = blocks.lowerBound * 16
            let end = Swift.min(blocks.upperBound * 16, count)
            while i + 16 <= end {
                let g = load16(gradient + i), m0 = load16(m + i), v0 = load16(v + i)
                let m1 = m0 + b1 * (g - m0), v1 = v0 + b2 * (g * g - v0)
                store16(m1, m + i)
                store16(v1, v + i)
                store16(load16(theta + i) * decay - learningRate * (m1 * c1) / ((v1 * c2).squareRoot() + epsilon), theta + i)
                i += 16
            }
            while i < end {
                let g = gradient[i]
                m[i] += b1 * (g - m[i])
                v[i] += b2 * (g * g - v[i])
                theta[i] = theta[i] * decay - learningRate * (m[i] * c1) / ((v[i] * c2).squareRoot() + epsilon)
                i += 1
            }
        }
    }
}

/// `fastAtan2NonNegative` on 16 lanes.
@inline(__always)
func atan2NonNegative16(_ y: SIMD16<Float>, _ x: SIMD16<Float>) -> SIMD16<Float> {
    let negative = y .< 0
    let a = y.replacing(with: -y, where: negative)
    let swap = a .> x
    let num = a.replacing(with: x, where: swap), den = x.replacing(with: a, where: swap)
    let t = num / den.replacing(with: 1, where: den .<= 0)
    let big = t .> 0.414_213_56
    let r = t.replacing(with: (t - 1) / (t + 1), where: big)
    let base = SIMD16<Float>(repeating: 0).replacing(with: 0.785_398_163_397_448_3, where: big)
    let z = r * r
    let p = ((8.053_744_495_38e-2 * z - 1.387_768_560_32e-1) * z + 1.997_771_064_78e-1) * z - 3.333_294_915_39e-1
    let r0 = base + p * z * r + r
    let r1 = r0.replacing(with: 1.570_796_326_794_896_6 - r0, where: swap)
    return r1.replacing(with: -r1, where: negative)
}
