/// One batch as the reference's loader hands it to the model (spec §10.4): Int32 tokens,
/// ignored labels mapped to −100, short batches padded (inputs with `pad_id`, labels −100,
/// puzzle ids with the blank id).
public struct DatasetBatch: Equatable, Sendable {
    /// `[batchSize × seq_len]`.
    public var inputs: [Int32]
    public var labels: [Int32]
    /// `[batchSize]`.
    public var puzzleIdentifiers: [Int32]
    /// Rows that hold real examples (the rest is padding).
    public var count: Int
}

/// The label value the model ignores.
public let ignoredLabel: Int32 = -100

extension DatasetSplit {
    /// Builds a batch of the given example indices, padded to `batchSize` rows.
    public func collate(examples: [Int], puzzles: [Int], batchSize: Int) -> DatasetBatch {
        let s = metadata.sequenceLength
        let ignore = metadata.ignoreLabelID.map(Int32.init)
        var inputs = [Int32](repeating: Int32(metadata.padID), count: batchSize * s)
        var labels = [Int32](repeating: ignoredLabel, count: batchSize * s)
        var ids = [Int32](repeating: Int32(metadata.blankIdentifierID), count: batchSize)
        self.inputs.withUnsafeBytes { storedInputs in
            self.labels.withUnsafeBytes { storedLabels in
                for (row, (e, p)) in zip(examples, puzzles).enumerated() {
                    precondition(e >= 0 && e < exampleCount, "example \(e) out of 0..<\(exampleCount)")
                    for t in 0..<s {
                        inputs[row * s + t] = Int32(storedInputs[e * s + t])
                        let l = Int32(storedLabels[e * s + t])
                        labels[row * s + t] = l == ignore ? ignoredLabel : l
                    }
                    ids[row] = puzzleIdentifiers[p]
                }
            }
        }
        self.inputs.noteRead(examples.count * s)
        self.labels.noteRead(examples.count * s)
        return DatasetBatch(inputs: inputs, labels: labels, puzzleIdentifiers: ids, count: examples.count)
    }

    /// The reference's training batches for one pass (spec §11.1): `epochs` shuffled orders of
    /// the groups, one random puzzle per group visit, all of its examples (cut at the batch
    /// boundary), full batches only. Driven by `generator`, so the same seed gives the same
    /// batches. Only indices are drawn here; each batch is collated when it is read.
    public func trainingBatches<G: RandomNumberGenerator>(batchSize: Int, epochs: Int, using generator: inout G)
        -> TrainingBatches
    {
        precondition(batchSize > 0 && epochs > 0, "batch size and epochs must be positive")
        var order: [Int] = []
        for _ in 0..<epochs { order += Array(0..<groupCount).shuffled(using: &generator) }
        var examples: [Int32] = [], puzzles: [Int32] = []
        var i = 0
        while i < order.count {
            var batchExamples: [Int32] = [], batchPuzzles: [Int32] = []
            while i < order.count && batchExamples.count < batchSize {
                let g = order[i]
                i += 1
                let p = Int.random(in: Int(groupIndices[g])..<Int(groupIndices[g + 1]), using: &generator)
                let range = Int(puzzleIndices[p])..<Int(puzzleIndices[p + 1])
                let take = min(range.count, batchSize - batchExamples.count)
                batchExamples += Array(range).shuffled(using: &generator).prefix(take).map(Int32.init)
                batchPuzzles += Array(repeating: Int32(p), count: take)
            }
            if batchExamples.count < batchSize { break }  // drop the partial batch
            examples += batchExamples
            puzzles += batchPuzzles
        }
        return TrainingBatches(split: self, batchSize: batchSize, examples: examples, puzzles: puzzles)
    }

    /// The evaluation batches (spec §11.2): examples in file order, the last batch padded.
    public func evaluationBatches(batchSize: Int) -> EvaluationBatches {
        EvaluationBatches(split: self, batchSize: batchSize)
    }
}

/// Evaluation batches as a sequence, so a large test split is never collated all at once.
public struct EvaluationBatches: Sequence {
    let split: DatasetSplit
    let batchSize: Int

    public func makeIterator() -> AnyIterator<DatasetBatch> {
        var start = 0
        // The puzzle of each example, found once.
        var puzzleOf = [Int](repeating: 0, count: split.exampleCount)
        for p in 0..<split.puzzleCount {
            for e in Int(split.puzzleIndices[p])..<Int(split.puzzleIndices[p + 1]) { puzzleOf[e] = p }
        }
        return AnyIterator {
            guard start < split.exampleCount else { return nil }
            let end = Swift.min(start + batchSize, split.exampleCount)
            defer { start = end }
            let examples = Array(start..<end)
            return split.collate(examples: examples, puzzles: examples.map { puzzleOf[$0] }, batchSize: batchSize)
        }
    }
}

/// One pass of training batches (indices drawn, collated on access).
public struct TrainingBatches: RandomAccessCollection {
    let split: DatasetSplit
    public let batchSize: Int
    let examples: [Int32]
    let puzzles: [Int32]

    public var startIndex: Int { 0 }
    public var endIndex: Int { examples.count / batchSize }

    public subscript(i: Int) -> DatasetBatch {
        let range = (i * batchSize)..<((i + 1) * batchSize)
        return split.collate(examples: examples[range].map(Int.init), puzzles: puzzles[range].map(Int.init),
                             batchSize: batchSize)
    }
}
