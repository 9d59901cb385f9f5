import SQLKit

extension SQLDatabase {
    /// Runs `body` between `BEGIN` and `COMMIT` on one session (one pooled connection, for engines
    /// that pool), rolling back if `body` or the commit throws.
    ///
    /// Plain `BEGIN`/`COMMIT`/`ROLLBACK`, which SQLite and PostgreSQL both accept. The caller must
    /// not share the session's connection with other work meanwhile: on a single SQLite connection
    /// a concurrent statement would run inside this transaction. ``Migrations`` runs before the
    /// store serves anything; the store's own transactions go through ``SQLStore/transaction(_:)``,
    /// which holds its ``ConnectionGate`` meanwhile.
    func inTransaction<Result: Sendable>(
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        try await withSession { session in
            try await session.raw("BEGIN").run()
            do {
                let result = try await body(session)
                try await session.raw("COMMIT").run()
                return result
            } catch {
                // The original error matters more; a failed rollback (the connection is gone) ends
                // the transaction anyway.
                try? await session.raw("ROLLBACK").run()
                throw error
            }
        }
    }
}
