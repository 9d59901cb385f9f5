import Crypto
import Foundation
public import Secrets

// MARK: - SASL for SMTP AUTH (RFC 4954)

/// How the client proves who it is.
public enum SMTPCredentials: Sendable {
    /// A username and password (PLAIN, LOGIN or CRAM-MD5).
    case password(username: String, password: Secret)
    /// An OAuth 2.0 access token (XOAUTH2, as Gmail and Microsoft 365 define it).
    case oauth2(username: String, accessToken: Secret)

    /// The username, which is not secret.
    public var username: String {
        switch self {
        case .password(let username, _), .oauth2(let username, _): username
        }
    }
}

/// A SASL mechanism the client can run.
public enum SASLMechanism: String, Sendable, Hashable, CaseIterable {
    case xoauth2 = "XOAUTH2"
    case cramMD5 = "CRAM-MD5"
    case plain = "PLAIN"
    case login = "LOGIN"

    /// The strongest mechanism both sides support, or `nil` if none.
    ///
    /// Order: XOAUTH2 for tokens; CRAM-MD5 (the password never crosses the wire) before PLAIN before
    /// LOGIN for passwords. All of them run only inside TLS unless plaintext was chosen explicitly.
    public static func preferred(for credentials: SMTPCredentials, offered: Set<String>) -> SASLMechanism? {
        let candidates: [SASLMechanism] = switch credentials {
        case .oauth2: [.xoauth2]
        case .password: [.cramMD5, .plain, .login]
        }
        return candidates.first { offered.contains($0.rawValue) }
    }
}

/// The payloads of each mechanism, base64-encoded and wrapped as secrets.
enum SASLPayload {
    static func base64(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
    }

    static func decodeBase64(_ text: String) -> [UInt8]? {
        Data(base64Encoded: text).map(Array.init)
    }

    /// RFC 4616: `authzid NUL authcid NUL passwd`, with an empty authzid.
    static func plain(username: String, password: Secret) -> Secret {
        password.withRevealedValue { Secret(base64("\u{0}\(username)\u{0}\($0)")) }
    }

    /// Google's and Microsoft's XOAUTH2: `user=… ^A auth=Bearer … ^A ^A`.
    static func xoauth2(username: String, token: Secret) -> Secret {
        token.withRevealedValue { Secret(base64("user=\(username)\u{1}auth=Bearer \($0)\u{1}\u{1}")) }
    }

    /// RFC 2195: `username SP hex(HMAC-MD5(password, challenge))`.
    static func cramMD5(username: String, password: Secret, challenge: [UInt8]) -> Secret {
        password.withRevealedValue { password in
            let key = SymmetricKey(data: Array(password.utf8))
            let digest = HMAC<Insecure.MD5>.authenticationCode(for: challenge, using: key)
            let hex = digest.hexString
            return Secret(base64("\(username) \(hex)"))
        }
    }
}
