import Secrets
import SwiftASN1
import X509

/// How to reach and talk to one SMTP server: the credential's fields plus timeouts.
///
/// Built through ``init(host:port:security:…)``, which refuses what the spec refuses at credential
/// load (port 25, ports outside 1–65535, malformed host names or client identifiers), so an invalid
/// configuration never exists.
public struct SMTPConfiguration: Sendable {
    /// The server's host name (as given: used for SNI and certificate checks) or IP literal.
    public let host: String
    public let port: Int
    public let security: SMTPSecurity
    /// TLS 1.2 (default) or 1.3; older versions are never negotiated.
    public let minimumTLSVersion: MinimumTLSVersion
    /// Skip certificate and host name verification. Only when explicitly chosen.
    public let acceptUnverifiedCertificates: Bool
    /// PEM certificates trusted in addition to the system roots (a corporate CA).
    public let additionalTrustedCertificatesPEM: String?
    /// The EHLO/HELO name.
    public let clientIdentifier: String
    public let credentials: SMTPCredentials?
    public var timeouts: SMTPTimeouts

    /// The TLS floor.
    public enum MinimumTLSVersion: String, Sendable, Hashable, CaseIterable {
        case tls12 = "1.2"
        case tls13 = "1.3"
    }

    /// Validates and creates a configuration.
    ///
    /// - Throws: ``SMTPConfigurationError`` naming the field.
    public init(
        host: String,
        port: Int,
        security: SMTPSecurity = .startTLS,
        minimumTLSVersion: MinimumTLSVersion = .tls12,
        acceptUnverifiedCertificates: Bool = false,
        additionalTrustedCertificatesPEM: String? = nil,
        clientIdentifier: String? = nil,
        credentials: SMTPCredentials? = nil,
        timeouts: SMTPTimeouts = SMTPTimeouts()
    ) throws(SMTPConfigurationError) {
        guard port != 25 else {
            throw SMTPConfigurationError(field: "port", message: "Port 25 is not allowed")
        }
        guard (1...65535).contains(port) else {
            throw SMTPConfigurationError(field: "port", message: "Port must be between 1 and 65535")
        }
        guard HostName.isValidHost(host) else {
            throw SMTPConfigurationError(field: "host", message: "Host must be a host name or an IP address")
        }
        let identifier = clientIdentifier ?? HostName.defaultClientIdentifier()
        guard HostName.isValidClientIdentifier(identifier) else {
            throw SMTPConfigurationError(
                field: "clientIdentifier", message: "Client identifier must be a domain name or an address literal like [192.0.2.1]")
        }
        if let pem = additionalTrustedCertificatesPEM {
            try Self.validateTrustedCertificates(pem: pem)
        }
        self.host = host
        self.port = port
        self.security = security
        self.minimumTLSVersion = minimumTLSVersion
        self.acceptUnverifiedCertificates = acceptUnverifiedCertificates
        self.additionalTrustedCertificatesPEM = additionalTrustedCertificatesPEM
        self.clientIdentifier = identifier
        self.credentials = credentials
        self.timeouts = timeouts
    }

    /// Checks that `pem` holds one or more PEM certificates (a corporate CA bundle), at most 256 KiB.
    public static func validateTrustedCertificates(pem: String) throws(SMTPConfigurationError) {
        let error = SMTPConfigurationError(
            field: "caCertificate", message: "CA certificate must be one or more PEM certificates")
        guard pem.utf8.count <= 256 * 1024, pem.contains("-----BEGIN CERTIFICATE-----") else { throw error }
        // swift-certificates reads every block, so SMTPCore decides this without the TLS stack.
        guard let documents = try? PEMDocument.parseMultiple(pemString: pem), !documents.isEmpty,
            documents.allSatisfy({ $0.discriminator == "CERTIFICATE" && (try? Certificate(derEncoded: $0.derBytes)) != nil })
        else { throw error }
    }

    /// Parses a port from text strictly: decimal digits only, no sign, no spaces, no leading zeros.
    public static func parsePort(_ text: String) throws(SMTPConfigurationError) -> Int {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }),
            text == "0" || !text.hasPrefix("0"), let port = Int(text)
        else {
            throw SMTPConfigurationError(field: "port", message: "Port must be a whole number between 1 and 65535")
        }
        return port
    }
}

/// A configuration value was refused.
public struct SMTPConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The credential field, e.g. `port`.
    public var field: String
    /// The rule, in the spec's words where it has them ("Port 25 is not allowed").
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

/// Timeouts for each phase, with RFC 5321 section 4.5.3.2 defaults.
public struct SMTPTimeouts: Sendable, Hashable {
    /// TCP connect and TLS handshake (not in the RFC; 30 s).
    public var connect: Duration = .seconds(30)
    /// The 220 greeting: 5 minutes.
    public var greeting: Duration = .seconds(300)
    /// Each command's reply (EHLO, AUTH, MAIL, RCPT, RSET…): 5 minutes.
    public var command: Duration = .seconds(300)
    /// The reply to DATA: 2 minutes.
    public var dataInitiation: Duration = .seconds(120)
    /// Each block of message data written: 3 minutes.
    public var dataBlock: Duration = .seconds(180)
    /// The reply to the final dot: 10 minutes. A short value here manufactures duplicates, because
    /// the server may accept the message after the client gave up.
    public var finalReply: Duration = .seconds(600)
    /// How long a pooled connection may sit idle: 5 minutes (the server's own limit).
    public var idle: Duration = .seconds(300)

    /// RFC 5321 defaults.
    public init() {}

    /// The timeout of a wait the client machine asks for.
    public func timeout(for phase: SMTPWaitPhase) -> Duration {
        switch phase {
        case .greeting: greeting
        case .tlsHandshake: connect
        case .command: command
        case .dataInitiation: dataInitiation
        case .dataBlock: dataBlock
        case .finalReply: finalReply
        }
    }
}
