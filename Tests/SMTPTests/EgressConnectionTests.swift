import Egress
import Logging
import NIOCore
import SMTP
import SMTPCore
import Synchronization
import Testing

/// The guard in front of every connection: refused hosts never reach a socket, and the connection
/// goes to the address that was vetted, not to whatever DNS says a moment later.
@Suite("Egress: refusals before any socket, DNS pinning")
struct EgressConnectionTests {
    /// Records where a connection would have gone, and dials nothing.
    final class RecordingDialer: Sendable {
        private let dialed = Mutex<[String]>([])
        var addresses: [String] { dialed.withLock { $0 } }

        var dialer: SMTPDialer {
            SMTPDialer { address, _ in
                self.dialed.withLock { $0.append(address.ipAddress ?? "?") }
                throw ChannelError.connectTimeout(.seconds(0))
            }
        }
    }

    private func client(resolver: any HostResolver, dialer: RecordingDialer, allowlist: [CIDR] = []) -> SMTPClient {
        SMTPClient(
            egress: EgressGuard(policy: EgressPolicy(allowlist: allowlist), resolver: resolver),
            dialer: dialer.dialer, logger: Logger(label: "test.egress"))
    }

    @Test("refused hosts fail with EPOLICY before any connection is attempted", arguments: [
        "127.0.0.1", "10.0.0.1", "169.254.169.254", "192.168.1.1", "::1", "fd00:ec2::254", "::ffff:127.0.0.1",
    ])
    func refusedLiteral(host: String) async throws {
        let dialer = RecordingDialer()
        let resolver = StaticResolver([IPAddress("203.0.113.1")!])
        let configuration = try SMTPConfiguration(host: host, port: 587, clientIdentifier: "client.example.com")

        let error = await client(resolver: resolver, dialer: dialer).sendExpectingFailure(try Harness.message(), using: configuration)

        #expect(error?.code == .policy)
        #expect(error?.isTransient == false)
        #expect(dialer.addresses.isEmpty)
        #expect(resolver.lookups == 0)
    }

    @Test("non-canonical IPv4 literals are refused without asking DNS", arguments: ["127.1", "2130706433", "0x7f.1", "010.0.0.1"])
    func legacyLiteral(host: String) async throws {
        let dialer = RecordingDialer()
        let resolver = StaticResolver([IPAddress("8.8.8.8")!])
        // The configuration refuses most of these as host names already; the guard refuses the rest.
        guard let configuration = try? SMTPConfiguration(host: host, port: 587, clientIdentifier: "client.example.com") else { return }

        let error = await client(resolver: resolver, dialer: dialer).sendExpectingFailure(try Harness.message(), using: configuration)

        #expect(error?.code == .policy)
        #expect(dialer.addresses.isEmpty)
        #expect(resolver.lookups == 0)
    }

    @Test("a name with any private answer is refused; nothing is dialled")
    func mixedAnswers() async throws {
        let dialer = RecordingDialer()
        let resolver = StaticResolver([IPAddress("198.51.99.7")!, IPAddress("10.1.2.3")!])
        let configuration = try SMTPConfiguration(host: "smtp.example.net", port: 587, clientIdentifier: "client.example.com")

        let error = await client(resolver: resolver, dialer: dialer).sendExpectingFailure(try Harness.message(), using: configuration)

        #expect(error?.code == .policy)
        #expect(error?.message.contains("10.1.2.3") == true)
        #expect(dialer.addresses.isEmpty)
    }

    @Test("DNS rebinding: one lookup, and the connection goes to the vetted public address")
    func rebinding() async throws {
        let dialer = RecordingDialer()
        let resolver = StaticResolver([IPAddress("198.51.99.7")!], [IPAddress("127.0.0.1")!])
        let configuration = try SMTPConfiguration(host: "rebind.example.net", port: 587, clientIdentifier: "client.example.com")

        _ = await client(resolver: resolver, dialer: dialer).sendExpectingFailure(try Harness.message(), using: configuration)

        #expect(resolver.lookups == 1)
        #expect(dialer.addresses == ["198.51.99.7"])
    }

    @Test("an allowlisted private range is reachable")
    func allowlisted() async throws {
        let dialer = RecordingDialer()
        let resolver = StaticResolver([IPAddress("10.20.30.40")!])
        let configuration = try SMTPConfiguration(host: "relay.corp.example", port: 587, clientIdentifier: "client.example.com")

        let error = await client(resolver: resolver, dialer: dialer, allowlist: try EgressPolicy.parseAllowlist("10.0.0.0/8"))
            .sendExpectingFailure(try Harness.message(), using: configuration)

        #expect(dialer.addresses == ["10.20.30.40"])
        #expect(error?.code == .timeout)  // what the recording dialer throws
    }

    @Test("port 25 is refused when the configuration is made, with the spec's message")
    func port25() throws {
        #expect(throws: SMTPConfigurationError(field: "port", message: "Port 25 is not allowed")) {
            try SMTPConfiguration(host: "smtp.example.com", port: 25)
        }
        #expect(throws: SMTPConfigurationError.self) { try SMTPConfiguration.parsePort("025") }
        #expect(throws: SMTPConfigurationError.self) { try SMTPConfiguration.parsePort("+587") }
        #expect(throws: SMTPConfigurationError.self) { try SMTPConfiguration.parsePort(" 587") }
        #expect(try SMTPConfiguration.parsePort("587") == 587)
    }
}
