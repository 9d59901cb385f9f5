import Foundation
import Secrets
import Testing
import Vault

@Suite("Sealed secret encoding")
struct SealedSecretEncodingTests {
    let vault = Vault(keyRing: KeyRing(single: Fixtures.k1))

    @Test("the encoding round-trips and opens", arguments: ["", "p", Fixtures.canary, "ünïcødé ✉️"])
    func roundTrip(_ plaintext: String) throws {
        let sealed = try vault.seal(Secret(plaintext), context: Fixtures.contextA)
        let parsed = try SealedSecret(encoded: sealed.encoded)
        #expect(parsed == sealed)
        #expect(parsed.encoded == sealed.encoded)
        #expect(try vault.open(parsed, context: Fixtures.contextA).revealedValue == plaintext)
    }

    @Test("the encoding is v1.<key id>.<unpadded base64url of nonce, ciphertext and tag>")
    func shape() throws {
        let sealed = try vault.seal(Secret(Fixtures.canary), context: Fixtures.contextA)
        let parts = sealed.encoded.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        try #require(parts.count == 3)
        #expect(parts[0] == "v1")
        #expect(parts[1] == Fixtures.k1.id)
        let urlSafe = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        #expect(parts[2].unicodeScalars.allSatisfy(urlSafe.contains))
        // An independent decoder: map to the standard alphabet and pad.
        var standard = parts[2].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.count % 4) % 4)
        let payload = try #require(Data(base64Encoded: standard))
        #expect(Array(payload) == sealed.nonce + sealed.ciphertext + sealed.tag)
    }

    /// Builds an encoding from parts, so each malformed case changes exactly one thing.
    static func encoding(prefix: String = "v1", keyID: String = Fixtures.k1.id, payload: [UInt8]) -> String {
        var text = Data(payload).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return "\(prefix).\(keyID).\(text)"
    }

    static let validPayload = [UInt8](repeating: 0xfb, count: 12 + 5 + 16)

    static let malformed: [String] = [
        "",
        "v1",
        "v1.",
        "v1..",
        "v1.\(Fixtures.k1.id).",
        encoding(prefix: "v2", payload: validPayload),
        encoding(prefix: "V1", payload: validPayload),
        encoding(prefix: "", payload: validPayload),
        encoding(keyID: "", payload: validPayload),
        encoding(keyID: "kXYZ", payload: validPayload),
        encoding(keyID: Fixtures.k1.id.uppercased(), payload: validPayload),
        encoding(keyID: Fixtures.k1.id + "0", payload: validPayload),
        encoding(payload: validPayload) + ".extra",
        encoding(payload: validPayload) + "=",
        encoding(payload: validPayload) + "!",
        " " + encoding(payload: validPayload),
        encoding(payload: validPayload) + "\n",
        encoding(payload: validPayload).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/"),
        // 27 bytes: too short for a 12-byte nonce and a 16-byte tag.
        encoding(payload: [UInt8](repeating: 1, count: 27)),
        encoding(payload: [UInt8](repeating: 1, count: 11)),
        encoding(payload: []),
        // A base64url length that cannot occur (4n + 1 characters).
        "v1.\(Fixtures.k1.id).AAAAA",
        // Non-zero trailing bits: "AAB" is not the canonical spelling of any byte string.
        "v1.\(Fixtures.k1.id).\(String(repeating: "A", count: 40))AAB",
    ]

    @Test("malformed encodings are rejected", arguments: malformed)
    func rejectsMalformed(_ text: String) {
        #expect(throws: VaultError.malformed) { try SealedSecret(encoded: text) }
    }

    @Test("the shortest payload (empty ciphertext) and a sealed value's own encoding parse")
    func acceptsMinimal() throws {
        let minimal = try SealedSecret(encoded: Self.encoding(payload: [UInt8](repeating: 7, count: 28)))
        #expect(minimal.nonce.count == 12)
        #expect(minimal.ciphertext.isEmpty)
        #expect(minimal.tag.count == 16)
        #expect(try SealedSecret(encoded: Self.encoding(payload: Self.validPayload)).ciphertext.count == 5)
    }

    @Test("a parsed value with a bad tag fails to open, not to parse")
    func parsedButForged() throws {
        let forged = try SealedSecret(encoded: Self.encoding(payload: Self.validPayload))
        #expect(throws: VaultError.openFailed) { try vault.open(forged, context: Fixtures.contextA) }
    }
}
