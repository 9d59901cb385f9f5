public import Foundation
public import Logging
import SQLKit
import SQLiteKit

/// Posthorn's embedded database: `<data directory>/posthorn.sqlite`, migrated, behind a
/// ``SQLStore``.
///
/// One connection. SQLite allows a single writer per file no matter how many connections a process
/// holds, and SQLiteNIO runs every call on its thread pool with the handle in serialized mode, so
/// a pool would add bookkeeping without adding write throughput. The store's ``ConnectionGate``
/// keeps its transactions (the runs' group commit) apart from the statements of concurrent requests.
///
/// The file is shared with other processes (`posthorn` CLI commands next to a running server), so
/// the connection is set up for that:
/// - `journal_mode=WAL`: readers never block the writer or each other; it persists in the file.
/// - `busy_timeout=5000`: a writer waits up to five seconds for another process's write to finish,
///   then fails with `SQLITE_BUSY`. This replaces SQLiteNIO's default busy handler, which retries
///   forever.
/// - `foreign_keys=ON`: off by default in SQLite, per connection; credentials cascade with their
///   workspace only with it on.
///
/// SQL statement logging is off: SQLKit would log each statement's bound values (token hashes,
/// sealed passwords). Call ``close()`` before dropping the value; SQLiteNIO asserts that a
/// connection was closed.
public final class SQLiteStorage: Sendable {
    /// The store over this database.
    public let store: SQLStore
    /// `<data directory>/posthorn.sqlite`; `nil` for an in-memory database.
    public let databaseURL: URL?
    private let connection: SQLiteConnection
    /// The second connection the sends' reads use (a file only; see ``SQLStore``).
    private let reader: SQLiteConnection?

    /// The file name inside the data directory.
    public static let fileName = "posthorn.sqlite"

    /// Opens (creating it and the directory if needed) `<dataDirectory>/posthorn.sqlite`, then
    /// applies pending migrations.
    ///
    /// A directory this creates is `0700` and a new database file `0600` (SQLite gives its `-wal`
    /// and `-shm` files the same mode): the file holds token hashes and sealed passwords.
    public static func open(dataDirectory: URL, logger: Logger) async throws -> SQLiteStorage {
        let databaseURL = dataDirectory.appendingPathComponent(fileName)
        let files = FileManager.default
        try files.createDirectory(at: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let isNew = !files.fileExists(atPath: databaseURL.path)
        let connection = try await SQLiteConnection.open(storage: .file(path: databaseURL.path), logger: logger)
        if isNew {
            try files.setAttributes([.posixPermissions: 0o600], ofItemAtPath: databaseURL.path)
        }
        return try await prepare(connection, databaseURL: databaseURL, logger: logger)
    }

    /// A migrated database in memory, gone when closed: for tests.
    public static func inMemory(logger: Logger) async throws -> SQLiteStorage {
        let connection = try await SQLiteConnection.open(storage: .memory, logger: logger)
        return try await prepare(connection, databaseURL: nil, logger: logger)
    }

    /// Closes the connection. The store must not be used afterwards.
    public func close() async throws {
        try? await reader?.close()
        try await connection.close()
    }

    // MARK: - Opening

    private init(connection: SQLiteConnection, reader: SQLiteConnection?, store: SQLStore, databaseURL: URL?) {
        self.connection = connection
        self.reader = reader
        self.store = store
        self.databaseURL = databaseURL
    }

    /// Configures `connection` and migrates; closes it if either fails.
    private static func prepare(_ connection: SQLiteConnection, databaseURL: URL?, logger: Logger) async throws -> SQLiteStorage {
        let database = connection.sql(queryLogLevel: nil)
        do {
            // The busy timeout first, so the others wait for a concurrent writer rather than fail.
            try await database.raw("PRAGMA busy_timeout = 5000").run()
            if databaseURL != nil {
                try await database.raw("PRAGMA journal_mode = WAL").run()
            }
            try await database.raw("PRAGMA foreign_keys = ON").run()
            let applied = try await Migrations(database: database, logger: logger).migrate()
            logger.debug("Opened SQLite storage", metadata: ["storage.migrations.applied": "\(applied.count)"])
        } catch {
            try? await connection.close()
            throw error
        }
        var reader: SQLiteConnection?
        if let databaseURL {
            do {
                let opened = try await SQLiteConnection.open(storage: .file(path: databaseURL.path), logger: logger)
                reader = opened
                let reads = opened.sql(queryLogLevel: nil)
                try await reads.raw("PRAGMA busy_timeout = 5000").run()
                try await reads.raw("PRAGMA query_only = ON").run()  // it reads; a bug cannot make it write
            } catch {
                try? await reader?.close()
                try? await connection.close()
                throw error
            }
        }
        let store = SQLStore(database: database, logger: logger, readDatabase: reader?.sql(queryLogLevel: nil))
        return SQLiteStorage(connection: connection, reader: reader, store: store, databaseURL: databaseURL)
    }
}
