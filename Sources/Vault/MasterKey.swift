import Secrets
import Crypto
public import Foundation

/// A 256-bit AES key that seals credentials, named by an id derived from its bytes.
///
/// The id is `"k"` followed by the first 16 hex digits of SHA-256 of the key: stable across
/// processes, derivable from the key alone (so the key file needs no separate bookkeeping), and
/// safe to print, since 64 bits of a hash of a 256-bit random key reveal nothing usable about it.
/// Descriptions, debug descriptions and mirrors show only the id (see `MasterKey+Redaction.swift`).
public struct MasterKey: Sendable {
    /// The number of key bytes: AES-256.
    static let byteCount = 32

    /// `"k"` + the first 16 hex digits of SHA-256 of the key bytes.
    public let id: String

    /// The key itself; never leaves the module except through ``base64Secret``.
    let symmetricKey: SymmetricKey

    /// Wraps exactly 32 key bytes.
    ///
    /// - Throws: ``VaultError/invalidKey(reason:)`` for any other length.
    public init(rawBytes: some ContiguousBytes) throws(VaultError) {
        let count = rawBytes.withUnsafeBytes { $0.count }
        guard count == Self.byteCount else {
            throw .invalidKey(reason: "expected \(Self.byteCount) bytes, got \(count)")
        }
        self.init(symmetricKey: SymmetricKey(data: rawBytes))
    }

    /// A fresh key from the system's cryptographically secure generator.
    public static func generate() -> MasterKey {
        MasterKey(symmetricKey: SymmetricKey(size: .bits256))
    }

    /// Callers guarantee `symmetricKey` is 32 bytes.
    private init(symmetricKey: SymmetricKey) {
        self.symmetricKey = symmetricKey
        self.id = Self.id(of: symmetricKey)
    }

    // MARK: - Key ids

    /// The number of hex digits of the SHA-256 digest an id keeps.
    private static let idHexDigits = 16

    private static func id(of key: SymmetricKey) -> String {
        let digest = key.withUnsafeBytes { SHA256.hash(data: $0) }
        return "k" + digest.prefix(idHexDigits / 2).hexString
    }

    /// Whether `text` has the shape of a key id (`k` + 16 lowercase hex digits); used to parse
    /// sealed secrets strictly.
    static func isWellFormedID(_ text: some StringProtocol) -> Bool {
        let utf8 = text.utf8
        guard utf8.count == 1 + idHexDigits, utf8.first == UInt8(ascii: "k") else { return false }
        return utf8.dropFirst().allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }
}
