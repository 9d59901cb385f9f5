public import Workspaces
import Logging
import SQLKit

extension SQLStore: CredentialStore {
    /// Stores a new credential.
    ///
    /// - Throws: ``Workspaces/StoreError/duplicate(_:)`` (`"name"`) if the workspace already has a
    ///   credential with this name (or, never in practice, the id is taken). The workspace must
    ///   exist: the foreign key refuses an orphan with the engine's constraint error.
    public func insertCredential(_ credential: SMTPCredential) async throws {
        guard try await credentialID(named: credential.name, workspaceID: credential.workspaceID) == nil else {
            throw StoreError.duplicate("name")
        }
        let columns = try CredentialColumns(credential)
        try await mappingUniqueViolation(column: "name", table: "credentials") {
            try await database.raw("""
                INSERT INTO credentials (id, workspace_id, name, kind, \(columns.settingsColumns), created_at, updated_at, version)
                VALUES (\(bind: credential.id), \(bind: credential.workspaceID), \(bind: credential.name), \
                \(bind: CredentialColumns.smtpKind), \(columns.settingsValues), \(bind: columns.createdAt), \
                \(bind: columns.updatedAt), \(bind: Int64(credential.version)))
                """).run()
        }
    }

    /// The credential `id` of `workspaceID`; `nil` if it belongs to another workspace.
    public func credential(id: String, workspaceID: String) async throws -> SMTPCredential? {
        try await firstCredential("""
            SELECT \(CredentialColumns.all) FROM credentials WHERE id = \(bind: id) AND workspace_id = \(bind: workspaceID)
            """, from: reads)
    }

    /// The credential of `workspaceID` named exactly `name`.
    public func credential(named name: String, workspaceID: String) async throws -> SMTPCredential? {
        try await firstCredential("""
            SELECT \(CredentialColumns.all) FROM credentials WHERE workspace_id = \(bind: workspaceID) AND name = \(bind: name)
            """)
    }

    /// A workspace's credentials by name; ties (impossible while names are unique) broken by id.
    public func credentials(workspaceID: String) async throws -> [SMTPCredential] {
        try await allCredentials("""
            SELECT \(CredentialColumns.all) FROM credentials WHERE workspace_id = \(bind: workspaceID) ORDER BY name, id
            """)
    }

    /// Replaces every column of the stored credential with the same id and workspace, including
    /// `created_at`, as ``Workspaces/InMemoryStore`` replaces the whole value.
    ///
    /// The write is conditional on the stored `version` being `credential.version - 1`, so of two
    /// changes made from the same version only the first is stored.
    ///
    /// - Returns: `false` if the workspace has no credential with this id (checked before the name,
    ///   as the in-memory store does).
    /// - Throws: ``Workspaces/StoreError/duplicate(_:)`` (`"name"`) if another credential of the
    ///   workspace has the new name; ``Workspaces/StoreError/versionConflict`` if it changed since.
    public func updateCredential(_ credential: SMTPCredential) async throws -> Bool {
        try await updateCredential(credential, on: database)
    }

    private func updateCredential(_ credential: SMTPCredential, on database: any SQLDatabase) async throws -> Bool {
        let existing = try await database.raw("""
            SELECT id FROM credentials WHERE id = \(bind: credential.id) AND workspace_id = \(bind: credential.workspaceID)
            """).first()
        guard existing != nil else { return false }
        if let other = try await credentialID(named: credential.name, workspaceID: credential.workspaceID, on: database),
           other != credential.id {
            throw StoreError.duplicate("name")
        }
        let columns = try CredentialColumns(credential)
        let updated = try await mappingUniqueViolation(column: "name", table: "credentials") {
            try await database.raw("""
                UPDATE credentials SET name = \(bind: credential.name), \(columns.settingsAssignments), \
                created_at = \(bind: columns.createdAt), updated_at = \(bind: columns.updatedAt), \
                version = \(bind: Int64(credential.version))
                WHERE id = \(bind: credential.id) AND workspace_id = \(bind: credential.workspaceID) \
                AND version = \(bind: Int64(credential.version - 1))
                RETURNING id
                """).all()
        }
        guard updated.isEmpty else { return true }
        // Nothing matched: deleted since the check, or changed since the version it was made from.
        let stillThere = try await database.raw("""
            SELECT id FROM credentials WHERE id = \(bind: credential.id) AND workspace_id = \(bind: credential.workspaceID)
            """).first()
        if stillThere != nil { throw StoreError.versionConflict }
        return false
    }

    /// Deletes the credential `id` of `workspaceID`; `false` if there was none.
    public func deleteCredential(id: String, workspaceID: String) async throws -> Bool {
        let deleted = try await database.raw("""
            DELETE FROM credentials WHERE id = \(bind: id) AND workspace_id = \(bind: workspaceID) RETURNING id
            """).all()
        return !deleted.isEmpty
    }

