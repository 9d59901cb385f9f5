public import Foundation
public import Secrets
import Vault

/// What a token endpoint answered (RFC 6749 §5.1 and §5.2), read from hostile bytes with limits.
///
/// Tokens are checked as strictly as they are used: an access token goes into the XOAUTH2
/// string `user=… ^A auth=Bearer <token> ^A ^A`, so a token holding `^A`, CR, LF or a space could
/// rewrite the AUTH exchange; only visible ASCII is accepted, for the refresh token too.
public enum OAuthTokenResponse: Sendable {
    /// The tokens issued.
    case tokens(OAuthTokens)
    /// The endpoint refused (`invalid_grant`: the refresh token was revoked or expired, and the
    /// credential needs connecting again).
    case refused(error: String, description: String?)

    /// The most bytes read from a token endpoint.
    public static let maximumBodyBytes = 64 * 1024

    /// Reads a token endpoint's answer: `status` 200 with tokens, or 400/401 with an error.
    public static func parse(status: Int, body: [UInt8]) throws(OAuthResponseError) -> OAuthTokenResponse {
        guard body.count <= maximumBodyBytes else { throw .tooLarge }
        let fields: Fields
        do {
            fields = try JSONDecoder().decode(Fields.self, from: Data(body))
        } catch {
            throw .malformed("the token endpoint's answer is not a JSON object")
        }
        if let error = fields.error {
            guard (400...499).contains(status) else { throw .malformed("an error answer with status \(status)") }
            guard Self.isToken(error, maximum: 128) else { throw .malformed("error is not a short code") }
            // Shown to a person: one line, bounded.
            let description = fields.errorDescription.map {
                String(String.UnicodeScalarView($0.unicodeScalars.filter { $0.properties.generalCategory != .control }.prefix(300)))
            }
            return .refused(error: error, description: description)
        }
        guard status == 200 else { throw .malformed("status \(status) without an error code") }
        guard let accessToken = fields.accessToken, Self.isToken(accessToken, maximum: 8192) else {
            throw .malformed("access_token is missing or holds characters a token cannot")
        }
        guard fields.tokenType?.lowercased() == "bearer" else { throw .malformed("token_type is not Bearer") }
        if let refresh = fields.refreshToken, !Self.isToken(refresh, maximum: 8192) {
            throw .malformed("refresh_token holds characters a token cannot")
        }
        // RFC 6749 recommends expires_in; without it, an hour (both built-in providers send it).
        let lifetime = min(max(fields.expiresIn ?? 3600, 1), 86_400)
        return .tokens(OAuthTokens(
            accessToken: Secret(accessToken), expiresIn: .seconds(lifetime), refreshToken: fields.refreshToken.map(Secret.init),
            email: fields.idToken.flatMap(Self.email(fromIDToken:))))
    }

    /// A token as RFC 6750 §2.1 allows it (`b64token`), within `maximum` characters; error codes
    /// (RFC 6749 §5.2: `%x20-21 / %x23-5B / %x5D-7E`, less the space) pass too.
    static func isToken(_ text: String, maximum: Int) -> Bool {
        !text.isEmpty && text.utf8.count <= maximum && text.utf8.allSatisfy { (0x21...0x7E).contains($0) && $0 != 0x22 && $0 != 0x5C }
    }

    /// The `email` claim of an ID token the token endpoint returned — over TLS, straight from the
    /// provider, so its signature need not be checked (OpenID Connect Core 1.0 §3.1.3.7, item 6).
    /// `nil` when absent, unverified (`email_verified: false`) or not an address.
    static func email(fromIDToken token: String) -> String? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].utf8.count <= 16 * 1024, let payload = Base64URL.decode(parts[1]),
            let claims = try? JSONDecoder().decode(IDTokenClaims.self, from: Data(payload)),
            let email = claims.email, claims.emailVerified != false
        else { return nil }
        return OAuthTokens.isAddress(email) ? email : nil
    }

    /// The verified address in a userinfo endpoint's answer (OpenID Connect Core §5.3.2), read
    /// with the same limits; `nil` when absent, unverified or not an address.
    public static func email(fromUserInfo body: [UInt8]) -> String? {
        guard body.count <= maximumBodyBytes, let claims = try? JSONDecoder().decode(IDTokenClaims.self, from: Data(body)),
            let email = claims.email, claims.emailVerified != false
        else { return nil }
        return OAuthTokens.isAddress(email) ? email : nil
    }

    private struct Fields: Decodable {
        var accessToken: String?
        var tokenType: String?
        var expiresIn: Int64?
        var refreshToken: String?
        var idToken: String?
        var error: String?
        var errorDescription: String?

        enum CodingKeys: String, CodingKey {
            case accessToken = "access_token", tokenType = "token_type", expiresIn = "expires_in", refreshToken = "refresh_token"
            case idToken = "id_token", error, errorDescription = "error_description"
        }
    }

    private struct IDTokenClaims: Decodable {
        var email: String?
        var emailVerified: Bool?

        enum CodingKeys: String, CodingKey {
            case email, emailVerified = "email_verified"
        }
    }
}

/// Tokens a provider issued. `Secret`s: they never print.
public struct OAuthTokens: Sendable {
    public var accessToken: Secret
    public var expiresIn: Duration
    /// Absent on a refresh when the provider keeps the old one; present when it rotates it.
    public var refreshToken: Secret?
    /// The account's address, from the ID token, when it had a verified one.
    public var email: String?

    /// An address as a username can hold it: one `@`, no spaces or control characters, at most
    /// 254 bytes.
    static func isAddress(_ text: String) -> Bool {
        text.utf8.count <= 254 && text.filter { $0 == "@" }.count == 1 && !text.hasPrefix("@") && !text.hasSuffix("@")
            && !text.unicodeScalars.contains { $0.properties.generalCategory == .control || $0.properties.isWhitespace }
    }
}

/// A token endpoint's answer that could not be read; the reason is safe to show (no token in it).
public enum OAuthResponseError: Error, Sendable, Hashable {
    case tooLarge
    case malformed(String)
}
