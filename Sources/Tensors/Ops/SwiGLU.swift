/// The fused SwiGLU activation: the gate half through SiLU, times the up half.

/// `silu(gate) ⊙ up` where `gateUp` is `[..., 2F]` with the gate in the first `F` columns
/// (the reference's `gate_up_proj` layout); the result is `[..., F]`.
///
///     forward:  y = g · σ(g) · u
///     backward: dg = dy · u · σ(g)·(1 + g·(1 − σ(g))),   du = dy · g · σ(g)
public func swiGLU(_ gateUp: Tensor) -> Tensor {
    let twoF = gateUp.shape.last ?? 0
    precondition(twoF % 2 == 0, "swiGLU needs an even last axis; got \(gateUp.shape)")
    let f = twoF / 2
    let rows = gateUp.count / Swift.max(twoF, 1)
    let out = Tensor(uninitializedShape: Array(gateUp.shape.dropLast()) + [f])
    let px = gateUp.pointer, py = out.pointer
    Parallel.forEach(rows, cost: f * 4) { range in
        for r in range {
            let g = px + r * twoF, u = g + f, y = py + r * f
            for i in 0..<f {
                let gi = g[i]
                y[i] = gi / (1 + fastExp(-gi)) * u[i]
            }
        }
    }
    return out.recorded(from: [gateUp], saving: [gateUp]) { dy, saved in
        [swiGLUGradient(dy, gateUp: saved[0])]
    }
}

/// d(swiGLU)/d(gateUp) applied to `dy` (`[..., F]`), for `gateUp` `[..., 2F]`.
func swiGLUGradient(_ dy: Tensor, gateUp: Tensor) -> Tensor {
    let twoF = gateUp.shape.last ?? 0
    let f = twoF / 2
    let rows = gateUp.count / Swift.max(twoF, 1)
    let dx = Tensor(uninitializedShape: gateUp.shape)
    let px = gateUp.pointer, pdy = dy.pointer, pdx = dx.pointer
    Parallel.forEach(rows, cost: f * 6) { range in
        for r in range {
            let g = px + r * twoF, u = g + f, d = pdy + r * f
            let dg = pdx + r * twoF, du = dg + f
            for i in 0..<f {
                let gi = g[i]
                let s = 1 / (1 + fastExp(-gi))
                dg[i] = d[i] * u[i] * s * (1 + gi * (1 - s))
                du[i] = d[i] * gi * s
            }
        }
    }
    return dx
}

/// `swiGLU(gateUp) · weightᵀ`, the SwiGLU layer's activation and down projection, without
/// keeping the activation for backward: backward recomputes it from `gateUp` (one elementwise
/// pass), which saves `[..., F]` floats per layer of training memory (F = 1536 in the paper's
/// presets: 258 MB of a batch-64 Sudoku training step).
///
/// `gateUp` is `[..., 2F]`, `weight` `[D, F]`; the result is `[..., D]`.
public func swiGLUProjected(_ gateUp: Tensor, weight: Tensor) -> Tensor {
    let out = withoutGradients { matmul(swiGLU(gateUp), weight, transposeB: true) }
    return out.recorded(from: [gateUp, weight], saving: [gateUp, weight]) { g, saved in
        let (gateUp, weight) = (saved[0], saved[1])
        let hidden = swiGLU(gateUp)
        let dWeight = weight.requiresGradient
            ? matmul(g.reshaped([-1, g.shape.last!]), hidden.reshaped([-1, hidden.shape.last!]),
                     transposeA: true)
            : nil
        let dGateUp = gateUp.requiresGradient
            ? swiGLUGradient(matmul(g, weight), gateUp: gateUp) : nil
        return [dGateUp, dWeight]
    }
}
