// swift-tools-version: 6.1
import Foundation
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
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
    ],
    targets: [
        // Pure: addresses, header encoding, MIME tree and the streaming renderer. Foundation only.
        .target(name: "MIME", swiftSettings: sharedSettings),
        // DKIM signing (RFC 6376, RFC 8463) of composed messages, streaming.
        .target(
            name: "DKIM",
            dependencies: [
                "MIME", "Secrets",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: sharedSettings
        ),
        // Bounce messages (RFC 3464 delivery status notifications, ARF complaints and the common
        // text notices) read into reports, and providers' webhook calls (SES over SNS, SendGrid,
        // Mailgun, Postmark) verified and read into delivery events. Pure: no I/O.
        .target(
            name: "Bounces",
            dependencies: [
                "Secrets",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: sharedSettings
        ),
        // A value that never prints itself: passwords, tokens, keys.
        .target(name: "Secrets", swiftSettings: sharedSettings),
        // Pure SMTP: replies, commands, capabilities, SASL, dot-stuffing, the client state machine.
        .target(
            name: "SMTPCore",
            dependencies: [
                "Secrets", "Egress",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: sharedSettings
        ),
        // Pure egress policy: strict IP literals, the deny table, the allowlist, resolve-once-and-pin.
        .target(name: "Egress", swiftSettings: sharedSettings),
        // I/O: the channel handler driving SMTPCore's machine, TLS, connections, the client facade.
        .target(
            name: "SMTP",
            dependencies: [
                "SMTPCore", "Egress", "MIME", "Secrets",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: sharedSettings
        ),
        // AES-256-GCM sealing with key ids and associated data, the key ring and its file, rotation,
        // and keyed password fingerprints.
        .target(
            name: "Vault",
            dependencies: ["Secrets", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: sharedSettings
        ),
        // Workspaces, people (accounts, sessions, roles, invitations), API tokens and SMTP
        // credentials: the models, their validation, the store ports (with in-memory versions) and
        // the services the API and the CLI share.
        .target(
            name: "Workspaces",
            dependencies: [
                "Vault", "Secrets", "SMTPCore", "DKIM", "Bounces",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            ],
            swiftSettings: sharedSettings
        ),
        // SQL implementations of the store ports (SQLite embedded; the SQL is kept portable for
        // PostgreSQL) and the migrations.
        .target(
            name: "Storage",
            dependencies: [
                "Workspaces", "Vault", "SMTPCore", "Flows", "DKIM",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: sharedSettings
        ),
        // The flow engine, email-agnostic: JSON values, {{…}} templates, cron schedules, flows, runs.
        .target(
            name: "Flows",
            dependencies: [
                "Secrets",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: sharedSettings
        ),
        // Built-in nodes: smtp.send (MIME + SMTP pool + credentials) and http.request, with the
        // guarded fetcher (egress-pinned, no redirects, 2xx only, size cap) they share.
        .target(
            name: "Nodes",
            dependencies: [
                "Flows", "MIME", "SMTP", "SMTPCore", "Workspaces", "Egress", "Secrets", "DKIM",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: sharedSettings
        ),
        // The web app's pages, styles and scripts (plain files, no build step) and the routes that
        // serve them with their security headers and cache validators.
        .target(
            name: "WebApp",
            dependencies: [
                "Secrets",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("Public")],
            swiftSettings: sharedSettings
        ),
        // The Hummingbird application: JSON API, auth, health; `buildApplication(configuration:)`.
        .target(
            name: "Server",
            dependencies: [
                "WebApp", "Workspaces", "Storage", "Vault", "Secrets", "SMTP", "SMTPCore", "Egress", "Flows", "Nodes", "MIME", "DKIM", "Bounces",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            resources: [.copy("OpenAPI/openapi.json")],
            swiftSettings: sharedSettings
        ),
        .executableTarget(
            name: "posthorn",
            dependencies: [
                "MIME", "SMTP", "Egress", "Secrets", "Server", "Workspaces", "Storage", "Vault", "Flows", "Nodes", "DKIM", "Bounces",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: sharedSettings
        ),
        // The parsers of outside input as fuzz targets: driven by libFuzzer (`bench/fuzz`), replayed
        // from the corpus by FuzzCorpusTests.
        .target(
            name: "FuzzTargets",
            dependencies: [
                "Flows", "MIME", "SMTPCore", "Egress", "DKIM", "Bounces", "Workspaces", "Secrets",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: sharedSettings
        ),
        // Deterministic clocks, token sources and fixtures shared by the test targets.
        .target(
            name: "TestSupport",
            dependencies: [
                "MIME", "SMTPCore", "Flows",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: sharedSettings
        ),
        .testTarget(
            name: "BouncesTests",
            dependencies: [
                "Bounces",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            resources: [.copy("Corpus")],
            swiftSettings: sharedSettings
        ),
        .testTarget(
            name: "DKIMTests",
            dependencies: ["DKIM", "MIME"],
            swiftSettings: sharedSettings
        ),
        .testTarget(
            name: "MIMETests",
            dependencies: ["MIME", "TestSupport"],
            resources: [.copy("Fixtures")],
            swiftSettings: sharedSettings
        ),
        .testTarget(
            name: "SMTPCoreTests",
            dependencies: [
                "SMTPCore", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ],
            swiftSettings: sharedSettings
        ),
        .testTarget(name: "EgressTests", dependencies: ["Egress"], swiftSettings: sharedSettings),
        .testTarget(
            name: "SMTPTests",
            dependencies: [
                "SMTP", "SMTPCore", "Egress", "MIME", "Secrets", "TestSupport",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: sharedSettings
        ),
        .testTarget(
            name: "VaultTests",
            dependencies: ["Vault", "Secrets", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: sharedSettings
        ),
        .testTarget(
            name: "NodesTests",
            dependencies: [
                "Nodes", "Flows", "MIME", "SMTP", "SMTPCore", "Workspaces", "Egress", "Secrets", "TestSupport", "Vault",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: sharedSettings
        ),
        .testTarget(
            name: "FlowsTests",
            dependencies: [
                "Flows", "TestSupport", .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: sharedSettings
        ),
        .testTarget(
            name: "StorageTests",
            dependencies: [
                "Storage", "Workspaces", "Vault", "Secrets", "SMTP", "SMTPCore", "Flows", "TestSupport", "Bounces",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: sharedSettings
        ),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "WebApp", "Workspaces", "Storage", "Vault", "Secrets", "SMTP", "SMTPCore", "Egress", "TestSupport", "Flows",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: sharedSettings
        ),
        .testTarget(
            name: "FuzzCorpusTests",
            dependencies: ["FuzzTargets"],
            swiftSettings: sharedSettings
        ),
        .testTarget(
            name: "PosthornCLITests",
            dependencies: [
                "posthorn", "TestSupport", "Storage", "Workspaces", "Secrets",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: sharedSettings
        ),
    ]
)

// `bench/fuzz` builds this executable with `-sanitize=fuzzer,address` into its own build folder;
// libFuzzer supplies `main`, so an ordinary build must not see it.
if ProcessInfo.processInfo.environment["POSTHORN_FUZZ"] != nil {
    package.targets.append(.executableTarget(
        name: "PosthornFuzz", dependencies: ["FuzzTargets"], path: "Fuzz/Entry", swiftSettings: sharedSettings))
}
