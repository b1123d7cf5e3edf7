import Foundation
import SafeFiles

/// Errors reading or writing a safetensors file; each names the file and what was expected.
public enum SafetensorsError: Error, CustomStringConvertible, Equatable {
    case unreadable(file: String, reason: String)
    case malformedHeader(file: String, reason: String)
    case badEntry(file: String, tensor: String, reason: String)
    case missingTensor(file: String, tensor: String)
    case unsupportedDType(file: String, tensor: String, dtype: String)

    public var description: String {
        switch self {
        case .unreadable(let f, let r): return "\(f): cannot read the file (\(r))."
        case .malformedHeader(let f, let r): return "\(f): not a valid safetensors file: \(r)."
        case .badEntry(let f, let t, let r): return "\(f): tensor '\(t)': \(r)."
        case .missingTensor(let f, let t): return "\(f): has no tensor named '\(t)'."
        case .unsupportedDType(let f, let t, let d):
            return "\(f): tensor '\(t)' has dtype \(d); expected one of F32, F16, BF16, F64, I64, I32, U8."
        }
    }
}

/// A safetensors file (8-byte little-endian header length, a JSON header, raw little-endian
/// tensor bytes), memory-mapped; the format PyTorch checkpoints convert to without renaming.
///
/// ```swift
/// let file = try SafetensorsFile(contentsOf: url)
/// let w = try file.tensor("lm_head.weight")   // any float dtype, converted to Float32
/// ```
public struct SafetensorsFile {
    /// One tensor's header entry.
    public struct Entry: Sendable {
        public var dtype: String
        public var shape: [Int]
        /// Byte range within the data section.
        public var range: Range<Int>
    }

    public let path: String
    public let entries: [String: Entry]
    /// The optional `__metadata__` strings.
    public let metadata: [String: String]
    private let data: Data
    private let dataStart: Int

    public static let byteWidth = StoredElements.byteWidth

    /// Opens and validates `url` (header well-formed, every entry inside the file).
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw SafetensorsError.unreadable(file: url.path, reason: error.localizedDescription)
        }
        try self.init(data: data, path: url.path)
    }

    /// Validates a safetensors file's bytes (`path` names it in errors): the header is
    /// well-formed and every entry lies inside the data, so no size it claims is ever allocated
    /// beyond the bytes that are there.
    public init(data bytes: Data, path: String) throws {
        self.path = path
        let data = bytes.startIndex == 0 ? bytes : Data(bytes)
        self.data = data
        guard data.count >= 8 else {
            throw SafetensorsError.malformedHeader(file: path, reason: "\(data.count) bytes is shorter than the 8-byte header length")
        }
        let headerLength = data.withUnsafeBytes {
            UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        }
        guard headerLength <= UInt64(data.count - 8) else {
            throw SafetensorsError.malformedHeader(file: path, reason: "header length \(headerLength) exceeds the file size \(data.count)")
        }
        dataStart = 8 + Int(headerLength)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<dataStart))
        } catch {
            throw SafetensorsError.malformedHeader(file: path, reason: "the header is not JSON")
        }
        guard let object = json as? [String: Any] else {
            throw SafetensorsError.malformedHeader(file: path, reason: "the header is not a JSON object")
        }
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        let available = data.count - dataStart
        for (name, value) in object {
            if name == "__metadata__" {
                guard let m = value as? [String: String] else {
                    throw SafetensorsError.malformedHeader(file: path, reason: "__metadata__ must map strings to strings")
                }
                metadata = m
                continue
            }
            guard let e = value as? [String: Any], let dtype = e["dtype"] as? String,
                  let shape = e["shape"] as? [Int], let offsets = e["data_offsets"] as? [Int],
                  offsets.count == 2
            else {
                throw SafetensorsError.badEntry(file: path, tensor: name, reason: "expected {dtype, shape, data_offsets: [begin, end]}")
            }
            guard let width = Self.byteWidth[dtype] else {
                throw SafetensorsError.unsupportedDType(file: path, tensor: name, dtype: dtype)
            }
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[0] <= offsets[1],
                  offsets[1] <= available
            else {
                throw SafetensorsError.badEntry(file: path, tensor: name, reason: "data_offsets \(offsets) fall outside the \(available) data bytes (the file may be truncated)")
            }
            guard let expected = CheckedSize.product(shape + [width]) else {
                throw SafetensorsError.badEntry(file: path, tensor: name, reason: "shape \(shape) is too large to exist")
            }
            guard offsets[1] - offsets[0] == expected else {
                throw SafetensorsError.badEntry(file: path, tensor: name, reason: "shape \(shape) of \(dtype) needs \(expected) bytes, the entry has \(offsets[1] - offsets[0])")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, range: offsets[0]..<offsets[1])
        }
        self.entries = entries
        self.metadata = metadata
    }

    /// The tensor `name` converted to Float32 (from F32, F16, BF16 or F64).
    public func tensor(_ name: String) throws -> Tensor {
        guard let e = entries[name] else { throw SafetensorsError.missingTensor(file: path, tensor: name) }
        let t = Tensor(uninitializedShape: e.shape)
        let converted = data.withUnsafeBytes { raw in
            StoredElements.floats(e.dtype, base: raw.baseAddress! + dataStart + e.range.lowerBound, offset: 0,
                                  shape: e.shape, strides: StoredElements.contiguousStrides(e.shape), into: t.pointer)
        }
        guard converted else {
            throw SafetensorsError.badEntry(file: path, tensor: name, reason: "dtype \(e.dtype) is not a floating-point type")
        }
        return t
    }

    /// The integer tensor `name` as Int32 values (from I32, I64, I16, I8, U8 or BOOL).
    public func int32s(_ name: String) throws -> [Int32] {
        guard let e = entries[name] else { throw SafetensorsError.missingTensor(file: path, tensor: name) }
        let values = data.withUnsafeBytes { raw in
            StoredElements.integers(e.dtype, base: raw.baseAddress! + dataStart + e.range.lowerBound, offset: 0,
                                    shape: e.shape, strides: StoredElements.contiguousStrides(e.shape))
        }
        guard let values else {
            throw SafetensorsError.badEntry(file: path, tensor: name, reason: "dtype \(e.dtype) is not an integer type")
        }
        return values.map { Int32(truncatingIfNeeded: $0) }
    }
}

