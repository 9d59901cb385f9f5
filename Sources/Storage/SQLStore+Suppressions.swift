public import Foundation
import SQLKit
public import Workspaces

extension SQLStore: SuppressionStore {
    /// Adds the address (`suppressions`, primary key workspace and lower-cased address); `false`
    /// when the workspace has it already.
    public func insertSuppression(_ suppression: Suppression) async throws -> Bool {
        let inserted = try await database.raw("""
            INSERT INTO suppressions (workspace_id, address_key, address, reason, detail, created_at)
            VALUES (\(bind: suppression.workspaceID), \(bind: Suppression.key(of: suppression.address)), \(bind: suppression.address),
                    \(bind: suppression.reason.rawValue), \(bind: suppression.detail), \(bind: suppression.createdAt.millisecondsSince1970))
            ON CONFLICT (workspace_id, address_key) DO NOTHING RETURNING address_key
            """).all()
        return !inserted.isEmpty
    }

    /// The workspace's suppression of `address`, by its key.
    public func suppression(address: String, workspaceID: String) async throws -> Suppression? {
        try await database.raw("""
            SELECT workspace_id, address_key, address, reason, detail, created_at FROM suppressions
            WHERE workspace_id = \(bind: workspaceID) AND address_key = \(bind: Suppression.key(of: address))
            """).first().map(Self.suppression(from:))
    }

    /// Newest first, at most `limit`.
    public func suppressions(workspaceID: String, limit: Int) async throws -> [Suppression] {
        try await database.raw("""
            SELECT workspace_id, address_key, address, reason, detail, created_at FROM suppressions
            WHERE workspace_id = \(bind: workspaceID) ORDER BY created_at DESC, address_key DESC LIMIT \(bind: max(0, limit))
            """).all().map(Self.suppression(from:))
    }

    private static func suppression(from row: any SQLRow) throws(StorageError) -> Suppression {
        let stored = StoredRow(row, table: "suppressions", idColumn: "address_key")
        return Suppression(
            workspaceID: try stored.value("workspace_id"), address: try stored.value("address"),
            reason: try stored.rawValue("reason", as: Suppression.Reason.self), detail: try stored.optional("detail"),
            createdAt: try stored.date("created_at"))
    }

    /// Which of `addresses` the workspace suppresses, as keys.
    public func suppressedKeys(workspaceID: String, among addresses: [String]) async throws -> Set<String> {
        let keys = Array(Set(addresses.map(Suppression.key(of:))))
        guard !keys.isEmpty else { return [] }
        var found: Set<String> = []
        for chunk in keys.chunked(by: 1_000) {
            let rows = try await reads.raw("""
                SELECT address_key FROM suppressions WHERE workspace_id = \(bind: workspaceID) AND address_key IN (\(binds: Array(chunk)))
                """).all()
            for row in rows { found.insert(try StoredRow(row, table: "suppressions", idColumn: "address_key").value("address_key")) }
        }
        return found
    }

    /// Removes the address; `false` when it was not suppressed.
    public func deleteSuppression(address: String, workspaceID: String) async throws -> Bool {
        !(try await database.raw("""
            DELETE FROM suppressions WHERE workspace_id = \(bind: workspaceID) AND address_key = \(bind: Suppression.key(of: address))
            RETURNING address_key
            """).all()).isEmpty
    }
}
