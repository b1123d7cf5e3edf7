import Foundation

/// What a backward closure reads, and how it is kept until backward runs (PyTorch's "saved
/// tensors" and its `saved_tensors_hooks`).
///
/// Under mixed precision (`GEMM.precision` is bf16) a saved activation is packed to bf16: half
/// the memory, which is most of what training holds (a batch-64 step of the paper's Sudoku
/// preset saves ~1 GB of activations). The reference's `forward_dtype=bfloat16` keeps every
/// activation in bf16, so this is its semantics; and for a matrix product's inputs it loses
/// nothing, since the product's backward rounds them to bf16 anyway. Parameters (leaves that
/// require a gradient) are never packed: they are alive anyway and must stay exact.
///
/// A tensor saved by several ops (a norm's output that the next projection also reads) is
/// packed once: packed copies are shared by storage while both are alive.

/// One tensor a backward reads: the tensor itself, or its bf16 packing.
struct SavedTensor {
    private enum Form {
        case full(Tensor)
        case packed(PackedBF16, shape: [Int], requiresGradient: Bool)
    }
    private let form: Form

    /// Keeps `tensor` for backward, packed when the current precision says so.
    init(_ tensor: Tensor) {
        if SavedTensor.packsActivations && !(tensor.isLeaf && tensor.requiresGradient) {
            form = .packed(PackedBF16.packing(tensor), shape: tensor.shape, requiresGradient: tensor.requiresGradient)
        } else {
            form = .full(tensor)
        }
    }

    /// The values as a float32 tensor (a fresh one when packed, with the saved tensor's
    /// `requiresGradient`, so a backward asks a saved input what it asks a captured one).
    func unpacked() -> Tensor {
        switch form {
        case .full(let t): return t
        case .packed(let p, let shape, let requiresGradient):
            let t = p.unpacked(shape: shape)
            t.requiresGradient = requiresGradient
            return t
        }
    }

    /// Whether this one was packed (for tests).
    var isPacked: Bool {
        if case .packed = form { return true }
        return false
    }

    /// Overrides whether activations are packed (nil: when matrix products run in bf16).
    @TaskLocal static var packingOverride: Bool? = nil

    static var packsActivations: Bool {
        if let packingOverride { return packingOverride }
        if case .bf16 = GEMM.precision { return true }
        return false
    }
}

/// A tensor's values as bf16 bit patterns, in pool storage (two per float slot).
final class PackedBF16 {
    /// Holds `(count + 1) / 2` float slots.
    let storage: Storage
    /// Number of bf16 values.
    let count: Int

    /// A packing of its own (`packing` shares one by storage); `BF16ParameterCache` makes these.
    fileprivate init(_ tensor: Tensor) {
        count = tensor.count
        storage = Storage(count: (count + 1) / 2)
        // Rows of the last axis, so the conversion splits across cores.
        let n = count, columns = Swift.max(tensor.shape.last ?? 1, 1)
        UnsafeMutableRawPointer(storage.pointer).withMemoryRebound(to: UInt16.self, capacity: n) {
            BFloat16.convertBlock(tensor.pointer, rows: n / columns, columns: columns, ld: columns, into: $0)
        }
    }

    /// `tensor` packed, or the packing already made of its storage while both are alive.
    static func packing(_ tensor: Tensor) -> PackedBF16 {
        let key = ObjectIdentifier(tensor.storage)
        registryLock.lock()
        defer { registryLock.unlock() }
        if let entry = registry[key], entry.storage === tensor.storage,
           let packed = entry.packed, packed.count == tensor.count {
            return packed
        }
        let packed = PackedBF16(tensor)
        registry[key] = Entry(storage: tensor.storage, packed: packed)
        if registry.count > sweepAt {
            registry = registry.filter { $0.value.storage != nil && $0.value.packed != nil }
            sweepAt = Swift.max(256, 2 * registry.count)
        }
        return packed
    }

    /// A float32 tensor of `shape` holding these values.
    func unpacked(shape: [Int]) -> Tensor {
        precondition(Shape.count(shape) == count, "unpacking \(count) values as \(shape)")
        let t = Tensor(uninitializedShape: shape)
        BFloat16.expand(bits, count: count, into: t.pointer)
        // The fresh tensor's values are exactly these bits: a matrix product reads the bits
        // instead of converting its values again (see `Tensor.exactBF16`).
        t.exactBF16 = self
        return t
    }

