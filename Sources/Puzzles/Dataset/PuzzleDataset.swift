import Foundation
import SafeFiles

/// `dataset.json` of one split (spec §10.2), with the reference's field names.
public struct DatasetMetadata: Codable, Equatable, Sendable {
    public var padID: Int
    /// Label value that is not supervised (mapped to −100 in batches); nil: all supervised.
    public var ignoreLabelID: Int?
    public var blankIdentifierID: Int
    public var vocabularySize: Int
    public var sequenceLength: Int
    public var puzzleIdentifierCount: Int
    public var totalGroups: Int
    public var meanPuzzleExamples: Double
    public var sets: [String]

    enum CodingKeys: String, CodingKey {
        case padID = "pad_id", ignoreLabelID = "ignore_label_id", blankIdentifierID = "blank_identifier_id"
        case vocabularySize = "vocab_size", sequenceLength = "seq_len"
        case puzzleIdentifierCount = "num_puzzle_identifiers", totalGroups = "total_groups"
        case meanPuzzleExamples = "mean_puzzle_examples", sets
    }

    /// Decodes a `dataset.json` (`file` names it in errors).
    /// - Throws: `DatasetError.invalid` naming the field that is missing or of the wrong type.
    public static func decode(_ data: Data, file: String) throws -> DatasetMetadata {
        do {
            return try JSONDecoder().decode(DatasetMetadata.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw DatasetError.invalid(file: file, field: key.stringValue, reason: "missing")
        } catch let DecodingError.typeMismatch(_, context) {
            throw DatasetError.invalid(file: file, field: context.codingPath.last?.stringValue, reason: "has the wrong type")
        } catch {
            throw DatasetError.invalid(file: file, field: nil, reason: "not valid JSON (\(error))")
        }
    }

    public init(padID: Int = 0, ignoreLabelID: Int? = 0, blankIdentifierID: Int = 0, vocabularySize: Int,
                sequenceLength: Int, puzzleIdentifierCount: Int, totalGroups: Int, meanPuzzleExamples: Double,
                sets: [String] = ["all"]) {
        self.padID = padID
        self.ignoreLabelID = ignoreLabelID
        self.blankIdentifierID = blankIdentifierID
        self.vocabularySize = vocabularySize
        self.sequenceLength = sequenceLength
        self.puzzleIdentifierCount = puzzleIdentifierCount
        self.totalGroups = totalGroups
        self.meanPuzzleExamples = meanPuzzleExamples
        self.sets = sets
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(padID, forKey: .padID)
        try c.encode(ignoreLabelID, forKey: .ignoreLabelID)  // null, not absent, as Python writes it
        try c.encode(blankIdentifierID, forKey: .blankIdentifierID)
        try c.encode(vocabularySize, forKey: .vocabularySize)
        try c.encode(sequenceLength, forKey: .sequenceLength)
        try c.encode(puzzleIdentifierCount, forKey: .puzzleIdentifierCount)
        try c.encode(totalGroups, forKey: .totalGroups)
        try c.encode(meanPuzzleExamples, forKey: .meanPuzzleExamples)
        try c.encode(sets, forKey: .sets)
    }
}

/// One split of a dataset in the reference's layout (spec §10.1): examples, grouped into
/// puzzles, grouped into groups (an original and its augmentations). Tokens are kept as bytes,
/// as the files store them; a split read from disk maps them (`TokenBytes`) instead of loading.
public struct DatasetSplit: Equatable, Sendable {
    public var metadata: DatasetMetadata
    /// `[examples × seq_len]`.
    public var inputs: TokenBytes
    public var labels: TokenBytes
    /// `[puzzles]`: the puzzle-embedding row of each puzzle.
    public var puzzleIdentifiers: [Int32]
    /// `[puzzles + 1]`: examples of puzzle p are `puzzleIndices[p] ..< puzzleIndices[p+1]`.
    public var puzzleIndices: [Int32]
    /// `[groups + 1]`: puzzles of group g are `groupIndices[g] ..< groupIndices[g+1]`.
    public var groupIndices: [Int32]

    public var exampleCount: Int { inputs.count / max(metadata.sequenceLength, 1) }