extension SafetensorsFile: TensorFile {
    public var tensorInfo: [String: TensorInfo] { entries.mapValues { TensorInfo(dtype: $0.dtype, shape: $0.shape) } }
}

/// Writes safetensors files: Float32 tensors and Int32 arrays, an optional `__metadata__`.
///
/// The file is written to a temporary name beside the target and renamed into place, so a
/// crash never leaves a half-written file under the final name.
public struct SafetensorsWriter {
    private var items: [(name: String, dtype: String, shape: [Int], bytes: Data)] = []
    public var metadata: [String: String] = [:]

    public init() {}

    public mutating func add(_ name: String, _ tensor: Tensor) {
        let bytes = Data(bytes: tensor.pointer, count: tensor.count * 4)
        items.append((name, "F32", tensor.shape, bytes))
    }

    /// Adds a tensor stored as bfloat16 (rounded to nearest even; half the bytes of F32).
    public mutating func add(_ name: String, bfloat16 tensor: Tensor) {
        var bits = [UInt16](repeating: 0, count: tensor.count)
        for i in 0..<tensor.count { bits[i] = BFloat16.bits(of: tensor.pointer[i]).littleEndian }
        items.append((name, "BF16", tensor.shape, bits.withUnsafeBytes { Data($0) }))
    }

    public mutating func add(_ name: String, int32s values: [Int32], shape: [Int]) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        let bytes = values.map { $0.littleEndian }.withUnsafeBytes { Data($0) }
        items.append((name, "I32", shape, bytes))
    }

    /// Writes the file atomically.
    public func write(to url: URL) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        let sorted = items.sorted { $0.name < $1.name }
        var offset = 0
        for item in sorted {
            header[item.name] = ["dtype": item.dtype, "shape": item.shape,
                                 "data_offsets": [offset, offset + item.bytes.count]]
            offset += item.bytes.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var out = Data()
        var length = UInt64(json.count).littleEndian
        out.append(Data(bytes: &length, count: 8))
        out.append(json)
        for item in sorted { out.append(item.bytes) }
        try AtomicFile.write(out, to: url)
    }
}

/// IEEE half precision bits to Float.
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h >> 15) << 31
    let exponent = Int((h >> 10) & 0x1F)
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0 {
        if mantissa == 0 { return Float(bitPattern: sign) }
        let value = Float(mantissa) * 0x1p-24
        return sign != 0 ? -value : value
    }
    if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
    return Float(bitPattern: sign | UInt32(exponent + 112) << 23 | (mantissa << 13))
}