    /// Keeps a credential's latest test: replaces the row before, or adds one when the workspace
    /// has the credential (the insert selects it, so a deleted or foreign id adds nothing).
    public func recordTest(_ record: CredentialTestRecord, credentialID: String, workspaceID: String) async throws {
        let updated = try await database.raw("""
            UPDATE credential_tests SET ok = \(bind: record.ok), tested_at = \(bind: record.testedAt.millisecondsSince1970), \
            code = \(bind: record.code), tls_version = \(bind: record.tlsVersion)
            WHERE credential_id = \(bind: credentialID) AND workspace_id = \(bind: workspaceID) RETURNING credential_id
            """).all()
        guard updated.isEmpty else { return }
        do {
            try await database.raw("""
                INSERT INTO credential_tests (credential_id, workspace_id, ok, tested_at, code, tls_version)
                SELECT id, workspace_id, \(bind: record.ok), \(bind: record.testedAt.millisecondsSince1970), \(bind: record.code), \
                \(bind: record.tlsVersion) FROM credentials WHERE id = \(bind: credentialID) AND workspace_id = \(bind: workspaceID)
                """).run()
        } catch let error where UniqueViolation.matches(error) {
            // Two tests finishing together: the other one's row stands; this one is as recent.
            logger.debug("Credential test recorded concurrently", metadata: ["storage.table": "credential_tests"])
        }
    }

    /// The latest test of each of a workspace's credentials that has one.
    public func lastTests(workspaceID: String) async throws -> [String: CredentialTestRecord] {
        let rows = try await database.raw("""
            SELECT credential_id, ok, tested_at, code, tls_version FROM credential_tests WHERE workspace_id = \(bind: workspaceID)
            """).all()
        var tests: [String: CredentialTestRecord] = [:]
        for row in rows {
            let stored = StoredRow(row, table: "credential_tests", idColumn: "credential_id")
            tests[try stored.value("credential_id")] = CredentialTestRecord(
                ok: try stored.value("ok"), testedAt: try stored.date("tested_at"), code: try stored.optional("code"),
                tlsVersion: try stored.optional("tls_version"))
        }
        return tests
    }

    /// Every credential of every workspace, by id (key rotation re-seals them all).
    public func allCredentials() async throws -> [SMTPCredential] {
        try await allCredentials("SELECT \(CredentialColumns.all) FROM credentials ORDER BY id")
    }

    /// PostgreSQL: one transaction with the row locked `FOR NO KEY UPDATE` from the read to the
    /// write, so instances refreshing one credential's token take turns and each reads its
    /// predecessor's rotated token — while rows that only reference the credential (a connection
    /// test's record, a bounce intake) are still written meanwhile: the lock does not cover its key. SQLite serves one instance (the executor lock) and must not hold its only
    /// writer across `body` (a token request): it reads, runs `body`, and writes with the
    /// version check.
    public func withCredentialLocked<Result: Sendable>(
        id: String, workspaceID: String, _ body: @escaping @Sendable (SMTPCredential) async throws -> (SMTPCredential?, Result)
    ) async throws -> Result? {
        switch dialect {
        case .sqlite:
            guard let stored = try await credential(id: id, workspaceID: workspaceID) else { return nil }
            let (changed, result) = try await body(stored)
            if let changed { _ = try await updateCredential(changed) }
            return result
        case .postgresql:
            return try await transaction { session in
                guard let row = try await session.raw("""
                    SELECT \(CredentialColumns.all) FROM credentials WHERE id = \(bind: id) AND workspace_id = \(bind: workspaceID) FOR NO KEY UPDATE
                    """).first()
                else { return nil }
                let (changed, result) = try await body(try CredentialColumns.credential(from: row))
                if let changed { _ = try await self.updateCredential(changed, on: session) }
                return result
            }
        }
    }

    // MARK: - Queries

    private func credentialID(named name: String, workspaceID: String, on database: (any SQLDatabase)? = nil) async throws -> String? {
        let database = database ?? self.database
        let row = try await database.raw("""
            SELECT id FROM credentials WHERE workspace_id = \(bind: workspaceID) AND name = \(bind: name)
            """).first()
        return try row.map { row throws(StorageError) in try StoredRow(row, table: "credentials").value("id") }
    }

    private func firstCredential(_ query: SQLQueryString, from source: (any SQLDatabase)? = nil) async throws -> SMTPCredential? {
        try await (source ?? database).raw(query).first().map(CredentialColumns.credential(from:))
    }

    private func allCredentials(_ query: SQLQueryString) async throws -> [SMTPCredential] {
        try await database.raw(query).all().map(CredentialColumns.credential(from:))
    }
}
