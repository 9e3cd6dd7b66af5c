// swift-tools-version:6.2
import PackageDescription

// Release-mode benchmarks, kept out of the root package so that `swift build` and `swift test`
// there stay quick. Run with:
//     cd Benchmarks && swift run -c release twlab-bench            # the simulator
//     cd Benchmarks && swift run -c release twlab-inspect-bench    # inspect vs ss (root)
let package = Package(
    name: "twlab-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "twlab", path: "..")
    ],
    targets: [
        .executableTarget(
            name: "twlab-bench",
            dependencies: [
                .product(name: "Simulation", package: "twlab"),
                .product(name: "Scenario", package: "twlab"),
                .product(name: "Results", package: "twlab"),
            ]
        ),
        .executableTarget(
            name: "twlab-inspect-bench",
            dependencies: [
                .product(name: "HostInspect", package: "twlab"),
                .product(name: "Exporter", package: "twlab"),
                .product(name: "TestSupport", package: "twlab"),
            ]
        ),
    ]
)
