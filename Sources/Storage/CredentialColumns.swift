import SMTPCore
import SQLKit
import Vault
import Workspaces

/// How an ``Workspaces/SMTPCredential`` maps onto a `credentials` row.
///
/// Enums are stored as their raw values (`implicit-tls`, `1.2`, …), the sealed password as
/// `SealedSecret.encoded`, dates as milliseconds. Reading is strict: an unknown raw value, kind or a
/// malformed sealed password is ``StorageError/invalidValue(table:column:rowID:)``, never a guess.
struct CredentialColumns {
    /// The only `kind` today.
    static let smtpKind = "smtp"

    /// Every column, for `SELECT`; decoding goes by name, so the order is free.
    static let all: SQLQueryString = """
        id, workspace_id, name, kind, host, port, username, security, accept_unverified_certificates, \
        min_tls_version, client_identifier, ca_certificate, password_sealed, password_fingerprint, \
        rate_limits, delivery_notifications, oauth_provider, oauth_needs_reconnect, created_at, updated_at, version
        """

    /// The connection settings and the password: the columns an insert writes and an update
    /// rewrites besides identity, name and timestamps, each with its bound value.
    let settings: [(column: String, value: any Encodable & Sendable)]
    let createdAt: Int64
    let updatedAt: Int64

    /// The column values of `credential`.
    init(_ credential: SMTPCredential) throws(StorageError) {
        let limits: String?
        do {
            limits = try credential.limits.map { try StoredJSON.text($0) }
        } catch {
            throw StorageError.invalidValue(table: "credentials", column: "rate_limits", rowID: credential.id)
        }
        settings = [
            ("host", credential.host),
            ("port", credential.port),
            ("username", credential.username),
            ("security", credential.security.rawValue),
            ("accept_unverified_certificates", credential.acceptUnverifiedCertificates),
            ("min_tls_version", credential.minimumTLSVersion.rawValue),
            ("client_identifier", credential.clientIdentifier),
            ("ca_certificate", credential.caCertificate),
            ("password_sealed", credential.sealedPassword?.encoded),
            ("password_fingerprint", credential.passwordFingerprint),
            ("rate_limits", limits),
            ("delivery_notifications", credential.deliveryNotifications),
            ("oauth_provider", credential.oauth?.providerID),
            ("oauth_needs_reconnect", credential.oauth?.needsReconnect ?? false),
        ]
        createdAt = credential.createdAt.millisecondsSince1970
        updatedAt = credential.updatedAt.millisecondsSince1970
    }

    // MARK: - Statement fragments

    /// `"host", "port", …` in ``settings`` order, for an `INSERT` column list.
    var settingsColumns: SQLQueryString {
        settings.map { "\(ident: $0.column)" as SQLQueryString }.joined(separator: ", ")
    }

    /// The bound values in ``settings`` order, for an `INSERT` value list.
    var settingsValues: SQLQueryString {
        settings.map { "\(bind: $0.value)" as SQLQueryString }.joined(separator: ", ")
    }

    /// `"host" = ?, "port" = ?, …`, for an `UPDATE`.
    var settingsAssignments: SQLQueryString {
        settings.map { "\(ident: $0.column) = \(bind: $0.value)" as SQLQueryString }.joined(separator: ", ")
    }

    // MARK: - Reading

    /// The credential a `SELECT` of ``all`` returned.
    static func credential(from row: any SQLRow) throws(StorageError) -> SMTPCredential {
        let stored = StoredRow(row, table: "credentials")
        guard try stored.value("kind", as: String.self) == smtpKind else { throw stored.invalid("kind") }
        let sealedPassword = try stored.optional("password_sealed", as: String.self).map { text throws(StorageError) in
            do {
                return try SealedSecret(encoded: text)
            } catch {
                throw stored.invalid("password_sealed")
            }
        }
        return SMTPCredential(
            id: try stored.value("id"),
            workspaceID: try stored.value("workspace_id"),
            name: try stored.value("name"),
            host: try stored.value("host"),
            port: try stored.value("port"),
            username: try stored.optional("username"),
            security: try stored.rawValue("security", as: SMTPSecurity.self),
            acceptUnverifiedCertificates: try stored.value("accept_unverified_certificates"),
            minimumTLSVersion: try stored.rawValue("min_tls_version", as: SMTPConfiguration.MinimumTLSVersion.self),
            clientIdentifier: try stored.optional("client_identifier"),
            caCertificate: try stored.optional("ca_certificate"),
            sealedPassword: sealedPassword,
            passwordFingerprint: try stored.optional("password_fingerprint"),
            limits: try stored.optionalJSON("rate_limits", as: RateLimits.self),
            deliveryNotifications: try stored.value("delivery_notifications"),
            createdAt: try stored.date("created_at"),
            updatedAt: try stored.date("updated_at"),
            version: Int(try stored.value("version", as: Int64.self)),
            oauth: try stored.optional("oauth_provider", as: String.self).map { provider throws(StorageError) in
                OAuthLink(providerID: provider, needsReconnect: try stored.value("oauth_needs_reconnect"))
            }
        )
    }
}
