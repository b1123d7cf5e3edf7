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
