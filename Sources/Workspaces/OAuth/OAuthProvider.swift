public import Foundation
public import Secrets
public import SMTPCore

/// Where a team signs in to get an SMTP credential without a password: an OAuth 2.0
/// authorization server and the SMTP server that accepts its tokens (XOAUTH2).
///
/// Google and Microsoft are built in (``google``, ``microsoft``); their client id and secret come
/// from the environment or the owner's settings. Others — or replacements for the built-in ids —
/// come from the file `POSTHORN_OAUTH_PROVIDERS` names (``OAuthProviderFile``).
public struct OAuthProvider: Sendable {
    public var id: String
    public var name: String
    public var authorizeURL: URL
    public var tokenURL: URL
    /// Where the account's address is read when the token response has no ID token with one.
    public var userinfoURL: URL?
    public var scopes: [String]
    public var clientID: String?
    public var clientSecret: Secret?
    public var smtpHost: String
    public var smtpPort: Int
    public var security: SMTPSecurity
    /// Added to the authorization URL: Google returns a refresh token only with
    /// `access_type=offline`, and again on a second consent only with `prompt=consent`.
    public var extraAuthorizeParameters: [(name: String, value: String)]
    /// PEM certificates trusted for the SMTP server besides the system roots (a corporate CA, or
    /// the tests' own); becomes the credential's CA certificate.
    public var caCertificate: String?

    public init(
        id: String, name: String, authorizeURL: URL, tokenURL: URL, userinfoURL: URL?, scopes: [String], clientID: String?,
        clientSecret: Secret?, smtpHost: String, smtpPort: Int, security: SMTPSecurity,
        extraAuthorizeParameters: [(name: String, value: String)] = [], caCertificate: String? = nil
    ) {
        self.caCertificate = caCertificate
        self.id = id
        self.name = name
        self.authorizeURL = authorizeURL
        self.tokenURL = tokenURL
        self.userinfoURL = userinfoURL
        self.scopes = scopes
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.smtpHost = smtpHost
        self.smtpPort = smtpPort
        self.security = security
        self.extraAuthorizeParameters = extraAuthorizeParameters
    }

    /// Whether the operator gave it a client (without one, its sign-in button is not offered).
    public var isConfigured: Bool { clientID?.isEmpty == false && clientSecret != nil }

    /// Gmail and Google Workspace: `https://mail.google.com/` is the scope SMTP needs.
    public static let google = OAuthProvider(
        id: "google", name: "Google", authorizeURL: URL(string: "https://accounts.google.com/o/oauth2/v2/auth")!,
        tokenURL: URL(string: "https://oauth2.googleapis.com/token")!,
        userinfoURL: URL(string: "https://openidconnect.googleapis.com/v1/userinfo")!,
        scopes: ["openid", "email", "https://mail.google.com/"], clientID: nil, clientSecret: nil,
        smtpHost: "smtp.gmail.com", smtpPort: 587, security: .startTLS,
        extraAuthorizeParameters: [("access_type", "offline"), ("prompt", "consent")])

    /// Microsoft 365 (work and school accounts, and outlook.com): `offline_access` for a refresh
    /// token, `SMTP.Send` for SMTP AUTH.
    public static let microsoft = OAuthProvider(
        id: "microsoft", name: "Microsoft", authorizeURL: URL(string: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize")!,
        tokenURL: URL(string: "https://login.microsoftonline.com/common/oauth2/v2.0/token")!,
        userinfoURL: URL(string: "https://graph.microsoft.com/oidc/userinfo")!,
        scopes: ["openid", "email", "offline_access", "https://outlook.office.com/SMTP.Send"], clientID: nil, clientSecret: nil,
        smtpHost: "smtp.office365.com", smtpPort: 587, security: .startTLS)

    /// The authorization URL a browser is sent to: the code flow (RFC 6749 §4.1.1) with PKCE
    /// (RFC 7636 §4.3) and `state`, the provider's extra parameters last.
    public func authorizationURL(redirectURI: String, state: String, pkce: PKCE) -> URL? {
        guard let clientID, var components = URLComponents(url: authorizeURL, resolvingAgainstBaseURL: false) else { return nil }
        var items = components.queryItems ?? []
        items += [
            URLQueryItem(name: "response_type", value: "code"), URLQueryItem(name: "client_id", value: clientID),
            URLQueryItem(name: "redirect_uri", value: redirectURI), URLQueryItem(name: "scope", value: scopes.joined(separator: " ")),
            URLQueryItem(name: "state", value: state), URLQueryItem(name: "code_challenge", value: pkce.challenge),
            URLQueryItem(name: "code_challenge_method", value: PKCE.method),
        ]
        items += extraAuthorizeParameters.map { URLQueryItem(name: $0.name, value: $0.value) }
        components.queryItems = items
        // `+` is a space in a form-encoded query, and URLComponents leaves it alone.
        components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        return components.url
    }
}
