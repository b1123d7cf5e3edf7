/// Rotary position embedding with half-split pairing (spec §5.2): dimension `i` pairs with
/// `i + d/2`, and every head's full width is rotated.

/// Rotates each head vector of `x` by its position's angles.
///
/// `x` is `[batch, positions, heads, headDimension]`; `cos` and `sin` are `[positions,
/// headDimension]` tables whose two halves repeat the same `d/2` values (as the reference
/// builds them). The result has `x`'s shape.
///
///     forward:  y = x ⊙ cos + rot(x) ⊙ sin,   rot(v) = [−v[h..<d], v[0..<h]],  h = d/2
///     backward: the inverse rotation, i.e. the same with −sin.
public func rotaryEmbedding(_ x: Tensor, cos: Tensor, sin: Tensor) -> Tensor {
    precondition(x.rank == 4, "rotaryEmbedding expects [batch, positions, heads, dim]; got \(x.shape)")
    let (b, n, h, d) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    precondition(cos.shape == [n, d] && sin.shape == [n, d] && d % 2 == 0,
                 "rotary tables must be [\(n), \(d)] (d even); got \(cos.shape), \(sin.shape)")
    let y = Tensor(uninitializedShape: x.shape)
    rotaryKernel(x.pointer, y.pointer, cos.pointer, sin.pointer, b: b, n: n, h: h, d: d, sign: 1)
    let shape = x.shape  // backward needs only the tables
    return y.recorded(from: [x]) { g in
        let dx = Tensor(uninitializedShape: shape)
        rotaryKernel(g.pointer, dx.pointer, cos.pointer, sin.pointer, b: b, n: n, h: h, d: d,
                     sign: -1)
        return [dx]
    }
}

/// y = x ⊙ cos + rot(x) ⊙ (sign · sin) for `[b, n, h, d]` x and `[n, d]` tables.
func rotaryKernel(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                  _ cos: UnsafePointer<Float>, _ sin: UnsafePointer<Float>,
                  b: Int, n: Int, h: Int, d: Int, sign: Float) {
    let half = d / 2
    let vectorEnd = half - half % 16
    Parallel.forEach(b * n, cost: h * d * 2) { range in
        for bp in range {
            let p = bp % n
            let c = cos + p * d, s = sin + p * d
            for head in 0..<h {
                let xv = x + (bp * h + head) * d, yv = y + (bp * h + head) * d
                var i = 0
                while i < vectorEnd {
                    let x1 = load16(xv + i), x2 = load16(xv + i + half)
                    let s1 = load16(s + i) * sign, s2 = load16(s + i + half) * sign
                    store16(x1 * load16(c + i) - x2 * s1, yv + i)
                    store16(x2 * load16(c + i + half) + x1 * s2, yv + i + half)
                    i += 16
                }
                while i < half {
                    let x1 = xv[i], x2 = xv[i + half]
                    yv[i] = x1 * c[i] - x2 * (sign * s[i])
                    yv[i + half] = x2 * c[i + half] + x1 * (sign * s[i + half])
                    i += 1
                }
            }
        }
    }
}
