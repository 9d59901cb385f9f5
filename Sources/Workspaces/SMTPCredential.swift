public import Foundation
public import SMTP
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

    /// Creates a credential value; validation happens in ``CredentialService``.
    public init(
        id: String, workspaceID: String, name: String, host: String, port: Int, username: String?,
        security: SMTPSecurity, acceptUnverifiedCertificates: Bool,
        minimumTLSVersion: SMTPConfiguration.MinimumTLSVersion, clientIdentifier: String?, caCertificate: String?,
        sealedPassword: SealedSecret?, passwordFingerprint: String?, limits: RateLimits? = nil, deliveryNotifications: Bool = true, createdAt: Date,
        updatedAt: Date, version: Int = 1
    ) {
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

    /// Whether a password is stored (responses show this instead of the password).
    public var hasPassword: Bool { sealedPassword != nil }

    /// What the vault binds the password to.
    public var passwordContext: SealContext {
        SealContext(workspaceID: workspaceID, credentialID: id, field: "password")
    }
}
