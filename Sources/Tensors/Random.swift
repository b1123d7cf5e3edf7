import Foundation

/// The engine's one seedable generator: xoshiro256** seeded through SplitMix64.
///
/// The same seed gives the same stream on every platform, so initialisation and sampling are
/// reproducible. It is a value type: pass it `inout` to everything that draws.
public struct RandomGenerator: RandomNumberGenerator, Sendable {
    private var s0, s1, s2, s3: UInt64

    /// A generator whose whole stream is determined by `seed`.
    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    /// The generator's whole state, to save and restore a stream exactly.
    public var state: [UInt64] {
        get { [s0, s1, s2, s3] }
        set {
            precondition(newValue.count == 4, "RandomGenerator state has 4 words")
            (s0, s1, s2, s3) = (newValue[0], newValue[1], newValue[2], newValue[3])
        }
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }
}

/// A uniform draw from [0, 1) with 53 random bits (the stdlib's generic `Double.random(in:)`
/// does not specialise across modules and was measured ~20× slower).
@inline(__always)
func unitDouble<G: RandomNumberGenerator>(using generator: inout G) -> Double {
    Double(generator.next() >> 11) * 0x1p-53
}

/// A standard normal draw (Box–Muller, one value per call).
public func standardNormal<G: RandomNumberGenerator>(using generator: inout G) -> Double {
    let u1 = 1 - unitDouble(using: &generator)  // (0, 1]: log stays finite
    let u2 = unitDouble(using: &generator)
    return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
}

/// The inverse error function on (-1, 1): Giles' approximation (relative error < 4e-7, enough
/// for drawing initial weights), refined by two Newton steps to full precision unless
/// `refined` is false.
public func inverseErf(_ y: Double, refined: Bool = true) -> Double {
    precondition(y > -1 && y < 1, "inverseErf is defined on (-1, 1); got \(y)")
    var w = -log((1 - y) * (1 + y))
    var x: Double
    if w < 5 {
        w -= 2.5
        var p = 2.81022636e-08
        p = 3.43273939e-07 + p * w; p = -3.5233877e-06 + p * w; p = -4.39150654e-06 + p * w
        p = 0.00021858087 + p * w; p = -0.00125372503 + p * w; p = -0.00417768164 + p * w
        p = 0.246640727 + p * w; p = 1.50140941 + p * w
        x = p * y
    } else {
        w = w.squareRoot() - 3
        var p = -0.000200214257
        p = 0.000100950558 + p * w; p = 0.00134934322 + p * w; p = -0.00367342844 + p * w
        p = 0.00573950773 + p * w; p = -0.0076224613 + p * w; p = 0.00943887047 + p * w
        p = 1.00167406 + p * w; p = 2.83297682 + p * w
        x = p * y
    }
    for _ in 0..<(refined ? 2 : 0) {
        let err = erf(x) - y
        x -= err / (2 / Double.pi.squareRoot() * exp(-x * x))
    }
    return x
}
