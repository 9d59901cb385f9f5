public import Foundation
public import SMTPCore
public import Vault

/// A stored SMTP credential: the spec's credential form, with the password sealed by the vault.
///
/// Nothing here is secret except ``sealedPassword``, which is ciphertext bound to this workspace and
/// this credential id; the value never holds a decrypted password.
public struct SMTPCredential: Sendable, Hashable, Identifiable {
    public var id: String
    public var workspaceID: String
    /// The internal label, unique within the workspace ("Marketing — SendGrid").
    public var name: String
    public var host: String
    public var port: Int
    /// `nil` for relays that accept mail without AUTH.
    public var username: String?
    public var security: SMTPSecurity
    public var acceptUnverifiedCertificates: Bool
    public var minimumTLSVersion: SMTPConfiguration.MinimumTLSVersion
    /// The EHLO name; `nil` uses the machine's name.
    public var clientIdentifier: String?
    /// PEM certificates trusted in addition to the system roots (a corporate CA).
    public var caCertificate: String?
    /// AES-256-GCM ciphertext of the password, bound to ``workspaceID`` and ``id``.
    public var sealedPassword: SealedSecret?
    /// The vault's keyed HMAC of the password: part of the pool key, never the password.
    public var passwordFingerprint: String?
    /// How fast sends through it may go; `nil` (or empty) sets no limit. Sends over a limit wait.
    public var limits: RateLimits?
    /// Whether sends ask the server for delivery status notifications (RFC 3461: failures and
    /// delays, headers only, with an ENVID naming the message) when it offers DSN. On by default.
    public var deliveryNotifications: Bool
    public var createdAt: Date
    public var updatedAt: Date
    /// Counts the stored changes, from 1: a change made from an older version is refused
    /// (``WorkspaceError/Kind/versionConflict``) rather than undo the change in between.
    public var version: Int
    /// Set when the credential signs in with OAuth 2.0 (XOAUTH2) instead of a password: then
    /// ``sealedPassword`` holds the sealed refresh token and ``username`` the account's address.
    public var oauth: OAuthLink?

    /// Creates a credential value; validation happens in ``CredentialService``.
    public init(
        id: String, workspaceID: String, name: String, host: String, port: Int, username: String?,
        security: SMTPSecurity, acceptUnverifiedCertificates: Bool,
        minimumTLSVersion: SMTPConfiguration.MinimumTLSVersion, clientIdentifier: String?, caCertificate: String?,
        sealedPassword: SealedSecret?, passwordFingerprint: String?, limits: RateLimits? = nil, deliveryNotifications: Bool = true, createdAt: Date,
        updatedAt: Date, version: Int = 1, oauth: OAuthLink? = nil
    ) {
        self.oauth = oauth
        self.deliveryNotifications = deliveryNotifications
        self.limits = limits
        self.version = version
        self.id = id
        self.workspaceID = workspaceID
        self.name = name
        self.host = host
        self.port = port
        self.username = username
        self.security = security
        self.acceptUnverifiedCertificates = acceptUnverifiedCertificates
        self.minimumTLSVersion = minimumTLSVersion
        self.clientIdentifier = clientIdentifier
        self.caCertificate = caCertificate
        self.sealedPassword = sealedPassword
        self.passwordFingerprint = passwordFingerprint
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Whether a password is stored (responses show this instead of the password); never for an
    /// OAuth credential, whose sealed secret is a refresh token.
    public var hasPassword: Bool { sealedPassword != nil && oauth == nil }

    /// What the vault binds the sealed secret to: the password, or an OAuth credential's refresh
    /// token (a different field, so a row whose kind was edited cannot send a refresh token as a
    /// password, or the other way round).
    public var passwordContext: SealContext {
        SealContext(workspaceID: workspaceID, credentialID: id, field: oauth == nil ? "password" : "oauth-refresh-token")
    }
}

/// How an OAuth credential is connected: the provider that issued its tokens, and whether the
/// provider refused its refresh token (revoked, expired), so a person must sign in again.
public struct OAuthLink: Sendable, Hashable {
    /// The provider's id (`google`, `microsoft`, or one from the providers file).
    public var providerID: String
    /// The refresh token was refused (`invalid_grant`): sends fail with EAUTH and the hint
    /// "Reconnect this credential" until someone connects it again. Nothing retries it meanwhile.
    public var needsReconnect: Bool

    public init(providerID: String, needsReconnect: Bool = false) {
        self.providerID = providerID
        self.needsReconnect = needsReconnect
    }
}
