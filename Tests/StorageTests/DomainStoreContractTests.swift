import DKIM
import Foundation
import Secrets
import SMTP
import SMTPCore
import Testing
import Vault
import Workspaces

/// What every ``DomainStore`` must do, through the ``DomainService`` that uses it, against each
/// ``StoreKind``: keys sealed and opened, one active key per algorithm, workspaces apart, and
/// every key re-sealed by key rotation.
@Suite("DomainStore contract")
struct DomainStoreContractTests {
    private static let home = Fixture.workspace("ws_home", name: "Home", createdAt: 1_000)
    private static let away = Fixture.workspace("ws_away", name: "Away", createdAt: 2_000)

    private static func withService(
        _ kind: StoreKind, vault: Vault = Fixture.vault, _ body: (any ContractStore, DomainService) async throws -> Void
    ) async throws {
        try await kind.withStore { store in
            try await store.insertWorkspace(home, tokenHash: "hash-home")
            try await store.insertWorkspace(away, tokenHash: "hash-away")
            try await body(store, DomainService(store: store, vault: vault))
        }
    }

    @Test("a generated key is stored sealed, active, with its DNS record; an RSA and an Ed25519 key both sign", arguments: StoreKind.allCases)
    func addAndSign(_ kind: StoreKind) async throws {
        try await Self.withService(kind) { store, service in
            let domain = try await service.addKey(DomainKeyInput(domain: "Example.COM.", selector: "ph1"), in: Self.home.id)
            #expect(domain.name == "example.com")
            let rsa = try #require(domain.keys.first)
            #expect(rsa.algorithm == .rsaSHA256 && rsa.active && rsa.activatedAt != nil)
            #expect(rsa.dnsRecord(domain: domain.name).name == "ph1._domainkey.example.com")
            #expect(rsa.dnsRecord(domain: domain.name).value == "v=DKIM1; k=rsa; p=\(rsa.publicKey)")
            #expect(rsa.dnsRecord(domain: domain.name).strings.allSatisfy { $0.utf8.count <= 255 })
            #expect(rsa.dnsRecord(domain: domain.name).strings.joined() == rsa.dnsRecord(domain: domain.name).value)
            // The stored text is ciphertext, not a PEM.
            #expect(!rsa.sealedPrivateKey.encoded.contains("PRIVATE KEY"))

            let both = try await service.addKey(
                DomainKeyInput(domain: "example.com", selector: "ph2", algorithm: "ed25519-sha256"), in: Self.home.id)
            #expect(both.id == domain.id && both.keys.map(\.selector) == ["ph1", "ph2"] && both.keys.allSatisfy(\.active))
            let identities = try await service.signingIdentities(for: "EXAMPLE.com", in: Self.home.id)
            #expect(identities.map(\.selector) == ["ph1", "ph2"])
            #expect(identities.map(\.key.algorithm) == [.rsaSHA256, .ed25519SHA256])
            #expect(identities.map(\.key.publicKeyBase64) == both.keys.map(\.publicKey))

            // The other workspace sees nothing, and signs nothing for the same domain.
            #expect(try await service.list(in: Self.away.id).isEmpty)
            #expect(try await service.signingIdentities(for: "example.com", in: Self.away.id).isEmpty)
            await #expect(throws: WorkspaceError.self) { try await service.domain(domain.id, in: Self.away.id) }
            #expect(try await store.allDKIMKeys().count == 2)
        }
    }

    @Test("a second key of an algorithm waits inactive; activating it retires the first, which stays", arguments: StoreKind.allCases)
    func rotation(_ kind: StoreKind) async throws {
        try await Self.withService(kind) { _, service in
            let first = try await service.addKey(DomainKeyInput(domain: "example.com", selector: "old"), in: Self.home.id)
            let added = try await service.addKey(DomainKeyInput(domain: "example.com", selector: "new"), in: Self.home.id)
            #expect(added.keys.map(\.active) == [true, false])
            #expect(try await service.signingIdentities(for: "example.com", in: Self.home.id).map(\.selector) == ["old"])

            let newID = try #require(added.keys.last?.id)
            let activated = try await service.activate(keyID: newID, domainID: first.id, in: Self.home.id)
            #expect(activated.keys.map(\.selector) == ["old", "new"] && activated.keys.map(\.active) == [false, true])
            #expect(try await service.signingIdentities(for: "example.com", in: Self.home.id).map(\.selector) == ["new"])

            let oldID = try #require(activated.keys.first?.id)
            let removed = try await service.removeKey(keyID: oldID, domainID: first.id, in: Self.home.id)
            #expect(removed.keys.map(\.selector) == ["new"])
            await #expect(throws: WorkspaceError.self) { try await service.removeKey(keyID: oldID, domainID: first.id, in: Self.home.id) }
        }
    }

