import ArgumentParser
import Egress
import Foundation
import Logging
import SMTP
import SMTPCore
import Secrets

/// `--security`, spelt as in the credential form.
enum SecurityOption: String, ExpressibleByArgument, CaseIterable {
    case implicitTLS = "implicit-tls"
    case startTLS = "starttls"
    case plaintext

    var security: SMTPSecurity {
        switch self {
        case .implicitTLS: .implicitTLS
        case .startTLS: .startTLS
        case .plaintext: .plaintext
        }
    }
}

/// `--min-tls`.
enum MinimumTLSOption: String, ExpressibleByArgument, CaseIterable {
    case tls12 = "1.2"
    case tls13 = "1.3"

    var version: SMTPConfiguration.MinimumTLSVersion {
        switch self {
        case .tls12: .tls12
        case .tls13: .tls13
        }
    }
}

/// Log levels offered on the command line.
enum LogLevelOption: String, ExpressibleByArgument, CaseIterable {
    case trace, debug, info

    var level: Logger.Level {
        switch self {
        case .trace: .trace
        case .debug: .debug
        case .info: .info
        }
    }
}

/// Flags that say where and how to connect: `posthorn send` without `--dry-run`.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "SMTP server host name or IP address.")
    var host: String?

    @Option(help: "Port (587 STARTTLS, 465 implicit TLS; 25 is refused).")
    var port: String?

    @Option(name: .customLong("security"), help: "implicit-tls, starttls (default) or plaintext.")
    var securityOption: SecurityOption = .startTLS

    @Option(help: "Login name.")
    var username: String?

    @Option(name: .customLong("password-env"), help: "Read the password from this environment variable.")
    var passwordEnvironmentVariable: String?

    @Option(name: .customLong("password-file"), help: "Read the password from this file (one trailing newline is ignored).")
    var passwordFile: String?

    @Flag(name: .customLong("accept-unverified-certs"), help: "Accept self-signed or mismatched certificates (a security trade-off).")
    var acceptUnverifiedCertificates = false

    @Option(name: .customLong("min-tls"), help: "Minimum TLS version: 1.2 (default) or 1.3.")
    var minimumTLS: MinimumTLSOption = .tls12

    @Option(name: .customLong("ehlo-name"), help: "Client identifier for EHLO (default: this machine's name).")
    var ehloName: String?

    @Option(name: .customLong("ca-file"), help: "PEM file of CA certificates trusted in addition to the system's.")
    var caFile: String?

    @Option(name: .customLong("allow-private-egress"), help: "Allow connecting to this private CIDR (repeatable, comma-separated). Also POSTHORN_ALLOW_PRIVATE_EGRESS.")
    var allowPrivateEgress: [String] = []

    @Option(name: .customLong("log-level"), help: "trace (prints the SMTP transcript, AUTH redacted), debug or info.")
    var logLevel: LogLevelOption = .info

    /// The validated configuration; errors name the flag.
    func configuration() throws -> SMTPConfiguration {
        guard let host else { throw SMTPConfigurationError(field: "host", message: "--host is required to send (or use --dry-run)") }
        let port = try port.map { text throws(SMTPConfigurationError) in try SMTPConfiguration.parsePort(text) }
            ?? (securityOption == .implicitTLS ? 465 : 587)
        let credentials: SMTPCredentials?
        switch (username, try password()) {
        case (let username?, let password?): credentials = .password(username: username, password: password)
        case (nil, nil): credentials = nil
        case (nil, _?): throw SMTPConfigurationError(field: "username", message: "a password was given without --username")
        case (_?, nil): throw SMTPConfigurationError(field: "password", message: "--username needs --password-env or --password-file")
        }
        let ca = try caFile.map(readCAFile)
        return try SMTPConfiguration(
            host: host, port: port, security: securityOption.security, minimumTLSVersion: minimumTLS.version,
            acceptUnverifiedCertificates: acceptUnverifiedCertificates, additionalTrustedCertificatesPEM: ca,
            clientIdentifier: ehloName, credentials: credentials)
    }

    private func password() throws -> Secret? {
        try PasswordSource(environmentVariable: passwordEnvironmentVariable, file: passwordFile).read()
    }

    /// The operator allowlist from the flags and `POSTHORN_ALLOW_PRIVATE_EGRESS`.
    func egressPolicy() throws -> EgressPolicy {
        try posthorn.egressPolicy(flags: allowPrivateEgress)
    }
}
