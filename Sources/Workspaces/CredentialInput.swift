public import Secrets
public import SMTPCore

/// The fields of a credential as a user submits them. Every field is optional here so one type
/// serves both create (where ``CredentialService`` requires some) and PATCH (where a missing field
/// keeps its stored value: above all, a missing password keeps the old password).
///
/// For the nullable fields, `.some(nil)` clears the stored value and `nil` leaves it as it is.
public struct CredentialInput: Sendable {
    public var name: String?
    public var host: String?
    public var port: Int?
    public var username: String??
    public var password: Secret??
    public var security: SMTPSecurity?
    public var acceptUnverifiedCertificates: Bool?
    public var minimumTLSVersion: SMTPConfiguration.MinimumTLSVersion?
    public var clientIdentifier: String??
    public var caCertificate: String??
    /// `.some(nil)` removes every limit.
    public var limits: RateLimits??
    /// Whether sends ask for delivery status notifications (on when a credential is made).
    public var deliveryNotifications: Bool?
    /// The version the change was made from (PATCH): a stored credential of another version is not
    /// changed (``WorkspaceError/Kind/versionConflict``). `nil` applies the change to the latest.
    public var version: Int?

    /// Creates an input; fields not given are left out.
    public init(
        name: String? = nil, host: String? = nil, port: Int? = nil, username: String?? = nil,
        password: Secret?? = nil, security: SMTPSecurity? = nil, acceptUnverifiedCertificates: Bool? = nil,
        minimumTLSVersion: SMTPConfiguration.MinimumTLSVersion? = nil, clientIdentifier: String?? = nil,
        caCertificate: String?? = nil, limits: RateLimits?? = nil
    ) {
        self.limits = limits
        self.name = name
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.security = security
        self.acceptUnverifiedCertificates = acceptUnverifiedCertificates
        self.minimumTLSVersion = minimumTLSVersion
        self.clientIdentifier = clientIdentifier
        self.caCertificate = caCertificate
    }
}
