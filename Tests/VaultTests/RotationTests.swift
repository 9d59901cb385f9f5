import Secrets
import Testing
import Vault

@Suite("Key rotation")
struct RotationTests {
    @Test("seal under k1, rotate to k2, reseal, drop k1")
    func fullRotation() throws {
        let before = Vault(keyRing: KeyRing(single: Fixtures.k1))
        let resealedRow = try before.seal(Secret("first-password"), context: Fixtures.contextA)
        let forgottenRow = try before.seal(Secret("second-password"), context: Fixtures.contextB)
        #expect(resealedRow.keyID == Fixtures.k1.id)

        // Step 1: k2 joins as active; everything sealed under k1 still opens.
        let during = Vault(keyRing: before.keyRing.adding(Fixtures.k2, makeActive: true))
        #expect(during.keyRing.active.id == Fixtures.k2.id)
        #expect(during.keyRing.keys.map(\.id) == [Fixtures.k1.id, Fixtures.k2.id])
        #expect(try during.open(resealedRow, context: Fixtures.contextA).revealedValue == "first-password")
        #expect(try during.seal(Secret("new"), context: Fixtures.contextA).keyID == Fixtures.k2.id)

        // Step 2: reseal moves a row to k2.
        let moved = try during.reseal(resealedRow, context: Fixtures.contextA)
        #expect(moved.keyID == Fixtures.k2.id)
        #expect(moved.nonce != resealedRow.nonce)
        #expect(try during.open(moved, context: Fixtures.contextA).revealedValue == "first-password")

        // Step 3: k1 is dropped; the resealed row opens, the forgotten one names the missing key.
        let after = Vault(keyRing: during.keyRing.retainingOnlyActive())
        #expect(after.keyRing.keys.map(\.id) == [Fixtures.k2.id])
        #expect(try after.open(moved, context: Fixtures.contextA).revealedValue == "first-password")
        #expect(throws: VaultError.unknownKey(id: Fixtures.k1.id)) {
            try after.open(forgottenRow, context: Fixtures.contextB)
        }
    }

    @Test("resealing a value already under the active key returns it unchanged")
    func resealUnderActiveKeyIsIdentity() throws {
        let vault = Vault(keyRing: KeyRing(single: Fixtures.k1))
        let sealed = try vault.seal(Secret(Fixtures.canary), context: Fixtures.contextA)
        #expect(try vault.reseal(sealed, context: Fixtures.contextA) == sealed)
    }

    @Test("resealing checks the value opens, so a rotation pass finds broken rows")
    func resealReportsBrokenRows() throws {
        let ring = KeyRing(single: Fixtures.k1).adding(Fixtures.k2, makeActive: true)
        let vault = Vault(keyRing: ring)
        let underOld = try Vault(keyRing: KeyRing(single: Fixtures.k1)).seal(Secret("p"), context: Fixtures.contextA)
        let underActive = try vault.seal(Secret("p"), context: Fixtures.contextA)
        #expect(throws: VaultError.openFailed) { try vault.reseal(underOld, context: Fixtures.contextB) }
        #expect(throws: VaultError.openFailed) { try vault.reseal(underActive, context: Fixtures.contextB) }
        let orphan = try Vault(keyRing: KeyRing(single: Fixtures.key(0x33))).seal(Secret("p"), context: Fixtures.contextA)
        #expect(throws: VaultError.unknownKey(id: Fixtures.key(0x33).id)) {
            try vault.reseal(orphan, context: Fixtures.contextA)
        }
    }
}
