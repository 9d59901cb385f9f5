import Egress
import Foundation
import Logging
import MIME
import NIOSSL
import SMTP
import SMTPCore
import Secrets
import Synchronization
import Testing
import TestSupport

/// Resolves every name to fixed addresses, and counts the lookups.
final class StaticResolver: HostResolver {
    private let answers: Mutex<[[IPAddress]]>
    private let calls = Mutex(0)

    /// Each lookup returns the next list; the last one repeats.
    init(_ answers: [IPAddress]...) {
        self.answers = Mutex(answers)
    }

    var lookups: Int { calls.withLock { $0 } }

    func addresses(of host: String) async throws(ResolutionError) -> [IPAddress] {
        calls.withLock { $0 += 1 }
        return answers.withLock { list in list.count > 1 ? list.removeFirst() : list[0] }
    }
}

/// Everything a loopback transport test needs: a CA, a server identity for `localhost`, and a
/// client that may reach loopback only, resolving `localhost` to 127.0.0.1.
struct Harness {
    let authority: TestCertificateAuthority
    let identity: TestServerIdentity
    let logs = CapturedLogs()

    init() throws {
        authority = try TestCertificateAuthority()
        identity = try authority.issueServerIdentity()
    }

    var client: SMTPClient {
        let policy = EgressPolicy(allowlist: [CIDR(IPAddress("127.0.0.1")!)])
        var logger = Logger(label: "test.smtp") { _ in logs.handler }
        logger.logLevel = .trace
        return SMTPClient(egress: EgressGuard(policy: policy, resolver: StaticResolver([IPAddress("127.0.0.1")!])), logger: logger)
    }

    /// A configuration for `localhost` on the fake server's port, trusting the test CA.
    func configuration(
        _ server: FakeSMTPServer,
        security: SMTPSecurity = .startTLS,
        minimumTLSVersion: SMTPConfiguration.MinimumTLSVersion = .tls12,
        trustTestCA: Bool = true,
        acceptUnverified: Bool = false,
        credentials: SMTPCredentials? = .password(username: "alice", password: Secret(Harness.password)),
        timeouts: SMTPTimeouts = Harness.fastTimeouts
    ) throws -> SMTPConfiguration {
        try SMTPConfiguration(
            host: "localhost", port: server.port, security: security, minimumTLSVersion: minimumTLSVersion,
            acceptUnverifiedCertificates: acceptUnverified,
            additionalTrustedCertificatesPEM: trustTestCA ? authority.certificatePEM : nil,
            clientIdentifier: "client.example.com", credentials: credentials, timeouts: timeouts)
    }

    /// A server behaviour with this harness's certificate and Alice's login.
    func behaviour(_ tls: TLSMode = .startTLS, maximumVersion: TLSVersion = .tlsv13, minimumVersion: TLSVersion = .tlsv12) -> FakeSMTPServer.Behaviour {
        let configuration = identity.serverConfiguration(minimumVersion: minimumVersion, maximumVersion: maximumVersion)
        var behaviour = FakeSMTPServer.Behaviour()
        switch tls {
        case .none: behaviour.tls = .none
        case .implicit: behaviour.tls = .implicit(configuration)
        case .startTLS: behaviour.tls = .startTLS(configuration)
        }
        behaviour.logins = ["alice": Harness.password]
        return behaviour
    }

    enum TLSMode { case none, implicit, startTLS }

    /// A password no log, error or result may ever contain.
    static let password = "canary-Pa55w0rd-7f3a"

    /// Short timeouts so a hang fails fast.
    static var fastTimeouts: SMTPTimeouts {
        var timeouts = SMTPTimeouts()
        timeouts.connect = .seconds(5)
        timeouts.greeting = .seconds(5)
        timeouts.command = .seconds(5)
        timeouts.dataInitiation = .seconds(5)
        timeouts.dataBlock = .seconds(5)
        timeouts.finalReply = .seconds(5)
        return timeouts
    }

    /// A composed message from Ann to Bob and Carol.
    static func message(
        to: String = "bob@example.com, carol@example.com", body: String = "Hello Bob.\n.\n..dots\nBye",
        from: String = "Ann <ann@example.com>"
    ) throws -> RenderedMessage {
        let request = EmailRequest(from: from, to: to, subject: "Quarterly report", body: body)
        return MessageComposer(identity: .deterministic()).compose(try request.validated())
    }
}


extension SMTPClient {
    /// Sends and returns the error, failing the test if it succeeded.
    func sendExpectingFailure(_ message: RenderedMessage, using configuration: SMTPConfiguration) async -> SMTPError? {
        do {
            let result = try await send(message, using: configuration)
            Issue.record("expected a failure, got \(result.outcome)")
            return nil
        } catch {
            return error
        }
    }
}
