import Logging
import NIOCore
import SQLKit

/// A database whose statements pass a ``ConnectionGate`` as ``ConnectionAccess/statement``,
/// so they never run inside another task's transaction on the same connection.
///
/// Transactions do not go through this value: ``SQLStore/transaction(_:)`` takes the gate for the
/// whole transaction and hands the body the underlying database, whose statements must not wait
/// for the gate they already hold.
struct GatedSQLDatabase: SQLDatabase {
    let base: any SQLDatabase
    let gate: ConnectionGate

    var logger: Logger { base.logger }
    var eventLoop: any EventLoop { base.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { base.version }
    var dialect: any SQLDialect { base.dialect }
    var queryLogLevel: Logger.Level? { base.queryLogLevel }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try await gate.withAccess(.statement) {
            try await base.execute(sql: query, onRow)
        }
    }

    /// Refused: a transaction must hold the gate from `BEGIN` to `COMMIT`, which only
    /// ``SQLStore/transaction(_:)`` does. One begun here (`inTransaction`) would let other tasks'
    /// statements run inside it, and fail only when two requests overlap; refused, it fails at once,
    /// in every test that reaches it.
    func withSession<R>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        throw UngatedTransaction()
    }

    /// The error of ``withSession(_:)``.
    struct UngatedTransaction: Error, CustomStringConvertible {
        var description: String { "a transaction on the store's gated database: use SQLStore.transaction" }
    }

    /// SQLKit's builders use the `async` requirement; this one exists for the protocol's older
    /// callers and waits for the gate the same way.
    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        eventLoop.makeFutureWithTask {
            try await execute(sql: query, onRow)
        }
    }
}
