import Foundation
import Models
import Reasoning
import Training

/// Where the models that ship with swift-hrm are found, from any working folder.
///
/// A shipped model is a model package (`ModelPackage`) named like `sudoku-9x9`. The folders
/// searched, in order: `$HRM_MODELS` alone when it is set; `share/swift-hrm/models` beside the
/// binary's `bin/` (what `make install PREFIX=…` writes); `models/` next to the binary; the
/// repository the binary was built in (`.build/…/release/hrm` → `models/`); `./models`.
///
/// ```swift
/// let package = try ModelPackage(directory: try ShippedModels.locate(ShippedModels.sudoku9x9))
/// ```
public enum ShippedModels {
    /// The 9×9 Sudoku model (`models/sudoku-9x9` in the repository).
    public static let sudoku9x9 = "sudoku-9x9"
    /// The shipped TRM 9×9 Sudoku model's package.
    public static let sudoku9x9TRM = "sudoku-9x9-trm"
    /// The shipped 9×9 maze model's package (mazes up to 9×9, smaller ones padded).
    public static let maze9x9 = "maze-9x9"
    /// The shipped Sudoku models, the default first (what `hrm demo` puts side by side).
    public static let sudoku = [sudoku9x9TRM, sudoku9x9]
    /// Every shipped model: the Sudoku models, then the maze model.
    public static let all = sudoku + [maze9x9]
    /// The model a maze goes to when none is named.
    public static let defaultMaze = maze9x9
    /// The model a Sudoku goes to when none is named: the TRM, the stronger of the two (README,
    /// "The shipped models": 95.0 % against 80.6 % alone on fresh puzzles).
    public static let defaultSudoku = sudoku9x9TRM
    /// The environment variable that names the models' folder (overriding every other place).
    public static let environmentVariable = "HRM_MODELS"

    /// The folders searched for shipped models, in order.
    /// - Parameters:
    ///   - environment: the process's environment (`HRM_MODELS`).
    ///   - executable: the running binary (symbolic links resolved).
    public static func searchFolders(environment: [String: String] = ProcessInfo.processInfo.environment,
                                     executable: URL? = Bundle.main.executableURL) -> [URL] {
        if let override = environment[environmentVariable], !override.isEmpty {
            return [URL(fileURLWithPath: override)]
        }
        var folders: [URL] = []
        if let binary = executable?.resolvingSymlinksInPath().deletingLastPathComponent() {
            folders.append(binary.deletingLastPathComponent().appendingPathComponent("share/swift-hrm/models"))
            folders.append(binary.appendingPathComponent("models"))
            // .build/release/hrm and .build/<triple>/release/hrm inside the repository.
            var up = binary
            for _ in 0..<3 {
                up = up.deletingLastPathComponent()
                if FileManager.default.fileExists(atPath: up.appendingPathComponent("Package.swift").path) {
                    folders.append(up.appendingPathComponent("models"))
                    break
                }
            }
        }
        folders.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("models"))
        var seen = Set<String>()
        return folders.map(\.standardizedFileURL).filter { seen.insert($0.path).inserted }
    }

    /// The folder of the shipped model `name`: the first search folder that holds its manifest.
    /// - Throws: `ModelPackageError.notFound` listing every folder searched.
    public static func locate(_ name: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                              executable: URL? = Bundle.main.executableURL) throws -> URL {
        let folders = searchFolders(environment: environment, executable: executable)
        for folder in folders {
            let candidate = folder.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent(ModelPackage.manifestFile).path) {
                return candidate
            }
        }
        throw ModelPackageError.notFound(name: name, searched: folders.map(\.path))
    }
}
