/// Elementwise ops with NumPy broadcasting, their scalar forms, comparisons and `select`.
///
/// Binary ops broadcast their inputs to a common shape; the backward of broadcasting is one
/// helper, `Tensor.summed(toShape:)`, which every binary op uses to bring a gradient back to an
/// input's shape.

// MARK: - Binary, broadcasting

func broadcastZip<F: BinaryFunction>(_ f: F, _ a: Tensor, _ b: Tensor) -> Tensor {
    if a.shape == b.shape {
        let out = Tensor(uninitializedShape: a.shape)
        let pa = a.pointer, pb = b.pointer, po = out.pointer
        Parallel.forEach(a.count, cost: 4) { range in
            for i in range { po[i] = f(pa[i], pb[i]) }
        }
        return out
    }
    let shape = Shape.broadcast(a.shape, b.shape)
    let out = Tensor(uninitializedShape: shape)
    zipKernel(f, a.pointer, Shape.broadcastStrides(a.shape, to: shape),
              b.pointer, Shape.broadcastStrides(b.shape, to: shape), out.pointer, shape: shape)
    return out
}

/// Elementwise `a + b` (broadcasting).
public func + (a: Tensor, b: Tensor) -> Tensor {
    let (aShape, bShape) = (a.shape, b.shape)  // only the shapes: the values may be freed
    return broadcastZip(AddFunction(), a, b).recorded(from: [a, b]) { g in
        [g.summed(toShape: aShape), g.summed(toShape: bShape)]
    }
}

/// Elementwise `a - b` (broadcasting).
public func - (a: Tensor, b: Tensor) -> Tensor {
    let (aShape, bShape) = (a.shape, b.shape)
    return broadcastZip(SubtractFunction(), a, b).recorded(from: [a, b]) { g in
        [g.summed(toShape: aShape), (-g).summed(toShape: bShape)]
    }
}

/// Elementwise `a * b` (broadcasting).
public func * (a: Tensor, b: Tensor) -> Tensor {
    broadcastZip(MultiplyFunction(), a, b).recorded(from: [a, b]) { g in
        [a.requiresGradient ? (g * b).summed(toShape: a.shape) : nil,
         b.requiresGradient ? (g * a).summed(toShape: b.shape) : nil]
    }
}

/// Elementwise `a / b` (broadcasting).
public func / (a: Tensor, b: Tensor) -> Tensor {
    broadcastZip(DivideFunction(), a, b).recorded(from: [a, b]) { g in
        // y = a / b:  da = g / b,  db = -g · a / b²
        [a.requiresGradient ? (g / b).summed(toShape: a.shape) : nil,
         b.requiresGradient ? (-(g * a) / (b * b)).summed(toShape: b.shape) : nil]
    }
}

/// Elementwise `atan2(y, x)` (broadcasting), as AdamATan2 uses it.
public func atan2(_ y: Tensor, _ x: Tensor) -> Tensor {
    broadcastZip(Atan2Function(), y, x).recorded(from: [y, x]) { g in
        // d/dy atan2(y, x) = x / (x² + y²);  d/dx = -y / (x² + y²)
        let r = x * x + y * y
        return [(g * x / r).summed(toShape: y.shape), (-(g * y) / r).summed(toShape: x.shape)]
    }
}

/// Elementwise maximum (broadcasting); the gradient goes to `a` where `a >= b`.
public func maximum(_ a: Tensor, _ b: Tensor) -> Tensor {
    broadcastZip(MaximumFunction(), a, b).recorded(from: [a, b]) { g in
        let takeA = greaterEqual(a, b)
        return [(g * takeA).summed(toShape: a.shape), (g * (1 - takeA)).summed(toShape: b.shape)]
    }
}

// MARK: - Scalar forms

/// `x · scale + shift` in one pass.
public func affine(_ x: Tensor, scale: Float, shift: Float = 0) -> Tensor {
    let out = Tensor(uninitializedShape: x.shape)
    mapKernel(AffineFunction(scale: scale, shift: shift), x.pointer, out.pointer, count: x.count)
    return out.recorded(from: [x]) { g in [affine(g, scale: scale)] }
}

public prefix func - (x: Tensor) -> Tensor { affine(x, scale: -1) }
public func + (x: Tensor, s: Float) -> Tensor { affine(x, scale: 1, shift: s) }
public func + (s: Float, x: Tensor) -> Tensor { affine(x, scale: 1, shift: s) }
public func - (x: Tensor, s: Float) -> Tensor { affine(x, scale: 1, shift: -s) }
public func - (s: Float, x: Tensor) -> Tensor { affine(x, scale: -1, shift: s) }
public func * (x: Tensor, s: Float) -> Tensor { affine(x, scale: s) }
public func * (s: Float, x: Tensor) -> Tensor { affine(x, scale: s) }
public func / (x: Tensor, s: Float) -> Tensor { affine(x, scale: 1 / s) }

