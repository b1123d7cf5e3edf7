import Tensors

/// The per-puzzle embedding table with sparse updates (reference `CastedSparseEmbedding`,
/// buffer `weights`; spec §9.3).
///
/// The table `[identifierCount, width]` starts at zero and is not an ordinary parameter: in a
/// recorded (training) forward, the rows for the batch are copied into a scratch leaf
/// `localWeights` `[B, width]` that receives the gradient, and `SignSGD` later updates only the
/// rows present. Unrecorded forwards (evaluation, the ACT target segment) read the table directly
/// and leave the scratch alone.
public final class SparseEmbedding: Module {
    /// `[identifierCount, width]`.
    public let table: Tensor
    /// The scratch rows of the last recorded forward (a leaf with a gradient), and their ids.
    public private(set) var localWeights: Tensor?
    public private(set) var localIdentifiers: [Int32] = []

    public init(identifierCount: Int, width: Int) {
        table = Tensor.zeros([identifierCount, width])
    }

    public init(table: Tensor) {
        precondition(table.rank == 2, "SparseEmbedding table must be [ids, width]; got \(table.shape)")
        self.table = table
    }

    public var width: Int { table.shape[1] }

    /// The rows for `identifiers`, `[B, width]`.
    public func callAsFunction(_ identifiers: [Int32]) -> Tensor {
        let rows = withoutGradients { table.gathered(rows: identifiers) }
        guard GradientMode.isRecording else { return rows }
        let local = rows.requiringGradient()
        localWeights = local
        localIdentifiers = identifiers
        return local
    }

    /// Forgets the scratch rows (after their update).
    public func clearScratch() {
        localWeights = nil
        localIdentifiers = []
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] { [("weights", table)] }
}
