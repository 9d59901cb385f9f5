import Foundation
import Secrets
import Testing
import Vault

@Suite("Redaction")
struct RedactionTests {
    /// Strings that must never appear in any rendering: every key's base64 and hex, and the canary.
    static let forbidden: [String] = {
        let keys = [Fixtures.k1, Fixtures.k2]
        let base64 = keys.map(\.base64Secret.revealedValue)
        // A 24-character slice of the key's bytes in hex, base64 without padding.
        let hex = ["11", "22"].map { String(repeating: $0, count: 12) }
        return base64 + base64.map { String($0.prefix(24)) } + hex + [Fixtures.canary]
    }()

    static func expectClean(_ rendering: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for needle in forbidden {
            #expect(!rendering.contains(needle), "\(what) leaks \(needle.prefix(4))…", sourceLocation: sourceLocation)
        }
    }

    @Test("reflection sees ids only: no key storage, no derived subkeys")
    func mirrors() {
        let ring = KeyRing(single: Fixtures.k1).adding(Fixtures.k2, makeActive: true)
        #expect(Mirror(reflecting: Fixtures.k1).children.map(\.label) == ["id"])
        #expect(Mirror(reflecting: ring).children.map(\.label) == ["active", "keys"])
        #expect(Mirror(reflecting: Vault(keyRing: ring)).children.map(\.label) == ["keyRing"])
        #expect(!everyRendering(of: Vault(keyRing: ring)).contains("SymmetricKey"))
    }

    @Test("master keys render as their id only")
    func masterKey() {
        let rendering = everyRendering(of: Fixtures.k1)
        Self.expectClean(rendering, "MasterKey")
        #expect(String(describing: Fixtures.k1) == "MasterKey(\(Fixtures.k1.id))")
        #expect(rendering.contains(Fixtures.k1.id))
        Self.expectClean(everyRendering(of: [Fixtures.k1, Fixtures.k2]), "[MasterKey]")
        Self.expectClean(everyRendering(of: Optional(Fixtures.k1)), "MasterKey?")
        Self.expectClean(everyRendering(of: Fixtures.k1.base64Secret), "base64Secret")
    }

    @Test("key rings and vaults render ids only")
    func ringAndVault() {
        let ring = KeyRing(single: Fixtures.k1).adding(Fixtures.k2, makeActive: true)
        Self.expectClean(everyRendering(of: ring), "KeyRing")
        #expect(String(describing: ring) == "KeyRing(active: \(Fixtures.k2.id), keys: [\(Fixtures.k1.id), \(Fixtures.k2.id)])")
        let vault = Vault(keyRing: ring)
        Self.expectClean(everyRendering(of: vault), "Vault")
        #expect(everyRendering(of: vault).contains(Fixtures.k2.id))
        let resolved: (ring: KeyRing, source: KeySource) = (ring, .environment)
        Self.expectClean(everyRendering(of: resolved), "resolve result")
    }

    @Test("sealed secrets and every vault error render no plaintext or key")
    func sealedAndErrors() throws {
        let vault = Vault(keyRing: KeyRing(single: Fixtures.k1))
        let sealed = try vault.seal(Secret(Fixtures.canary), context: Fixtures.contextA)
        Self.expectClean(everyRendering(of: sealed), "SealedSecret")
        Self.expectClean(sealed.encoded, "SealedSecret.encoded")

        var errors: [VaultError] = [.openFailed, .malformed, .unknownKey(id: Fixtures.k1.id)]
        for attempt in [
            { () throws -> Void in _ = try vault.open(sealed, context: Fixtures.contextB) },
            { _ = try MasterKey(base64: Fixtures.k1.base64Secret.revealedValue + "AAAA") },
            { _ = try MasterKey(base64: String(Fixtures.k1.base64Secret.revealedValue.dropFirst())) },
            { _ = try KeyRingFile.resolve(environment: ["POSTHORN_MASTER_KEY": Fixtures.canary], defaultURL: URL(fileURLWithPath: "/nonexistent/k")) },
        ] {
            do {
                try attempt()
                Issue.record("expected an error")
            } catch let error as VaultError {
                errors.append(error)
            }
        }
        for error in errors {
            Self.expectClean(everyRendering(of: error), "VaultError.\(error)")
            Self.expectClean(error.localizedDescription, "localizedDescription")
        }
        #expect(VaultError.openFailed.description == "Secret could not be opened (wrong key, wrong owner, or tampered)")
    }

    @Test("a fingerprint does not contain the password")
    func fingerprint() {
        let vault = Vault(keyRing: KeyRing(single: Fixtures.k1))
        Self.expectClean(vault.fingerprint(of: Secret(Fixtures.canary), context: Fixtures.contextA), "fingerprint")
    }
}
