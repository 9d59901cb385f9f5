import NIOSSL
import SMTP
import SMTPCore
import Testing
import TestSupport

/// The security modes against a real TLS server with a certificate from a CA made at test time.
@Suite("TLS: implicit, STARTTLS, versions and certificates")
struct TLSTests {
    @Test("implicit TLS delivers after the handshake, authenticated")
    func implicitTLS() async throws {
        let harness = try Harness()
        let server = try await FakeSMTPServer.start(harness.behaviour(.implicit))
        defer { Task { await server.shutdown() } }

        let result = try await harness.client.send(try Harness.message(), using: try harness.configuration(server, security: .implicitTLS))

        #expect(result.outcome.accepted == ["bob@example.com", "carol@example.com"])
        #expect(result.tlsVersion == "TLSv1.3")
        let session = try #require(server.sessions.first)
        #expect(session.authenticatedAs == "alice")
        #expect(server.messages.count == 1)
    }

    @Test("STARTTLS upgrades before AUTH and MAIL, then says EHLO again")
    func startTLS() async throws {
        let harness = try Harness()
        let server = try await FakeSMTPServer.start(harness.behaviour(.startTLS))
        defer { Task { await server.shutdown() } }

        let result = try await harness.client.send(try Harness.message(), using: try harness.configuration(server))

        #expect(result.isCompleteDelivery)
        #expect(result.tlsVersion == "TLSv1.3")
        let commands = try #require(server.sessions.first).commands.map { $0.split(separator: " ").first.map(String.init) ?? "" }
        #expect(Array(commands.prefix(4)) == ["EHLO", "STARTTLS", "EHLO", "AUTH"])
    }

    @Test("a server without STARTTLS is refused before any credential or envelope is sent")
    func noStartTLSOffered() async throws {
        let harness = try Harness()
        let server = try await FakeSMTPServer.start(harness.behaviour(.none))
        defer { Task { await server.shutdown() } }

        let error = await harness.client.sendExpectingFailure(try Harness.message(), using: try harness.configuration(server))

        #expect(error?.code == .tls)
        #expect(error?.isTransient == false)
        #expect(!server.receivedText.contains("AUTH"))
        #expect(!server.receivedText.contains("MAIL"))
        #expect(!server.receivedText.contains(Harness.password))
        #expect(server.messages.isEmpty)
    }

    @Test("a server that refuses STARTTLS is refused; nothing else is sent in clear")
    func startTLSRefused() async throws {
        let harness = try Harness()
        var behaviour = harness.behaviour(.startTLS)
        behaviour.startTLSReply = "454 4.7.0 TLS not available due to temporary reason"
        let server = try await FakeSMTPServer.start(behaviour)
        defer { Task { await server.shutdown() } }

        let error = await harness.client.sendExpectingFailure(try Harness.message(), using: try harness.configuration(server))

        #expect(error?.code == .tls)
        #expect(!server.receivedText.contains("AUTH"))
        #expect(!server.receivedText.contains("MAIL"))
    }

    @Test("bytes injected after the STARTTLS 220 end the session before TLS")
    func injectionAfterStartTLS() async throws {
        let harness = try Harness()
        var behaviour = harness.behaviour(.startTLS)
        behaviour.injectedAfterStartTLS = "250-fake.test\r\n250 AUTH PLAIN\r\n"
        let server = try await FakeSMTPServer.start(behaviour)
        defer { Task { await server.shutdown() } }

        let error = await harness.client.sendExpectingFailure(try Harness.message(), using: try harness.configuration(server))

        #expect(error?.code == .protocol || error?.code == .tls)
        #expect(!server.receivedText.contains("AUTH"))
        #expect(server.sessions.first?.tlsActive == true)  // the server upgraded; the client walked away
        #expect(server.messages.isEmpty)
    }

    @Test("capabilities announced before TLS are forgotten after it")
    func capabilitiesForgotten() async throws {
        let harness = try Harness()
        var behaviour = harness.behaviour(.startTLS)
        behaviour.capabilities = ["ENHANCEDSTATUSCODES", "AUTH PLAIN"]  // no PIPELINING after TLS
        behaviour.capabilitiesBeforeTLS = ["PIPELINING", "AUTH CRAM-MD5 LOGIN"]
        let server = try await FakeSMTPServer.start(behaviour)
        defer { Task { await server.shutdown() } }

        let report = try await harness.client.testConnection(using: try harness.configuration(server))

        #expect(!report.capabilities.contains("PIPELINING"))
        #expect(server.sessions.first?.commands.contains { $0.hasPrefix("AUTH PLAIN") } == true)
    }

