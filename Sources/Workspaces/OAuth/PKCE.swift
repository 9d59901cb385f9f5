import Crypto
public import Secrets
import Vault

/// Proof Key for Code Exchange (RFC 7636) with the S256 method: the verifier stays with the
/// server (in the pending authorization, never in the browser or a log), only its SHA-256 goes
/// into the authorization URL, so a code intercepted on its way back is useless without it.
public struct PKCE: Sendable {
    /// 32 random bytes as base64url: 43 characters of `[A-Za-z0-9_-]`, the shortest verifier
    /// RFC 7636 §4.1 allows, with 256 bits of entropy.
    public let verifier: Secret
    /// `BASE64URL(SHA256(ASCII(verifier)))` (§4.2).
    public let challenge: String
    /// Always `S256`: `plain` would put the verifier itself in the URL.
    public static let method = "S256"

    /// A new verifier from `random` (the system's CSPRNG by default; tests inject bytes).
    public init(random: () -> [UInt8] = { (0..<32).map { _ in UInt8.random(in: 0...255) } }) {
        self.init(verifier: Base64URL.encode(random()))
    }

    /// The pair for a known verifier (RFC 7636 appendix B's example, in tests).
    public init(verifier: String) {
        self.verifier = Secret(verifier)
        challenge = Base64URL.encode(Array(SHA256.hash(data: Array(verifier.utf8))))
    }
}
