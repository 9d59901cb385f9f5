public import Foundation
public import Logging
public import SQLKit

/// Brings a database's schema up to date with ``Migrations/all``, recording each applied version in
/// `schema_migrations(version, name, applied_at)`.
///
/// ``migrate()`` is idempotent: versions already recorded are skipped, so running it on every start
/// (server or CLI) is the intended use. Each migration runs in its own transaction together with its
/// `schema_migrations` row; both SQLite and PostgreSQL roll back DDL, so a failed migration leaves
/// neither tables nor a record behind.
///
/// Two processes may start at once on the same file (the CLI next to a running server). Each
/// migration therefore *claims* its version first: the transaction's first statement inserts the
/// `schema_migrations` row, which takes the engine's write lock before any DDL runs. The loser
/// waits for the lock (SQLite's busy timeout, PostgreSQL's row lock), then hits the primary key,
/// rolls back and skips the version the winner applied.
public struct Migrations: Sendable {
    /// The migrations this value applies, in version order.
    public let list: [Migration]
    private let database: any SQLDatabase
    private let logger: Logger
    private let now: @Sendable () -> Date

    /// Migrations of `database` to `list` (every shipped migration by default).
    ///
    /// `now` stamps `applied_at`; tests inject a fixed clock.
    public init(
        database: any SQLDatabase, list: [Migration] = Migrations.all, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        precondition(
            zip(list, list.dropFirst()).allSatisfy { $0.version < $1.version } && (list.first?.version ?? 1) > 0,
            "migration versions must be positive and strictly increasing"
        )
        self.list = list
        self.database = database
        self.logger = logger
        self.now = now
    }

    /// The newest version in ``list``; `0` when the list is empty.
    public var latestVersion: Int { list.last?.version ?? 0 }

    /// Applies every migration of ``list`` the database has not recorded yet, oldest first.
    ///
    /// - Returns: The migrations this call applied; empty when the schema was already current.
    /// - Throws: ``StorageError/schemaTooNew(databaseVersion:supportedVersion:)`` if a newer build
    ///   migrated the database, or the engine's error for a failed statement (that migration is
    ///   rolled back; earlier ones stay applied).
    @discardableResult
    public func migrate() async throws -> [Migration] {
        try await database.raw(Self.createLedger).run()
        let applied = Set(try await appliedVersions())
        if let newest = applied.max(), newest > latestVersion {
            throw StorageError.schemaTooNew(databaseVersion: newest, supportedVersion: latestVersion)
        }
        var ran: [Migration] = []
        for migration in list where !applied.contains(migration.version) {
            if try await apply(migration) {
                ran.append(migration)
            }
        }
        return ran
    }

    /// The versions recorded in `schema_migrations`, ascending.
    public func appliedVersions() async throws -> [Int] {
        let rows = try await database.raw("SELECT version FROM schema_migrations ORDER BY version").all()
        return try rows.map { Int(try $0.decode(column: "version", as: Int64.self)) }
    }

    // MARK: - Applying

    /// The ledger itself is the one table created outside the list: every later step reads it.
    private static let createLedger: SQLQueryString = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at BIGINT NOT NULL
        )
        """

    /// Thrown inside the transaction when another process recorded the version first.
    private struct VersionClaimedElsewhere: Error {}

    /// Runs `migration` in a transaction; `false` if another process applied it meanwhile.
    private func apply(_ migration: Migration) async throws -> Bool {
        let version = Int64(migration.version)
        let name = migration.name
        let appliedAt = now().millisecondsSince1970
        do {
            try await database.inTransaction { session in
                do {
                    try await session.raw("""
                        INSERT INTO schema_migrations (version, name, applied_at)
                        VALUES (\(bind: version), \(bind: name), \(bind: appliedAt))
                        """).run()
                } catch let error where UniqueViolation.matches(error) {
                    throw VersionClaimedElsewhere()
                }
                for statement in migration.statements {
                    try await session.raw(SQLQueryString(statement)).run()
                }
            }
        } catch is VersionClaimedElsewhere {
            logger.debug("Schema migration already applied by another process", metadata: Self.metadata(migration))
            return false
        }
        logger.debug("Applied schema migration", metadata: Self.metadata(migration))
        return true
    }

    private static func metadata(_ migration: Migration) -> Logger.Metadata {
        ["storage.migration.version": "\(migration.version)", "storage.migration.name": "\(migration.name)"]
    }
}
