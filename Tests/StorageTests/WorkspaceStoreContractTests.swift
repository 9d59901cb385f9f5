import Testing
import Workspaces

/// What every ``WorkspaceStore`` must do, run against each ``StoreKind``.
@Suite("WorkspaceStore contract")
struct WorkspaceStoreContractTests {
    @Test("a workspace is found by its token hash, its id and its name, and nothing else is", arguments: StoreKind.allCases)
    func lookups(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let acme = Fixture.workspace("ws_acme", name: "Acme")
            let other = Fixture.workspace("ws_other", name: "Other")
            try await store.insertWorkspace(acme, tokenHash: "hash-acme")
            try await store.insertWorkspace(other, tokenHash: "hash-other")

            #expect(try await store.workspace(tokenHash: "hash-acme") == acme)
            #expect(try await store.workspace(id: "ws_acme") == acme)
            #expect(try await store.workspace(named: "Acme") == acme)
            #expect(try await store.workspace(tokenHash: "hash-other") == other)

            #expect(try await store.workspace(tokenHash: "hash-missing") == nil)
            #expect(try await store.workspace(id: "ws_missing") == nil)
            #expect(try await store.workspace(named: "acme") == nil, "names match exactly, case included")
        }
    }

    @Test("a workspace's sending cap is stored, read back by id and name, and removed", arguments: StoreKind.allCases)
    func sendingCap(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await store.insertWorkspace(Fixture.workspace("ws_acme", name: "Acme"), tokenHash: "hash-acme")
            let cap = RateLimits(perMinute: 30, perDay: 2_000, counts: .recipients)
            #expect(try await store.setWorkspaceLimits(cap, workspaceID: "ws_acme"))
            #expect(try await store.workspace(id: "ws_acme")?.limits == cap)
            #expect(try await store.workspace(named: "Acme")?.limits == cap)
            #expect(try await store.workspaces().first?.limits == cap)
            #expect(try await store.setWorkspaceLimits(nil, workspaceID: "ws_acme"))
            #expect(try await store.workspace(id: "ws_acme")?.limits == nil)
            #expect(try await store.setWorkspaceLimits(cap, workspaceID: "ws_missing") == false)
        }
    }

    @Test("workspaces list oldest first, ties broken by id", arguments: StoreKind.allCases)
    func listingOrder(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            #expect(try await store.workspaces().isEmpty)
            let newest = Fixture.workspace("ws_a", createdAt: 3_000)
            let tiedSecond = Fixture.workspace("ws_c", createdAt: 2_000)
            let tiedFirst = Fixture.workspace("ws_b", createdAt: 2_000)
            let oldest = Fixture.workspace("ws_d", createdAt: 1_000)
            for (index, workspace) in [newest, tiedSecond, tiedFirst, oldest].enumerated() {
                try await store.insertWorkspace(workspace, tokenHash: "hash-\(index)")
            }

            #expect(try await store.workspaces() == [oldest, tiedFirst, tiedSecond, newest])
        }
    }

    @Test("a taken name or id is a duplicate name, and the first workspace stays", arguments: StoreKind.allCases)
    func duplicates(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let acme = Fixture.workspace("ws_acme", name: "Acme")
            try await store.insertWorkspace(acme, tokenHash: "hash-1")

            await #expect(throws: StoreError.duplicate("name")) {
                try await store.insertWorkspace(Fixture.workspace("ws_other", name: "Acme"), tokenHash: "hash-2")
            }
            await #expect(throws: StoreError.duplicate("name")) {
                try await store.insertWorkspace(Fixture.workspace("ws_acme", name: "Renamed"), tokenHash: "hash-3")
            }
            #expect(try await store.workspaces() == [acme])
            #expect(try await store.workspace(tokenHash: "hash-1") == acme)
        }
    }

    @Test("of concurrent inserts with one name, exactly one wins and the rest are duplicates", arguments: StoreKind.allCases)
    func concurrentInserts(_ kind: StoreKind) async throws {
        try await kind.withStore { store async throws in
            let outcomes = await withTaskGroup(of: InsertOutcome.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        await InsertOutcome {
                            try await store.insertWorkspace(Fixture.workspace("ws_\(index)", name: "Contested"), tokenHash: "hash-\(index)")
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }

            #expect(outcomes.filter { $0 == .inserted }.count == 1)
            #expect(outcomes.filter { $0 == .duplicate }.count == 7)
            #expect(try await store.workspaces().count == 1)
        }
    }

    @Test("creation dates round trip to the millisecond", arguments: StoreKind.allCases)
    func dates(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let workspaces = [
                Fixture.workspace("ws_epoch", createdAt: 0),
                Fixture.workspace("ws_recent", createdAt: 1_767_225_599_999),
                Fixture.workspace("ws_before_epoch", createdAt: -1_234),
            ]
            for workspace in workspaces {
                try await store.insertWorkspace(workspace, tokenHash: "hash-\(workspace.id)")
                #expect(try await store.workspace(id: workspace.id)?.createdAt == workspace.createdAt)
            }
        }
    }

    @Test("settings start empty, and setting a key twice keeps the last value", arguments: StoreKind.allCases)
    func settings(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            #expect(try await store.setting("admin_token_hash") == nil)

            try await store.setSetting("admin_token_hash", to: "first")
            try await store.setSetting("other", to: "untouched")
            #expect(try await store.setting("admin_token_hash") == "first")

            try await store.setSetting("admin_token_hash", to: "second")
            #expect(try await store.setting("admin_token_hash") == "second")
            #expect(try await store.setting("other") == "untouched")

            try await store.setSetting("admin_token_hash", to: "")
            #expect(try await store.setting("admin_token_hash") == "")
        }
    }
}

