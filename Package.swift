// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "twlab",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "twlab", targets: ["twlab"]),
        .library(name: "LinuxTCP", targets: ["LinuxTCP"]),
        .library(name: "Simulation", targets: ["Simulation"]),
        .library(name: "Scenario", targets: ["Scenario"]),
        .library(name: "Results", targets: ["Results"]),
        .library(name: "Report", targets: ["Report"]),
        .library(name: "HostInspect", targets: ["HostInspect"]),
        .library(name: "KernelLab", targets: ["KernelLab"]),
        .library(name: "Exporter", targets: ["Exporter"]),
        .library(name: "Advisor", targets: ["Advisor"]),
        // Test fixtures (namespaces, fast TIME-WAIT making), also used by Benchmarks/.
        .library(name: "TestSupport", targets: ["TestSupport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // The exporter only: the Prometheus client (text format) and a light HTTP server
        // (non-blocking sockets and Swift concurrency, no SwiftNIO).
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
    ],
    targets: [
        // The model of one host's TCP stack: pure, deterministic, no Foundation, no I/O.
        .target(name: "LinuxTCP"),
        // The result contract shared by both engines, expectations, and their JSON form.
        .target(name: "Results"),
        // The scenario file: schema, YAML decoding, validation, the built-in catalogue.
        .target(
            name: "Scenario",
            dependencies: ["LinuxTCP", "Results", .product(name: "Yams", package: "Yams")]
        ),
        // Discrete-event engine, network, applications, sampler -> RunResult.
        .target(name: "Simulation", dependencies: ["LinuxTCP", "Scenario", "Results"]),
        // C helpers for netlink sock_diag (INET_DIAG) and the NLMSG_* macros.
        .target(name: "CNetlink"),
        // Reads a live host or namespace: sock_diag, /proc/net counters, sysctls.
        .target(name: "HostInspect", dependencies: ["CNetlink"]),
        // Runs a scenario on the real kernel in network namespaces; the in-namespace agent.
        .target(name: "KernelLab", dependencies: ["HostInspect", "Scenario", "Results", "LinuxTCP"]),
        // Findings with evidence from an inspection; what-ifs answered by the simulator.
        .target(
            name: "Advisor", dependencies: ["HostInspect", "LinuxTCP", "Scenario", "Simulation", "Results"]),
        // Terminal tables and JSON for results, inspections and advice.
        .target(
            name: "Report",
            dependencies: ["Results", "Scenario", "HostInspect", "Advisor", "Simulation", "LinuxTCP"]),
        // Prometheus exporter over HTTP: the only module with the HTTP and Prometheus packages.
        .target(
            name: "Exporter",
            dependencies: [
                "HostInspect",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "FlyingFox", package: "FlyingFox"),
                .product(name: "FlyingSocks", package: "FlyingFox"),
            ]
        ),
        // The command line: thin wiring only.
        .executableTarget(
            name: "twlab",
            dependencies: [
                "Scenario", "Simulation", "Report", "Results", "KernelLab", "HostInspect", "Exporter",
                "Advisor", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Runs the built twlab binary from tests.
        .target(name: "TestSupport", dependencies: ["HostInspect"], path: "Tests/TestSupport"),
        .testTarget(name: "LinuxTCPTests", dependencies: ["LinuxTCP"]),
        .testTarget(name: "ScenarioTests", dependencies: ["Scenario", "LinuxTCP", "Results"]),
        .testTarget(
            name: "SimulationTests", dependencies: ["Simulation", "Scenario", "Results", "LinuxTCP"]),
        .testTarget(
            name: "ReportTests",
            dependencies: [
                "Report", "Results", "Scenario", "HostInspect", "TestSupport", "Simulation", "LinuxTCP",
            ],
            exclude: ["Snapshots"]),
        .testTarget(name: "HostInspectTests", dependencies: ["HostInspect", "TestSupport"]),
        .testTarget(name: "AdvisorTests", dependencies: ["Advisor", "HostInspect", "Report", "TestSupport"]),
        .testTarget(name: "ExporterTests", dependencies: ["Exporter", "HostInspect", "TestSupport"]),
        .testTarget(
            name: "KernelLabTests",
            dependencies: ["KernelLab", "HostInspect", "Scenario", "Results", "Simulation", "TestSupport"]),
    ]
)
