// swift-tools-version:6.0
import PackageDescription

// Release builds let each module's generic code be specialized in the modules that use it: without it the health
// policy (generic over its real and check types) ran unspecialized at start, a quarter of start's CPU natively at
// 2000x16 and half of it under the lab's emulation (keypaths and type metadata looked up at run time).
let optimized: [SwiftSetting] = [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]

let package = Package(
    name: "directord",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "directord", targets: ["directord"]),
        .executable(name: "directorctl", targets: ["directorctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
    ],
    targets: [
        // The only C imports: libnl (generic netlink for IPVS, rtnetlink for addresses), OpenSSL and PCRE2.
        .systemLibrary(
            name: "CNetlink",
            pkgConfig: "libnl-genl-3.0",
            providers: [.apt(["libnl-3-dev", "libnl-genl-3-dev", "libnl-route-3-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // PCRE2 for HTTP_GET's regex, as keepalived uses it.
        .systemLibrary(
            name: "CPCRE2",
            pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]
        ),
        .systemLibrary(name: "CPlatform"),
        .systemLibrary(name: "CEpoll", path: "Tests/Bench/CEpoll"),
        // The one address type (address, prefix, endpoint, family): every module that names a host imports it.
        .target(name: "Addresses", swiftSettings: optimized),
        .target(name: "DirectorConfig", dependencies: ["Addresses", "CPCRE2"], swiftSettings: optimized),
        .target(name: "ControlProtocol", swiftSettings: optimized),
        .target(
            name: "Director",
            dependencies: [
                "Addresses", "DirectorConfig", "IPVS", "Platform", "CPlatform", "ControlProtocol", "Reactor", "VRRPHost", "HealthCheck",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: optimized
        ),
        .target(name: "Platform", dependencies: ["CPlatform", "CNetlink"], swiftSettings: optimized),
        // One epoll loop per thread, one timer heap, a cross-thread wake-up: the health checker's and the VRRP host's.
        .target(name: "Timeline", swiftSettings: optimized),
        .target(name: "Reactor", dependencies: ["CPlatform", "Platform", "Timeline"], swiftSettings: optimized),
        .target(name: "IPVS", dependencies: ["Addresses", "CNetlink"], swiftSettings: optimized),
        .target(name: "VRRP", dependencies: ["Addresses", "Timeline"], swiftSettings: optimized),
        .target(
            name: "VRRPHost",
            dependencies: [
                "Addresses", "VRRP", "DirectorConfig", "Platform", "Reactor", "Timeline", "IPVS", "ControlProtocol", "COpenSSL",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: optimized
        ),
        .target(
            name: "HealthCheck",
            dependencies: [
                "Addresses", "COpenSSL", "CPCRE2", "Reactor", "Platform", "Timeline",
            ],
            swiftSettings: optimized
        ),
        .executableTarget(
            name: "directord",
            dependencies: [
                "DirectorConfig", "IPVS", "Director", "Platform", "VRRPHost",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "directorctl",
            dependencies: [
                "DirectorConfig", "IPVS", "HealthCheck", "ControlProtocol", "Platform",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "ReactorTests", dependencies: ["Reactor", "Platform"]),
        .testTarget(name: "PlatformTests", dependencies: ["Platform", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
        .testTarget(name: "ControlProtocolTests", dependencies: ["ControlProtocol"]),
        .testTarget(name: "DirectorTests", dependencies: ["Director", "DirectorConfig", "IPVS", "Platform", "ControlProtocol", "VRRPHost", "HealthCheck", "Reactor",
                                                             .product(name: "NIOCore", package: "swift-nio"),
                                                             .product(name: "NIOPosix", package: "swift-nio")]),
        .testTarget(
            name: "DirectorConfigTests", dependencies: ["DirectorConfig"],
            // Seed configs, bad-input cases and the fuzz corpus, replayed by the unit tests.
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "IPVSTests", dependencies: ["IPVS", "Addresses"]),
        // Lab helper: drives the IPVS binding with ipvsadm syntax inside the VM (Tests/Lab/README-ipvs-tool.md).
        .executableTarget(name: "lab-ipvs", dependencies: ["IPVS"], path: "Tests/Lab/Tool"),
        .testTarget(name: "AddressesTests", dependencies: ["Addresses"]),
        .testTarget(name: "VRRPTests", dependencies: ["VRRP", "Addresses"]),
        .testTarget(name: "VRRPHostTests", dependencies: ["VRRPHost", "VRRP", "DirectorConfig", "Platform", "IPVS", "Reactor"]),
        // Lab helper: runs only the VRRP host from a config file until SIGTERM (Tests/Lab/scenarios/vrrp-*.sh).
        .executableTarget(
            name: "lab-vrrp",
            dependencies: ["VRRPHost", "DirectorConfig", .product(name: "Logging", package: "swift-log")],
            path: "Tests/Lab/VRRPTool"
        ),
        // Lab helper: a non-forking HTTP responder for the health-check benchmarks (Tests/Bench/guest/bench_health.py).
        .executableTarget(name: "lab-responder", path: "Tests/Lab/Responder"),
        // Benchmark helper: the health checker alone against loopback, for a native per-check cost and profiling.
        .executableTarget(
            name: "bench-checker",
            dependencies: ["HealthCheck", "Reactor", "CEpoll", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
            path: "Tests/Bench/Checker"
        ),
        // Benchmark helper: one reload's own cost natively, against the in-memory table (Tests/Bench/Reload).
        .executableTarget(
            name: "bench-reload",
            dependencies: ["Director", "DirectorConfig", "IPVS", "Platform", "VRRPHost", .product(name: "Logging", package: "swift-log"),
                           .product(name: "NIOPosix", package: "swift-nio")],
            path: "Tests/Bench/Reload"
        ),
        .testTarget(
            name: "HealthCheckTests",
            dependencies: [
                "HealthCheck", "Reactor", "Platform",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                // NIOHTTP1's decoder is the oracle the HTTP response parser is tested against.
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
