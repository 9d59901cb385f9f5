public import Foundation
public import Workspaces
import SQLKit

extension SQLStore: WorkspaceStore {
    /// Stores a new workspace and its first API token (`default`) in one transaction.
    ///
    /// - Throws: ``Workspaces/StoreError/duplicate(_:)`` (`"name"`) if the id or the name is taken,
    ///   as ``Workspaces/InMemoryStore`` does. A token hash collision, which 256-bit tokens make
    ///   impossible in practice, is refused by the `UNIQUE` constraint the same way.
    ///   `workspaces.token_hash`, which version 3 retired, gets a value no token hashes to.
    public func insertWorkspace(_ workspace: Workspace, tokenHash: String) async throws {
        let taken = try await database.raw("""
            SELECT id FROM workspaces WHERE id = \(bind: workspace.id) OR name = \(bind: workspace.name)
            """).first()
        guard taken == nil else { throw StoreError.duplicate("name") }
        let created = workspace.createdAt.millisecondsSince1970
        try await mappingUniqueViolation(column: "name", table: "workspaces") {
            try await transaction { session in
                try await session.raw("""
                    INSERT INTO workspaces (id, name, token_hash, created_at)
                    VALUES (\(bind: workspace.id), \(bind: workspace.name), \(bind: "migrated:" + workspace.id), \(bind: created))
                    """).run()
                try await session.raw("""
                    INSERT INTO api_tokens (id, workspace_id, name, token_hash, created_at)
                    VALUES (\(bind: APIToken.defaultID(of: workspace.id)), \(bind: workspace.id), 'default', \(bind: tokenHash), \(bind: created))
                    """).run()
            }
        }
    }

    /// The token that hashes to `hash`, with its workspace.
    public func token(hash: String) async throws -> (workspace: Workspace, token: APIToken)? {
        guard let row = try await database.raw("""
            SELECT t.id, t.workspace_id, t.name, t.created_by, t.created_at, t.last_used_at, w.name AS workspace_name, w.created_at AS workspace_created_at
            FROM api_tokens t JOIN workspaces w ON w.id = t.workspace_id WHERE t.token_hash = \(bind: hash)
            """).first()
        else { return nil }
        let stored = StoredRow(row, table: "api_tokens")
        let token = try Self.token(from: row)
        return (
            Workspace(id: token.workspaceID, name: try stored.value("workspace_name"), createdAt: try stored.date("workspace_created_at")),
            token
        )
    }

    /// Stores another token of a workspace; `duplicate("name")` when the name is taken.
    public func insertToken(_ token: APIToken, tokenHash: String) async throws {
        let taken = try await database.raw("""
            SELECT id FROM api_tokens WHERE workspace_id = \(bind: token.workspaceID) AND name = \(bind: token.name)
            """).first()
        guard taken == nil else { throw StoreError.duplicate("name") }
        try await mappingUniqueViolation(column: "name", table: "api_tokens") {
            try await database.raw("""
                INSERT INTO api_tokens (id, workspace_id, name, token_hash, created_by, created_at)
                VALUES (\(bind: token.id), \(bind: token.workspaceID), \(bind: token.name), \(bind: tokenHash), \
                \(bind: token.createdBy), \(bind: token.createdAt.millisecondsSince1970))
                """).run()
        }
    }

    /// A workspace's tokens, oldest first.
    public func tokens(workspaceID: String) async throws -> [APIToken] {
        try await database.raw("""
            SELECT id, workspace_id, name, created_by, created_at, last_used_at FROM api_tokens
            WHERE workspace_id = \(bind: workspaceID) ORDER BY created_at, id
            """).all().map(Self.token(from:))
    }

    /// Revokes a token; `false` when the workspace has none with this id.
    public func deleteToken(id: String, workspaceID: String) async throws -> Bool {
        !(try await database.raw("""
            DELETE FROM api_tokens WHERE id = \(bind: id) AND workspace_id = \(bind: workspaceID) RETURNING id
            """).all().isEmpty)
    }

    /// Records the token's last use.
    public func recordTokenUse(id: String, at date: Date) async throws {
        try await database.raw("""
            UPDATE api_tokens SET last_used_at = \(bind: date.millisecondsSince1970) WHERE id = \(bind: id)
            """).run()
    }

    /// The workspace with `id`.
    public func workspace(id: String) async throws -> Workspace? {
        try await firstWorkspace("SELECT id, name, created_at, rate_limits FROM workspaces WHERE id = \(bind: id)", from: reads)
    }

    /// The workspace named exactly `name`.
    public func workspace(named name: String) async throws -> Workspace? {
        try await firstWorkspace("SELECT id, name, created_at, rate_limits FROM workspaces WHERE name = \(bind: name)")
    }

    /// Every workspace, oldest first; ties broken by id.
    public func workspaces() async throws -> [Workspace] {
        let rows = try await database.raw("SELECT id, name, created_at, rate_limits FROM workspaces ORDER BY created_at, id").all()
        return try rows.map(Self.workspace(from:))
    }

    // MARK: - Rows

    private func firstWorkspace(_ query: SQLQueryString, from source: (any SQLDatabase)? = nil) async throws -> Workspace? {
        try await (source ?? database).raw(query).first().map(Self.workspace(from:))
    }

    private static func token(from row: any SQLRow) throws(StorageError) -> APIToken {
        let stored = StoredRow(row, table: "api_tokens")
        return APIToken(
            id: try stored.value("id"), workspaceID: try stored.value("workspace_id"), name: try stored.value("name"),
            createdAt: try stored.date("created_at"), lastUsedAt: try stored.optionalDate("last_used_at"),
            createdBy: try stored.optional("created_by"))
    }

    private static func workspace(from row: any SQLRow) throws(StorageError) -> Workspace {
        let stored = StoredRow(row, table: "workspaces")
        return Workspace(
            id: try stored.value("id"), name: try stored.value("name"), createdAt: try stored.date("created_at"),
            limits: try stored.optionalJSON("rate_limits", as: RateLimits.self))
    }

    /// Sets or removes the workspace's cap (`workspaces.rate_limits`, JSON).
    public func setWorkspaceLimits(_ limits: RateLimits?, workspaceID: String) async throws -> Bool {
        let text: String?
        do {
            text = try limits.map { try StoredJSON.text($0) }
        } catch {
            throw StorageError.invalidValue(table: "workspaces", column: "rate_limits", rowID: workspaceID)
        }
        return !(try await database.raw("""
            UPDATE workspaces SET rate_limits = \(bind: text) WHERE id = \(bind: workspaceID) RETURNING id
            """).all()).isEmpty
    }
}
