import Crypto
import Foundation
public import Secrets

extension MasterKey {
    /// Parses a key written as standard base64 (RFC 4648 §4, padded), as
    /// `openssl rand -base64 32` prints it and ``base64Secret`` writes it.
    ///
    /// Whitespace and newlines around the text are trimmed (key files and docker secrets usually
    /// end with a newline); anything else must be canonical base64 of exactly 32 bytes. Strict so
    /// that one key has one spelling: a URL-safe, unpadded or otherwise lenient variant is refused
    /// rather than guessed at.
    ///
    /// - Throws: ``VaultError/invalidKey(reason:)``; the reason never quotes the text.
    public init(base64: String) throws(VaultError) {
        let text = base64.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw .invalidKey(reason: "the key is empty") }
        guard let bytes = Data(base64Encoded: text), bytes.base64EncodedString() == text else {
            throw .invalidKey(reason: "not canonical base64 (standard alphabet, with padding)")
        }
        try self.init(rawBytes: bytes)
    }

    /// The key as standard padded base64, for writing the key file or printing once at setup.
    public var base64Secret: Secret {
        Secret(symmetricKey.withUnsafeBytes { Data($0).base64EncodedString() })
    }
}
