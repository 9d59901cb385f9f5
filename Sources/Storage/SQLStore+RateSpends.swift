public import Foundation
import SQLKit
public import Workspaces

extension SQLStore: RateStore {
    /// Stores one spend of the rate gate (`rate_spends`).
    public func recordSpend(_ spend: RateSpend) async throws {
        try await database.raw("""
            INSERT INTO rate_spends (credential_id, spend_key, at, cost)
            VALUES (\(bind: spend.credentialID), \(bind: spend.key), \(bind: spend.at.millisecondsSince1970), \(bind: Int64(spend.cost)))
            """).run()
    }

    /// Every spend at or after `since`, oldest first.
    public func spends(since: Date) async throws -> [RateSpend] {
        try await database.raw("""
            SELECT credential_id, spend_key, at, cost FROM rate_spends
            WHERE at >= \(bind: since.millisecondsSince1970) ORDER BY at
            """).all().map { row throws(StorageError) in
            let stored = StoredRow(row, table: "rate_spends", idColumn: "credential_id")
            return RateSpend(
                credentialID: try stored.value("credential_id"), key: try stored.value("spend_key"), at: try stored.date("at"),
                cost: Int(try stored.value("cost", as: Int64.self)))
        }
    }

    /// Moves the spend `key` of the credential to `at`.
    public func moveSpend(credentialID: String, key: String, to at: Date) async throws {
        try await database.raw("""
            UPDATE rate_spends SET at = \(bind: at.millisecondsSince1970)
            WHERE credential_id = \(bind: credentialID) AND spend_key = \(bind: key)
            """).run()
    }

    /// Forgets spends before `before`.
    public func forgetSpends(before: Date) async throws {
        try await database.raw("DELETE FROM rate_spends WHERE at < \(bind: before.millisecondsSince1970)").run()
    }
}
