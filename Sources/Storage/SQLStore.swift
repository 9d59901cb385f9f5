public import Logging
public import SQLKit
import Workspaces

/// ``Workspaces/WorkspaceStore``, ``Workspaces/CredentialStore``, ``Flows/FlowStore`` and
/// ``Flows/RunStore`` over any SQLKit database, with the behaviour of ``Workspaces/InMemoryStore``,
/// ``Flows/InMemoryFlowStore`` and ``Flows/InMemoryRunStore``: the same ordering, the same
/// scoping, the same duplicate rules.
///
/// The SQL is the subset SQLite and PostgreSQL share, always with bound parameters: portable
/// types, `INSERT … ON CONFLICT (…) DO UPDATE/NOTHING` (SQLite 3.24+, PostgreSQL) instead of
/// `INSERT OR REPLACE`, and `RETURNING` (SQLite 3.35+, PostgreSQL) where a write must report whether
/// it touched a row. Unique checks are written as check-then-write; the check alone would race
/// with another writer, so the engine's unique constraint backs it and its error is mapped to
/// ``Workspaces/StoreError/duplicate(_:)`` too. The few statements that must differ (row locks,
/// `SKIP LOCKED`) come from ``StorageDialect``.
///
/// The store is safe to share across tasks even over the single SQLite connection
/// ``SQLiteStorage`` uses. The flow and run stores need transactions (a group commit, a cron fire
/// with its run), and on one connection a transaction is not isolated from the connection's other
/// users, so every statement passes a ``ConnectionGate``: statements run side by side as before,
/// a transaction runs alone.
///
/// The store never logs a bound value. Give it a database whose query logging is off (SQLKit logs
/// every statement's binds at `queryLogLevel`, token hashes and sealed passwords included);
/// ``SQLiteStorage`` does.
public final class SQLStore: Sendable {
    /// The database the store reads and writes, for migrations and tests: statements sent through
    /// it wait while a store transaction runs.
    public let database: any SQLDatabase
    let logger: Logger
    /// The connection as given, for the bodies of ``transaction(_:)``.
    private let connection: any SQLDatabase
    private let gate: ConnectionGate

    /// Whether the database is one shared connection (SQLite), whose transactions must run alone.
    private let sharesOneConnection: Bool
    /// This process among the instances sharing the database (its own ``ClusterNotice``s come
    /// back to it too, and are told apart by it).
    public let origin: String
    /// The channel of ``ClusterNotice``s (PostgreSQL): one per schema.
    public let notificationChannel: String
    /// Where lease renewals and takeovers go: connections of their own on PostgreSQL, so that an
    /// instance busy enough to queue its writes for the pool still renews its leases in time (a
    /// renewal stuck behind the writes lost live runs to takeovers: they ended `ambiguous`).
    let leaseDatabase: any SQLDatabase
    /// Where the reads every send makes (its credential, workspace, suppressions, signing domain)
    /// go: on SQLite a second connection to the file, which WAL lets read while the first writes,
    /// so a send's reads do not queue behind group commits and claims; otherwise ``database``.
    let reads: any SQLDatabase

    /// A store over `database`, which must already be migrated (``Migrations/migrate()``).
    ///
    /// `sharesOneConnection` (SQLite): the store must be the connection's only user, so that its
    /// gate sees every statement. A pool (PostgreSQL) gives each transaction its own connection, so
    /// nothing waits for it.
    public init(
        database: any SQLDatabase, logger: Logger, sharesOneConnection: Bool = true, notificationChannel: String = "posthorn",
        leaseDatabase: (any SQLDatabase)? = nil, readDatabase: (any SQLDatabase)? = nil
    ) {
        origin = "i" + String(UInt64.random(in: 0 ... .max), radix: 36)
        self.notificationChannel = notificationChannel
        let gate = ConnectionGate()
        self.connection = database
        self.gate = gate
        self.database = sharesOneConnection ? GatedSQLDatabase(base: database, gate: gate) : database
        self.leaseDatabase = leaseDatabase ?? self.database
        self.reads = readDatabase ?? self.database
        self.sharesOneConnection = sharesOneConnection
        self.logger = logger
    }

    /// Which SQL the database speaks, for the few statements that must differ (``StorageDialect``).
    var dialect: StorageDialect { StorageDialect(connection) }

    /// Runs `body` in one transaction that has the connection to itself: statements from other
    /// tasks wait until it commits or rolls back.
    ///
    /// `body` must send its statements to the database it is given, not to ``database`` (which
    /// would wait for this very transaction). A pooled engine (the PostgreSQL port) would give each
    /// transaction its own connection instead and skip the gate.
    func transaction<Result: Sendable>(
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        guard sharesOneConnection else { return try await connection.inTransaction(body) }
        return try await gate.withAccess(.transaction) {
            try await connection.inTransaction(body)
        }
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