    /// FNV-1a (64-bit) over every array of the split: equal checksums, equal bytes.
    public var checksum: UInt64 {
        var h = FNV1a()
        inputs.forEachChunk { h.combine($0) }
        labels.forEachChunk { h.combine($0) }
        for array in [puzzleIdentifiers, puzzleIndices, groupIndices] {
            for v in array { withUnsafeBytes(of: v.littleEndian) { h.combine($0) } }
        }
        return h.value
    }
    public var puzzleCount: Int { puzzleIdentifiers.count }
    public var groupCount: Int { groupIndices.count - 1 }

    /// Example `e`'s input or label row.
    public func input(_ e: Int) -> [UInt8] {
        Array(inputs[(e * metadata.sequenceLength)..<((e + 1) * metadata.sequenceLength)])
    }
    public func label(_ e: Int) -> [UInt8] {
        Array(labels[(e * metadata.sequenceLength)..<((e + 1) * metadata.sequenceLength)])
    }
}

/// Accumulates groups of puzzles of examples, then yields a `DatasetSplit` — in memory, or
/// streamed to the split's `.npy` files as the examples come (`PuzzleDataset.stream`), so a
/// dataset larger than memory can be built.
public struct DatasetSplitBuilder {
    public let sequenceLength: Int
    private var inputs: [UInt8] = []
    private var labels: [UInt8] = []
    private var files: (inputs: NPYRowWriter, labels: NPYRowWriter)?
    public private(set) var exampleCount = 0
    public private(set) var puzzleIdentifiers: [Int32] = []
    public private(set) var puzzleIndices: [Int32] = [0]
    public private(set) var groupIndices: [Int32] = [0]

    public init(sequenceLength: Int) { self.sequenceLength = sequenceLength }

    /// A builder that writes its rows to `directory`'s `all__inputs.npy` and `all__labels.npy`.
    init(sequenceLength: Int, streamingTo directory: URL) throws {
        self.sequenceLength = sequenceLength
        files = (try NPYRowWriter(url: directory.appendingPathComponent("all__inputs.npy"), rowLength: sequenceLength),
                 try NPYRowWriter(url: directory.appendingPathComponent("all__labels.npy"), rowLength: sequenceLength))
    }

    /// Adds one puzzle (its examples as input/label rows of `sequenceLength` tokens). When
    /// streaming, a write the disk refuses is reported by `PuzzleDataset.stream` at the end.
    public mutating func addPuzzle(identifier: Int32, examples: [(input: [UInt8], label: [UInt8])]) {
        for e in examples {
            precondition(e.input.count == sequenceLength && e.label.count == sequenceLength,
                         "example rows must have \(sequenceLength) tokens")
            if let files {
                files.inputs.append(e.input)
                files.labels.append(e.label)
            } else {
                inputs += e.input
                labels += e.label
            }
        }
        exampleCount += examples.count
        puzzleIdentifiers.append(identifier)
        puzzleIndices.append(Int32(exampleCount))
    }

    /// Adds each example as a puzzle and group of its own (identifier 0): the un-augmented test
    /// splits of Sudoku and mazes.
    public mutating func addSingletons(_ examples: [(input: [UInt8], label: [UInt8])]) {
        for e in examples {
            addPuzzle(identifier: 0, examples: [e])
            endGroup()
        }
    }

    /// Closes the current group (the puzzles added since the last call).
    public mutating func endGroup() {
        if Int(groupIndices.last!) != puzzleIdentifiers.count { groupIndices.append(Int32(puzzleIdentifiers.count)) }
    }

    func metadata(vocabularySize: Int, puzzleIdentifierCount: Int, ignoreLabelID: Int?) -> DatasetMetadata {
        DatasetMetadata(
            ignoreLabelID: ignoreLabelID, vocabularySize: vocabularySize, sequenceLength: sequenceLength,
            puzzleIdentifierCount: puzzleIdentifierCount, totalGroups: groupIndices.count - 1,
            meanPuzzleExamples: Double(exampleCount) / Double(max(puzzleIdentifiers.count, 1)))
    }

    /// The split built in memory.
    public func build(vocabularySize: Int, puzzleIdentifierCount: Int, ignoreLabelID: Int? = 0) -> DatasetSplit {
        precondition(files == nil, "a streaming builder is finished by PuzzleDataset.stream")
        return DatasetSplit(metadata: metadata(vocabularySize: vocabularySize, puzzleIdentifierCount: puzzleIdentifierCount, ignoreLabelID: ignoreLabelID),
                            inputs: TokenBytes(inputs), labels: TokenBytes(labels), puzzleIdentifiers: puzzleIdentifiers,
                            puzzleIndices: puzzleIndices, groupIndices: groupIndices)
    }

