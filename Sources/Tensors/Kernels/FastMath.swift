/// Inlinable elementary functions for hot loops (libm calls do not vectorise).

/// e^x with relative error below 4e-6 for x in [-87, 88] (clamped outside).
///
/// A degree-6 polynomial for 2^f on f in [-0.5, 0.5] times 2^n built from the exponent bits; the
/// rounding uses the 1.5·2^23 trick, so the loop vectorises without library calls.
@inlinable @inline(__always)
public func fastExp(_ x0: Float) -> Float {
    let x = x0 < -87 ? -87 : (x0 > 88 ? 88 : x0)
    let t = x * 1.442_695_040_888_963_4
    let r = t + 12_582_912.0
    let n = r - 12_582_912.0
    let f = t - n
    var p: Float = 1.535_336_188_319_500e-4
    p = p * f + 1.339_887_440_266_574e-3
    p = p * f + 9.618_437_357_674_640e-3
    p = p * f + 5.550_332_471_162_809e-2
    p = p * f + 2.402_264_791_363_012e-1
    p = p * f + 6.931_472_028_550_421e-1
    p = p * f + 1.0
    return p * Float(bitPattern: (r.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
}

/// The logistic function 1 / (1 + e^-x), via `fastExp`.
@inlinable @inline(__always)
public func fastSigmoid(_ x: Float) -> Float { 1 / (1 + fastExp(-x)) }

/// atan(t) for t in [0, 1] (Cephes' atanf: one reduction at tan(π/8), then a degree-9 odd
/// polynomial; relative error about 1e-7). Branch-free, so loops over it vectorise.
@inlinable @inline(__always)
public func fastAtanUnit(_ t: Float) -> Float {
    let big = t > 0.414_213_56
    let x = big ? (t - 1) / (t + 1) : t
    let base: Float = big ? 0.785_398_163_397_448_3 : 0
    let z = x * x
    let p = ((8.053_744_495_38e-2 * z - 1.387_768_560_32e-1) * z + 1.997_771_064_78e-1) * z - 3.333_294_915_39e-1
    return base + p * z * x + x
}

/// atan2(y, x) for x ≥ 0 (the case AdamATan2 needs: x = √v̂ ≥ 0), without library calls.
@inlinable @inline(__always)
public func fastAtan2NonNegative(_ y: Float, _ x: Float) -> Float {
    let a = abs(y)
    let swap = a > x
    let num = swap ? x : a, den = swap ? a : x
    let t = den > 0 ? num / den : 0
    let r0 = fastAtanUnit(t)
    let r = swap ? 1.570_796_326_794_896_6 - r0 : r0
    return y < 0 ? -r : r
}
