import Foundation

/// What a file of named tensors tells before any tensor is read.
public struct TensorInfo: Sendable, Equatable {
    /// Safetensors' spelling: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL.
    public var dtype: String
    public var shape: [Int]

    public init(dtype: String, shape: [Int]) {
        self.dtype = dtype
        self.shape = shape
    }

    public var isFloat: Bool { ["F32", "BF16", "F16", "F64"].contains(dtype) }
}

/// A file of named tensors that checkpoints load from: safetensors (`SafetensorsFile`) or a
/// PyTorch checkpoint (`TorchCheckpointFile`).
public protocol TensorFile {
    var path: String { get }
    /// Every tensor's dtype and shape, by name.
    var tensorInfo: [String: TensorInfo] { get }
    /// The tensor `name` converted to Float32 (float dtypes only).
    func tensor(_ name: String) throws -> Tensor
}

/// Opens `url` as whichever format its first bytes say: a zip (`PK\3\4`) or a pickle
/// (`\x80`) is a PyTorch checkpoint, anything else is read as safetensors.
public func openTensorFile(_ url: URL) throws -> any TensorFile {
    if TorchCheckpointFile.looksLikeTorch(url) { return try TorchCheckpointFile(contentsOf: url) }
    return try SafetensorsFile(contentsOf: url)
}

/// Conversions of stored little-endian elements to Float32, contiguous or strided: one home for
/// what safetensors and PyTorch storages both hold.
enum StoredElements {
    static let byteWidth: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
        "BOOL": 1,
    ]

    /// Writes the elements of a `shape`/`strides` view (in elements, from `offset`) of the
    /// buffer at `base` to `out` in row-major order, converted to Float32. The caller has
    /// checked that every index lies inside the buffer. Returns false for a non-float dtype.
    static func floats(_ dtype: String, base: UnsafeRawPointer, offset: Int, shape: [Int], strides: [Int],
                       into out: UnsafeMutablePointer<Float>) -> Bool {
        switch dtype {
        case "F32":
            gather(base, offset, shape, strides, out) { b, i in
                Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            }
        case "BF16":
            gather(base, offset, shape, strides, out) { b, i in
                Float(bitPattern: UInt32(UInt16(littleEndian: b.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
            }
        case "F16":
            gather(base, offset, shape, strides, out) { b, i in
                halfToFloat(UInt16(littleEndian: b.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        case "F64":
            gather(base, offset, shape, strides, out) { b, i in
                Float(Double(bitPattern: UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
        default: return false
        }
        return true
    }

    /// The integer elements of a view as Int64 (nil for a float dtype).
    static func integers(_ dtype: String, base: UnsafeRawPointer, offset: Int, shape: [Int], strides: [Int]) -> [Int64]? {
        let load: (UnsafeRawPointer, Int) -> Int64
        switch dtype {
        case "I64": load = { Int64(littleEndian: $0.loadUnaligned(fromByteOffset: 8 * $1, as: Int64.self)) }
        case "I32": load = { Int64(Int32(littleEndian: $0.loadUnaligned(fromByteOffset: 4 * $1, as: Int32.self))) }
        case "I16": load = { Int64(Int16(littleEndian: $0.loadUnaligned(fromByteOffset: 2 * $1, as: Int16.self))) }
        case "I8": load = { Int64($0.loadUnaligned(fromByteOffset: $1, as: Int8.self)) }
        case "U8", "BOOL": load = { Int64($0.loadUnaligned(fromByteOffset: $1, as: UInt8.self)) }
        default: return nil
        }
        let n = shape.reduce(1, *)
        var values = [Int64](repeating: 0, count: n)
        values.withUnsafeMutableBufferPointer { v in gather(base, offset, shape, strides, v.baseAddress!, load) }
        return values
    }

    /// Row-major strides of a contiguous `shape`.
    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var s = 1
        for d in shape.indices.reversed() {
            strides[d] = s
            s *= max(shape[d], 1)
        }
        return strides
    }

    /// The largest element index a view touches plus one (0 for an empty view), or nil when it
    /// overflows.
    static func extent(offset: Int, shape: [Int], strides: [Int]) -> Int? {
        guard !shape.contains(0) else { return 0 }
        var last = offset
        for (n, s) in zip(shape, strides) {
            let (step, o1) = (n - 1).multipliedReportingOverflow(by: s)
            let (sum, o2) = last.addingReportingOverflow(step)
            guard !o1, !o2 else { return nil }
            last = sum
        }
        return last + 1
    }

    private static func gather<T>(_ base: UnsafeRawPointer, _ offset: Int, _ shape: [Int], _ strides: [Int],
                                  _ out: UnsafeMutablePointer<T>, _ load: (UnsafeRawPointer, Int) -> T) {
        let n = shape.reduce(1, *)
        guard n > 0 else { return }
        guard let inner = shape.last, let innerStride = strides.last else {
            out[0] = load(base, offset)
            return
        }
        if strides == contiguousStrides(shape) {
            for i in 0..<n { out[i] = load(base, offset + i) }
            return
        }
        // Odometer over the outer dimensions, a strided run along the last.
        var index = [Int](repeating: 0, count: shape.count - 1)
        var written = 0
        while written < n {
            var start = offset
            for d in index.indices { start += index[d] * strides[d] }
            for j in 0..<inner { out[written + j] = load(base, start + j * innerStride) }
            written += inner
            var d = index.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
    }
}