    /// Finishes a streaming builder's files and writes the rest of its split folder.
    func finish(in directory: URL, vocabularySize: Int, puzzleIdentifierCount: Int, ignoreLabelID: Int?) throws {
        guard let files else { preconditionFailure("finish is for streaming builders") }
        try files.inputs.finish()
        try files.labels.finish()
        try PuzzleDataset.writeIndex(metadata(vocabularySize: vocabularySize, puzzleIdentifierCount: puzzleIdentifierCount, ignoreLabelID: ignoreLabelID),
                                     puzzleIdentifiers: puzzleIdentifiers, puzzleIndices: puzzleIndices, groupIndices: groupIndices, in: directory)
    }
}

/// A dataset folder: `identifiers.json`, and `train/`, `test/` splits.
public struct PuzzleDataset: Equatable, Sendable {
    public var identifiers: [String]
    public var splits: [String: DatasetSplit]

    public init(identifiers: [String] = ["<blank>"], splits: [String: DatasetSplit]) {
        self.identifiers = identifiers
        self.splits = splits
    }

    /// What a dataset folder holds: `identifiers.json` and one folder per split with its
    /// `dataset.json` and five arrays (the reference's layout).
    public static let layout = FolderLayout(
        name: "a dataset", required: ["identifiers.json"],
        subfolders: [("*", FolderLayout(name: "a dataset split", required: [
            "dataset.json", "all__inputs.npy", "all__labels.npy", "all__puzzle_identifiers.npy",
            "all__puzzle_indices.npy", "all__group_indices.npy"]))],
        minimumSubfolders: 1)

    /// Writes the folder in the reference's format. Everything goes to a temporary folder beside
    /// `directory`, flushed and renamed into place at the end, so a failure leaves no partial
    /// dataset.
    /// - Parameter force: replace an existing `directory` if it is a complete dataset (and
    ///   nothing else); without it an existing `directory` is refused.
    /// - Throws: `OutputError` for an existing target, `FileWriteError` when the disk refuses.
    public func write(to directory: URL, force: Bool = false) throws {
        try OutputTarget.checkFolder(directory, layout: Self.layout, force: force)
        let fm = FileManager.default
        let temp = try OutputTarget.makeStaging(for: directory)
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            try encoder.encode(identifiers).write(to: temp.appendingPathComponent("identifiers.json"))
            for (name, split) in splits {
                let dir = temp.appendingPathComponent(name)
                try fm.createDirectory(at: dir, withIntermediateDirectories: true)
                let s = split.metadata.sequenceLength
                let e = split.exampleCount
                try NPY.write(bytes: Array(split.inputs), shape: [e, s], to: dir.appendingPathComponent("all__inputs.npy"))
                try NPY.write(bytes: Array(split.labels), shape: [e, s], to: dir.appendingPathComponent("all__labels.npy"))
                try Self.writeIndex(split.metadata, puzzleIdentifiers: split.puzzleIdentifiers, puzzleIndices: split.puzzleIndices,
                                    groupIndices: split.groupIndices, in: dir)
            }
        } catch {
            try? fm.removeItem(at: temp)
            throw error
        }
        try OutputTarget.install(temp, at: directory)
    }

    /// A split folder's `dataset.json` and its three index arrays.
    static func writeIndex(_ metadata: DatasetMetadata, puzzleIdentifiers: [Int32], puzzleIndices: [Int32], groupIndices: [Int32],
                           in dir: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try AtomicFile.write(try encoder.encode(metadata), to: dir.appendingPathComponent("dataset.json"))
        try NPY.write(NPYArray(shape: [puzzleIdentifiers.count], values: puzzleIdentifiers),
                      to: dir.appendingPathComponent("all__puzzle_identifiers.npy"))
        try NPY.write(NPYArray(shape: [puzzleIndices.count], values: puzzleIndices),
                      to: dir.appendingPathComponent("all__puzzle_indices.npy"))
        try NPY.write(NPYArray(shape: [groupIndices.count], values: groupIndices),
                      to: dir.appendingPathComponent("all__group_indices.npy"))
    }

