import Foundation
import Storage
import TestSupport
import Testing
import Workspaces

/// What every ``Workspaces/ReplayStore`` must do, on memory, SQLite and PostgreSQL.
@Suite("ReplayStore contract")
struct ReplayStoreContractTests {
    func withReplayStore(_ kind: StoreKind, _ body: (any ReplayStore) async throws -> Void) async throws {
        switch kind {
        case .inMemory:
            try await body(InMemoryReplayStore())
        case .sqliteFile:
            try await withTemporaryDirectory { directory in
                try await withSQLiteStorage(dataDirectory: directory) { try await body($0.store) }
            }
        case .postgres:
            try await withPostgresStorage { try await body($0.store) }
        }
    }

    @Test("a call is taken in once while remembered, again after it expires or is released; racing copies pass once", arguments: StoreKind.allCases)
    func reserve(_ kind: StoreKind) async throws {
        try await withReplayStore(kind) { store in
            let now = Fixture.date(1_000_000)
            #expect(try await store.reserveReplay(digest: "aa", until: Fixture.date(1_300_000), now: now))
            #expect(try await !store.reserveReplay(digest: "aa", until: Fixture.date(1_400_000), now: Fixture.date(1_299_999)))
            #expect(try await store.reserveReplay(digest: "aa", until: Fixture.date(1_700_000), now: Fixture.date(1_300_000)), "expired")
            try await store.releaseReplay(digest: "aa")
            #expect(try await store.reserveReplay(digest: "aa", until: Fixture.date(1_700_000), now: now), "released")

            let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<12 { group.addTask { try await store.reserveReplay(digest: "race", until: Fixture.date(2_000_000), now: now) } }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(winners == 1)
            #expect(try await store.forgetReplays(before: Fixture.date(1_800_000)) == 1)
            #expect(try await !store.reserveReplay(digest: "race", until: Fixture.date(2_100_000), now: now), "still remembered")
        }
    }
}
