public import Foundation
import SQLKit
public import Workspaces

extension SQLStore: IntakeStore {
    /// Sets the credential's intake id (`bounce_intakes`), replacing the earlier one in one statement.
    public func replaceIntake(intakeID: String, credentialID: String, workspaceID: String, at: Date) async throws {
        try await database.raw("""
            INSERT INTO bounce_intakes (intake_id, workspace_id, credential_id, created_at)
            VALUES (\(bind: intakeID), \(bind: workspaceID), \(bind: credentialID), \(bind: at.millisecondsSince1970))
            ON CONFLICT (credential_id) DO UPDATE SET intake_id = excluded.intake_id, created_at = excluded.created_at
            """).run()
    }

    public func intakeID(credentialID: String, workspaceID: String) async throws -> String? {
        try await database.raw("""
            SELECT intake_id FROM bounce_intakes WHERE credential_id = \(bind: credentialID) AND workspace_id = \(bind: workspaceID)
            """).first().map { row throws(StorageError) in try StoredRow(row, table: "bounce_intakes", idColumn: "intake_id").value("intake_id") }
    }

    public func intakeOwner(intakeID: String) async throws -> (workspaceID: String, credentialID: String)? {
        try await database.raw("""
            SELECT intake_id, workspace_id, credential_id FROM bounce_intakes WHERE intake_id = \(bind: intakeID)
            """).first().map { row throws(StorageError) in
            let stored = StoredRow(row, table: "bounce_intakes", idColumn: "intake_id")
            return (try stored.value("workspace_id"), try stored.value("credential_id"))
        }
    }
}
