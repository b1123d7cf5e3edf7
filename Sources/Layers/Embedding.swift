import Tensors

/// A lookup table of row vectors: token id → `[embeddingWidth]` (reference `CastedEmbedding`,
/// parameter `embedding_weight`).
///
/// Initialisation: truncated normal with σ = 1/√width (spec §3). The model multiplies the
/// assembled input embedding by √D afterwards (spec §5.1), so the scale is not applied here.
public final class Embedding: Module {
    /// `[vocabularySize, embeddingWidth]`.
    public let weight: Tensor

    public init<G: RandomNumberGenerator>(vocabularySize: Int, embeddingWidth: Int,
                                          using generator: inout G) {
        weight = Tensor.truncatedNormal([vocabularySize, embeddingWidth],
                                        standardDeviation: 1 / Float(embeddingWidth).squareRoot(),
                                        using: &generator).requiringGradient()
    }

    public init(weight: Tensor) {
        precondition(weight.rank == 2, "Embedding weight must be [vocabulary, width]; got \(weight.shape)")
        self.weight = weight
    }

    /// The rows for `ids`, shaped `shape + [width]`.
    public func callAsFunction(_ ids: [Int32], shape: [Int]) -> Tensor {
        precondition(ids.count == shape.reduce(1, *), "\(ids.count) ids for shape \(shape)")
        return weight.gathered(rows: ids).reshaped(shape + [weight.shape[1]])
    }

    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        [("embedding_weight", weight)]
    }
}
