public import Foundation
public import Logging
import NIOPosix
import PostgresKit
import SQLKit

/// Posthorn on PostgreSQL (`posthorn serve --database postgres://…`): a pool of connections, migrated,
/// behind a ``SQLStore`` — the same store code as SQLite.
///
/// - The URL's `sslmode` decides TLS (`disable`, `prefer` — the default —, `require`,
///   `verify-ca`, `verify-full`; PostgresKit verifies the certificate and host for the last three).
/// - The database must sort text by code point (`LC_COLLATE` `C`), as SQLite does: lists, cursors
///   and tie-breaks are ordered by it, and a locale collation would page differently. Opening
///   refuses another collation, naming the fix.
/// - `lock_timeout` 5 s: a statement waits that long for another instance's row lock, then fails
///   (the `busy_timeout` of SQLite).
/// - Statement logging is off: SQLKit would log bound values (token hashes, sealed passwords).
public final class PostgresStorage: Sendable {
    /// The store over this database.
    public let store: SQLStore
    /// AsyncKit's pool is safe to share (its state is behind locks and event loops) but not marked
    /// `Sendable`.
    nonisolated(unsafe) private let pools: EventLoopGroupConnectionPool<PostgresConnectionSource>
    nonisolated(unsafe) private let leasePools: EventLoopGroupConnectionPool<PostgresConnectionSource>
    /// For the listening connection, which is not the pool's.
    private let configuration: SQLPostgresConfiguration
    private let logger: Logger

    /// Connects, checks the collation, and applies pending migrations (one instance at a time,
    /// under an advisory lock).
    ///
    /// - Parameters:
    ///   - url: `postgres://user:password@host:5432/database?sslmode=…`.
    ///   - searchPath: the schemas to use, the first made if missing (tests give each their own);
    ///     the server's default when nil.
    public static func open(
        url: String, logger: Logger, searchPath: [String]? = nil, connectionsPerEventLoop: Int = 4
    ) async throws -> PostgresStorage {
        var configuration: SQLPostgresConfiguration
        do {
            configuration = try SQLPostgresConfiguration(url: url)
        } catch {
            throw PostgresStorageError.badURL
        }
        configuration.searchPath = searchPath
        configuration.coreConfiguration.options.additionalStartupParameters = [("lock_timeout", "5s")]
        let pools = EventLoopGroupConnectionPool(
            source: PostgresConnectionSource(sqlConfiguration: configuration),
            maxConnectionsPerEventLoop: connectionsPerEventLoop, requestTimeout: .seconds(10), logger: logger,
            on: MultiThreadedEventLoopGroup.singleton)
        let database = pools.database(logger: logger).sql(queryLogLevel: nil)
        // One connection per event loop for lease renewals and takeovers (see SQLStore.leaseDatabase).
        let leasePools = EventLoopGroupConnectionPool(
            source: PostgresConnectionSource(sqlConfiguration: configuration),
            maxConnectionsPerEventLoop: 1, requestTimeout: .seconds(10), logger: logger, on: MultiThreadedEventLoopGroup.singleton)
        do {
            let collation = try await database.raw("SELECT datcollate FROM pg_database WHERE datname = current_database()")
                .first()?.decode(column: "datcollate", as: String.self)
            guard collation == "C" || collation == "POSIX" else {
                throw PostgresStorageError.collation(collation ?? "unknown")
            }
            if let schema = searchPath?.first {
                try await database.raw("CREATE SCHEMA IF NOT EXISTS \(ident: schema)").run()
            }
            let lock = Self.migrationLock(schema: searchPath?.first)
            let applied = try await database.withSession { session in
                // One instance migrates; the others wait here as long as it takes (no lock
                // timeout for this wait), then find nothing left to apply.
                try await session.raw("SET lock_timeout = 0").run()
                try await session.raw("SELECT pg_advisory_lock(\(bind: lock))").run()
                try await session.raw("SET lock_timeout = '5s'").run()
                do {
                    let applied = try await Migrations(database: session, logger: logger).migrate()
                    try await session.raw("SELECT pg_advisory_unlock(\(bind: lock))").run()
                    return applied
                } catch {
                    try? await session.raw("SELECT pg_advisory_unlock(\(bind: lock))").run()
                    throw error
                }
            }
            logger.debug("Opened PostgreSQL storage", metadata: ["storage.migrations.applied": "\(applied.count)"])
        } catch {
            try? await pools.shutdownAsync()
            try? await leasePools.shutdownAsync()
            throw error
        }
        let channel = "posthorn" + (searchPath?.first.map { "_" + $0 } ?? "")
        return PostgresStorage(
            pools: pools, leasePools: leasePools, configuration: configuration, logger: logger,
            store: SQLStore(
                database: database, logger: logger, sharesOneConnection: false, notificationChannel: channel,
                leaseDatabase: leasePools.database(logger: logger).sql(queryLogLevel: nil)))
    }

    /// Listens for the ``ClusterNotice``s the instances sharing the database send (this one's
    /// included), on a connection of its own, until cancelled. When that connection drops it
    /// reconnects a second later and reports ``ClusterNotice/everythingMayHaveChanged``: notices
    /// sent meanwhile are lost, and whoever acts on them must look again.
    public func listen(onNotice: @escaping @Sendable (ClusterNotice) async -> Void) async {
        var lostTouch = false
        while !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(
                    on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration.coreConfiguration, id: 0,
                    logger: logger)
                do {
                    try await connection.listen(on: store.notificationChannel) { notifications in
                        if lostTouch { await onNotice(.everythingMayHaveChanged) }
                        logger.debug("listening for cluster notices", metadata: ["db.channel": "\(store.notificationChannel)"])
                        for try await notification in notifications {
                            if let notice = ClusterNotice(payload: notification.payload) { await onNotice(notice) }
                        }
                    }
                } catch {
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
            } catch {
                if !Task.isCancelled {
                    logger.warning("listening for cluster notices failed; retrying", metadata: ["error.type": "\(type(of: error))"])
                }
            }
            lostTouch = true
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Closes every connection. The store must not be used afterwards.
    public func close() async throws {
        try await leasePools.shutdownAsync()
        try await pools.shutdownAsync()
    }

    /// The advisory lock migrations of a schema run under: "posthorn" in ASCII as a 64-bit key for
    /// the default schema, mixed with an FNV-1a hash of the schema's name for another (schemas
    /// migrate independently).
    static func migrationLock(schema: String?) -> Int64 {
        var key: UInt64 = 0x706f_7374_686f_726e
        for byte in (schema ?? "").utf8 {
            key ^= UInt64(byte)
            key = key &* 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: key)
    }

    private init(
        pools: EventLoopGroupConnectionPool<PostgresConnectionSource>, leasePools: EventLoopGroupConnectionPool<PostgresConnectionSource>,
        configuration: SQLPostgresConfiguration, logger: Logger, store: SQLStore
    ) {
        self.pools = pools
        self.leasePools = leasePools
        self.configuration = configuration
        self.logger = logger
        self.store = store
    }
}

/// Why PostgreSQL storage did not open.
public enum PostgresStorageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Not a `postgres://` URL PostgresKit reads (or an unknown `sslmode`).
    case badURL
    /// The database sorts text by a locale.
    case collation(String)

    public var description: String {
        switch self {
        case .badURL:
            "database: not a PostgreSQL URL (postgres://user:password@host:5432/database?sslmode=disable|prefer|require|verify-ca|verify-full)"
        case .collation(let collation):
            "database: its collation is \(collation); Posthorn needs C (CREATE DATABASE posthorn TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C')"
        }
    }
}
