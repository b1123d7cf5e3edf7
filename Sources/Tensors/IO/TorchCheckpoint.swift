import Foundation
import SafeFiles

/// A PyTorch checkpoint that cannot be read; each names the file and what was found.
public enum TorchCheckpointError: Error, CustomStringConvertible, Equatable {
    case notReadable(file: String, reason: String)
    case badPickle(file: String, offset: Int, reason: String)
    case badTensor(file: String, tensor: String, reason: String)
    case missingTensor(file: String, tensor: String)

    public var description: String {
        switch self {
        case .notReadable(let f, let r): return "\(f): not a readable PyTorch checkpoint: \(r)."
        case .badPickle(let f, let o, let r): return "\(f): the state dict's pickle, at byte \(o): \(r)."
        case .badTensor(let f, let t, let r): return "\(f): tensor '\(t)': \(r)."
        case .missingTensor(let f, let t): return "\(f): has no tensor named '\(t)'."
        }
    }
}

/// A file written by `torch.save` of a state dict, read without Python: the zip container of
/// PyTorch ≥ 1.6 (`<name>/data.pkl` plus one stored entry per storage under `<name>/data/`) or
/// the legacy format (pickles followed by the raw storages), memory-mapped. The pickle is read
/// by `PickleReader`, which knows only the opcodes and globals a state dict uses; tensors may
/// be views (offsets, strides, shared storages) of float32, bfloat16, float16, float64 or
/// integer storages.
///
/// Nested dicts are flattened with dots (`{"model": {"w": …}}` gives `model.w`); values that
/// are not tensors (a step count, say) are listed in `otherEntries` and otherwise ignored.
///
/// ```swift
/// let file = try TorchCheckpointFile(contentsOf: URL(fileURLWithPath: "checkpoint"))
/// let w = try file.tensor("_orig_mod.model.inner.lm_head.weight")
/// ```
public struct TorchCheckpointFile: TensorFile {
    public enum Format: String, Sendable { case zip, legacy }

    public let path: String
    public let format: Format
    public let tensors: [String: TorchTensorReference]
    /// Names whose values are not tensors.
    public let otherEntries: [String]
    private let data: Data
    /// Where each storage's bytes lie in the file.
    private let storageRanges: [String: Range<Int>]

