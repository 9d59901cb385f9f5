public import Logging
public import SQLKit
import Workspaces

/// ``Workspaces/WorkspaceStore`` and ``Workspaces/CredentialStore`` over any SQLKit database, with
/// the behaviour of ``Workspaces/InMemoryStore``: the same ordering, the same scoping, the same
/// duplicate rules.
///
/// The SQL is the subset SQLite and PostgreSQL share, always with bound parameters: portable
/// types, no `INSERT OR REPLACE` or `ON CONFLICT`, and `RETURNING` (SQLite 3.35+, PostgreSQL) where
/// a write must report whether it touched a row. Upserts and unique checks are written as
/// check-then-write; the check alone would race with another writer, so the engine's unique
/// constraint backs it and its error is mapped to ``Workspaces/StoreError/duplicate(_:)`` too.
///
/// No operation opens a transaction, so the store is safe to share across tasks even over the
/// single SQLite connection ``SQLiteStorage`` uses.
///
/// The store never logs a bound value. Give it a database whose query logging is off (SQLKit logs
/// every statement's binds at `queryLogLevel`, token hashes and sealed passwords included);
/// ``SQLiteStorage`` does.
public final class SQLStore: Sendable {
    /// The database the store reads and writes, for migrations and tests.
    public let database: any SQLDatabase
    let logger: Logger

    /// A store over `database`, which must already be migrated (``Migrations/migrate()``).
    public init(database: any SQLDatabase, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// Runs a write, turning the engine's unique-constraint error into
    /// ``Workspaces/StoreError/duplicate(_:)`` for `column`.
    func mappingUniqueViolation<Result>(
        column: String, table: String, _ write: () async throws -> Result
    ) async throws -> Result {
        do {
            return try await write()
        } catch let error where UniqueViolation.matches(error) {
            logger.debug("Unique constraint rejected a write", metadata: ["storage.table": "\(table)"])
            throw StoreError.duplicate(column)
        }
    }
}
