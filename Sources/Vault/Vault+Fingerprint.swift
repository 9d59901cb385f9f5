import Crypto
public import Secrets

extension Vault {
    /// HKDF `info` naming the fingerprint subkey; a different purpose gets a different label.
    static let fingerprintKeyInfo = Array("posthorn.pool-fingerprint.v1".utf8)

    /// The number of hex digits a fingerprint keeps: 128 bits.
    private static let fingerprintHexDigits = 32

    /// A keyed fingerprint of a password, for telling connection pools apart without keeping the
    /// password as a pool key.
    ///
    /// `hex(HMAC-SHA256(k, aad ‖ password))`, first 32 hex digits, where `k` is
    /// `HKDF-SHA256(active master key, info: "posthorn.pool-fingerprint.v1")` and `aad` is the
    /// context's associated-data encoding (self-delimiting, so the password cannot shift into it).
    ///
    /// Keyed rather than a plain hash so a leaked fingerprint (in a metric, a log, a heap dump)
    /// cannot be checked against a password dictionary offline. Deterministic for one master key;
    /// it changes when the active key rotates, so a stored fingerprint must be recomputed whenever
    /// its secret is re-sealed (`CredentialService.resealAll` does).
    public func fingerprint(of secret: Secret, context: SealContext) -> String {
        var message = context.associatedData
        secret.withRevealedValue { message.append(contentsOf: $0.utf8) }
        let code = HMAC<SHA256>.authenticationCode(for: message, using: fingerprintKey)
        return String(code.hexString.prefix(Self.fingerprintHexDigits))
    }

    /// The HMAC subkey for fingerprints. No salt: the input is already a uniformly random key
    /// (RFC 5869 §3.1), and `info` separates this use from sealing.
    static func fingerprintKey(from key: MasterKey) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: key.symmetricKey, info: fingerprintKeyInfo, outputByteCount: 32)
    }
}
