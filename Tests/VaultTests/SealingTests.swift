import Crypto
import Foundation
import Secrets
import Testing
import Vault

@Suite("Sealing and opening")
struct SealingTests {
    let vault = Vault(keyRing: KeyRing(single: Fixtures.k1))

    @Test("a sealed secret opens to the same value", arguments: [
        Fixtures.canary, "", "pässwörd ✉️ 密码", String(repeating: "x", count: 10_000),
    ])
    func roundTrip(_ plaintext: String) throws {
        let sealed = try vault.seal(Secret(plaintext), context: Fixtures.contextA)
        #expect(sealed.keyID == Fixtures.k1.id)
        #expect(sealed.nonce.count == 12)
        #expect(sealed.tag.count == 16)
        #expect(sealed.ciphertext.count == plaintext.utf8.count)
        #expect(try vault.open(sealed, context: Fixtures.contextA).revealedValue == plaintext)
    }

    @Test("the ciphertext is AES-256-GCM over the documented associated data")
    func interoperatesWithPlainAESGCM() throws {
        // An independent model of the format: the key bytes, and the AAD built by hand.
        let context = SealContext(workspaceID: "ws", credentialID: "c1", field: "password")
        let sealed = try vault.seal(Secret(Fixtures.canary), context: context)
        var aad = Array("posthorn.vault.v1".utf8)
        aad += [0, 0, 0, 2] + Array("ws".utf8)
        aad += [0, 0, 0, 2] + Array("c1".utf8)
        aad += [0, 0, 0, 8] + Array("password".utf8)
        let box = try AES.GCM.SealedBox(
            nonce: AES.GCM.Nonce(data: sealed.nonce), ciphertext: sealed.ciphertext, tag: sealed.tag
        )
        let key = SymmetricKey(data: [UInt8](repeating: 0x11, count: 32))
        let plaintext = try AES.GCM.open(box, using: key, authenticating: aad)
        #expect(String(decoding: plaintext, as: UTF8.self) == Fixtures.canary)
    }

    // MARK: - Tampering

    enum Part: String, CaseIterable, CustomTestStringConvertible {
        case nonce, ciphertext, tag
        var testDescription: String { rawValue }
    }