    @Test("a TLS 1.1-only server is refused", arguments: [SMTPSecurity.implicitTLS, .startTLS])
    func tls11Refused(security: SMTPSecurity) async throws {
        let harness = try Harness()
        let server = try await FakeSMTPServer.start(
            harness.behaviour(security == .implicitTLS ? .implicit : .startTLS, maximumVersion: .tlsv11, minimumVersion: .tlsv1))
        defer { Task { await server.shutdown() } }

        let error = await harness.client.sendExpectingFailure(try Harness.message(), using: try harness.configuration(server, security: security))

        #expect(error?.code == .tls)
        // The handshake itself failed on the version, not on some other setup problem.
        #expect(error?.message.contains("minimum TLS version") == true)
        #expect(server.sessions.first.map { $0.sent("AUTH") } == false)
        #expect(server.messages.isEmpty)
    }

    @Test("a TLS 1.2-only server is refused under minimum 1.3 and accepted under 1.2")
    func tls12OnlyServer() async throws {
        let harness = try Harness()
        let server = try await FakeSMTPServer.start(harness.behaviour(.implicit, maximumVersion: .tlsv12))
        defer { Task { await server.shutdown() } }

        let error = await harness.client.sendExpectingFailure(
            try Harness.message(), using: try harness.configuration(server, security: .implicitTLS, minimumTLSVersion: .tls13))
        #expect(error?.code == .tls)
        #expect(error?.message.contains("minimum TLS version") == true)

        let result = try await harness.client.send(try Harness.message(), using: try harness.configuration(server, security: .implicitTLS))
        #expect(result.tlsVersion == "TLSv1.2")
        #expect(server.messages.count == 1)
    }

    @Test("a certificate for another host name is refused unless unverified certificates are accepted")
    func wrongHostName() async throws {
        let harness = try Harness()
        var behaviour = harness.behaviour(.implicit)
        let other = try harness.authority.issueServerIdentity(dnsNames: ["mail.other.test"], ipAddresses: [])
        behaviour.tls = .implicit(other.serverConfiguration())
        let server = try await FakeSMTPServer.start(behaviour)
        defer { Task { await server.shutdown() } }

        let error = await harness.client.sendExpectingFailure(try Harness.message(), using: try harness.configuration(server, security: .implicitTLS))
        #expect(error?.code == .tls)
        #expect(error?.message.contains("certificate") == true)
        #expect(server.sessions.first?.sent("AUTH") != true)

        let result = try await harness.client.send(
            try Harness.message(), using: try harness.configuration(server, security: .implicitTLS, acceptUnverified: true))
        #expect(result.isCompleteDelivery)
    }

    @Test("a certificate from an unknown CA is refused unless unverified certificates are accepted")
    func unknownAuthority() async throws {
        let harness = try Harness()
        let server = try await FakeSMTPServer.start(harness.behaviour(.startTLS))
        defer { Task { await server.shutdown() } }

        let error = await harness.client.sendExpectingFailure(try Harness.message(), using: try harness.configuration(server, trustTestCA: false))
        #expect(error?.code == .tls)
        #expect(server.sessions.first?.sent("AUTH") == false)

        let result = try await harness.client.send(
            try Harness.message(), using: try harness.configuration(server, trustTestCA: false, acceptUnverified: true))
        #expect(result.isCompleteDelivery)
    }

    @Test("an expired certificate is refused")
    func expiredCertificate() async throws {
        let harness = try Harness()
        var behaviour = harness.behaviour(.implicit)
        behaviour.tls = .implicit(try harness.authority.issueServerIdentity(validFor: -1).serverConfiguration())
        let server = try await FakeSMTPServer.start(behaviour)
        defer { Task { await server.shutdown() } }

        let error = await harness.client.sendExpectingFailure(try Harness.message(), using: try harness.configuration(server, security: .implicitTLS))
        #expect(error?.code == .tls)
    }
}
