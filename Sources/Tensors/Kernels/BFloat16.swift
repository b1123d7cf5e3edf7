/// bfloat16: the top 16 bits of an IEEE float32 (8 exponent bits, 7 mantissa bits), rounded to
/// nearest with ties to even, as `vcvtne2ps2bf16` and PyTorch's `.to(torch.bfloat16)` round.
///
/// Swift has no bfloat16 type; the engine stores bf16 values as `UInt16` bit patterns (for
/// oneDNN) or as the float32 they stand for (for the emulated products). A product of two
/// bf16 values is exact in float32 (8 + 8 significant bits), so a float32 GEMM over rounded
/// inputs computes the same products as a bf16 GEMM with float32 accumulation; only the order
/// of the sums may differ.
public enum BFloat16 {
    /// The bf16 bit pattern nearest to `x` (ties to even); NaN stays a (quiet) NaN.
    @inline(__always)
    public static func bits(of x: Float) -> UInt16 {
        let u = x.bitPattern
        if u & 0x7FFF_FFFF > 0x7F80_0000 { return UInt16(truncatingIfNeeded: (u >> 16) | 0x40) }
        return UInt16(truncatingIfNeeded: (u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16)
    }

    /// The float32 value of a bf16 bit pattern.
    @inline(__always)
    public static func float(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// `x` rounded to the nearest bf16 value, as a float32.
    @inline(__always)
    public static func rounded(_ x: Float) -> Float { float(bits(of: x)) }

    /// Copies a `rows × columns` block with row stride `ld` into `dst` (row stride `columns`),
    /// rounding each value to bf16 and keeping it as float32.
    public static func roundBlock(_ src: UnsafePointer<Float>, rows: Int, columns: Int, ld: Int,
                                  into dst: UnsafeMutablePointer<Float>) {
        Parallel.forEach(rows, cost: columns) { range in
            for r in range {
                let s = src + r * ld, d = dst + r * columns
                for c in 0..<columns { d[c] = rounded(s[c]) }
            }
        }
    }

    /// Copies a `rows × columns` block with row stride `ld` into `dst` (row stride `columns`) as
    /// bf16 bit patterns.
    public static func convertBlock(_ src: UnsafePointer<Float>, rows: Int, columns: Int, ld: Int,
                                    into dst: UnsafeMutablePointer<UInt16>) {
        Parallel.forEach(rows, cost: columns) { range in
            for r in range {
                let s = src + r * ld, d = dst + r * columns
                for c in 0..<columns { d[c] = bits(of: s[c]) }
            }
        }
    }

    /// Writes the float32 values of `count` bf16 bit patterns to `dst`.
    public static func expand(_ src: UnsafePointer<UInt16>, count: Int, into dst: UnsafeMutablePointer<Float>) {
        Parallel.forEach(count, cost: 1) { range in
            for i in range { dst[i] = float(src[i]) }
        }
    }
}
