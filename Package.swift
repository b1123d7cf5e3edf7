// swift-tools-version: 6.1
// swift-hrm: the Hierarchical Reasoning Model (arXiv:2506.21734) as a Swift package.
// See DESIGN.md for the layering; each module imports only those below it.
import PackageDescription

// Language mode 5: the engine shares reference-typed tensors with its own parallel loops on
// purpose (each loop writes disjoint ranges), which strict Swift 6 concurrency checking cannot
// see. Everything else about Swift 6 applies.
let swiftSettings: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let package = Package(
    name: "swift-hrm",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "hrm", targets: ["HRMCommand"]),
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "Layers", targets: ["Layers"]),
        .library(name: "Reasoning", targets: ["Reasoning"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "Application", targets: ["Application"]),
        .library(name: "Puzzles", targets: ["Puzzles"]),
        .library(name: "SafeFiles", targets: ["SafeFiles"]),
        .library(name: "Cluster", targets: ["Cluster"]),
    ],
    // `OneDNN` (off by default): bf16 matrix products through oneDNN (`apt-get install
    // libdnnl-dev`, then `swift build --traits OneDNN`). Without it the package needs only BLAS.
    traits: [
        .trait(name: "OneDNN", description: "bf16 matrix products through oneDNN (libdnnl-dev)."),
        .trait(name: "MPI", description: "data-parallel training under mpirun (Open MPI, libopenmpi-dev)."),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // YAML, for the reference's all_config.yaml beside its checkpoints (read, never run).
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // cblas.h from OpenBLAS on Linux (pkg-config "openblas"); Accelerate on Apple platforms.
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]
        ),
        // oneDNN 2.x (Debian libdnnl-dev has no pkg-config file; headers and library are on the
        // default paths). Only with the OneDNN trait.
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"]), .brew(["onednn"])]),
        // Writing files and folders without ever losing one: atomic, flushed, refused when the
        // target is not hrm's own. Foundation only; everything that writes goes through it.
        .target(name: "SafeFiles", exclude: ["README.md"], swiftSettings: swiftSettings),
        // Open MPI (Debian libopenmpi-dev; pkg-config "ompi-c"). Only with the MPI trait.
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev", "openmpi-bin"]), .brew(["open-mpi"])]),
        // The ranks of a data-parallel job and their collectives (MPI with the trait, one
        // process without). Foundation only otherwise.
        .target(name: "Cluster", dependencies: [.target(name: "CMPI", condition: .when(traits: ["MPI"]))],
                exclude: ["README.md"],
                swiftSettings: swiftSettings + [.define("MPI", .when(traits: ["MPI"]))]),
        // The CPU's widest multiply-add loops, each compiled for its own instruction set (target
        // attributes, no -march): `hrm bench peak` measures the machine's limit with them.
        .target(name: "CPeak"),
        .target(
            name: "Tensors",
            dependencies: [
                "SafeFiles", "CPeak",
                .target(name: "CBLAS", condition: .when(platforms: [.linux])),
                .target(name: "CDNNL", condition: .when(traits: ["OneDNN"])),
            ],
            exclude: ["README.md"],
            swiftSettings: swiftSettings + [.define("ONEDNN", .when(traits: ["OneDNN"]))],
            linkerSettings: [.linkedFramework("Accelerate", .when(platforms: [.macOS, .iOS]))]
        ),
        .target(name: "Layers", dependencies: ["Tensors"], exclude: ["README.md"],
                swiftSettings: swiftSettings),
        .target(name: "Puzzles", dependencies: ["SafeFiles"], exclude: ["README.md"], swiftSettings: swiftSettings),
        // What every recurrent reasoning model is to the machinery above it (the protocol).
        .target(name: "Reasoning", dependencies: ["Layers", "Tensors"], swiftSettings: swiftSettings),
        // One file per architecture (HRM/, TRM/), plus the tag that picks one. Nothing of training.
        .target(name: "Models", dependencies: ["Reasoning", "Layers", "Tensors"], exclude: ["README.md"],
                swiftSettings: swiftSettings),
        // The shared machinery, written once against the protocol: ACT, losses, optimizers, EMA,
        // trainer, runs, checkpoints, evaluator, inspection.
        .target(name: "Training", dependencies: ["Models", "Reasoning", "Layers", "Tensors", "Puzzles", "SafeFiles", "Cluster",
                                                 .product(name: "Yams", package: "Yams")],
                exclude: ["README.md"], swiftSettings: swiftSettings),
        // What users run on top: solver, Sudoku views, model packages, shipped models, benchmarks.
        .target(name: "Application", dependencies: ["Training", "Models", "Reasoning", "Layers", "Tensors", "Puzzles", "SafeFiles"],
                exclude: ["README.md"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "HRMCommand",
            dependencies: [
                "Application", "Training", "Models", "Reasoning", "Layers", "Tensors", "Puzzles", "SafeFiles", "Cluster",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .target(name: "TestSupport", dependencies: ["Tensors"], swiftSettings: swiftSettings),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "TestSupport"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "LayersTests", dependencies: ["Layers", "Tensors", "TestSupport"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "HRMTests", dependencies: ["Application", "Training", "Models", "Reasoning", "Layers", "Tensors", "Puzzles", "SafeFiles", "TestSupport"], exclude: ["Fixtures"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "PuzzlesTests", dependencies: ["Puzzles", "TestSupport"], exclude: ["Fixtures"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "SafeFilesTests", dependencies: ["SafeFiles", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "HRMCommandTests", dependencies: ["HRMCommand", "Application", "Training", "Models", "Reasoning", "Puzzles", "Tensors", "SafeFiles", "Cluster", "TestSupport"],
                    swiftSettings: swiftSettings),
    ]
)
