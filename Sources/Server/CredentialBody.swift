import Foundation
import Hummingbird
import Secrets
import SMTP
import SMTPCore
import Workspaces

/// A credential as a client submits it (POST and PATCH). The password is decoded straight into a
/// `Secret`; for the nullable fields an explicit `null` clears and a missing key keeps.
///
/// `credentialId` belongs only to `POST /api/v1/credentials/test` (the stored credential a form
/// edits); the other calls refuse it as an unknown field (``refuseCredentialID()``).
struct CredentialBody: Decodable {
    var input: CredentialInput
    var credentialID: String?

    private enum Key: String, CodingKey, CaseIterable {
        case type, name, host, port, username, password, security, acceptUnverifiedCertificates, minTLSVersion,
            clientIdentifier, caCertificate, limits, deliveryNotifications, version, credentialId
    }

    /// 422 for a `credentialId` where it has no meaning.
    func refuseCredentialID() throws {
        if credentialID != nil { throw APIError(.unprocessableContent, code: "validation_failed", field: "credentialId", "Unknown field") }
    }

    init(from decoder: any Decoder) throws {
        try KeyedDecodingContainer<Key>.refuseUnknownKeys(in: decoder, known: Set(Key.allCases.map(\.rawValue)))
        let container = try decoder.container(keyedBy: Key.self)
        if let type = try container.decodeNonNull(String.self, forKey: .type), type != "smtp" {
            throw APIError(.unprocessableContent, code: "validation_failed", field: "type", "Type must be \"smtp\"")
        }
        input = CredentialInput()
        input.name = try container.decodeNonNull(String.self, forKey: .name)
        input.host = try container.decodeNonNull(String.self, forKey: .host)
        input.port = try container.decodeNonNull(Int.self, forKey: .port)
        input.username = try container.decodeNullable(String.self, forKey: .username)
        input.password = try container.decodeNullable(String.self, forKey: .password).map { $0.map(Secret.init) }
        if let security = try container.decodeNonNull(String.self, forKey: .security) {
            guard let value = SMTPSecurity(rawValue: security) else {
                throw APIError(
                    .unprocessableContent, code: "validation_failed", field: "security",
                    "Security must be implicit-tls, starttls or plaintext")
            }
            input.security = value
        }
        input.acceptUnverifiedCertificates = try container.decodeNonNull(Bool.self, forKey: .acceptUnverifiedCertificates)
        if let version = try container.decodeNonNull(String.self, forKey: .minTLSVersion) {
            guard let value = SMTPConfiguration.MinimumTLSVersion(rawValue: version) else {
                throw APIError(.unprocessableContent, code: "validation_failed", field: "minTLSVersion", "Minimum TLS version must be 1.2 or 1.3")
            }
            input.minimumTLSVersion = value
        }
        input.clientIdentifier = try container.decodeNullable(String.self, forKey: .clientIdentifier)
        input.caCertificate = try container.decodeNullable(String.self, forKey: .caCertificate)
        input.limits = try container.decodeNullable(LimitsBody.self, forKey: .limits).map { $0?.limits }
        input.deliveryNotifications = try container.decodeNonNull(Bool.self, forKey: .deliveryNotifications)
        input.version = try container.decodeNonNull(Int.self, forKey: .version)
        credentialID = try container.decodeNonNull(String.self, forKey: .credentialId)
    }
}

/// `limits` as a client submits them: each window optional, `counts` `messages` by default.
struct LimitsBody: Decodable {
    var limits: RateLimits

    private enum Key: String, CodingKey, CaseIterable {
        case perSecond, perMinute, perHour, perDay, counts
    }

    init(from decoder: any Decoder) throws {
        try KeyedDecodingContainer<Key>.refuseUnknownKeys(in: decoder, known: Set(Key.allCases.map(\.rawValue)))
        let container = try decoder.container(keyedBy: Key.self)
        limits = RateLimits(
            perSecond: try container.decodeIfPresent(Int.self, forKey: .perSecond),
            perMinute: try container.decodeIfPresent(Int.self, forKey: .perMinute),
            perHour: try container.decodeIfPresent(Int.self, forKey: .perHour),
            perDay: try container.decodeIfPresent(Int.self, forKey: .perDay))
        if let counts = try container.decodeNonNull(String.self, forKey: .counts) {
            guard let unit = RateLimits.Unit(rawValue: counts) else {
                throw APIError(.unprocessableContent, code: "validation_failed", field: "limits.counts", "Counts must be messages or recipients")
            }
            limits.counts = unit
        }
    }
}

/// `limits` as the API shows them: every window, `null` when not set.
struct LimitsResponse: Encodable {
    @ExplicitNull var perSecond: Int?
    @ExplicitNull var perMinute: Int?
    @ExplicitNull var perHour: Int?
    @ExplicitNull var perDay: Int?
    var counts: String

