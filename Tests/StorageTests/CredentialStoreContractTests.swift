import SMTP
import SMTPCore
import Secrets
import Testing
import Vault
import Workspaces

/// What every ``CredentialStore`` must do, run against each ``StoreKind``.
@Suite("CredentialStore contract")
struct CredentialStoreContractTests {
    /// Two workspaces, so every test can check that the other one sees nothing.
    private static let home = Fixture.workspace("ws_home", name: "Home", createdAt: 1_000)
    private static let away = Fixture.workspace("ws_away", name: "Away", createdAt: 2_000)

    private static func withWorkspaces(_ kind: StoreKind, _ body: (any ContractStore) async throws -> Void) async throws {
        try await kind.withStore { store in
            try await store.insertWorkspace(home, tokenHash: "hash-home")
            try await store.insertWorkspace(away, tokenHash: "hash-away")
            try await body(store)
        }
    }

    // MARK: - Insert and read

    @Test("an inserted credential is found by id and by name in its workspace", arguments: StoreKind.allCases)
    func insertAndGet(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            let credential = try Fixture.credential("cr_1", workspaceID: Self.home.id, name: "Marketing — SendGrid")
            try await store.insertCredential(credential)

            #expect(try await store.credential(id: "cr_1", workspaceID: Self.home.id) == credential)
            #expect(try await store.credential(named: "Marketing — SendGrid", workspaceID: Self.home.id) == credential)
            #expect(try await store.credential(id: "cr_missing", workspaceID: Self.home.id) == nil)
            #expect(try await store.credential(named: "marketing — sendgrid", workspaceID: Self.home.id) == nil)
        }
    }

    @Test("a workspace's credentials list by name; all credentials list by id", arguments: StoreKind.allCases)
    func listingOrder(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            let charlie = try Fixture.credential("cr_a", workspaceID: Self.home.id, name: "Charlie")
            let alpha = try Fixture.credential("cr_c", workspaceID: Self.home.id, name: "Alpha")
            let bravo = try Fixture.credential("cr_b", workspaceID: Self.home.id, name: "Bravo")
            let elsewhere = try Fixture.credential("cr_0", workspaceID: Self.away.id, name: "Aardvark")
            for credential in [charlie, alpha, elsewhere, bravo] {
                try await store.insertCredential(credential)
            }

            #expect(try await store.credentials(workspaceID: Self.home.id) == [alpha, bravo, charlie])
            #expect(try await store.credentials(workspaceID: Self.away.id) == [elsewhere])
            #expect(try await store.credentials(workspaceID: "ws_missing").isEmpty)
            #expect(try await store.allCredentials() == [elsewhere, charlie, bravo, alpha])
        }
    }

    // MARK: - Names

    @Test("a name taken in the same workspace is a duplicate; another workspace may reuse it", arguments: StoreKind.allCases)
    func duplicateNames(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            let first = try Fixture.credential("cr_1", workspaceID: Self.home.id, name: "Relay")
            try await store.insertCredential(first)

            await #expect(throws: StoreError.duplicate("name")) {
                try await store.insertCredential(try Fixture.credential("cr_2", workspaceID: Self.home.id, name: "Relay"))
            }
            let reused = try Fixture.credential("cr_3", workspaceID: Self.away.id, name: "Relay")
            try await store.insertCredential(reused)

            #expect(try await store.credentials(workspaceID: Self.home.id) == [first])
            #expect(try await store.credential(named: "Relay", workspaceID: Self.away.id) == reused)
        }
    }

    @Test("of concurrent inserts with one name in a workspace, exactly one wins", arguments: StoreKind.allCases)
    func concurrentInserts(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            let credentials = try (0..<8).map { try Fixture.credential("cr_\($0)", workspaceID: Self.home.id, name: "Contested") }
            let outcomes = await withTaskGroup(of: InsertOutcome.self) { group in
                for credential in credentials {
                    group.addTask { await InsertOutcome { try await store.insertCredential(credential) } }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }

            #expect(outcomes.filter { $0 == .inserted }.count == 1)
            #expect(outcomes.filter { $0 == .duplicate }.count == 7)
            #expect(try await store.credentials(workspaceID: Self.home.id).count == 1)
        }
    }

    // MARK: - Update and delete

    @Test("an update replaces every field; renaming onto a taken name is a duplicate", arguments: StoreKind.allCases)
    func update(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            let original = try Fixture.credential("cr_1", workspaceID: Self.home.id, name: "Relay")
            let neighbour = try Fixture.credential("cr_2", workspaceID: Self.home.id, name: "Neighbour")
            try await store.insertCredential(original)
            try await store.insertCredential(neighbour)

            var changed = try Fixture.credential(
                "cr_1", workspaceID: Self.home.id, name: "Relay (renamed)", username: nil, security: .implicitTLS,
                acceptUnverifiedCertificates: true, minimumTLSVersion: .tls13, clientIdentifier: nil,
                caCertificate: nil, password: "a new password", createdAt: 5_000, updatedAt: 9_000
            )
            changed.host = "mail.example.org"
            changed.port = 465
            changed.version = original.version + 1
            #expect(try await store.updateCredential(changed))
            #expect(try await store.credential(id: "cr_1", workspaceID: Self.home.id) == changed)
            #expect(try await store.credential(named: "Relay", workspaceID: Self.home.id) == nil)

            var clash = changed
            clash.name = "Neighbour"
            clash.version += 1
            await #expect(throws: StoreError.duplicate("name")) { try await store.updateCredential(clash) }
            #expect(try await store.credential(id: "cr_1", workspaceID: Self.home.id) == changed)

            var missing = try Fixture.credential("cr_missing", workspaceID: Self.home.id, name: "Neighbour")
            missing.version = 2
            #expect(try await store.updateCredential(missing) == false, "a missing id is `false`, before any name check")
        }
    }

    @Test("an update made from an older version is a conflict and changes nothing", arguments: StoreKind.allCases)
    func versionConflict(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            let original = try Fixture.credential("cr_1", workspaceID: Self.home.id, name: "Relay")
            try await store.insertCredential(original)
            var first = original
            first.name = "First"
            first.version = 2
            var second = original
            second.name = "Second"
            second.version = 2
            #expect(try await store.updateCredential(first))
            await #expect(throws: StoreError.versionConflict) { try await store.updateCredential(second) }
            var stale = first
            stale.version = 2
            await #expect(throws: StoreError.versionConflict) { try await store.updateCredential(stale) }
            #expect(try await store.credential(id: "cr_1", workspaceID: Self.home.id) == first)
        }
    }

    @Test("a delete removes the credential once", arguments: StoreKind.allCases)
    func delete(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            let credential = try Fixture.credential("cr_1", workspaceID: Self.home.id, name: "Relay")
            try await store.insertCredential(credential)

            #expect(try await store.deleteCredential(id: "cr_1", workspaceID: Self.home.id))
            #expect(try await store.deleteCredential(id: "cr_1", workspaceID: Self.home.id) == false)
            #expect(try await store.credential(id: "cr_1", workspaceID: Self.home.id) == nil)
            #expect(try await store.allCredentials().isEmpty)

            // The name is free again.
            try await store.insertCredential(try Fixture.credential("cr_2", workspaceID: Self.home.id, name: "Relay"))
        }
    }

    // MARK: - Scoping

    @Test("another workspace's id reads nothing and changes nothing", arguments: StoreKind.allCases)
    func scoping(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            let credential = try Fixture.credential("cr_1", workspaceID: Self.home.id, name: "Relay")
            try await store.insertCredential(credential)

            #expect(try await store.credential(id: "cr_1", workspaceID: Self.away.id) == nil)
            #expect(try await store.credential(named: "Relay", workspaceID: Self.away.id) == nil)
            #expect(try await store.credentials(workspaceID: Self.away.id).isEmpty)

            var hijacked = credential
            hijacked.workspaceID = Self.away.id
            hijacked.host = "attacker.example.net"
            #expect(try await store.updateCredential(hijacked) == false)
            #expect(try await store.deleteCredential(id: "cr_1", workspaceID: Self.away.id) == false)

            #expect(try await store.credential(id: "cr_1", workspaceID: Self.home.id) == credential)
        }
    }

    // MARK: - Round trips

    @Test("the sealed password and its fingerprint round trip exactly, and still open", arguments: StoreKind.allCases)
    func sealedPassword(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            let credential = try Fixture.credential("cr_1", workspaceID: Self.home.id, password: "pässwörd ✉️ \"quoted\"")
            try await store.insertCredential(credential)

            let loaded = try #require(try await store.credential(id: "cr_1", workspaceID: Self.home.id))
            let sealed = try #require(loaded.sealedPassword)
            #expect(sealed == credential.sealedPassword)
            #expect(sealed.encoded == credential.sealedPassword?.encoded)
            #expect(loaded.passwordFingerprint == credential.passwordFingerprint)
            let opened = try Fixture.vault.open(sealed, context: loaded.passwordContext)
            #expect(opened.revealedValue == "pässwörd ✉️ \"quoted\"")
        }
    }

    @Test("absent optionals stay absent", arguments: StoreKind.allCases)
    func nilOptionals(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            let bare = try Fixture.credential(
                "cr_1", workspaceID: Self.home.id, username: nil, clientIdentifier: nil, caCertificate: nil, password: nil
            )
            try await store.insertCredential(bare)

            let loaded = try #require(try await store.credential(id: "cr_1", workspaceID: Self.home.id))
            #expect(loaded == bare)
            #expect(loaded.username == nil)
            #expect(loaded.clientIdentifier == nil)
            #expect(loaded.caCertificate == nil)
            #expect(loaded.sealedPassword == nil)
            #expect(loaded.passwordFingerprint == nil)
        }
    }

    @Test("every security mode, TLS floor, flag and millisecond date round trips", arguments: StoreKind.allCases)
    func valueRoundTrips(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            var expected: [SMTPCredential] = []
            var index = 0
            for security in SMTPSecurity.allCases {
                for minimumTLSVersion in SMTPConfiguration.MinimumTLSVersion.allCases {
                    for acceptUnverified in [false, true] {
                        index += 1
                        let credential = try Fixture.credential(
                            "cr_\(index)", workspaceID: Self.home.id, name: "Credential \(index)", security: security,
                            acceptUnverifiedCertificates: acceptUnverified, minimumTLSVersion: minimumTLSVersion,
                            createdAt: 1_700_000_000_000 + Int64(index), updatedAt: 1_800_000_000_999 - Int64(index)
                        )
                        try await store.insertCredential(credential)
                        expected.append(credential)
                    }
                }
            }

            for credential in expected {
                #expect(try await store.credential(id: credential.id, workspaceID: Self.home.id) == credential)
            }
        }
    }
}
