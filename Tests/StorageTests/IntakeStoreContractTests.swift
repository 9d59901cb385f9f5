import Bounces
import Foundation
import Secrets
import Testing
import Vault
import Workspaces

/// What every ``IntakeStore`` must do, through the ``IntakeService`` that uses it: one intake per
/// credential, rotatable, the providers' keys sealed (never stored plain), kept across rotation,
/// and re-sealed by key rotation — in memory and on SQLite.
@Suite("IntakeStore contract")
struct IntakeStoreContractTests {
    static func withStores(_ kind: StoreKind, _ body: (any IntakeStore, any CredentialStore) async throws -> Void) async throws {
        try await kind.withStore { store in
            try await store.insertWorkspace(Fixture.workspace("ws_1"), tokenHash: "hash-1")
            try await store.insertCredential(try Fixture.credential("cred_1", workspaceID: "ws_1"))
            if let intakes = store as? any IntakeStore {
                try await body(intakes, store)
            } else {
                try await body(InMemoryIntakeStore(), store)
            }
        }
    }

    @Test("provider keys are sealed, survive a new intake id, and are re-sealed by key rotation", arguments: StoreKind.allCases)
    func sealedAndResealed(_ kind: StoreKind) async throws {
        try await Self.withStores(kind) { intakes, credentials in
            let old = MasterKey.generate()
            let new = MasterKey.generate()
            let service = IntakeService(store: intakes, credentials: credentials, vault: Vault(keyRing: KeyRing(single: old)))
            try await service.configure(.mailgun, for: "cred_1", in: "ws_1") { $0.mailgun = .init(signingKey: "mg-canary-key") }
            #expect(try await service.configuredProviders(for: "cred_1", in: "ws_1") == [.raw, .mailgun])
            let stored = try #require(try await intakes.intake(credentialID: "cred_1", workspaceID: "ws_1")?.sealedProviders)
            #expect(!stored.encoded.contains("mg-canary-key") && stored.keyID == old.id)

            let rotatedID = try await service.rotate("cred_1", in: "ws_1")
            #expect(try await service.intake(rotatedID)?.settings.mailgun?.signingKey == "mg-canary-key", "a new address keeps the keys")

            let rotating = IntakeService(store: intakes, credentials: credentials, vault: Vault(keyRing: KeyRing(single: old).adding(new, makeActive: true)))
            #expect(try await rotating.resealAll() == 1)
            #expect(try await rotating.resealAll() == 0)
            let after = IntakeService(store: intakes, credentials: credentials, vault: Vault(keyRing: KeyRing(single: new)))
            #expect(try await after.intake(rotatedID)?.settings.mailgun?.signingKey == "mg-canary-key")
            await #expect(throws: WorkspaceError.self) { _ = try await service.intake(rotatedID) }

            try await after.configure(.mailgun, for: "cred_1", in: "ws_1") { $0.mailgun = nil }
            #expect(try await after.configuredProviders(for: "cred_1", in: "ws_1") == [.raw])
            #expect(try await intakes.allSealedIntakes().isEmpty)
        }
    }

    @Test("a SendGrid key that is not a P-256 public key is refused naming verificationKey, and nothing is stored", arguments: StoreKind.allCases)
    func badKey(_ kind: StoreKind) async throws {
        try await Self.withStores(kind) { intakes, credentials in
            let service = IntakeService(store: intakes, credentials: credentials, vault: Fixture.vault)
            do {
                try await service.configure(.sendgrid, for: "cred_1", in: "ws_1") { $0.sendgrid = .init(verificationKey: "bm90IGEga2V5") }
                Issue.record("a bad key was accepted")
            } catch let error as WorkspaceError {
                #expect(error.field == "verificationKey")
            }
            #expect(try await service.configuredProviders(for: "cred_1", in: "ws_1") == [.raw])
        }
    }
}