/// How one of several racing writes ended.
enum InsertOutcome: Equatable, Sendable {
    case inserted
    case duplicate
    case failed(String)

    /// Runs `write` and classifies the result.
    init(_ write: () async throws -> Void) async {
        do {
            try await write()
            self = .inserted
        } catch StoreError.duplicate("name") {
            self = .duplicate
        } catch {
            self = .failed(String(describing: error))
        }
    }
}

/// What every ``SuppressionStore`` must do, run against each ``StoreKind``.
@Suite("SuppressionStore contract")
struct SuppressionStoreContractTests {
    @Test("an address is listed once per workspace, matched whatever its case, listed newest first, and removed", arguments: StoreKind.allCases)
    func suppressions(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            for id in ["ws_1", "ws_2"] { try await store.insertWorkspace(Fixture.workspace(id, name: id), tokenHash: "hash-\(id)") }
            let old = Suppression(workspaceID: "ws_1", address: "Ada@example.com", reason: .bounce, detail: "5.1.1", createdAt: Fixture.date(1_000))
            let new = Suppression(workspaceID: "ws_1", address: "grace@example.com", reason: .manual, detail: nil, createdAt: Fixture.date(2_000))
            #expect(try await store.insertSuppression(old))
            #expect(try await store.insertSuppression(new))
            #expect(try await store.insertSuppression(Suppression(workspaceID: "ws_1", address: "ADA@example.com", reason: .complaint, detail: nil, createdAt: Fixture.date(3_000))) == false)
            #expect(try await store.insertSuppression(Suppression(workspaceID: "ws_2", address: "ada@example.com", reason: .manual, detail: nil, createdAt: Fixture.date(3_000))))
            #expect(try await store.suppressions(workspaceID: "ws_1", limit: 10) == [new, old])
            #expect(try await store.suppressions(workspaceID: "ws_1", limit: 1) == [new])
            #expect(try await store.suppression(address: "ada@EXAMPLE.com", workspaceID: "ws_1") == old)
            #expect(try await store.suppression(address: "ada@example.com", workspaceID: "ws_3") == nil)
            #expect(try await store.suppressedKeys(workspaceID: "ws_1", among: ["ada@EXAMPLE.com", "linus@example.com", "Grace@example.com"])
                == ["ada@example.com", "grace@example.com"])
            #expect(try await store.deleteSuppression(address: "ada@example.com", workspaceID: "ws_1"))
            #expect(try await store.deleteSuppression(address: "ada@example.com", workspaceID: "ws_1") == false)
            #expect(try await store.suppressedKeys(workspaceID: "ws_2", among: ["ada@example.com"]) == ["ada@example.com"])
        }
    }
}
