import Foundation
import Tensors

/// The reference's rotary tables for positions `0..<positions` and head width `d` (spec §5.2).
///
/// `inv_freq[k] = 1 / θ^(2k/d)` and `angle[p, k] = p · inv_freq[k]` in Float32; the `cos` and
/// `sin` tables are `[positions, d]` with the `d/2` values repeated in both halves.
public struct RotaryEmbedding {
    public let cos: Tensor
    public let sin: Tensor

    public init(headDimension d: Int, positions: Int, base: Float = 10000) {
        precondition(d % 2 == 0, "rotary head dimension must be even; got \(d)")
        let half = d / 2
        let invFreq: [Float] = (0..<half).map { k in 1 / Foundation.pow(base, Float(2 * k) / Float(d)) }
        var c = [Float](repeating: 0, count: positions * d)
        var s = c
        for p in 0..<positions {
            for k in 0..<half {
                let angle = Float(p) * invFreq[k]
                c[p * d + k] = Foundation.cos(angle); c[p * d + k + half] = c[p * d + k]
                s[p * d + k] = Foundation.sin(angle); s[p * d + k + half] = s[p * d + k]
            }
        }
        cos = Tensor(c, shape: [positions, d])
        sin = Tensor(s, shape: [positions, d])
    }

    /// Rotates `[batch, positions, heads, d]` query or key heads.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        rotaryEmbedding(x, cos: cos, sin: sin)
    }
}