// MARK: - Unary

extension Tensor {
    func mapped<F: UnaryFunction>(_ f: F) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        mapKernel(f, pointer, out.pointer, count: count)
        return out
    }

    /// e^x elementwise (polynomial exp, relative error < 4e-6).
    public func exp() -> Tensor {
        let y = mapped(ExpFunction())
        let saved = y.detached()  // the values only: capturing `y` itself would be a cycle
        return y.recorded(from: [self]) { g in [g * saved] }
    }
    /// Natural logarithm elementwise.
    public func log() -> Tensor {
        mapped(LogFunction()).recorded(from: [self]) { g in [g / self] }
    }
    /// Square root elementwise.
    public func sqrt() -> Tensor {
        let y = mapped(SqrtFunction())
        let saved = y.detached()
        return y.recorded(from: [self]) { g in [g * 0.5 / saved] }
    }
    /// 1/√x elementwise.
    public func rsqrt() -> Tensor {
        let y = mapped(RsqrtFunction())
        let saved = y.detached()
        // y = x^(-1/2):  dx = -1/2 · g · y³
        return y.recorded(from: [self]) { g in [g * saved * saved * saved * -0.5] }
    }
    /// The logistic function elementwise.
    public func sigmoid() -> Tensor {
        let y = mapped(SigmoidFunction())
        let saved = y.detached()
        return y.recorded(from: [self]) { g in [g * saved * (1 - saved)] }
    }
    /// SiLU, x · sigmoid(x), elementwise.
    public func silu() -> Tensor {
        mapped(SiLUFunction()).recorded(from: [self]) { g in
            // d/dx x·s(x) = s · (1 + x · (1 − s))
            let s = self.sigmoid()
            return [g * s * (1 + self * (1 - s))]
        }
    }
    /// x² elementwise.
    public func square() -> Tensor {
        mapped(SquareFunction()).recorded(from: [self]) { g in [g * self * 2] }
    }
    /// |x| elementwise (gradient sign(x), 0 at 0).
    public func abs() -> Tensor {
        mapped(AbsFunction()).recorded(from: [self]) { g in [g * self.sign()] }
    }
    /// sign(x) elementwise (-1, 0 or 1); not differentiable (no gradient flows).
    public func sign() -> Tensor { mapped(SignFunction()) }
}

// MARK: - Comparisons and select (not differentiable in their condition)

/// 1 where `a < b`, else 0 (broadcasting).
public func less(_ a: Tensor, _ b: Tensor) -> Tensor {
    broadcastZip(CompareFunction(kind: .less), a, b)
}
/// 1 where `a <= b`, else 0 (broadcasting).
public func lessEqual(_ a: Tensor, _ b: Tensor) -> Tensor {
    broadcastZip(CompareFunction(kind: .lessEqual), a, b)
}
/// 1 where `a > b`, else 0 (broadcasting).
public func greater(_ a: Tensor, _ b: Tensor) -> Tensor {
    broadcastZip(CompareFunction(kind: .greater), a, b)
}
/// 1 where `a >= b`, else 0 (broadcasting).
public func greaterEqual(_ a: Tensor, _ b: Tensor) -> Tensor {
    broadcastZip(CompareFunction(kind: .greaterEqual), a, b)
}
/// 1 where `a == b`, else 0 (broadcasting).
public func equal(_ a: Tensor, _ b: Tensor) -> Tensor {
    broadcastZip(CompareFunction(kind: .equal), a, b)
}

/// Elements of `a` where `condition` is non-zero, else of `b` (all three broadcast together).
///
/// The gradient flows to `a` where the condition holds and to `b` elsewhere.
public func select(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
    let shape = Shape.broadcast(Shape.broadcast(condition.shape, a.shape), b.shape)
    let c = withoutGradients { condition.broadcast(to: shape) }
    let av = withoutGradients { a.broadcast(to: shape) }
    let bv = withoutGradients { b.broadcast(to: shape) }
    let out = Tensor(uninitializedShape: shape)
    let pc = c.pointer, pa = av.pointer, pb = bv.pointer, po = out.pointer
    Parallel.forEach(out.count, cost: 4) { range in
        for i in range { po[i] = pc[i] != 0 ? pa[i] : pb[i] }
    }
    let (aShape, bShape) = (a.shape, b.shape)
    return out.recorded(from: [a, b]) { g in
        let mask = notEqualZero(c)
        return [(g * mask).summed(toShape: aShape), (g * (1 - mask)).summed(toShape: bShape)]
    }
}

private func notEqualZero(_ x: Tensor) -> Tensor {
    broadcastZip(CompareFunction(kind: .notEqual), x, Tensor(scalar: 0))
}
