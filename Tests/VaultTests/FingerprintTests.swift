import Crypto
import Foundation
import Secrets
import Testing
import Vault

@Suite("Password fingerprints")
struct FingerprintTests {
    let vault = Vault(keyRing: KeyRing(single: Fixtures.k1))

    @Test("a fingerprint is 32 lowercase hex digits and the same for the same inputs")
    func deterministic() {
        let first = vault.fingerprint(of: Secret(Fixtures.canary), context: Fixtures.contextA)
        #expect(first.count == 32)
        #expect(first.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(vault.fingerprint(of: Secret(Fixtures.canary), context: Fixtures.contextA) == first)
        let sameKey = Vault(keyRing: KeyRing(single: Fixtures.key(0x11)))
        #expect(sameKey.fingerprint(of: Secret(Fixtures.canary), context: Fixtures.contextA) == first)
    }

    @Test("the fingerprint is the documented HKDF + HMAC construction")
    func knownConstruction() {
        let context = SealContext(workspaceID: "ws", credentialID: "c1")
        let master = SymmetricKey(data: [UInt8](repeating: 0x11, count: 32))
        let subkey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: master, info: Array("posthorn.pool-fingerprint.v1".utf8), outputByteCount: 32
        )
        var message = Array("posthorn.vault.v1".utf8)
        message += [0, 0, 0, 2] + Array("ws".utf8) + [0, 0, 0, 2] + Array("c1".utf8)
        message += [0, 0, 0, 8] + Array("password".utf8) + Array(Fixtures.canary.utf8)
        let expected = HMAC<SHA256>.authenticationCode(for: message, using: subkey)
            .map { String(format: "%02x", $0) }.joined().prefix(32)
        #expect(vault.fingerprint(of: Secret(Fixtures.canary), context: context) == String(expected))
    }

    @Test("the fingerprint changes with the password, the context and the master key")
    func sensitivity() {
        let base = vault.fingerprint(of: Secret(Fixtures.canary), context: Fixtures.contextA)
        let variants = [
            vault.fingerprint(of: Secret(Fixtures.canary + "x"), context: Fixtures.contextA),
            vault.fingerprint(of: Secret(""), context: Fixtures.contextA),
            vault.fingerprint(of: Secret(Fixtures.canary), context: Fixtures.contextB),
            vault.fingerprint(of: Secret(Fixtures.canary), context: SealContext(workspaceID: "ws_alpha", credentialID: "cred_2")),
            vault.fingerprint(of: Secret(Fixtures.canary), context: SealContext(workspaceID: "ws_alpha", credentialID: "cred_1", field: "token")),
            Vault(keyRing: KeyRing(single: Fixtures.k2)).fingerprint(of: Secret(Fixtures.canary), context: Fixtures.contextA),
        ]
        #expect(Set(variants + [base]).count == variants.count + 1)
    }

    @Test("the password cannot shift into the context")
    func passwordBoundary() {
        let short = SealContext(workspaceID: "ws", credentialID: "c", field: "pass")
        let long = SealContext(workspaceID: "ws", credentialID: "c", field: "password")
        #expect(vault.fingerprint(of: Secret("wordX"), context: short) != vault.fingerprint(of: Secret("X"), context: long))
    }

    @Test("the fingerprint uses the active key of a rotated ring")
    func activeKey() {
        let rotated = Vault(keyRing: KeyRing(single: Fixtures.k1).adding(Fixtures.k2, makeActive: true))
        let onlyK2 = Vault(keyRing: KeyRing(single: Fixtures.k2))
        #expect(rotated.fingerprint(of: Secret(Fixtures.canary), context: Fixtures.contextA)
            == onlyK2.fingerprint(of: Secret(Fixtures.canary), context: Fixtures.contextA))
    }

    @Test("the fingerprint is neither the password nor its plain SHA-256", arguments: [Fixtures.canary, "a", "0123456789abcdef0123456789abcdef"])
    func notAPlainHash(_ password: String) {
        let fingerprint = vault.fingerprint(of: Secret(password), context: Fixtures.contextA)
        let plain = SHA256.hash(data: Array(password.utf8)).map { String(format: "%02x", $0) }.joined()
        #expect(!plain.hasPrefix(fingerprint))
        #expect(fingerprint != password)
        #expect(!fingerprint.contains(password) || password.count < 2)
    }
}
