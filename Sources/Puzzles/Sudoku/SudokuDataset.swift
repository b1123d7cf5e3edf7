import Dispatch
import Foundation

/// Sudoku datasets in the reference's format (spec §10.3, §12.1): tokens 0 PAD, 1 blank,
/// digit + 1; all 81 cells supervised; one puzzle-embedding id (0); each original and its
/// augmentations form one group (train), every test puzzle its own group.
public enum SudokuDataset {
    public static let vocabularySize = 11

    /// The token row of a Sudoku (blank → 1, digit d → d + 1).
    public static func tokens(_ s: Sudoku) -> [UInt8] { s.cells.map { $0 + 1 } }

    /// The Sudoku a token row encodes (inverse of `tokens`; PAD reads as blank).
    public static func sudoku(tokens: [UInt8]) -> Sudoku {
        Sudoku(cells: tokens.map { $0 <= 1 ? 0 : min($0 - 1, 9) })
    }

    /// Builds the two splits; `augmentations` variants per training original.
    public static func build<G: RandomNumberGenerator>(
        train: [(puzzle: Sudoku, solution: Sudoku)], test: [(puzzle: Sudoku, solution: Sudoku)],
        augmentations: Int, using generator: inout G
    ) -> PuzzleDataset {
        var trainBuilder = DatasetSplitBuilder(sequenceLength: 81)
        for (puzzle, solution) in train {
            trainBuilder.addPuzzle(identifier: 0, examples: [(tokens(puzzle), tokens(solution))])
            for _ in 0..<augmentations {
                let a = SudokuAugmentation(using: &generator)
                trainBuilder.addPuzzle(identifier: 0, examples: [(tokens(a.apply(puzzle)), tokens(a.apply(solution)))])
            }
            trainBuilder.endGroup()
        }
        var testBuilder = DatasetSplitBuilder(sequenceLength: 81)
        testBuilder.addSingletons(test.map { (tokens($0.puzzle), tokens($0.solution)) })
        return PuzzleDataset(splits: [
            "train": trainBuilder.build(vocabularySize: vocabularySize, puzzleIdentifierCount: 1),
            "test": testBuilder.build(vocabularySize: vocabularySize, puzzleIdentifierCount: 1),
        ])
    }

    /// `count` generated puzzles, on all cores; puzzle i depends only on (`seed`, i), so the same
    /// seed gives the same puzzles whatever the thread count. `progress` is called from worker
    /// threads with the number finished so far.
    public static func generate(count: Int, generator: SudokuGenerator, seed: UInt64,
                                progress: @escaping @Sendable (Int) -> Void = { _ in })
        -> [(puzzle: Sudoku, solution: Sudoku, rating: Int)]
    {
        generateInParallel(count: count, seed: seed, progress: progress) { rng in
            generator.generate(using: &rng)  // a solver per puzzle: its scratch is not shared
        }
    }

    /// `count` items made on all cores; item i comes from its own `SplitMix(seed:item:)`, so the
    /// same seed gives the same items whatever the thread count, and no two items' streams
    /// overlap.
    static func generateInParallel<T>(count: Int, seed: UInt64, progress: @escaping @Sendable (Int) -> Void,
                                      make: (inout SplitMix) -> T) -> [T] {
        let results = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        let counter = Counter()
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        withoutActuallyEscaping(make) { make in
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var i = w
                while i < count {
                    var rng = SplitMix(seed: seed, item: i)
                    results[i] = make(&rng)
                    progress(counter.increment())
                    i += workers
                }
            }
        }
        return results.map { $0! }
    }
}

/// A small, fast, seedable generator for per-item streams (SplitMix64).
public struct SplitMix: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }

    /// The stream of item `index` of a collection drawn from `seed`, its starting state hashed
    /// from both. (Seeding item i with seed + γ·(i + 1), γ the stream's own increment, made
    /// item i + 1's stream item i's shifted by one draw; a generator that rejects and draws
    /// again — rated Sudokus — then gave many items the same puzzle.)
    public init(seed: UInt64, item index: Int) {
        state = Self.mix(seed ^ Self.mix(UInt64(truncatingIfNeeded: index) &+ 0x6A09_E667_F3BC_C909))
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// SplitMix64's output function (a bijection of 64-bit values).
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A thread-safe counter for progress reports.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}
