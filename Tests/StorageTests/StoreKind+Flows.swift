import Flows
import Storage

/// The flow and run stores one implementation provides: the in-memory pair, or one ``Storage/SQLStore``
/// serving both.
struct FlowStores: Sendable {
    let flows: any FlowStore
    let runs: any RunStore
}

extension StoreKind {
    /// The workspaces that exist in every fresh flow store; the SQL `flows` table references them.
    static let flowWorkspaceIDs = ["ws_1", "ws_2"]

    /// Runs `body` with fresh, empty flow and run stores of this kind, and disposes of them
    /// afterwards.
    func withFlowStores(_ body: (FlowStores) async throws -> Void) async throws {
        switch self {
        case .inMemory:
            let flows = InMemoryFlowStore()
            try await body(FlowStores(flows: flows, runs: InMemoryRunStore(flows: flows)))
        case .sqliteFile:
            try await withTemporaryDirectory { directory in
                try await withSQLiteStorage(dataDirectory: directory) { storage in
                    for id in Self.flowWorkspaceIDs {
                        try await storage.store.insertWorkspace(Fixture.workspace(id), tokenHash: "hash-\(id)")
                    }
                    try await body(FlowStores(flows: storage.store, runs: storage.store))
                }
            }
        case .postgres:
            try await withPostgresStorage { storage in
                for id in Self.flowWorkspaceIDs {
                    try await storage.store.insertWorkspace(Fixture.workspace(id), tokenHash: "hash-\(id)")
                }
                try await body(FlowStores(flows: storage.store, runs: storage.store))
            }
        }
    }
}