    /// The bf16 bit patterns, `count` of them.
    var bits: UnsafePointer<UInt16> {
        UnsafePointer(UnsafeMutableRawPointer(storage.pointer).assumingMemoryBound(to: UInt16.self))
    }

    /// Packings by the storage they were made from; both sides weak, so an entry never keeps
    /// memory alive (a dead one is swept, or replaced when its storage's identifier is reused).
    private struct Entry {
        weak var storage: Storage?
        weak var packed: PackedBF16?
    }
    nonisolated(unsafe) private static var registry: [ObjectIdentifier: Entry] = [:]
    nonisolated(unsafe) private static var sweepAt = 256
    private static let registryLock = NSLock()
}

extension Tensor {
    /// Attaches a backward rule that reads `saved` (see `SavedTensor`): the closure receives
    /// them, unpacked, in the same order (a packed one comes back as a fresh tensor with the
    /// saved one's shape and `requiresGradient`, without its graph). Capture nothing else large
    /// in it.
    @discardableResult
    func recorded(from inputs: [Tensor], saving saved: [Tensor],
                  backward: @escaping (_ gradient: Tensor, _ saved: [Tensor]) -> [Tensor?]) -> Tensor {
        guard GradientMode.isRecording, inputs.contains(where: { $0.requiresGradient }) else {
            return self
        }
        let kept = saved.map(SavedTensor.init)
        return recorded(from: inputs) { g in backward(g, kept.map { $0.unpacked() }) }
    }
}

/// bf16 copies of the parameters for a stretch of work in which they do not change: one
/// training step's forward and backward passes, or one evaluation ACT step. Without it a bf16
/// product converts its weight matrix on every call — a training step of the paper's Sudoku
/// preset calls each weight 10–14 times — and with it once per scope (as `torch.autocast`
/// caches its weight casts inside an autocast region).
///
/// Only parameters (leaves that require a gradient) are cached, keyed by their storage, which
/// the cache keeps alive, so a key is never reused inside a scope. The caller promises that no
/// parameter is written inside the scope (the optimizer runs after it ends).
public final class BF16ParameterCache: @unchecked Sendable {
    @TaskLocal static var current: BF16ParameterCache?
    /// false turns the cache off, for the tests that compare the two.
    @TaskLocal static var isEnabled = true

    private var entries: [ObjectIdentifier: (storage: Storage, packed: PackedBF16)] = [:]
    private let lock = NSLock()
    /// Parameters converted in this scope (for tests).
    private(set) var conversions = 0

    /// Runs `body` with a cache of parameters' bf16 copies when products run in bf16 and none
    /// is open already; otherwise just runs it.
    public static func scope<R>(_ body: () throws -> R) rethrows -> R {
        guard isEnabled, current == nil, case .bf16 = GEMM.precision else { return try body() }
        return try $current.withValue(BF16ParameterCache()) { try body() }
    }

    /// The bf16 bits that stand for `tensor` in a bf16 product with an operand of `partner`
    /// elements, where they exist without converting it: an unpacked saved activation's own
    /// packing, or, inside a scope, a parameter's copy (made at its first product). A parameter
    /// is copied only when it is at least as large as its partner: at large batches converting
    /// the weight is a small part of the product's conversions and the copies would only add
    /// to the peak memory (measured: +47 MiB, no speed, at batch 64 of the paper's preset).
    static func bits(for tensor: Tensor, partner: Int) -> PackedBF16? {
        if let exact = tensor.exactBF16, exact.count == tensor.count { return exact }
        guard tensor.isLeaf, tensor.requiresGradient, tensor.count >= partner, let cache = current else { return nil }
        return cache.packing(of: tensor)
    }

    private func packing(of tensor: Tensor) -> PackedBF16 {
        let key = ObjectIdentifier(tensor.storage)
        lock.lock()
        defer { lock.unlock() }
        if let entry = entries[key], entry.packed.count == tensor.count { return entry.packed }
        let packed = PackedBF16(tensor)
        entries[key] = (tensor.storage, packed)
        conversions += 1
        return packed
    }
}
