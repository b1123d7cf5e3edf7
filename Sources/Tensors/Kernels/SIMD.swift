/// Explicit 16-lane loads and stores for kernels whose loops the compiler would not vectorise
/// on its own (in-place updates, short rows, max reductions).

@inline(__always)
func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always)
func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

/// The largest of `n` floats (n ≥ 1), with 16 running maxima in scalar form (vectorises).
/// SIMD16's `pointwiseMax`/`max()` were measured 25× slower here: they do not specialise.
@inline(__always)
func rowMax(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD16<Float>(repeating: -.infinity)
    var i = 0
    while i + 16 <= n {
        for l in 0..<16 {
            let v = p[i + l]
            acc[l] = v > acc[l] ? v : acc[l]
        }
        i += 16
    }
    var m = -Float.infinity
    for l in 0..<16 { m = acc[l] > m ? acc[l] : m }
    while i < n { m = p[i] > m ? p[i] : m; i += 1 }
    return m
}
