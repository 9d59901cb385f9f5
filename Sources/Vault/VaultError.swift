/// Why the vault refused a key, a key file or a sealed secret.
///
/// Every description is safe to log: reasons name lengths, paths and key ids, never key bytes or
/// plaintext. ``openFailed`` deliberately does not say *which* check failed (wrong key, wrong
/// owner, tampering), because AES-GCM cannot tell them apart and a caller should not try to.
public enum VaultError: Error, Sendable, Hashable {
    /// A master key could not be read; `reason` describes the shape (length, encoding), never the bytes.
    case invalidKey(reason: String)
    /// The sealed secret names a key that is not in the key ring (rotated out, or the wrong ring).
    case unknownKey(id: String)
    /// Authentication failed: the key, the ``SealContext`` or the sealed bytes do not match.
    case openFailed
    /// The sealed secret's encoding is not `v1.<key id>.<base64url>` with a 12-byte nonce and a 16-byte tag.
    case malformed
    /// The key ring file at `path` could not be read, parsed or written.
    case keyFile(path: String, reason: String)
}

extension VaultError: CustomStringConvertible {
    /// One sentence, safe for logs and API responses.
    public var description: String {
        switch self {
        case .invalidKey(let reason):
            "Invalid master key: \(reason)"
        case .unknownKey(let id):
            "Secret was sealed with key \(id), which is not in the key ring"
        case .openFailed:
            "Secret could not be opened (wrong key, wrong owner, or tampered)"
        case .malformed:
            "Sealed secret is malformed"
        case .keyFile(let path, let reason):
            "Key file \(path): \(reason)"
        }
    }
}
