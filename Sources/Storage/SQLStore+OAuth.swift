public import Foundation
import SQLKit
public import Workspaces

extension SQLStore: OAuthAuthorizationStore {
    public func insertAuthorization(_ authorization: PendingOAuthAuthorization) async throws {
        try await database.raw("""
            INSERT INTO oauth_authorizations (state_hash, session_hash, workspace_id, user_id, provider_id, credential_name, \
            credential_id, key_id, created_at, expires_at)
            VALUES (\(bind: authorization.stateHash), \(bind: authorization.sessionHash), \(bind: authorization.workspaceID), \
            \(bind: authorization.userID), \(bind: authorization.providerID), \(bind: authorization.credentialName), \
            \(bind: authorization.credentialID), \(bind: authorization.keyID), \(bind: authorization.createdAt.millisecondsSince1970), \
            \(bind: authorization.expiresAt.millisecondsSince1970))
            """).run()
    }

    /// One `DELETE … RETURNING`: of two callbacks racing with one state, one gets the row.
    public func takeAuthorization(stateHash: String) async throws -> PendingOAuthAuthorization? {
        guard let row = try await database.raw("""
            DELETE FROM oauth_authorizations WHERE state_hash = \(bind: stateHash)
            RETURNING state_hash, session_hash, workspace_id, user_id, provider_id, credential_name, credential_id, key_id, \
            created_at, expires_at
            """).first()
        else { return nil }
        let stored = StoredRow(row, table: "oauth_authorizations", idColumn: "state_hash")
        return PendingOAuthAuthorization(
            stateHash: try stored.value("state_hash"), sessionHash: try stored.value("session_hash"),
            workspaceID: try stored.value("workspace_id"), userID: try stored.value("user_id"),
            providerID: try stored.value("provider_id"), credentialName: try stored.optional("credential_name"),
            credentialID: try stored.optional("credential_id"), keyID: try stored.value("key_id"),
            createdAt: try stored.date("created_at"), expiresAt: try stored.date("expires_at"))
    }

    public func forgetAuthorizations(before cutoff: Date) async throws -> Int {
        try await database.raw("""
            DELETE FROM oauth_authorizations WHERE expires_at < \(bind: cutoff.millisecondsSince1970) RETURNING state_hash
            """).all().count
    }
}
