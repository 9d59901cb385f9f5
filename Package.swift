// swift-tools-version: 6.0
import PackageDescription

/// Settings every Posthorn target shares: Swift 6 language mode plus the upcoming features the
/// Hummingbird and postgres-nio codebases turn on, so imports and existentials stay explicit.
let sharedSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Posthorn",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "posthorn", targets: ["posthorn"]),
        .library(name: "MIME", targets: ["MIME"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        // Pure: addresses, header encoding, MIME tree and the streaming renderer. Foundation only.
        .target(name: "MIME", swiftSettings: sharedSettings),
        .executableTarget(
            name: "posthorn",
            dependencies: [
                "MIME",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: sharedSettings
        ),
        // Deterministic clocks, token sources and fixtures shared by the test targets.
        .target(name: "TestSupport", dependencies: ["MIME"], swiftSettings: sharedSettings),
        .testTarget(
            name: "MIMETests",
            dependencies: ["MIME", "TestSupport"],
            resources: [.copy("Fixtures")],
            swiftSettings: sharedSettings
        ),
        .testTarget(
            name: "PosthornCLITests",
            dependencies: ["posthorn", "TestSupport"],
            swiftSettings: sharedSettings
        ),
    ]
)