    /// Builds a dataset folder larger than memory: `build` receives one streaming builder per
    /// split name (each writes its rows straight into a staging folder) and returns the
    /// identifiers and sizes; the folder is then finished and installed whole, as `write` does.
    /// Memory stays at the index arrays plus what `build` itself holds.
    public static func stream(to directory: URL, force: Bool = false, splits names: [String], sequenceLength: Int,
                              build: (inout [String: DatasetSplitBuilder]) throws
                                  -> (identifiers: [String], vocabularySize: Int, ignoreLabelID: Int?)) throws {
        try OutputTarget.checkFolder(directory, layout: Self.layout, force: force)
        let fm = FileManager.default
        let temp = try OutputTarget.makeStaging(for: directory)
        do {
            var builders: [String: DatasetSplitBuilder] = [:]
            for name in names {
                let dir = temp.appendingPathComponent(name)
                try fm.createDirectory(at: dir, withIntermediateDirectories: true)
                builders[name] = try DatasetSplitBuilder(sequenceLength: sequenceLength, streamingTo: dir)
            }
            let result = try build(&builders)
            for (name, builder) in builders {
                try builder.finish(in: temp.appendingPathComponent(name), vocabularySize: result.vocabularySize,
                                   puzzleIdentifierCount: result.identifiers.count, ignoreLabelID: result.ignoreLabelID)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            try AtomicFile.write(try encoder.encode(result.identifiers), to: temp.appendingPathComponent("identifiers.json"))
        } catch {
            try? fm.removeItem(at: temp)
            throw error
        }
        try OutputTarget.install(temp, at: directory)
    }

    /// Reads a dataset folder (ours or one built by the reference's Python builders), checking
    /// every file against the metadata.
    /// - Throws: `DatasetError` naming the file, the field and what was expected.
    public static func read(from directory: URL, splits names: [String] = ["train", "test"]) throws -> PuzzleDataset {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DatasetError.missing(path: directory.path, what: "a dataset folder (with train/ and test/)")
        }
        var identifiers = ["<blank>"]
        let idURL = directory.appendingPathComponent("identifiers.json")
        if fm.fileExists(atPath: idURL.path) {
            guard let data = fm.contents(atPath: idURL.path) else {
                throw DatasetError.invalid(file: idURL.path, field: nil, reason: "cannot be read")
            }
            identifiers = try decodeIdentifiers(data, file: idURL.path)
        }
        var splits: [String: DatasetSplit] = [:]
        for name in names {
            let dir = directory.appendingPathComponent(name)
            guard fm.fileExists(atPath: dir.appendingPathComponent("dataset.json").path) else { continue }
            splits[name] = try readSplit(dir)
        }
        guard !splits.isEmpty else {
            throw DatasetError.missing(path: directory.path, what: "train/dataset.json or test/dataset.json")
        }
        return PuzzleDataset(identifiers: identifiers, splits: splits)
    }

    /// `identifiers.json`: a JSON list of puzzle names.
    public static func decodeIdentifiers(_ data: Data, file: String) throws -> [String] {
        do { return try JSONDecoder().decode([String].self, from: data) } catch {
            throw DatasetError.invalid(file: file, field: nil, reason: "expected a JSON list of strings")
        }
    }

