public import Foundation
import SQLKit
public import Vault
public import Workspaces

extension SQLStore: IntakeStore {
    /// Sets the credential's intake id (`bounce_intakes`), replacing the earlier one in one
    /// statement; the sealed provider settings stay.
    public func replaceIntake(intakeID: String, credentialID: String, workspaceID: String, at: Date) async throws {
        try await database.raw("""
            INSERT INTO bounce_intakes (intake_id, workspace_id, credential_id, created_at)
            VALUES (\(bind: intakeID), \(bind: workspaceID), \(bind: credentialID), \(bind: at.millisecondsSince1970))
            ON CONFLICT (credential_id) DO UPDATE SET intake_id = excluded.intake_id, created_at = excluded.created_at
            """).run()
    }

    public func intake(credentialID: String, workspaceID: String) async throws -> IntakeRecord? {
        try await database.raw("""
            SELECT \(Self.intakeColumns) FROM bounce_intakes
            WHERE credential_id = \(bind: credentialID) AND workspace_id = \(bind: workspaceID)
            """).first().map(Self.intakeRecord)
    }

    public func intake(intakeID: String) async throws -> IntakeRecord? {
        try await database.raw("""
            SELECT \(Self.intakeColumns) FROM bounce_intakes WHERE intake_id = \(bind: intakeID)
            """).first().map(Self.intakeRecord)
    }

    public func setIntakeProviders(_ sealed: SealedSecret?, credentialID: String, workspaceID: String) async throws {
        try await database.raw("""
            UPDATE bounce_intakes SET providers_sealed = \(bind: sealed?.encoded)
            WHERE credential_id = \(bind: credentialID) AND workspace_id = \(bind: workspaceID)
            """).run()
    }

    public func allSealedIntakes() async throws -> [IntakeRecord] {
        try await database.raw("""
            SELECT \(Self.intakeColumns) FROM bounce_intakes WHERE providers_sealed IS NOT NULL ORDER BY credential_id
            """).all().map(Self.intakeRecord)
    }

    private static let intakeColumns: SQLQueryString = "intake_id, workspace_id, credential_id, providers_sealed"

    private static func intakeRecord(_ row: any SQLRow) throws(StorageError) -> IntakeRecord {
        let stored = StoredRow(row, table: "bounce_intakes", idColumn: "intake_id")
        var sealed: SealedSecret?
        if let encoded = try stored.optional("providers_sealed", as: String.self) {
            do { sealed = try SealedSecret(encoded: encoded) } catch { throw stored.invalid("providers_sealed") }
        }
        return IntakeRecord(
            intakeID: try stored.value("intake_id"), workspaceID: try stored.value("workspace_id"),
            credentialID: try stored.value("credential_id"), sealedProviders: sealed)
    }
}
