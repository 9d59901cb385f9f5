/// An AES-256-GCM ciphertext with everything needed to open it except the key and the context.
///
/// Stored as its ``encoded`` string (see `SealedSecret+Encoding.swift`). Holds no plaintext and
/// no key material, so printing it is safe, but it still prints only the key id and sizes.
public struct SealedSecret: Sendable, Hashable {
    /// The id of the ``MasterKey`` that sealed it.
    public var keyID: String
    /// The 96-bit AES-GCM nonce, random per seal.
    public var nonce: [UInt8]
    /// The encrypted UTF-8 bytes of the secret; as long as the plaintext.
    public var ciphertext: [UInt8]
    /// The 128-bit AES-GCM authentication tag.
    public var tag: [UInt8]

    /// Nonce length: the 96 bits GCM is specified for (NIST SP 800-38D §5.2.1.1).
    static let nonceByteCount = 12
    /// Tag length: the full 128 bits.
    static let tagByteCount = 16

    init(keyID: String, nonce: [UInt8], ciphertext: [UInt8], tag: [UInt8]) {
        self.keyID = keyID
        self.nonce = nonce
        self.ciphertext = ciphertext
        self.tag = tag
    }
}

extension SealedSecret: CustomStringConvertible {
    /// `SealedSecret(key: <id>, <n> ciphertext bytes)`.
    public var description: String {
        "SealedSecret(key: \(keyID), \(ciphertext.count) ciphertext bytes)"
    }
}
