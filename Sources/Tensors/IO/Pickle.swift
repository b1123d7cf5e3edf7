import Foundation

/// A value of the pickle subset a PyTorch state dict is made of. Lists and dicts are shared
/// boxes, as in Python, so the memo and the stack see the same object.
public indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes(Data)
    /// Items and nesting depth (kept, so that a value shared through the memo is never walked).
    case tuple([PickleValue], depth: Int)
    case list(PickleList)
    case dict(PickleDict)
    /// One of the allowed globals (`module.name`), before it is called.
    case global(String)
    /// A tensor storage named by a persistent id (`('storage', torch.FloatStorage, key, …)`).
    case storage(TorchStorage)
    case tensor(TorchTensorReference)

    /// How deeply containers nest inside this value (a scalar is 0).
    var depth: Int {
        switch self {
        case .tuple(_, let d): return d
        case .list(let l): return l.depth
        case .dict(let d): return d.depth
        case .storage, .tensor: return 1
        default: return 0
        }
    }

    /// A short name of the value's kind, for errors.
    var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "a bool"
        case .int: return "an int"
        case .float: return "a float"
        case .string: return "a string"
        case .bytes: return "bytes"
        case .tuple: return "a tuple"
        case .list: return "a list"
        case .dict: return "a dict"
        case .global(let g): return "the global \(g)"
        case .storage: return "a storage"
        case .tensor: return "a tensor"
        }
    }
}

public final class PickleList {
    public internal(set) var items: [PickleValue] = []
    var depth = 1
    /// Placed inside another container: no longer changed (see `PickleReader.maximumDepth`).
    var isFrozen = false
}

/// An insertion-ordered dict (every dict of a state dict is an `OrderedDict`).
public final class PickleDict {
    public internal(set) var items: [(key: PickleValue, value: PickleValue)] = []
    var depth = 1
    var isFrozen = false
}

/// A tensor storage of a PyTorch checkpoint: its dtype (safetensors' spelling), the key that
/// names its bytes, and its element count.
public struct TorchStorage: Sendable, Equatable {
    public var dtype: String
    public var key: String
    public var elementCount: Int
}

/// A tensor as `torch._utils._rebuild_tensor_v2` describes it: a view of a storage.
public struct TorchTensorReference: Sendable, Equatable {
    public var storage: TorchStorage
    public var offset: Int
    public var shape: [Int]
    public var strides: [Int]
}

