import Crypto
import Foundation
public import Secrets

/// Seals and opens credentials with AES-256-GCM under a ``KeyRing``.
///
/// Every seal uses the ring's active key and a fresh random 96-bit nonce, and binds the result to
/// a ``SealContext`` as associated data. Random nonces are safe here: the GCM bound of 2³²
/// messages per key (NIST SP 800-38D §8.3) is far beyond the number of credentials a deployment
/// stores between rotations.
///
/// The vault never logs, and its errors never carry key bytes or plaintext.
public struct Vault: Sendable {
    /// The keys this vault opens with; its active key seals.
    public let keyRing: KeyRing
    /// The HMAC key for ``fingerprint(of:context:)``, derived once from the active key.
    let fingerprintKey: SymmetricKey

    /// A vault over `keyRing`.
    public init(keyRing: KeyRing) {
        self.keyRing = keyRing
        self.fingerprintKey = Self.fingerprintKey(from: keyRing.active)
    }

    // MARK: - Sealing

    /// Encrypts `secret` under the active key for `context`.
    ///
    /// - Throws: ``VaultError/invalidKey(reason:)`` only if the cipher rejects the key, which a
    ///   32-byte ``MasterKey`` rules out.
    public func seal(_ secret: Secret, context: SealContext) throws(VaultError) -> SealedSecret {
        let key = keyRing.active
        let box: AES.GCM.SealedBox
        do {
            box = try secret.withRevealedValue { value in
                try AES.GCM.seal(
                    Array(value.utf8), using: key.symmetricKey, nonce: AES.GCM.Nonce(),
                    authenticating: context.associatedData
                )
            }
        } catch {
            throw .invalidKey(reason: "AES-GCM refused to seal with key \(key.id)")
        }
        return SealedSecret(
            keyID: key.id, nonce: Array(box.nonce), ciphertext: Array(box.ciphertext), tag: Array(box.tag)
        )
    }

    /// Decrypts `sealed`, checking it was sealed for `context` and not altered since.
    ///
    /// - Throws: ``VaultError/unknownKey(id:)`` if the ring lacks its key, otherwise
    ///   ``VaultError/openFailed`` for any failure (wrong context, tampered bytes, wrong lengths);
    ///   which check failed is not revealed.
    public func open(_ sealed: SealedSecret, context: SealContext) throws(VaultError) -> Secret {
        guard let key = keyRing.key(id: sealed.keyID) else { throw .unknownKey(id: sealed.keyID) }
        // `AES.GCM.Nonce(data:)` accepts any length from 12 up; this format fixes it at 12.
        guard sealed.nonce.count == SealedSecret.nonceByteCount, sealed.tag.count == SealedSecret.tagByteCount else {
            throw .openFailed
        }
        let plaintext: Data
        do {
            let box = try AES.GCM.SealedBox(
                nonce: AES.GCM.Nonce(data: sealed.nonce), ciphertext: sealed.ciphertext, tag: sealed.tag
            )
            plaintext = try AES.GCM.open(box, using: key.symmetricKey, authenticating: context.associatedData)
        } catch {
            throw .openFailed
        }
        guard let value = String(validating: plaintext, as: UTF8.self) else { throw .openFailed }
        return Secret(value)
    }

    /// `sealed` re-encrypted under the active key, for rotation.
    ///
    /// A value already under the active key is returned unchanged, but only after it has been
    /// opened, so a rotation pass also reports rows that would not open.
    ///
    /// - Throws: the errors of ``open(_:context:)`` and ``seal(_:context:)``.
    public func reseal(_ sealed: SealedSecret, context: SealContext) throws(VaultError) -> SealedSecret {
        let secret = try open(sealed, context: context)
        if sealed.keyID == keyRing.active.id { return sealed }
        return try seal(secret, context: context)
    }
}
