import Foundation
import Secrets
import SQLKit
import Storage
import TestSupport
import Testing
import Workspaces

/// What every store must do for OAuth credentials (#21): sign-ins under way taken once, the
/// provider and needs-reconnect flag kept, and refreshes of one credential taking turns.
@Suite("OAuth store contract")
struct OAuthStoreContractTests {
    private static let home = Fixture.workspace("ws_home", name: "Home", createdAt: 1_000)

    private static func withStore(_ kind: StoreKind, _ body: (any UserContractStore) async throws -> Void) async throws {
        try await kind.withUserStore { store in
            try await store.insertWorkspace(home, tokenHash: "hash-home")
            try await store.insertUser(UserFixture.user("usr_a", email: "ann@example.com", isOwner: true), passwordHash: "x")
            try await body(store)
        }
    }

    private static func pending(_ stateHash: String, expiresAt: Int64 = 2_000_000, credentialID: String? = nil) -> PendingOAuthAuthorization {
        PendingOAuthAuthorization(
            stateHash: stateHash, sessionHash: "session-hash", workspaceID: home.id, userID: "usr_a", providerID: "google",
            credentialName: credentialID == nil ? "Support Gmail" : nil, credentialID: credentialID, keyID: "k1",
            createdAt: Fixture.date(1_000_000), expiresAt: Fixture.date(expiresAt))
    }

    @Test("a sign-in under way reads back whole and is taken once, however many callbacks race; expired ones are forgotten", arguments: StoreKind.allCases)
    func authorizations(_ kind: StoreKind) async throws {
        try await Self.withStore(kind) { store in
            try await store.insertAuthorization(Self.pending("state-a"))
            try await store.insertAuthorization(Self.pending("state-b", credentialID: "cr_1"))
            try await store.insertAuthorization(Self.pending("state-old", expiresAt: 1_500_000))
            #expect(try await store.takeAuthorization(stateHash: "state-a") == Self.pending("state-a"))
            #expect(try await store.takeAuthorization(stateHash: "state-a") == nil, "used once")
            #expect(try await store.takeAuthorization(stateHash: "unknown") == nil)

            let taken = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<10 { group.addTask { try await store.takeAuthorization(stateHash: "state-b") != nil } }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(taken == 1)
            #expect(try await store.forgetAuthorizations(before: Fixture.date(1_600_000)) == 1)
            #expect(try await store.takeAuthorization(stateHash: "state-old") == nil)
        }
    }

    @Test("an OAuth credential keeps its provider and needs-reconnect flag; a password credential has none", arguments: StoreKind.allCases)
    func credentialLink(_ kind: StoreKind) async throws {
        try await Self.withStore(kind) { store in
            var credential = try Fixture.credential("cr_1", workspaceID: Self.home.id, name: "Gmail", caCertificate: nil)
            credential.oauth = OAuthLink(providerID: "google")
            try await store.insertCredential(credential)
            #expect(try await store.credential(id: "cr_1", workspaceID: Self.home.id) == credential)
            credential.oauth?.needsReconnect = true
            credential.version += 1
            #expect(try await store.updateCredential(credential))
            #expect(try await store.credential(id: "cr_1", workspaceID: Self.home.id)?.oauth == OAuthLink(providerID: "google", needsReconnect: true))

            let password = try Fixture.credential("cr_2", workspaceID: Self.home.id, name: "Relay")
            try await store.insertCredential(password)
            #expect(try await store.credential(id: "cr_2", workspaceID: Self.home.id)?.oauth == nil)
        }
    }

    @Test("the locked read-modify-write stores what the body returns, and finds nothing in another workspace", arguments: StoreKind.allCases)
    func lockedUpdate(_ kind: StoreKind) async throws {
        try await Self.withStore(kind) { store in
            var credential = try Fixture.credential("cr_1", workspaceID: Self.home.id, name: "Gmail", caCertificate: nil)
            credential.oauth = OAuthLink(providerID: "google")
            try await store.insertCredential(credential)
            let seen = try await store.withCredentialLocked(id: "cr_1", workspaceID: Self.home.id) { stored in
                var changed = stored
                changed.username = "rotated@example.com"
                changed.version += 1
                return (changed, stored.version)
            }
            #expect(seen == 1)
            #expect(try await store.credential(id: "cr_1", workspaceID: Self.home.id)?.username == "rotated@example.com")
            let unchanged: Int? = try await store.withCredentialLocked(id: "cr_1", workspaceID: Self.home.id) { stored in (nil, stored.version) }
            #expect(unchanged == 2)
            let foreign: Int? = try await store.withCredentialLocked(id: "cr_1", workspaceID: "ws_other") { _ in (nil, 0) }
            #expect(foreign == nil)
        }
    }

    @Test("on PostgreSQL, two refreshes of one credential take turns: the second reads what the first stored")
    func lockedTakesTurns() async throws {
        try await Self.withStore(.postgres) { store in
            var credential = try Fixture.credential("cr_1", workspaceID: Self.home.id, name: "Gmail", caCertificate: nil)
            credential.oauth = OAuthLink(providerID: "google")
            try await store.insertCredential(credential)
            // Each body reads the version, waits (a token request), then stores the next: without
            // the lock both read 1 and the second write is refused as a version conflict.
            let versions = try await withThrowingTaskGroup(of: Int?.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        try await store.withCredentialLocked(id: "cr_1", workspaceID: Self.home.id) { stored in
                            try await Task.sleep(for: .milliseconds(300))
                            var changed = stored
                            changed.version += 1
                            return (changed, stored.version)
                        }
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1 ?? -1) }.sorted()
            }
            #expect(versions == [1, 2])
            #expect(try await store.credential(id: "cr_1", workspaceID: Self.home.id)?.version == 3)
        }
    }

    @Test("on PostgreSQL, a refresh under way on one instance does not hold up another instance's rows that only reference the credential")
    func lockLeavesReferencesFree() async throws {
        try await withPostgresStorage { storage in
            let store = storage.store
            try await store.insertWorkspace(Self.home, tokenHash: "hash-home")
            var credential = try Fixture.credential("cr_1", workspaceID: Self.home.id, name: "Gmail", caCertificate: nil)
            credential.oauth = OAuthLink(providerID: "google")
            try await store.insertCredential(credential)
            // Another instance on the same database.
            let schema = try #require(try await store.database.raw("SELECT current_schema() AS s").first()?.decode(column: "s", as: String.self))
            let other = try await PostgresStorage.open(url: try await PostgresTestServer.url(), logger: testLogger, searchPath: [schema])
            // While this instance refreshes (the row held), the other records a connection test:
            // under FOR UPDATE its insert (whose foreign key takes KEY SHARE) waited for the whole
            // token request — the stall the multi-instance check found.
            let recorded = try await store.withCredentialLocked(id: "cr_1", workspaceID: Self.home.id) { _ in
                try await withThrowingTaskGroup(of: Bool.self) { group in
                    group.addTask {
                        try await other.store.recordTest(
                            CredentialTestRecord(ok: true, testedAt: Fixture.date(1_000), code: nil, tlsVersion: "TLSv1.3"),
                            credentialID: "cr_1", workspaceID: Self.home.id)
                        return true
                    }
                    group.addTask {
                        try await Task.sleep(for: .seconds(5))
                        return false
                    }
                    let first = try await group.next() ?? false
                    group.cancelAll()
                    return (nil, first)
                }
            }
            try await other.close()
            #expect(recorded == true)
            #expect(try await store.lastTests(workspaceID: Self.home.id)["cr_1"]?.ok == true)
        }
    }
}
