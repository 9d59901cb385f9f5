import Crypto
import Foundation
import Secrets
import Testing
import Vault

@Suite("Master keys")
struct MasterKeyTests {
    @Test("the id is k + the first 16 hex digits of SHA-256 of the key")
    func idDerivation() throws {
        let bytes = [UInt8](repeating: 0x11, count: 32)
        let digest = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        #expect(try MasterKey(rawBytes: bytes).id == "k" + digest.prefix(16))
        #expect(try MasterKey(rawBytes: Data(bytes)).id == Fixtures.k1.id)
        #expect(Fixtures.k1.id != Fixtures.k2.id)
    }

    @Test("raw keys must be exactly 32 bytes", arguments: [0, 1, 16, 31, 33, 64])
    func rawLength(_ count: Int) {
        #expect(throws: VaultError.invalidKey(reason: "expected 32 bytes, got \(count)")) {
            try MasterKey(rawBytes: [UInt8](repeating: 0xaa, count: count))
        }
    }

    @Test("generated keys are distinct and survive base64")
    func generate() throws {
        let keys = (0..<100).map { _ in MasterKey.generate() }
        #expect(Set(keys.map(\.id)).count == 100)
        for key in keys.prefix(5) {
            let text = key.base64Secret.revealedValue
            #expect(text.count == 44)
            #expect(Data(base64Encoded: text)?.count == 32)
            #expect(try MasterKey(base64: text).id == key.id)
        }
    }

    @Test("surrounding whitespace and a trailing newline are trimmed", arguments: ["\n", " ", "\r\n", "\t \n"])
    func trimsWhitespace(_ padding: String) throws {
        let text = Fixtures.k1.base64Secret.revealedValue
        #expect(try MasterKey(base64: padding + text + padding).id == Fixtures.k1.id)
    }

    static var invalidBase64: [String] {
        let text = Fixtures.k2.base64Secret.revealedValue  // IiIi…Ig==: 44 characters, one pad
        let thirtyOne = Data(repeating: 0x33, count: 31).base64EncodedString()
        let thirtyThree = Data(repeating: 0x33, count: 33).base64EncodedString()
        let urlAlphabet = Data(repeating: 0xfb, count: 32).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        return [
            "", "   \n", "not base64!!", "🔑", thirtyOne, thirtyThree, urlAlphabet,
            String(text.dropLast()), String(text.dropLast(2)),   // missing padding
            String(text.prefix(20)) + " " + String(text.dropFirst(20)),   // inner space
            String(text.prefix(20)) + "\n" + String(text.dropFirst(20)),  // inner newline
            text + text,
            String(text.dropLast(3)) + "h==",  // non-canonical trailing bits
        ]
    }

    @Test("junk, wrong lengths and lenient spellings are refused without quoting the input",
          arguments: invalidBase64)
    func refusesInvalid(_ text: String) throws {
        let error = try #require(throws: VaultError.self) { try MasterKey(base64: text) }
        guard case .invalidKey(let reason) = error else {
            Issue.record("expected invalidKey, got \(error)")
            return
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if !trimmed.isEmpty {
            #expect(!reason.contains(trimmed))
            #expect(!error.description.contains(trimmed))
        }
    }
}

@Suite("Key rings")
struct KeyRingTests {
    @Test("a ring keeps its keys in order and finds them by id")
    func order() throws {
        let k3 = Fixtures.key(0x33)
        let ring = try KeyRing(keys: [Fixtures.k1, Fixtures.k2, k3], activeID: Fixtures.k2.id)
        #expect(ring.keys.map(\.id) == [Fixtures.k1.id, Fixtures.k2.id, k3.id])
        #expect(ring.active.id == Fixtures.k2.id)
        #expect(ring.key(id: k3.id)?.id == k3.id)
        #expect(ring.key(id: "k0000000000000000") == nil)
    }

    @Test("the active id must be in the ring, ids unique, the ring non-empty")
    func validation() {
        #expect(throws: VaultError.self) { try KeyRing(keys: [Fixtures.k1], activeID: Fixtures.k2.id) }
        #expect(throws: VaultError.self) { try KeyRing(keys: [], activeID: Fixtures.k1.id) }
        #expect(throws: VaultError.self) {
            try KeyRing(keys: [Fixtures.k1, Fixtures.k2, Fixtures.key(0x11)], activeID: Fixtures.k1.id)
        }
    }

    @Test("adding appends, activates on request, and never duplicates")
    func adding() throws {
        let ring = KeyRing(single: Fixtures.k1)
        let passive = ring.adding(Fixtures.k2, makeActive: false)
        #expect(passive.active.id == Fixtures.k1.id)
        #expect(passive.keys.map(\.id) == [Fixtures.k1.id, Fixtures.k2.id])
        let active = ring.adding(Fixtures.k2, makeActive: true)
        #expect(active.active.id == Fixtures.k2.id)
        let again = active.adding(Fixtures.key(0x11), makeActive: true)
        #expect(again.keys.map(\.id) == [Fixtures.k1.id, Fixtures.k2.id])
        #expect(again.active.id == Fixtures.k1.id)
        #expect(ring.keys.count == 1, "adding returns a new ring")
    }

    @Test("retaining only the active key drops the rest")
    func retainingOnlyActive() throws {
        let ring = try KeyRing(keys: [Fixtures.k1, Fixtures.k2], activeID: Fixtures.k1.id).retainingOnlyActive()
        #expect(ring.keys.map(\.id) == [Fixtures.k1.id])
        #expect(ring.active.id == Fixtures.k1.id)
    }
}