    @Test("flipping any bit of any byte makes opening fail", arguments: Part.allCases)
    func tamperingFails(_ part: Part) throws {
        let sealed = try vault.seal(Secret(Fixtures.canary), context: Fixtures.contextA)
        let count = switch part {
        case .nonce: sealed.nonce.count
        case .ciphertext: sealed.ciphertext.count
        case .tag: sealed.tag.count
        }
        #expect(count > 0)
        for index in 0..<count {
            for bit in 0..<8 {
                var tampered = sealed
                let mask = UInt8(1) << bit
                switch part {
                case .nonce: tampered.nonce[index] ^= mask
                case .ciphertext: tampered.ciphertext[index] ^= mask
                case .tag: tampered.tag[index] ^= mask
                }
                #expect(throws: VaultError.openFailed, "\(part) byte \(index) bit \(bit)") {
                    try vault.open(tampered, context: Fixtures.contextA)
                }
            }
        }
    }

    @Test("wrong-length nonces and tags fail to open rather than trap")
    func wrongLengths() throws {
        let sealed = try vault.seal(Secret(Fixtures.canary), context: Fixtures.contextA)
        var variants: [SealedSecret] = []
        for nonce in [[], Array(sealed.nonce.prefix(11)), sealed.nonce + [0], sealed.nonce + sealed.nonce] {
            var variant = sealed
            variant.nonce = nonce
            variants.append(variant)
        }
        for tag in [[], Array(sealed.tag.prefix(12)), Array(sealed.tag.prefix(15)), sealed.tag + [0]] {
            var variant = sealed
            variant.tag = tag
            variants.append(variant)
        }
        var truncated = sealed
        truncated.ciphertext.removeLast()
        variants.append(truncated)
        for variant in variants {
            #expect(throws: VaultError.openFailed) { try vault.open(variant, context: Fixtures.contextA) }
        }
    }

    @Test("a secret relabelled with another key of the ring fails to open")
    func relabelledKeyID() throws {
        let ring = KeyRing(single: Fixtures.k1).adding(Fixtures.k2, makeActive: false)
        let vault = Vault(keyRing: ring)
        var sealed = try vault.seal(Secret(Fixtures.canary), context: Fixtures.contextA)
        sealed.keyID = Fixtures.k2.id
        #expect(throws: VaultError.openFailed) { try vault.open(sealed, context: Fixtures.contextA) }
    }

    @Test("a vault with an unrelated key reports the unknown key id")
    func unknownKey() throws {
        let sealed = try vault.seal(Secret(Fixtures.canary), context: Fixtures.contextA)
        let stranger = Vault(keyRing: KeyRing(single: Fixtures.k2))
        #expect(throws: VaultError.unknownKey(id: Fixtures.k1.id)) {
            try stranger.open(sealed, context: Fixtures.contextA)
        }
    }

    // MARK: - Context binding

    static let foreignContexts: [SealContext] = [
        SealContext(workspaceID: "ws_other", credentialID: "cred_1"),
        SealContext(workspaceID: "ws_alpha", credentialID: "cred_9"),
        SealContext(workspaceID: "ws_alpha", credentialID: "cred_1", field: "oauth_token"),
        SealContext(workspaceID: "", credentialID: "cred_1"),
        SealContext(workspaceID: "ws_alpha", credentialID: "cred_1", field: "Password"),
    ]

    @Test("a secret opens only under the context it was sealed for", arguments: foreignContexts)
    func wrongContextFails(_ other: SealContext) throws {
        let sealed = try vault.seal(Secret(Fixtures.canary), context: Fixtures.contextA)
        #expect(throws: VaultError.openFailed) { try vault.open(sealed, context: other) }
    }

    @Test("contexts that concatenate to the same text stay distinct", arguments: [
        (SealContext(workspaceID: "a|b", credentialID: "c"), SealContext(workspaceID: "a", credentialID: "b|c")),
        (SealContext(workspaceID: "ab", credentialID: "c"), SealContext(workspaceID: "a", credentialID: "bc")),
        (SealContext(workspaceID: "a", credentialID: "b", field: ""), SealContext(workspaceID: "a", credentialID: "", field: "b")),
        (SealContext(workspaceID: "a\u{0}\u{0}\u{0}\u{1}b", credentialID: "c"), SealContext(workspaceID: "a", credentialID: "b\u{0}\u{0}\u{0}\u{1}c")),
    ])
    func encodingIsUnambiguous(_ sealedFor: SealContext, _ openedWith: SealContext) throws {
        let sealed = try vault.seal(Secret(Fixtures.canary), context: sealedFor)
        #expect(throws: VaultError.openFailed) { try vault.open(sealed, context: openedWith) }
    }

    @Test("swapping sealed values between rows fails for both rows")
    func swappedRowsFail() throws {
        let sameWorkspace = SealContext(workspaceID: Fixtures.contextA.workspaceID, credentialID: "cred_other")
        for other in [Fixtures.contextB, sameWorkspace] {
            let sealedA = try vault.seal(Secret("password-of-a"), context: Fixtures.contextA)
            let sealedOther = try vault.seal(Secret("password-of-other"), context: other)
            #expect(throws: VaultError.openFailed) { try vault.open(sealedA, context: other) }
            #expect(throws: VaultError.openFailed) { try vault.open(sealedOther, context: Fixtures.contextA) }
            // The stored strings, swapped, fail the same way.
            let movedA = try SealedSecret(encoded: sealedA.encoded)
            #expect(throws: VaultError.openFailed) { try vault.open(movedA, context: other) }
        }
    }

    // MARK: - Nonces

    @Test("10,000 seals of one secret use 10,000 different nonces and ciphertexts")
    func noncesAreUnique() throws {
        var nonces = Set<[UInt8]>()
        var ciphertexts = Set<[UInt8]>()
        var encodings = Set<String>()
        let secret = Secret(Fixtures.canary)
        for _ in 0..<10_000 {
            let sealed = try vault.seal(secret, context: Fixtures.contextA)
            nonces.insert(sealed.nonce)
            ciphertexts.insert(sealed.ciphertext)
            encodings.insert(sealed.encoded)
        }
        #expect(nonces.count == 10_000)
        #expect(ciphertexts.count == 10_000)
        #expect(encodings.count == 10_000)
    }
}
