public import Foundation
public import Logging
import SQLKit

/// The database a Posthorn process works on: SQLite in its data directory (the embedded default)
/// or PostgreSQL (`--database postgres://…`, several instances sharing one database).
public enum DatabaseStorage: Sendable {
    case sqlite(SQLiteStorage)
    case postgres(PostgresStorage)

    /// Opens `postgresURL` when given, else `<dataDirectory>/posthorn.sqlite`; migrated.
    public static func open(dataDirectory: URL, postgresURL: String?, logger: Logger) async throws -> DatabaseStorage {
        if let postgresURL { return .postgres(try await PostgresStorage.open(url: postgresURL, logger: logger)) }
        return .sqlite(try await SQLiteStorage.open(dataDirectory: dataDirectory, logger: logger))
    }

    /// The store over the database.
    public var store: SQLStore {
        switch self {
        case .sqlite(let storage): storage.store
        case .postgres(let storage): storage.store
        }
    }

    /// Whether several processes may share the database's work (PostgreSQL); SQLite keeps one
    /// executor per data directory.
    public var isShared: Bool {
        switch self {
        case .sqlite: false
        case .postgres: true
        }
    }

    /// Reports the ``ClusterNotice``s of the instances sharing the database until cancelled;
    /// returns at once on SQLite, where one process does the work.
    public func listen(onNotice: @escaping @Sendable (ClusterNotice) async -> Void) async {
        switch self {
        case .sqlite: return
        case .postgres(let storage): await storage.listen(onNotice: onNotice)
        }
    }

    /// Whether the database answers now (for `/readyz`).
    public func isReachable() async -> Bool {
        (try? await store.database.raw("SELECT 1").run()) != nil
    }

    /// Closes the database. The store must not be used afterwards.
    public func close() async throws {
        switch self {
        case .sqlite(let storage): try await storage.close()
        case .postgres(let storage): try await storage.close()
        }
    }
}
