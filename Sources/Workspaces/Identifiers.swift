import Crypto
public import Foundation
public import Secrets

/// Random identifiers and API tokens. Injected into the services so tests are deterministic.
public struct IdentifierSource: Sendable {
    private let randomBytes: @Sendable (Int) -> [UInt8]

    /// Identifiers from the system's secure random number generator.
    public static let system = IdentifierSource { count in
        (0..<count).map { _ in UInt8.random(in: .min ... .max) }
    }

    /// Identifiers from a custom byte source (tests).
    public init(randomBytes: @escaping @Sendable (Int) -> [UInt8]) {
        self.randomBytes = randomBytes
    }

    /// `prefix_` followed by 20 lowercase base32 characters (100 bits).
    public func makeID(prefix: String) -> String {
        prefix + "_" + Self.base32(randomBytes(13)).prefix(20)
    }

    /// A new API token: `ph_` followed by 52 base32 characters (256 bits). Shown once, stored hashed.
    public func makeToken() -> Secret {
        makeSecret(prefix: "ph")
    }

    /// `prefix_` followed by 52 base32 characters (256 bits): a session id, a setup or invite
    /// token. Stored only as a hash.
    public func makeSecret(prefix: String) -> Secret {
        Secret(prefix + "_" + Self.base32(randomBytes(32)))
    }

    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    static func base32(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        var buffer = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | Int(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return String(decoding: output, as: UTF8.self)
    }
}

/// How API tokens are stored: the hex SHA-256 of the token. Tokens carry 256 random bits, so a plain
/// hash cannot be reversed by guessing; a slow password hash would only slow every request down.
public enum TokenHash {
    /// The stored form of `token`.
    public static func of(_ token: Secret) -> String {
        token.withRevealedValue { value in
            SHA256.hash(data: Data(value.utf8)).hexString
        }
    }
}