/// Reads pickles of protocol 2 to 5 restricted to the opcodes and globals that a PyTorch state
/// dict uses: dicts, lists, tuples, strings, numbers, `collections.OrderedDict`, the tensor
/// rebuild functions and the storage types. Any other opcode or global is refused with the
/// byte it was found at; nothing from the file is ever called or imported — the allowed
/// globals are interpreted here, by name.
public struct PickleReader {
    /// The storage types by the name `torch.save` pickles them under.
    public static let storageTypes: [String: String] = [
        "torch.FloatStorage": "F32", "torch.DoubleStorage": "F64", "torch.HalfStorage": "F16",
        "torch.BFloat16Storage": "BF16", "torch.LongStorage": "I64", "torch.IntStorage": "I32",
        "torch.ShortStorage": "I16", "torch.CharStorage": "I8", "torch.ByteStorage": "U8",
        "torch.BoolStorage": "BOOL",
    ]
    static let functions: Set<String> = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
    ]

    /// Containers nest at most this deep (a state dict needs 4: the dict, a tensor's arguments,
    /// its size tuple, its storage id). Deeper nesting is refused as it is built, and a container
    /// is frozen once placed in another, so no depth can grow afterwards: releasing or walking
    /// any value stays shallow.
    static let maximumDepth = 32

    let bytes: ByteReader
    /// Turns a persistent id into a value (the storage it names); throws for an unknown one.
    var persistentLoad: (PickleValue, Int) throws -> PickleValue

    init(bytes: ByteReader, persistentLoad: @escaping (PickleValue, Int) throws -> PickleValue) {
        self.bytes = bytes
        self.persistentLoad = persistentLoad
    }

    private func fail(_ at: Int, _ reason: String) -> TorchCheckpointError {
        .badPickle(file: bytes.path, offset: at, reason: reason)
    }

    /// Runs the pickle that starts at byte `start` to its STOP; returns its value and the
    /// byte after the STOP.
    func read(from start: Int, end: Int) throws -> (value: PickleValue, end: Int) {
        var stack: [PickleValue] = []
        var marks: [Int] = []
        var memo: [Int: PickleValue] = [:]
        var p = start

        func pop(_ at: Int) throws -> PickleValue {
            guard let v = stack.popLast() else { throw fail(at, "the stack is empty") }
            return v
        }
        func popMark(_ at: Int) throws -> [PickleValue] {
            guard let m = marks.popLast() else { throw fail(at, "no MARK to pop to") }
            guard m <= stack.count else { throw fail(at, "values below the MARK were popped") }
            let items = Array(stack[m...])
            stack.removeSubrange(m...)
            return items
        }
        /// Checks that `child` may go inside a container and freezes it; the depth it gives.
        func place(_ child: PickleValue, _ at: Int) throws -> Int {
            let depth = child.depth + 1
            guard depth <= Self.maximumDepth else { throw fail(at, "containers nest deeper than \(Self.maximumDepth); a state dict needs 4") }
            switch child {
            case .list(let l): l.isFrozen = true
            case .dict(let d): d.isFrozen = true
            default: break
            }
            return depth
        }
        func tuple(_ items: [PickleValue], _ at: Int) throws -> PickleValue {
            var depth = 1
            for item in items { depth = max(depth, try place(item, at)) }
            return .tuple(items, depth: depth)
        }
        func append(_ items: [PickleValue], _ at: Int) throws {
            guard case .list(let l) = stack.last else { throw fail(at, "APPEND to \(stack.last?.kind ?? "nothing")") }
            guard !l.isFrozen else { throw fail(at, "a list changes after it was placed in another container") }
            for item in items { l.depth = max(l.depth, try place(item, at)) }
            l.items += items
        }
        func set(_ items: [PickleValue], _ at: Int) throws {
            guard case .dict(let d) = stack.last else { throw fail(at, "SETITEM on \(stack.last?.kind ?? "nothing")") }
            guard !d.isFrozen else { throw fail(at, "a dict changes after it was placed in another container") }
            guard items.count % 2 == 0 else { throw fail(at, "SETITEMS with an odd number of values") }
            for item in items { d.depth = max(d.depth, try place(item, at)) }
            for i in stride(from: 0, to: items.count, by: 2) { d.items.append((items[i], items[i + 1])) }
        }
        func integer(_ v: PickleValue, _ what: String, _ at: Int) throws -> Int {
            guard case .int(let i) = v else { throw fail(at, "\(what) is \(v.kind), expected an int") }
            return i
        }
        func integers(_ v: PickleValue, _ what: String, _ at: Int) throws -> [Int] {
            guard case .tuple(let items, _) = v else { throw fail(at, "\(what) is \(v.kind), expected a tuple of ints") }
            return try items.map { try integer($0, what, at) }
        }
        func text(_ at: Int, _ count: Int) throws -> String {
            guard count <= end - p else { throw fail(at, "a \(count)-byte string runs past the pickle's end") }
            let data = try bytes.slice(p, count)
            p += count
            guard let s = String(data: data, encoding: .utf8) else { throw fail(at, "a string is not UTF-8") }
            return s
        }
        func line(_ at: Int) throws -> String {
            var chars: [UInt8] = []
            while true {
                guard p < end, chars.count < 256 else { throw fail(at, "a GLOBAL name has no end of line") }
                let c = try bytes.u8(p)
                p += 1
                if c == 0x0A { break }
                chars.append(c)
            }
            return String(decoding: chars, as: UTF8.self)
        }
        func global(_ name: String, _ at: Int) throws -> PickleValue {
            guard Self.functions.contains(name) || Self.storageTypes[name] != nil else {
                throw fail(at, "the global '\(name)' is not one a state dict uses (allowed: collections.OrderedDict, the tensor rebuild functions, the torch storage types); nothing from the file is run")
            }
            return .global(name)
        }
        func call(_ function: PickleValue, _ arguments: PickleValue, _ at: Int) throws -> PickleValue {
            guard case .global(let name) = function, Self.functions.contains(name) else {
                throw fail(at, "REDUCE calls \(function.kind); only collections.OrderedDict and the tensor rebuild functions may be called")
            }
            guard case .tuple(let args, _) = arguments else { throw fail(at, "REDUCE's arguments are \(arguments.kind), expected a tuple") }
            switch name {
            case "collections.OrderedDict":
                guard args.isEmpty else { throw fail(at, "OrderedDict is called with \(args.count) arguments, expected none") }
                return .dict(PickleDict())
            case "torch._utils._rebuild_tensor_v2":
                guard args.count >= 4, case .storage(let storage) = args[0] else {
                    throw fail(at, "_rebuild_tensor_v2 expects (storage, offset, size, stride, …)")
                }
                let offset = try integer(args[1], "the storage offset", at)
                let shape = try integers(args[2], "the size", at), strides = try integers(args[3], "the stride", at)
                guard shape.count == strides.count else {
                    throw fail(at, "a tensor of size \(shape) has strides \(strides)")
                }
                return .tensor(TorchTensorReference(storage: storage, offset: offset, shape: shape, strides: strides))
            default:  // _rebuild_parameter(data, requires_grad, hooks[, state])
                guard let first = args.first, case .tensor = first else { throw fail(at, "\(name) expects a tensor first") }
                return first
            }
        }

        while true {
            let at = p
            guard p < end else { throw fail(at, "the pickle ends without STOP (truncated?)") }
            let op = try bytes.u8(p)
            p += 1
            switch op {
            case 0x80:  // PROTO
                let version = try bytes.u8(p)
                p += 1
                guard (2...5).contains(version) else { throw fail(at, "pickle protocol \(version); expected 2 to 5") }
            case 0x95:  // FRAME: an 8-byte length, framing only
                p += 8
            case 0x2E:  // STOP
                guard stack.count == 1 else { throw fail(at, "STOP with \(stack.count) values on the stack, expected 1") }
                return (stack[0], p)
            case 0x28: marks.append(stack.count)  // MARK
            case 0x7D: stack.append(.dict(PickleDict()))  // EMPTY_DICT
            case 0x5D: stack.append(.list(PickleList()))  // EMPTY_LIST
            case 0x29: stack.append(.tuple([], depth: 1))  // EMPTY_TUPLE
            case 0x74: stack.append(try tuple(try popMark(at), at))  // TUPLE
            case 0x85: stack.append(try tuple([try pop(at)], at))  // TUPLE1
            case 0x86:  // TUPLE2
                let b = try pop(at), a = try pop(at)
                stack.append(try tuple([a, b], at))
            case 0x87:  // TUPLE3
                let c = try pop(at), b = try pop(at), a = try pop(at)
                stack.append(try tuple([a, b, c], at))
            case 0x4E: stack.append(.none)  // NONE
            case 0x88: stack.append(.bool(true))  // NEWTRUE
            case 0x89: stack.append(.bool(false))  // NEWFALSE
            case 0x4A:  // BININT
                stack.append(.int(Int(Int32(bitPattern: try bytes.u32(p)))))
                p += 4
            case 0x4B:  // BININT1
                stack.append(.int(Int(try bytes.u8(p))))
                p += 1
            case 0x4D:  // BININT2
                stack.append(.int(Int(try bytes.u16(p))))
                p += 2
            case 0x8A:  // LONG1: n bytes, little-endian two's complement
                let n = Int(try bytes.u8(p))
                p += 1
                let digits = [UInt8](try bytes.slice(p, n))
                p += n
                guard n <= 8 || digits[8...].allSatisfy({ $0 == (digits[7] & 0x80 != 0 ? 0xFF : 0) }) else {
                    // Wider than 64 bits (only the legacy format's magic number is): kept as bytes.
                    stack.append(.bytes(Data(digits)))
                    continue
                }
                var v: UInt64 = 0
                for (i, d) in digits.prefix(8).enumerated() { v |= UInt64(d) << (8 * UInt64(i)) }
                if n < 8, n > 0, digits[n - 1] & 0x80 != 0 { v |= ~0 << (8 * UInt64(n)) }
                stack.append(.int(Int(Int64(bitPattern: v))))
            case 0x47:  // BINFLOAT, big-endian
                stack.append(.float(Double(bitPattern: UInt64(bigEndian: try bytes.u64(p).littleEndian))))
                p += 8
            case 0x58:  // BINUNICODE
                let n = Int(try bytes.u32(p))
                p += 4
                stack.append(.string(try text(at, n)))
            case 0x8C:  // SHORT_BINUNICODE
                let n = Int(try bytes.u8(p))
                p += 1
                stack.append(.string(try text(at, n)))
            case 0x8D:  // BINUNICODE8
                let n = try bytes.int64(p)
                p += 8
                stack.append(.string(try text(at, n)))
            case 0x55, 0x54:  // SHORT_BINSTRING, BINSTRING (Python 2 strings, as the legacy format may hold)
                let n = op == 0x55 ? Int(try bytes.u8(p)) : Int(try bytes.u32(p))
                p += op == 0x55 ? 1 : 4
                stack.append(.string(try text(at, n)))
            case 0x43, 0x42:  // SHORT_BINBYTES, BINBYTES
                let n = op == 0x43 ? Int(try bytes.u8(p)) : Int(try bytes.u32(p))
                p += op == 0x43 ? 1 : 4
                guard n <= end - p else { throw fail(at, "\(n) bytes run past the pickle's end") }
                stack.append(.bytes(try bytes.slice(p, n)))
                p += n
            case 0x63:  // GLOBAL: module\nname\n
                let module = try line(at), name = try line(at)
                stack.append(try global("\(module).\(name)", at))
            case 0x93:  // STACK_GLOBAL
                let nameValue = try pop(at), moduleValue = try pop(at)
                guard case .string(let name) = nameValue, case .string(let module) = moduleValue else {
                    throw fail(at, "STACK_GLOBAL expects two strings")
                }
                stack.append(try global("\(module).\(name)", at))
            case 0x71:  // BINPUT
                memo[Int(try bytes.u8(p))] = try stack.last ?? { throw fail(at, "BINPUT on an empty stack") }()
                p += 1
            case 0x72:  // LONG_BINPUT
                memo[Int(try bytes.u32(p))] = try stack.last ?? { throw fail(at, "LONG_BINPUT on an empty stack") }()
                p += 4
            case 0x94:  // MEMOIZE
                memo[memo.count] = try stack.last ?? { throw fail(at, "MEMOIZE on an empty stack") }()
            case 0x68, 0x6A:  // BINGET, LONG_BINGET
                let key = op == 0x68 ? Int(try bytes.u8(p)) : Int(try bytes.u32(p))
                p += op == 0x68 ? 1 : 4
                guard let v = memo[key] else { throw fail(at, "memo entry \(key) was never stored") }
                stack.append(v)
            case 0x30: _ = try pop(at)  // POP
            case 0x31: _ = try popMark(at)  // POP_MARK
            case 0x32: stack.append(try stack.last ?? { throw fail(at, "DUP on an empty stack") }())  // DUP
            case 0x61: try append([try pop(at)], at)  // APPEND
            case 0x65: try append(try popMark(at), at)  // APPENDS
            case 0x73:  // SETITEM
                let v = try pop(at), k = try pop(at)
                try set([k, v], at)
            case 0x75: try set(try popMark(at), at)  // SETITEMS
            case 0x52:  // REDUCE
                let args = try pop(at), function = try pop(at)
                stack.append(try call(function, args, at))
            case 0x62:  // BUILD: an OrderedDict's attributes (`_metadata`) or a tensor's state; ignored
                _ = try pop(at)
                guard let target = stack.last else { throw fail(at, "BUILD on an empty stack") }
                switch target {
                case .dict, .tensor: break
                default: throw fail(at, "BUILD on \(target.kind); only dicts and tensors carry state in a state dict")
                }
            case 0x51:  // BINPERSID
                let id = try pop(at)
                stack.append(try persistentLoad(id, at))
            default:
                throw fail(at, String(format: "opcode 0x%02X is not one a state dict uses; nothing from the file is run", op))
            }
        }
    }
}
