import Foundation

extension SealedSecret {
    /// The version tag every encoding starts with.
    private static let versionTag = "v1"

    /// The string the database stores: `v1.<keyID>.<base64url(nonce ‖ ciphertext ‖ tag)>`,
    /// base64url without padding (RFC 4648 §5), so it is one token with no characters that need
    /// quoting in SQL, JSON or a URL.
    public var encoded: String {
        "\(Self.versionTag).\(keyID).\(Base64URL.encode(nonce + ciphertext + tag))"
    }

    /// Parses ``encoded`` strictly: version `v1`, a well-formed key id, canonical unpadded
    /// base64url holding at least a 12-byte nonce and a 16-byte tag. Nothing is trimmed or guessed.
    ///
    /// - Throws: ``VaultError/malformed``.
    public init(encoded: String) throws(VaultError) {
        let parts = encoded.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == Self.versionTag, MasterKey.isWellFormedID(parts[1]),
              let payload = Base64URL.decode(parts[2]),
              payload.count >= Self.nonceByteCount + Self.tagByteCount
        else {
            throw .malformed
        }
        self.init(
            keyID: String(parts[1]),
            nonce: Array(payload.prefix(Self.nonceByteCount)),
            ciphertext: Array(payload.dropFirst(Self.nonceByteCount).dropLast(Self.tagByteCount)),
            tag: Array(payload.suffix(Self.tagByteCount))
        )
    }
}
