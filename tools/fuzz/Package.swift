// swift-tools-version: 6.1
// libFuzzer targets over every reader of outside bytes in swift-hrm. Built and run by
// `tools/fuzz/run` (or `make fuzz`), never by the main package's build:
//   swift build --package-path tools/fuzz -c release -Xswiftc -sanitize=fuzzer,address
// One binary holds every target; HRM_FUZZ_TARGET chooses it (see Sources/Fuzz.swift).
import PackageDescription

let package = Package(
    name: "hrm-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "swift-hrm", path: "../..")],
    targets: [
        .target(name: "CFuzzer", path: "CFuzzer"),
        .executableTarget(
            name: "hrm-fuzz",
            dependencies: [
                "CFuzzer",
                .product(name: "Puzzles", package: "swift-hrm"),
                .product(name: "Tensors", package: "swift-hrm"),
                .product(name: "Models", package: "swift-hrm"),
                .product(name: "Training", package: "swift-hrm"),
                .product(name: "Application", package: "swift-hrm"),
            ],
            path: "Sources",
            // No Swift main: the entry point is CFuzzer's hrm_fuzz_main.
            swiftSettings: [.swiftLanguageMode(.v5), .unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
