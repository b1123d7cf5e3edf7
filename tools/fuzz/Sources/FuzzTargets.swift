import Foundation
import Application
import Models
import Puzzles
import Tensors
import Training

/// The fuzz targets: each feeds the bytes to one reader of outside data and checks that what it
/// accepts is self-consistent. Thrown errors are the readers' answer to bad input and are
/// fine; a crash, a trap, a hang or an allocation beyond libFuzzer's limits is a bug.
enum FuzzTarget: String, CaseIterable {
    case npy, safetensors, datasetJSON = "dataset-json", identifiersJSON = "identifiers-json"
    case manifest, modelConfig = "model-config", runConfig = "run-config", arcTask = "arc-task", sudokuText = "sudoku-text", sudokuCSV = "sudoku-csv", mazeText = "maze-text"
    case torchCheckpoint = "torch-checkpoint", referenceConfig = "reference-config"

    func run(_ data: Data) {
        switch self {
        case .npy:
            if let array = try? NPY.readIntegers(data: data, source: "fuzz.npy") {
                precondition(array.values.count == array.shape.reduce(1, *))
            }
        case .safetensors:
            if let file = try? SafetensorsFile(data: data, path: "fuzz.safetensors") {
                for (name, entry) in file.entries {
                    if ["F32", "F16", "BF16", "F64"].contains(entry.dtype) {
                        precondition((try? file.tensor(name))?.count == entry.shape.reduce(1, *))
                    } else {
                        _ = try? file.int32s(name)
                    }
                }
                _ = try? Checkpoint.configuration(in: file)
            }
        case .torchCheckpoint:
            if let file = try? TorchCheckpointFile(data: data, path: "fuzz/checkpoint") {
                for (name, info) in file.tensorInfo {
                    if info.isFloat {
                        precondition((try? file.tensor(name))?.count == info.shape.reduce(1, *))
                    } else {
                        precondition((try? file.integers(name))?.count == info.shape.reduce(1, *))
                    }
                }
            }
        case .referenceConfig:
            if let config = try? ReferenceCheckpoint.configuration(yaml: String(decoding: data, as: UTF8.self), source: "all_config.yaml",
                                                                   tensors: FixtureShapes(), sequenceLength: 16) {
                precondition(config.problems.isEmpty)
            }
        case .datasetJSON:
            _ = try? DatasetMetadata.decode(data, file: "dataset.json")
        case .identifiersJSON:
            _ = try? PuzzleDataset.decodeIdentifiers(data, file: "identifiers.json")
        case .manifest:
            _ = try? ModelPackage.decodeManifest(data, file: "manifest.json")
        case .modelConfig:
            if let config = try? JSONDecoder().decode(ModelConfiguration.self, from: data) {
                _ = try? JSONEncoder().encode(config)
            }
        case .runConfig:
            _ = try? JSONDecoder().decode(RunConfiguration.self, from: data)
        case .arcTask:
            if let task = try? ARCTask(parsing: data, source: "task.json", name: "fuzz") {
                for pair in task.train + task.test {
                    precondition(pair.input.rows <= 30 && pair.input.columns <= 30)
                    _ = ARCEncoding.encode(pair.input)
                }
            }
        case .sudokuText:
            if let s = try? Sudoku(parsing: String(decoding: data, as: UTF8.self)) {
                _ = SudokuSolver().solve(s, limit: 2)
            }
        case .sudokuCSV:
            _ = try? SudokuRecord.parseCSV(String(decoding: data, as: UTF8.self), source: "fuzz.csv")
        case .mazeText:
            if let maze = try? Maze(parsing: String(decoding: data, as: UTF8.self), source: "maze.txt") {
                _ = maze.shortestPath()
            }
        }
    }
}

let selected: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["HRM_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write(Data("set HRM_FUZZ_TARGET to one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
        exit(2)
    }
    return target
}()

/// One input: the bytes go to the selected target.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = count > 0 ? Data(bytes: start!, count: count) : Data()
    selected.run(data)
    return 0
}

/// The tensor shapes of the HRM fixture checkpoint (Tests/HRMTests/Fixtures/torch/hrm), for the
/// all_config.yaml target: the YAML is fuzzed, the tensors stay those of a real checkpoint.
struct FixtureShapes: TensorFile {
    var path: String { "fuzz/checkpoint" }
    var tensorInfo: [String: TensorInfo] {
        let p = "_orig_mod.model.inner."
        return [
            p + "embed_tokens.embedding_weight": TensorInfo(dtype: "F32", shape: [6, 8]),
            p + "puzzle_emb.weights": TensorInfo(dtype: "F32", shape: [3, 8]),
            p + "lm_head.weight": TensorInfo(dtype: "F32", shape: [6, 8]),
        ]
    }
    func tensor(_ name: String) throws -> Tensor {
        let shape = tensorInfo[name]!.shape
        return Tensor([Float](repeating: 0, count: shape.reduce(1, *)), shape: shape)
    }
}