    init(_ limits: RateLimits) {
        perSecond = limits.perSecond
        perMinute = limits.perMinute
        perHour = limits.perHour
        perDay = limits.perDay
        counts = limits.counts.rawValue
    }
}

/// A credential as the API shows it: every field but the password, which is only `hasPassword`.
struct CredentialResponse: ResponseEncodable {
    var id: String
    var type = "smtp"
    var name: String
    var host: String
    var port: Int
    var username: String?
    var hasPassword: Bool
    var security: String
    var acceptUnverifiedCertificates: Bool
    var minTLSVersion: String
    var clientIdentifier: String?
    var caCertificate: String?
    /// How fast sends through it may go; `null` for no limits.
    var limits: LimitsResponse?
    /// Whether sends ask for delivery status notifications when the server offers DSN.
    var deliveryNotifications: Bool
    var createdAt: String
    var updatedAt: String
    /// Send it back in a PATCH to refuse the change if someone changed the credential meanwhile.
    var version: Int
    /// The API's extras (the CLI leaves them out): the latest connection test, and the flows
    /// whose steps use the credential (what deleting it would break).
    var usage: CredentialUsage?
    /// `password` or `oauth2`.
    var auth: String
    /// How an OAuth credential is connected; `null` for a password credential.
    var oauth: OAuthBody?

    struct OAuthBody: Encodable {
        var provider: String
        var providerName: String
        var needsReconnect: Bool
    }

    /// `providerNames` names the OAuth providers by id (an unknown id is shown as itself).
    init(_ credential: SMTPCredential, usage: CredentialUsage? = nil, providerNames: [String: String] = [:]) {
        self.usage = usage
        auth = credential.oauth == nil ? "password" : "oauth2"
        oauth = credential.oauth.map {
            OAuthBody(provider: $0.providerID, providerName: providerNames[$0.providerID] ?? $0.providerID, needsReconnect: $0.needsReconnect)
        }
        version = credential.version
        id = credential.id
        name = credential.name
        host = credential.host
        port = credential.port
        username = credential.username
        hasPassword = credential.hasPassword
        security = credential.security.rawValue
        acceptUnverifiedCertificates = credential.acceptUnverifiedCertificates
        minTLSVersion = credential.minimumTLSVersion.rawValue
        clientIdentifier = credential.clientIdentifier
        caCertificate = credential.caCertificate
        limits = credential.limits.map(LimitsResponse.init)
        deliveryNotifications = credential.deliveryNotifications
        createdAt = Timestamp.string(credential.createdAt)
        updatedAt = Timestamp.string(credential.updatedAt)
    }

    private enum CodingKeys: String, CodingKey {
        case id, type, name, host, port, username, hasPassword, security, acceptUnverifiedCertificates, minTLSVersion,
            clientIdentifier, caCertificate, limits, deliveryNotifications, createdAt, updatedAt, version, lastTest, usedBy, auth, oauth
    }

    // Explicit nulls, so clients see every field.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(type, forKey: .type)
        try container.encode(name, forKey: .name)
        try container.encode(host, forKey: .host)
        try container.encode(port, forKey: .port)
        try container.encode(username, forKey: .username)
        try container.encode(hasPassword, forKey: .hasPassword)
        try container.encode(auth, forKey: .auth)
        try container.encode(oauth, forKey: .oauth)
        try container.encode(security, forKey: .security)
        try container.encode(acceptUnverifiedCertificates, forKey: .acceptUnverifiedCertificates)
        try container.encode(minTLSVersion, forKey: .minTLSVersion)
        try container.encode(clientIdentifier, forKey: .clientIdentifier)
        try container.encode(caCertificate, forKey: .caCertificate)
        try container.encode(limits, forKey: .limits)
        try container.encode(deliveryNotifications, forKey: .deliveryNotifications)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(version, forKey: .version)
        if let usage {
            try container.encode(usage.lastTest.map(LastTestBody.init), forKey: .lastTest)
            try container.encode(usage.usedBy, forKey: .usedBy)
        }
    }

    private struct LastTestBody: Encodable {
        var ok: Bool
        var at: String
        @ExplicitNull var code: String?
        @ExplicitNull var tlsVersion: String?

        init(_ record: CredentialTestRecord) {
            ok = record.ok
            at = Timestamp.string(record.testedAt)
            code = record.code
            tlsVersion = record.tlsVersion
        }
    }
}

/// What the API adds to a credential: its latest test and the flows that use it.
struct CredentialUsage {
    struct FlowReference: Encodable, Hashable {
        var id: String
        var name: String
    }

    var lastTest: CredentialTestRecord?
    var usedBy: [FlowReference]
}

/// A credential as a workspace member sees it: enough to pick it in a flow, nothing of its server
/// or login.
struct CredentialSummaryResponse: Encodable {
    var id: String
    var type = "smtp"
    var name: String

    init(_ credential: SMTPCredential) {
        id = credential.id
        name = credential.name
    }
}

/// ISO 8601 with milliseconds, UTC.
enum Timestamp {
    static func string(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