    /// The first bytes of a zip archive or a pickle of protocol 2 or later.
    public static func looksLikeTorch(_ url: URL) -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return false }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 4), head.count == 4 else { return false }
        let b = [UInt8](head)
        return b == [0x50, 0x4B, 0x03, 0x04] || (b[0] == 0x80 && (2...5).contains(b[1]))
    }

    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw TorchCheckpointError.notReadable(file: url.path, reason: error.localizedDescription)
        }
        try self.init(data: data, path: url.path)
    }

    /// Reads a checkpoint's bytes (`path` names it in errors) and checks that every tensor lies
    /// inside its storage and every storage inside the file; no tensor is converted yet.
    public init(data bytes: Data, path: String) throws {
        let data = bytes.startIndex == 0 ? bytes : Data(bytes)
        self.path = path
        self.data = data
        let reader = ByteReader(data: data, path: path)
        var storages: [String: TorchStorage] = [:]
        var ranges: [String: Range<Int>] = [:]
        let root: PickleValue
        if data.count >= 4, data.prefix(4) == Data([0x50, 0x4B, 0x03, 0x04]) {
            format = .zip
            let zip = try ZipArchive(data: data, path: path)
            let pickles = zip.entries.filter { $0.name.hasSuffix("/data.pkl") && $0.name.dropLast("/data.pkl".count).firstIndex(of: "/") == nil }
            guard pickles.count == 1, let pickle = pickles.first else {
                throw TorchCheckpointError.notReadable(file: path, reason: "expected one '<name>/data.pkl' entry in the zip, found \(pickles.count) (not written by torch.save?)")
            }
            let folder = String(pickle.name.dropLast("data.pkl".count))
            if let order = zip.entry(folder + "byteorder") {
                let text = String(decoding: try reader.slice(order.range.lowerBound, order.range.count), as: UTF8.self)
                guard text == "little" else {
                    throw TorchCheckpointError.notReadable(file: path, reason: "byte order '\(text)'; only little-endian checkpoints are read")
                }
            }
            let crc = data.withUnsafeBytes { ZipArchive.crc32(UnsafeRawBufferPointer(rebasing: $0[pickle.range])) }
            guard crc == pickle.crc32 else {
                throw TorchCheckpointError.notReadable(file: path, reason: "'\(pickle.name)' fails its CRC check (damaged)")
            }
            let pickleReader = PickleReader(bytes: reader) { id, at in
                let storage = try Self.storage(fromPersistentID: id, path: path, at: at, legacy: false)
                guard let entry = zip.entry(folder + "data/" + storage.key) else {
                    throw TorchCheckpointError.badPickle(file: path, offset: at, reason: "storage '\(storage.key)' has no entry '\(folder)data/\(storage.key)' in the zip")
                }
                storages[storage.key] = storage
                ranges[storage.key] = entry.range
                return .storage(storage)
            }
            root = try pickleReader.read(from: pickle.range.lowerBound, end: pickle.range.upperBound).value
        } else {
            format = .legacy
            // Magic number, protocol version, system info, the object, the storage keys; then
            // each storage as an 8-byte element count and its bytes, in the keys' order.
            var position = 0
            let plain = PickleReader(bytes: reader) { _, at in
                throw TorchCheckpointError.badPickle(file: path, offset: at, reason: "a persistent id outside the state dict's pickle")
            }
            let magic = try plain.read(from: 0, end: data.count)
            guard case .bytes(let m) = magic.value, [UInt8](m) == [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19] else {
                throw TorchCheckpointError.notReadable(file: path, reason: "neither a zip archive nor a legacy torch.save file (no magic number)")
            }
            let version = try plain.read(from: magic.end, end: data.count)
            guard case .int(1001) = version.value else {
                throw TorchCheckpointError.notReadable(file: path, reason: "legacy protocol version \(version.value.kind); expected 1001")
            }
            let info = try plain.read(from: version.end, end: data.count)
            if case .dict(let d) = info.value,
               let little = d.items.first(where: { if case .string("little_endian") = $0.key { return true }; return false }),
               case .bool(false) = little.value {
                throw TorchCheckpointError.notReadable(file: path, reason: "a big-endian checkpoint; only little-endian ones are read")
            }
            let objectReader = PickleReader(bytes: reader) { id, at in
                let storage = try Self.storage(fromPersistentID: id, path: path, at: at, legacy: true)
                storages[storage.key] = storage
                return .storage(storage)
            }
            let object = try objectReader.read(from: info.end, end: data.count)
            root = object.value
            let keys = try plain.read(from: object.end, end: data.count)
            guard case .list(let keyList) = keys.value else {
                throw TorchCheckpointError.notReadable(file: path, reason: "the storage keys after the state dict are \(keys.value.kind), expected a list")
            }
            position = keys.end
            for item in keyList.items {
                guard case .string(let key) = item else {
                    throw TorchCheckpointError.notReadable(file: path, reason: "a storage key is \(item.kind), expected a string")
                }
                let count = try reader.int64(position)
                guard let storage = storages[key] else {
                    throw TorchCheckpointError.notReadable(file: path, reason: "storage '\(key)' is in the file but no tensor uses it")
                }
                let width = StoredElements.byteWidth[storage.dtype]!
                guard count == storage.elementCount, count <= (data.count - position - 8) / width else {
                    throw TorchCheckpointError.notReadable(file: path, reason: "storage '\(key)' claims \(count) elements of \(storage.elementCount); the file has room for \((data.count - position - 8) / width) (truncated?)")
                }
                ranges[key] = (position + 8)..<(position + 8 + count * width)
                position += 8 + count * width
            }
        }
        storageRanges = ranges
        var tensors: [String: TorchTensorReference] = [:]
        var others: [String] = []
        func flatten(_ value: PickleValue, _ prefix: String, depth: Int) throws {
            guard depth < 16 else { throw TorchCheckpointError.notReadable(file: path, reason: "dicts nested deeper than 16") }
            guard case .dict(let d) = value else {
                throw TorchCheckpointError.notReadable(file: path, reason: "the checkpoint holds \(value.kind), expected a state dict (a dict of tensors)")
            }
            for (key, item) in d.items {
                let name: String
                switch key {
                case .string(let s): name = prefix + s
                case .int(let i): name = prefix + String(i)
                default: throw TorchCheckpointError.notReadable(file: path, reason: "a state-dict key is \(key.kind), expected a string")
                }
                switch item {
                case .tensor(let t): tensors[name] = t
                case .dict: try flatten(item, name + ".", depth: depth + 1)
                default: others.append(name)
                }
            }
        }
        try flatten(root, "", depth: 0)
        for (name, t) in tensors {
            guard let range = ranges[t.storage.key] else {
                throw TorchCheckpointError.badTensor(file: path, tensor: name, reason: "its storage '\(t.storage.key)' has no bytes in the file")
            }
            let width = StoredElements.byteWidth[t.storage.dtype]!
            guard t.shape.allSatisfy({ $0 >= 0 }), t.strides.allSatisfy({ $0 >= 0 }), t.offset >= 0,
                  CheckedSize.product(t.shape + [width]) != nil,
                  let extent = StoredElements.extent(offset: t.offset, shape: t.shape, strides: t.strides)
            else {
                throw TorchCheckpointError.badTensor(file: path, tensor: name, reason: "size \(t.shape), stride \(t.strides), offset \(t.offset) is not a valid view")
            }
            guard extent <= t.storage.elementCount, t.storage.elementCount <= range.count / width else {
                throw TorchCheckpointError.badTensor(file: path, tensor: name, reason: "size \(t.shape), stride \(t.strides), offset \(t.offset) reaches element \(extent) of a storage of \(t.storage.elementCount) with \(range.count / width) in the file")
            }
        }
        self.tensors = tensors
        self.otherEntries = others.sorted()
    }

    /// `('storage', torch.<Type>Storage, key, location, numel[, view_metadata])`.
    private static func storage(fromPersistentID id: PickleValue, path: String, at: Int, legacy: Bool) throws -> TorchStorage {
        guard case .tuple(let parts, _) = id, parts.count >= 5, case .string("storage") = parts[0],
              case .global(let type) = parts[1], case .string(let key) = parts[2], case .int(let count) = parts[4]
        else {
            throw TorchCheckpointError.badPickle(file: path, offset: at, reason: "a persistent id that is not ('storage', type, key, location, numel)")
        }
        guard let dtype = PickleReader.storageTypes[type] else {
            throw TorchCheckpointError.badPickle(file: path, offset: at, reason: "storage type '\(type)' is not a tensor storage type")
        }
        if legacy, parts.count > 5, !{ if case .none = parts[5] { return true }; return false }() {
            throw TorchCheckpointError.badPickle(file: path, offset: at, reason: "a legacy storage view (view_metadata); only whole storages are read")
        }
        guard count >= 0 else { throw TorchCheckpointError.badPickle(file: path, offset: at, reason: "storage '\(key)' has \(count) elements") }
        return TorchStorage(dtype: dtype, key: key, elementCount: count)
    }

    public var tensorInfo: [String: TensorInfo] {
        tensors.mapValues { TensorInfo(dtype: $0.storage.dtype, shape: $0.shape) }
    }

    /// The tensor `name`, contiguous, converted to Float32 (from F32, BF16, F16 or F64).
    public func tensor(_ name: String) throws -> Tensor {
        guard let t = tensors[name] else { throw TorchCheckpointError.missingTensor(file: path, tensor: name) }
        let out = Tensor(uninitializedShape: t.shape)
        let converted = data.withUnsafeBytes { raw in
            StoredElements.floats(t.storage.dtype, base: raw.baseAddress! + storageRanges[t.storage.key]!.lowerBound,
                                  offset: t.offset, shape: t.shape, strides: t.strides, into: out.pointer)
        }
        guard converted else {
            throw TorchCheckpointError.badTensor(file: path, tensor: name, reason: "dtype \(t.storage.dtype) is not a floating-point type")
        }
        return out
    }

    /// The integer tensor `name` (I64, I32, I16, I8, U8, BOOL), row-major.
    public func integers(_ name: String) throws -> [Int64] {
        guard let t = tensors[name] else { throw TorchCheckpointError.missingTensor(file: path, tensor: name) }
        let values = data.withUnsafeBytes { raw in
            StoredElements.integers(t.storage.dtype, base: raw.baseAddress! + storageRanges[t.storage.key]!.lowerBound,
                                    offset: t.offset, shape: t.shape, strides: t.strides)
        }
        guard let values else {
            throw TorchCheckpointError.badTensor(file: path, tensor: name, reason: "dtype \(t.storage.dtype) is not an integer type")
        }
        return values
    }
}
