import Foundation

/// Loops behind the elementwise ops: plain scalar loops over raw pointers, which the compiler
/// vectorises (notes §2.5), specialised per function through generics.

/// A function of one Float, inlined into `mapKernel`.
public protocol UnaryFunction {
    func callAsFunction(_ x: Float) -> Float
}

/// A function of two Floats, inlined into `zipKernel`.
public protocol BinaryFunction {
    func callAsFunction(_ a: Float, _ b: Float) -> Float
}

/// `y[i] = f(x[i])` over `count` elements, split over threads when large.
@inline(__always)
func mapKernel<F: UnaryFunction>(
    _ f: F, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int
) {
    Parallel.forEach(count, cost: 4) { range in
        for i in range { y[i] = f(x[i]) }
    }
}

/// `out = f(a, b)` with NumPy broadcasting; `aStrides`/`bStrides` are the inputs' strides over
/// the output's shape (0 on broadcast axes).
///
/// The last axis is the inner loop (three variants: both contiguous, or one side constant),
/// an odometer walks the outer axes, and the outer rows are split over threads.
func zipKernel<F: BinaryFunction>(
    _ f: F, _ a: UnsafePointer<Float>, _ aStrides: [Int], _ b: UnsafePointer<Float>,
    _ bStrides: [Int], _ out: UnsafeMutablePointer<Float>, shape: [Int]
) {
    let count = Shape.count(shape)
    if count == 0 { return }
    let rank = shape.count
    if rank == 0 {
        out[0] = f(a[0], b[0])
        return
    }
    let inner = shape[rank - 1]
    let rows = count / inner
    let sa = aStrides[rank - 1], sb = bStrides[rank - 1]
    let outerShape = Array(shape.dropLast())
    let outerA = Array(aStrides.dropLast()), outerB = Array(bStrides.dropLast())
    Parallel.forEach(rows, cost: inner) { range in
        // Decompose the first row index into outer coordinates, then advance as an odometer.
        var coord = [Int](repeating: 0, count: outerShape.count)
        var r = range.lowerBound
        for d in stride(from: outerShape.count - 1, through: 0, by: -1) {
            coord[d] = r % outerShape[d]
            r /= outerShape[d]
        }
        var offA = 0, offB = 0
        for d in 0..<outerShape.count {
            offA += coord[d] * outerA[d]
            offB += coord[d] * outerB[d]
        }
        for row in range {
            let pa = a + offA, pb = b + offB, po = out + row * inner
            if sa == 1 && sb == 1 {
                for i in 0..<inner { po[i] = f(pa[i], pb[i]) }
            } else if sa == 1 {
                let vb = pb[0]
                for i in 0..<inner { po[i] = f(pa[i], vb) }
            } else if sb == 1 {
                let va = pa[0]
                for i in 0..<inner { po[i] = f(va, pb[i]) }
            } else {
                let v = f(pa[0], pb[0])
                for i in 0..<inner { po[i] = v }
            }
            var d = outerShape.count - 1
            while d >= 0 {
                coord[d] += 1
                offA += outerA[d]
                offB += outerB[d]
                if coord[d] < outerShape[d] { break }
                offA -= coord[d] * outerA[d]
                offB -= coord[d] * outerB[d]
                coord[d] = 0
                d -= 1
            }
        }
    }
}

// MARK: - The functions

struct AddFunction: BinaryFunction {
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a + b }
}
struct SubtractFunction: BinaryFunction {
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a - b }
}
struct MultiplyFunction: BinaryFunction {
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a * b }
}
struct DivideFunction: BinaryFunction {
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a / b }
}
struct Atan2Function: BinaryFunction {
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float {
        Float(atan2(Double(a), Double(b)))
    }
}
struct MaximumFunction: BinaryFunction {
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a >= b ? a : b }
}
struct CompareFunction: BinaryFunction {
    enum Kind { case less, lessEqual, greater, greaterEqual, equal, notEqual }
    let kind: Kind
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float {
        switch kind {
        case .less: return a < b ? 1 : 0
        case .lessEqual: return a <= b ? 1 : 0
        case .greater: return a > b ? 1 : 0
        case .greaterEqual: return a >= b ? 1 : 0
        case .equal: return a == b ? 1 : 0
        case .notEqual: return a != b ? 1 : 0
        }
    }
}

struct AffineFunction: UnaryFunction {  // x * scale + shift
    let scale: Float, shift: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x * scale + shift }
}
struct ExpFunction: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { fastExp(x) }
}
struct LogFunction: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { Float(log(Double(x))) }
}
struct SqrtFunction: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x.squareRoot() }
}
struct RsqrtFunction: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { 1 / x.squareRoot() }
}
struct SigmoidFunction: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { fastSigmoid(x) }
}
struct SiLUFunction: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x * fastSigmoid(x) }
}
struct SquareFunction: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x * x }
}
struct AbsFunction: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { abs(x) }
}
struct SignFunction: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x > 0 ? 1 : (x < 0 ? -1 : 0) }
}
