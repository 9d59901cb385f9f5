import Crypto

extension Vault {
    /// `HMAC-SHA256(HKDF-SHA256(key, info: purpose), input)` with the ring's key `keyID`: a value
    /// only this installation can compute again, for as long as that key stays in the ring. `nil`
    /// when the ring no longer holds the key.
    ///
    /// How a secret that must survive a round trip through the outside (an OAuth sign-in's PKCE
    /// verifier) is made without storing it: the outside holds the `input`, the vault the key.
    /// Each `purpose` gets its own subkey, apart from sealing and fingerprints.
    public func derivedBytes(purpose: String, input: String, keyID: String) -> [UInt8]? {
        guard let key = keyRing.key(id: keyID) else { return nil }
        let subkey = HKDF<SHA256>.deriveKey(inputKeyMaterial: key.symmetricKey, info: Array(purpose.utf8), outputByteCount: 32)
        return Array(HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: subkey))
    }
}
