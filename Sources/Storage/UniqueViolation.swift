import PostgresKit
import SQLiteKit

/// Recognises an engine's unique-constraint error, so a write that loses a race with a concurrent
/// insert reports ``Workspaces/StoreError/duplicate(_:)`` like the pre-check would have.
///
/// SQLite reports `SQLITE_CONSTRAINT_UNIQUE` (or `_PRIMARYKEY` for a non-rowid primary key), both
/// with the message `UNIQUE constraint failed: <table>.<column>`; PostgreSQL SQLSTATE `23505`
/// (`unique_violation`).
enum UniqueViolation {
    /// Whether `error` is a unique or primary key violation.
    static func matches(_ error: any Error) -> Bool {
        if let error = error as? PSQLError {
            return error.serverInfo?[.sqlState] == PostgresError.Code.uniqueViolation.raw
        }
        guard let error = error as? SQLiteError else { return false }
        if error.reason == .constraintUniqueFailed || error.reason == .constraintPrimaryKeyFailed {
            return true
        }
        // Connections opened without extended result codes report the basic code only.
        return error.reason == .constraint && error.message.hasPrefix("UNIQUE constraint failed")
    }
}
