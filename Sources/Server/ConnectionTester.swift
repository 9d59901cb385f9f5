public import Egress
import Flows
public import Hummingbird
public import Logging
import NIOCore
import Secrets
public import SMTP
public import SMTPCore
public import Workspaces

/// "Test connection": connect, negotiate TLS, EHLO and authenticate with a stored credential,
/// without sending mail, and classify what went wrong.
public struct ConnectionTester: Sendable {
    private let client: SMTPClient
    private let credentials: CredentialService
    private let oauth: OAuthService?

    /// Creates a tester whose connections go only where `egress` allows; OAuth credentials get
    /// their access tokens from `oauth`.
    public init(
        egress: EgressGuard, credentials: CredentialService, oauth: OAuthService? = nil, dialer: SMTPDialer = .network, logger: Logger
    ) {
        client = SMTPClient(egress: egress, dialer: dialer, logger: logger)
        self.credentials = credentials
        self.oauth = oauth
    }

    /// Runs the test of a stored credential and keeps its outcome (the Credentials page shows the
    /// latest). Throws only when the credential itself cannot be used (validation, vault); every
    /// network or SMTP problem is part of the result.
    public func test(_ credential: SMTPCredential, timeouts: SMTPTimeouts = ConnectionTester.timeouts) async throws -> ConnectionTestResult {
        let result = credential.oauth == nil
            ? await test(try credentials.configuration(for: credential, timeouts: timeouts))
            : try await testOAuth(credential, timeouts: timeouts)
        try await credentials.recordTest(ok: result.ok, code: result.error?.code, tlsVersion: result.tlsVersion, of: credential)
        return result
    }

    /// An OAuth credential signs in with its current access token; one the server refuses is
    /// renewed once and tried again, as a send does.
    private func testOAuth(_ credential: SMTPCredential, timeouts: SMTPTimeouts) async throws -> ConnectionTestResult {
        guard let oauth else { return ConnectionTestResult(tokenError: .refused("OAuth sign-in is not set up on this server")) }
        var retried = false
        while true {
            let token: Secret
            do {
                token = try await oauth.accessToken(for: credential)
            } catch {
                return ConnectionTestResult(tokenError: error)
            }
            var result = await test(try credentials.configuration(for: credential, accessToken: token, timeouts: timeouts))
            guard result.error?.code == SMTPError.Code.auth.rawValue else { return result }
            guard retried else {
                await oauth.invalidate(token, of: credential.id)
                retried = true
                continue
            }
            result.error?.hint = OAuthTokenError.tokenRefusedHint
            return result
        }
    }

    /// Runs the test with settings not stored (the dialog's form); keeps nothing.
    public func test(_ configuration: SMTPConfiguration) async -> ConnectionTestResult {
        do {
            return ConnectionTestResult(report: try await client.testConnection(using: configuration))
        } catch {
            return ConnectionTestResult(error: error)
        }
    }

    /// A person is waiting for the answer: 15 seconds per step instead of RFC 5321's minutes.
    public static let timeouts: SMTPTimeouts = {
        var timeouts = SMTPTimeouts()
        timeouts.connect = .seconds(15)
        timeouts.greeting = .seconds(15)
        timeouts.command = .seconds(15)
        return timeouts
    }()
}

/// What a connection test found: the API's and the CLI's answer.
public struct ConnectionTestResult: Sendable, Codable, Hashable {
    /// The classified failure, with the spec's troubleshooting hint.
    public struct Failure: Sendable, Codable, Hashable {
        /// `EAUTH`, `ETLS`, `ECONNECTION`, `ETIMEDOUT`, `EDNS`, `EPOLICY`…
        public var code: String
        public var message: String
        /// `transient` or `permanent`.
        public var disposition: String
        /// The server's reply code, when a reply caused it.
        public var responseCode: Int?
        public var response: String?
        public var hint: String?
    }

    public var ok: Bool
    /// `TLSv1.3`, `TLSv1.2`, or `nil` for plaintext.
    public var tlsVersion: String?
    /// The EHLO keywords the server offered (after TLS).
    public var capabilities: [String]
    /// Connect, TLS, greeting, EHLO and AUTH times in milliseconds.
    public var timingsMs: [String: Int]
    public var error: Failure?

    init(report: SMTPConnectionReport) {
        ok = true
        tlsVersion = report.tlsVersion
        capabilities = report.capabilities
        timingsMs = report.timings.millisecondsByPhase
        error = nil
    }

    /// An OAuth credential without an access token: EAUTH, with "Reconnect this credential" when
    /// the provider refused its sign-in.
    init(tokenError: OAuthTokenError) {
        ok = false
        tlsVersion = nil
        capabilities = []
        timingsMs = [:]
        let (disposition, hint): (String, String?) = switch tokenError {
        case .needsReconnect: ("permanent", OAuthTokenError.reconnectHint)
        case .unavailable: ("transient", nil)
        case .refused: ("permanent", nil)
        }
        error = Failure(
            code: SMTPError.Code.auth.rawValue, message: tokenError.description, disposition: disposition, responseCode: nil,
            response: nil, hint: hint)
    }

    init(error: SMTPError) {
        ok = false
        tlsVersion = nil
        capabilities = []
        timingsMs = [:]
        self.error = Failure(
            code: error.code.rawValue, message: error.message, disposition: error.disposition.rawValue,
            responseCode: error.reply?.code, response: error.reply?.description, hint: error.code.troubleshootingHint)
    }
}

extension ConnectionTestResult: ResponseEncodable {}

extension SMTPTimings {
    /// The opening phases in whole milliseconds: `connect`, `tls`, `auth`.
    var millisecondsByPhase: [String: Int] {
        ["connect": Int(connect.wholeMilliseconds), "tls": Int(tls.wholeMilliseconds), "auth": Int(auth.wholeMilliseconds)]
    }
}
