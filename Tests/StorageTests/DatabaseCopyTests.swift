import Flows
import Foundation
import SQLKit
import Storage
import TestSupport
import Testing
import Workspaces

@Suite("posthorn db copy: SQLite to PostgreSQL")
struct DatabaseCopyTests {
    @Test("a whole installation moves: every table's rows, read back equal through the PostgreSQL store, counts verified")
    func copiesEverything() async throws {
        try await withTemporaryDirectory { directory in
            try await withSQLiteStorage(dataDirectory: directory) { sqlite in
                let source = sqlite.store
                for id in ["ws_1", "ws_2"] { try await source.insertWorkspace(Fixture.workspace(id), tokenHash: "hash-\(id)") }
                let credential = try Fixture.credential("cred_1", workspaceID: "ws_1")
                try await source.insertCredential(credential)
                var oauth = try Fixture.credential("cred_oauth", workspaceID: "ws_1", name: "Gmail", caCertificate: nil)
                oauth.oauth = OAuthLink(providerID: "google", needsReconnect: true)
                try await source.insertCredential(oauth)
                try await source.insertUser(UserFixture.user("usr_1", email: "owner@example.com", isOwner: true), passwordHash: "x")
                let pending = PendingOAuthAuthorization(
                    stateHash: "state-hash", sessionHash: "session-hash", workspaceID: "ws_1", userID: "usr_1", providerID: "google",
                    credentialName: "Gmail 2", credentialID: nil, keyID: "k1", createdAt: Fixture.date(1_000), expiresAt: Fixture.date(2_000))
                try await source.insertAuthorization(pending)
                try await source.setSetting("oauth.client.microsoft", to: #"{"clientId":"ms","secret":"sealed"}"#)
                let flow = FlowFixture.detailedFlow("fl_1", workspaceID: "ws_1")
                try await source.insertFlow(flow)
                let cron = FlowFixture.flow("fl_cron", workspaceID: "ws_2", trigger: FlowFixture.cron())
                try await source.insertFlow(cron)
                var runs = (0..<1_234).map { FlowFixture.run("run_\($0)", workspaceID: "ws_1", flowID: "fl_1", createdAt: 1_700_000_000_000 + Int64($0)) }
                runs.append(FlowFixture.detailedRun())
                try await source.enqueue(runs)
                #expect(try await source.enqueueCronFire(FlowFixture.run("run_cron", workspaceID: "ws_2", flowID: "fl_cron"), flowID: "fl_cron", dueAt: Fixture.date(1_700_000_000_000)))

                try await withPostgresStorage { postgres in
                    let counts = try await DatabaseCopy.copy(from: source, to: postgres.store, logger: testLogger)
                    let byTable = Dictionary(uniqueKeysWithValues: counts.map { ($0.table, $0.target) })
                    #expect(byTable["runs"] == 1_236 && byTable["workspaces"] == 2 && byTable["flows"] == 2 && byTable["credentials"] == 2)
                    #expect(byTable["oauth_authorizations"] == 1)
                    #expect(byTable["cron_fires"] == 1)
                    #expect(counts.allSatisfy { $0.source == $0.target })
                    #expect(byTable["schema_migrations"] == nil, "the target keeps its own migration ledger")

                    let target = postgres.store
                    #expect(try await target.credential(id: "cred_1", workspaceID: "ws_1") == credential, "still sealed, byte for byte")
                    #expect(try await target.flow(id: "fl_1", workspaceID: "ws_1") == flow)
                    #expect(try await target.credential(id: "cred_oauth", workspaceID: "ws_1") == oauth, "an OAuth credential and its flag")
                    #expect(try await target.takeAuthorization(stateHash: "state-hash") == pending, "a sign-in under way completes on the new database")
                    #expect(try await target.setting("oauth.client.microsoft") == #"{"clientId":"ms","secret":"sealed"}"#)
                    #expect(try await target.run(id: "run_detailed", workspaceID: "ws_1") == runs.last)
                    #expect(try await target.lastCronFire(flowID: "fl_cron") == Fixture.date(1_700_000_000_000))
                    #expect(try await target.countByStatus() == source.countByStatus())

                    // A second copy into the now full database is refused and changes nothing.
                    await #expect(throws: DatabaseCopy.CopyError.self) {
                        try await DatabaseCopy.copy(from: source, to: target, logger: testLogger)
                    }
                    #expect(try await target.countByStatus()[.queued] == 1_235)
                }
            }
        }
    }
}
