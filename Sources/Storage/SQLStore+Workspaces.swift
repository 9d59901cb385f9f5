public import Workspaces
import SQLKit

extension SQLStore: WorkspaceStore {
    /// Stores a new workspace with the hash of its API token.
    ///
    /// - Throws: ``Workspaces/StoreError/duplicate(_:)`` (`"name"`) if the id or the name is taken,
    ///   as ``Workspaces/InMemoryStore`` does. A token hash collision, which 256-bit tokens make
    ///   impossible in practice, is refused by the `UNIQUE` constraint the same way.
    public func insertWorkspace(_ workspace: Workspace, tokenHash: String) async throws {
        let taken = try await database.raw("""
            SELECT id FROM workspaces WHERE id = \(bind: workspace.id) OR name = \(bind: workspace.name)
            """).first()
        guard taken == nil else { throw StoreError.duplicate("name") }
        try await mappingUniqueViolation(column: "name", table: "workspaces") {
            try await database.raw("""
                INSERT INTO workspaces (id, name, token_hash, created_at)
                VALUES (\(bind: workspace.id), \(bind: workspace.name), \(bind: tokenHash), \
                \(bind: workspace.createdAt.millisecondsSince1970))
                """).run()
        }
    }

    /// The workspace whose token hashes to `tokenHash`.
    public func workspace(tokenHash: String) async throws -> Workspace? {
        try await firstWorkspace("SELECT id, name, created_at FROM workspaces WHERE token_hash = \(bind: tokenHash)")
    }

    /// The workspace with `id`.
    public func workspace(id: String) async throws -> Workspace? {
        try await firstWorkspace("SELECT id, name, created_at FROM workspaces WHERE id = \(bind: id)")
    }

    /// The workspace named exactly `name`.
    public func workspace(named name: String) async throws -> Workspace? {
        try await firstWorkspace("SELECT id, name, created_at FROM workspaces WHERE name = \(bind: name)")
    }

    /// Every workspace, oldest first; ties broken by id.
    public func workspaces() async throws -> [Workspace] {
        let rows = try await database.raw("SELECT id, name, created_at FROM workspaces ORDER BY created_at, id").all()
        return try rows.map(Self.workspace(from:))
    }

    // MARK: - Rows

    private func firstWorkspace(_ query: SQLQueryString) async throws -> Workspace? {
        try await database.raw(query).first().map(Self.workspace(from:))
    }

    private static func workspace(from row: any SQLRow) throws(StorageError) -> Workspace {
        let stored = StoredRow(row, table: "workspaces")
        return Workspace(id: try stored.value("id"), name: try stored.value("name"), createdAt: try stored.date("created_at"))
    }
}