    @Test("bad input names its field and changes nothing; a taken selector is a conflict", arguments: StoreKind.allCases)
    func refusals(_ kind: StoreKind) async throws {
        try await Self.withService(kind) { store, service in
            let cases: [(DomainKeyInput, String)] = [
                (DomainKeyInput(domain: "not a domain", selector: "s"), "domain"),
                (DomainKeyInput(domain: "localhost", selector: "s"), "domain"),
                (DomainKeyInput(domain: "example.com", selector: "bad_selector"), "selector"),
                (DomainKeyInput(domain: "example.com", selector: nil), "selector"),
                (DomainKeyInput(domain: "example.com", selector: "s", algorithm: "rsa-sha1"), "algorithm"),
                (DomainKeyInput(domain: "example.com", selector: "s", privateKey: Secret("not a key")), "privateKey"),
            ]
            for (input, field) in cases {
                let error = await #expect(throws: WorkspaceError.self) { try await service.addKey(input, in: Self.home.id) }
                #expect(error?.field == field && error?.kind == .validation, "\(field)")
            }
            #expect(try await service.list(in: Self.home.id).isEmpty)

            _ = try await service.addKey(DomainKeyInput(domain: "example.com", selector: "s"), in: Self.home.id)
            let taken = await #expect(throws: WorkspaceError.self) {
                try await service.addKey(DomainKeyInput(domain: "example.com", selector: "S", algorithm: "ed25519-sha256"), in: Self.home.id)
            }
            #expect(taken?.kind == .conflict && taken?.field == "selector")
            #expect(try await store.allDKIMKeys().count == 1)
        }
    }

    @Test("an imported PEM key keeps its algorithm; naming another algorithm is refused", arguments: StoreKind.allCases)
    func importing(_ kind: StoreKind) async throws {
        try await Self.withService(kind) { _, service in
            let key = try DKIMKey.generate(.ed25519SHA256)
            let domain = try await service.addKey(
                DomainKeyInput(domain: "example.org", selector: "imported", privateKey: key.pem), in: Self.home.id)
            #expect(domain.keys.first?.algorithm == .ed25519SHA256 && domain.keys.first?.publicKey == key.publicKeyBase64)
            let mismatch = await #expect(throws: WorkspaceError.self) {
                try await service.addKey(
                    DomainKeyInput(domain: "example.org", selector: "x", algorithm: "rsa-sha256", privateKey: key.pem), in: Self.home.id)
            }
            #expect(mismatch?.field == "algorithm")
        }
    }

    @Test("deleting a domain deletes its keys", arguments: StoreKind.allCases)
    func deleting(_ kind: StoreKind) async throws {
        try await Self.withService(kind) { store, service in
            let domain = try await service.addKey(DomainKeyInput(domain: "example.com", selector: "s"), in: Self.home.id)
            _ = try await service.addKey(DomainKeyInput(domain: "example.net", selector: "s"), in: Self.home.id)
            await #expect(throws: WorkspaceError.self) { try await service.delete(domain.id, in: Self.away.id) }
            try await service.delete(domain.id, in: Self.home.id)
            #expect(try await service.list(in: Self.home.id).map(\.name) == ["example.net"])
            #expect(try await store.allDKIMKeys().count == 1)
        }
    }

    @Test("key rotation re-seals every private key: after it, the old master key is not needed", arguments: StoreKind.allCases)
    func resealing(_ kind: StoreKind) async throws {
        let old = MasterKey.generate()
        let new = MasterKey.generate()
        try await Self.withService(kind, vault: Vault(keyRing: KeyRing(single: old))) { store, service in
            _ = try await service.addKey(DomainKeyInput(domain: "example.com", selector: "a"), in: Self.home.id)
            _ = try await service.addKey(DomainKeyInput(domain: "example.com", selector: "b", algorithm: "ed25519-sha256"), in: Self.home.id)
            let before = try await service.signingIdentities(for: "example.com", in: Self.home.id).map(\.key.publicKeyBase64)

            let rotating = DomainService(store: store, vault: Vault(keyRing: KeyRing(single: old).adding(new, makeActive: true)))
            #expect(try await rotating.resealAll() == 2)
            #expect(try await rotating.resealAll() == 0)
            #expect(try await store.allDKIMKeys().allSatisfy { $0.sealedPrivateKey.keyID == new.id })

            let after = DomainService(store: store, vault: Vault(keyRing: KeyRing(single: new)))
            #expect(try await after.signingIdentities(for: "example.com", in: Self.home.id).map(\.key.publicKeyBase64) == before)
            // The old key alone opens nothing any more.
            await #expect(throws: WorkspaceError.self) { try await service.signingIdentities(for: "example.com", in: Self.home.id) }
        }
    }

    @Test("Check DNS says, through the resolver seam, what is missing, what differs and what matches", arguments: StoreKind.allCases)
    func checkDNS(_ kind: StoreKind) async throws {
        try await Self.withService(kind) { store, service in
            let domain = try await service.addKey(DomainKeyInput(domain: "example.com", selector: "s1"), in: Self.home.id)
            let key = try #require(domain.keys.first)
            let record = key.dnsRecord(domain: "example.com")
            let gmail = SMTPCredential(
                id: "cr_gmail", workspaceID: Self.home.id, name: "Gmail", host: "smtp.gmail.com", port: 587, username: "a@example.com",
                security: .startTLS, acceptUnverifiedCertificates: false, minimumTLSVersion: .tls12, clientIdentifier: nil,
                caCertificate: nil, sealedPassword: nil, passwordFingerprint: nil, createdAt: Date(), updatedAt: Date())

            func statuses(_ answers: [String: TXTLookup]) async throws -> [String: DomainService.DNSCheck.Status] {
                let result = try await service.check(domain.id, in: Self.home.id, credential: gmail, resolver: StaticTXTResolver(answers))
                return Dictionary(uniqueKeysWithValues: result.checks.map { ($0.record, $0.status) })
            }
            #expect(try await statuses([:]) == ["dkim": .missing, "spf": .missing, "dmarc": .missing])

            let other = try DKIMKey.generate(.rsaSHA256).publicKeyBase64
            #expect(try await statuses([
                record.name: .records(["v=DKIM1; k=rsa; p=\(other)"]),
                "example.com": .records(["v=spf1 include:mailgun.org ~all", "google-site-verification=x"]),
                "_dmarc.example.com": .records(["v=DMARC1; p=none", "v=DMARC1; p=reject"]),
            ]) == ["dkim": .mismatch, "spf": .mismatch, "dmarc": .mismatch])

            // Published as DNS providers split it (strings joined), with the provider's include.
            #expect(try await statuses([
                record.name: .records([record.strings.joined()]),
                "example.com": .records(["v=spf1 include:_spf.google.com ~all"]),
                "_dmarc.example.com": .records(["v=DMARC1; p=quarantine; rua=mailto:d@example.com"]),
            ]) == ["dkim": .match, "spf": .match, "dmarc": .match])

            let failing = try await service.check(
                domain.id, in: Self.home.id, credential: nil,
                resolver: StaticTXTResolver([:], errors: [record.name: DNSLookupError(server: "127.0.0.1", reason: .timedOut(after: .seconds(2)))]))
            #expect(failing.checks.first?.status == .error && failing.checks.first?.message.contains("127.0.0.1") == true)
            _ = store
        }
    }


    /// Regression: activation wrote its keys in a transaction that bypassed the store's gate.
    @Test("activating keys while others read and add keys: nothing fails", arguments: StoreKind.allCases)
    func activationUnderConcurrency(_ kind: StoreKind) async throws {
        try await Self.withService(kind) { _, service in
            let first = try await service.addKey(DomainKeyInput(domain: "example.com", selector: "a", algorithm: "ed25519-sha256"), in: Self.home.id)
            let second = try await service.addKey(DomainKeyInput(domain: "example.com", selector: "b", algorithm: "ed25519-sha256"), in: Self.home.id)
            let ids = second.keys.map(\.id)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for turn in 0..<20 { _ = try await service.activate(keyID: ids[turn % 2], domainID: first.id, in: Self.home.id) }
                }
                group.addTask {
                    for turn in 0..<20 { _ = try await service.list(in: Self.home.id); _ = turn }
                }
                group.addTask {
                    for turn in 0..<5 {
                        _ = try await service.addKey(DomainKeyInput(domain: "example.net", selector: "k\(turn)", algorithm: "ed25519-sha256"), in: Self.home.id)
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await service.domain(first.id, in: Self.home.id).keys.filter(\.active).count == 1)
        }
    }

}
