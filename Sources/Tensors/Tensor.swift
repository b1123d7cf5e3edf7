import Foundation

/// A row-major, contiguous, Float32 tensor of any rank, with a slot for its gradient.
///
/// A tensor is a shape plus shared `Storage`. Ops return new tensors (reshaping shares storage);
/// when gradients are being recorded and an input requires one, the result remembers how it was
/// computed (see `Autograd.swift`), and `backward()` walks that record in reverse.
///
/// ```swift
/// var rng = RandomGenerator(seed: 0)
/// let w = Tensor.normal([4, 3], using: &rng).requiringGradient()
/// let loss = matmul(Tensor.ones([2, 4]), w).square().sum()
/// loss.backward()            // w.gradient now holds d loss / d w
/// ```
public final class Tensor {
    /// Sizes of each axis; `[]` is a scalar.
    public let shape: [Int]
    /// The elements, `count` of them, row-major.
    public let storage: Storage
    /// Whether gradients flow to this tensor (set on leaves, inherited by results).
    public internal(set) var requiresGradient: Bool
    /// The accumulated gradient of a leaf after `backward()`; same shape as the tensor.
    public var gradient: Tensor?
    /// How this tensor was computed, when it was recorded; nil for leaves and unrecorded results.
    var node: Node?
    /// Where these values are exactly bf16 values already held packed (a saved activation
    /// unpacked for backward): bf16 products read the packing instead of converting again.
    /// Set only on fresh tensors no one writes to.
    var exactBF16: PackedBF16?

    /// Wraps existing storage; `shape` must describe at most `storage.count` elements.
    public init(shape: [Int], storage: Storage) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative size in shape \(shape)")
        precondition(Shape.count(shape) <= storage.count,
                     "shape \(shape) needs \(Shape.count(shape)) elements, storage has \(storage.count)")
        self.shape = shape
        self.storage = storage
        self.requiresGradient = false
    }

    /// An uninitialised tensor (every element must be written before it is read).
    public convenience init(uninitializedShape shape: [Int]) {
        self.init(shape: shape, storage: Storage(count: Shape.count(shape)))
    }

    /// A tensor holding `scalars` in row-major order.
    public convenience init(_ scalars: [Float], shape: [Int]) {
        precondition(scalars.count == Shape.count(shape),
                     "\(scalars.count) values do not fill shape \(shape)")
        self.init(uninitializedShape: shape)
        scalars.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { pointer.update(from: base, count: scalars.count) }
        }
    }

    /// A rank-0 tensor holding `value`.
    public convenience init(scalar value: Float) { self.init([value], shape: []) }

    /// A tensor of token ids converted to Float (exact up to 2^24).
    public convenience init(int32s values: [Int32], shape: [Int]) {
        self.init(values.map { Float($0) }, shape: shape)
    }

    // MARK: - Properties

    /// Number of elements.
    public var count: Int { Shape.count(shape) }
    /// Number of axes.
    public var rank: Int { shape.count }
    /// The first element; writable only by kernels and optimizers.
    public var pointer: UnsafeMutablePointer<Float> { storage.pointer }
    /// The elements as an array (a copy).
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
    /// The single element of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item needs one element; shape is \(shape)")
        return pointer[0]
    }
    /// The elements rounded to the nearest integer, as token ids.
    public var int32s: [Int32] { scalars.map { Int32($0.rounded()) } }

    /// Marks this leaf as needing a gradient and returns it.
    @discardableResult
    public func requiringGradient(_ flag: Bool = true) -> Tensor {
        precondition(node == nil, "only leaf tensors can be marked; this one was computed")
        requiresGradient = flag
        return self
    }

    // MARK: - Creation

    /// A tensor filled with `value`.
    public static func full(_ shape: [Int], value: Float) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        t.pointer.update(repeating: value, count: t.count)
        return t
    }
    /// A tensor of zeros.
    public static func zeros(_ shape: [Int]) -> Tensor { full(shape, value: 0) }
    /// A tensor of ones.
    public static func ones(_ shape: [Int]) -> Tensor { full(shape, value: 1) }

    /// Values drawn uniformly from `range`.
    public static func uniform<G: RandomNumberGenerator>(
        _ shape: [Int], in range: ClosedRange<Float> = 0...1, using generator: inout G
    ) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        let low = range.lowerBound, width = range.upperBound - range.lowerBound
        for i in 0..<t.count {
            // 24 random bits → [0, 1) exactly representable; the stdlib's generic
            // Float.random(in:using:) was measured 20× slower here (not specialised).
            let unit = Float(generator.next() >> 40) * 0x1p-24
            t.pointer[i] = low + width * unit
        }
        return t
    }

    /// Values drawn from a normal distribution.
    public static func normal<G: RandomNumberGenerator>(
        _ shape: [Int], mean: Float = 0, standardDeviation: Float = 1, using generator: inout G
    ) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        for i in 0..<t.count {
            t.pointer[i] = mean + standardDeviation * Float(standardNormal(using: &generator))
        }
        return t
    }

    /// Values from a normal truncated at ±2 of the underlying normal and rescaled so that the
    /// realised standard deviation is `standardDeviation` (JAX's truncated normal, as the
    /// reference initialises its weights; spec §3.1). Bounds are ±2.27369·σ; σ = 0 gives zeros.
    public static func truncatedNormal<G: RandomNumberGenerator>(
        _ shape: [Int], standardDeviation: Float, using generator: inout G
    ) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        let sigma = Double(standardDeviation)
        if sigma == 0 {
            t.pointer.update(repeating: 0, count: t.count)
            return t
        }
        let lower = -2.0, upper = 2.0
        let a = erf(lower / 2.0.squareRoot()), b = erf(upper / 2.0.squareRoot())
        let c = sigma * TruncatedNormal.stdFactor
        for i in 0..<t.count {
            let u = a + (b - a) * unitDouble(using: &generator)
            var x = 2.0.squareRoot() * inverseErf(u, refined: false) * c
            x = Swift.min(Swift.max(x, lower * c), upper * c)
            t.pointer[i] = Float(x)
        }
        return t
    }

    // MARK: - Copies

    /// A new tensor with the same values that records nothing and never requires a gradient.
    public func detached() -> Tensor {
        Tensor(shape: shape, storage: storage)
    }

    /// A deep copy of the values (no gradient history).
    public func copy() -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        t.pointer.update(from: pointer, count: count)
        return t
    }

    /// Overwrites this tensor's values with `other`'s (same element count); not recorded.
    public func assign(_ other: Tensor) {
        precondition(other.count == count, "assign: shapes \(other.shape) and \(shape) differ")
        pointer.update(from: other.pointer, count: count)
    }
}

/// Constants of the JAX-style truncated normal (spec §3.1, §19).
public enum TruncatedNormal {
    /// `k`: the factor that makes a ±2-truncated standard normal have unit deviation.
    public static let stdFactor: Double = {
        let lower = -2.0, upper = 2.0
        let a = erf(lower / 2.0.squareRoot()), b = erf(upper / 2.0.squareRoot())
        let z = (b - a) / 2
        func phi(_ t: Double) -> Double { exp(-t * t / 2) / (2 * Double.pi).squareRoot() }
        let v = 1 - (upper * phi(upper) - lower * phi(lower)) / z
            - ((phi(lower) - phi(upper)) / z) * ((phi(lower) - phi(upper)) / z)
        return 1 / v.squareRoot()
    }()
}