    static func readSplit(_ dir: URL) throws -> DatasetSplit {
        let metaURL = dir.appendingPathComponent("dataset.json")
        guard let metaData = FileManager.default.contents(atPath: metaURL.path) else {
            throw DatasetError.invalid(file: metaURL.path, field: nil, reason: "cannot be read")
        }
        let metadata = try DatasetMetadata.decode(metaData, file: metaURL.path)
        let set = metadata.sets.first ?? "all"
        func array(_ field: String) throws -> NPYArray {
            let url = dir.appendingPathComponent("\(set)__\(field).npy")
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw DatasetError.missing(path: url.path, what: "the \(field) array")
            }
            return try NPY.readIntegers(url)
        }
        let s = metadata.sequenceLength
        let path = { (f: String) in dir.appendingPathComponent("\(set)__\(f).npy").path }
        let (inputs, inputShape) = try tokens(dir.appendingPathComponent("\(set)__inputs.npy"), vocabularySize: metadata.vocabularySize)
        let (labels, labelShape) = try tokens(dir.appendingPathComponent("\(set)__labels.npy"), vocabularySize: metadata.vocabularySize)
        let ids = try array("puzzle_identifiers"), puzzles = try array("puzzle_indices"), groups = try array("group_indices")
        guard inputShape.count == 2, inputShape[1] == s else {
            throw DatasetError.invalid(file: path("inputs"), field: "shape", reason: "is \(inputShape); expected [examples, \(s)] (seq_len)")
        }
        guard labelShape == inputShape else {
            throw DatasetError.invalid(file: path("labels"), field: "shape", reason: "is \(labelShape); expected \(inputShape) like the inputs")
        }
        let examples = inputShape[0]
        guard puzzles.shape == [ids.values.count + 1], puzzles.values.first == 0, puzzles.values.last == Int32(examples),
              zip(puzzles.values, puzzles.values.dropFirst()).allSatisfy({ $0 <= $1 })
        else {
            throw DatasetError.invalid(file: path("puzzle_indices"), field: nil,
                                       reason: "must be [puzzles + 1] = [\(ids.values.count + 1)], rising from 0 to \(examples) (the example count)")
        }
        guard groups.values.first == 0, groups.values.last == Int32(ids.values.count),
              zip(groups.values, groups.values.dropFirst()).allSatisfy({ $0 <= $1 })
        else {
            throw DatasetError.invalid(file: path("group_indices"), field: nil,
                                       reason: "must rise from 0 to \(ids.values.count) (the puzzle count)")
        }
        if let bad = ids.values.first(where: { $0 < 0 || Int($0) >= metadata.puzzleIdentifierCount }) {
            throw DatasetError.invalid(file: path("puzzle_identifiers"), field: nil,
                                       reason: "holds \(bad), outside 0..<\(metadata.puzzleIdentifierCount) (num_puzzle_identifiers)")
        }
        return DatasetSplit(metadata: metadata, inputs: inputs, labels: labels, puzzleIdentifiers: ids.values,
                            puzzleIndices: puzzles.values, groupIndices: groups.values)
    }

    /// A token array: a `uint8` file (how datasets are stored) is memory-mapped and its tokens
    /// checked in one pass that gives its pages back; another integer type is read and narrowed.
    static func tokens(_ url: URL, vocabularySize: Int) throws -> (TokenBytes, [Int]) {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw DatasetError.missing(path: url.path, what: "the \(url.lastPathComponent.contains("labels") ? "labels" : "inputs") array")
        }
        let (descr, shape, offset) = try NPY.header(of: url)
        let bytes: TokenBytes
        if ["|u1", "<u1"].contains(descr) {
            guard let count = CheckedSize.product(shape) else {
                throw DatasetError.invalid(file: url.path, field: "shape", reason: "\(shape) is too large to exist")
            }
            bytes = try TokenBytes(mapping: url, offset: offset, count: count)
        } else {
            let array = try NPY.readIntegers(url)
            if let bad = array.values.first(where: { $0 < 0 || Int($0) >= vocabularySize }) {
                throw DatasetError.invalid(file: url.path, field: nil, reason: "holds token \(bad), outside 0..<\(vocabularySize) (vocab_size)")
            }
            bytes = TokenBytes(array.values.map { UInt8($0) })
        }
        var bad: UInt8?
        bytes.forEachChunk { chunk in
            if bad == nil, let b = chunk.first(where: { Int($0) >= vocabularySize }) { bad = b }
        }
        if let bad {
            throw DatasetError.invalid(file: url.path, field: nil, reason: "holds token \(bad), outside 0..<\(vocabularySize) (vocab_size)")
        }
        return (bytes, shape)
    }
}

/// A dataset folder that cannot be used.
public enum DatasetError: Error, CustomStringConvertible, Equatable {
    case missing(path: String, what: String)
    case invalid(file: String, field: String?, reason: String)

    public var description: String {
        switch self {
        case .missing(let p, let w): return "\(p): not found; expected \(w)."
        case .invalid(let f, let field, let r):
            return field.map { "\(f): field '\($0)' \(r)." } ?? "\(f): \(r)."
        }
    }
}

/// The 64-bit FNV-1a hash, fed incrementally: dataset checksums and the shipped model's.
public struct FNV1a: Sendable {
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    public init() {}

    public mutating func combine(_ bytes: UnsafeRawBufferPointer) {
        var h = value
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        value = h
    }

    /// The hash of `data` as 16 hex digits.
    public static func hex(_ data: Data) -> String {
        var h = FNV1a()
        data.withUnsafeBytes { h.combine($0) }
        let digits = String(h.value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
