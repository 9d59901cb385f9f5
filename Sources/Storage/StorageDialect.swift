import SQLKit

/// The statements that cannot be written once for both engines, in one place. Everything else in
/// ``SQLStore`` is the SQL SQLite and PostgreSQL share.
enum StorageDialect: Sendable {
    case sqlite
    case postgresql

    init(_ database: any SQLDatabase) {
        self = database.dialect.name == "postgresql" ? .postgresql : .sqlite
    }

    /// After a claim's `SELECT … LIMIT n`: other instances skip the rows one is taking instead of
    /// waiting for them (PostgreSQL). SQLite has one writer, so nothing to skip.
    var skipLocked: SQLQueryString {
        switch self {
        case .sqlite: ""
        case .postgresql: " FOR UPDATE SKIP LOCKED"
        }
    }

    /// After a `SELECT` whose rows the transaction will change: lock them (PostgreSQL). SQLite's
    /// transactions take the database's write lock with their first write instead.
    var forUpdate: SQLQueryString {
        switch self {
        case .sqlite: ""
        case .postgresql: " FOR UPDATE"
        }
    }
}
