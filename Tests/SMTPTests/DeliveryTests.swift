import Foundation
import MIME
import SMTP
import SMTPCore
import Secrets
import Testing
import TestSupport

/// What reaches the server: the composer's bytes exactly, dot-stuffed on the wire, CRLF only, the
/// envelope pipelined, and every AUTH mechanism accepted by a server that checks it.
@Suite("Delivery: bytes, pipelining and AUTH mechanisms")
struct DeliveryTests {
    @Test("the server receives exactly the composed bytes, dot-stuffed on the wire")
    func exactBytes() async throws {
        let harness = try Harness()
        let server = try await FakeSMTPServer.start(harness.behaviour(.startTLS))
        defer { Task { await server.shutdown() } }
        let message = try Harness.message(body: ".\n..two\n.three\nend.\n.")

        let result = try await harness.client.send(message, using: try harness.configuration(server))

        let delivered = try #require(server.messages.first)
        let composed = try message.bytes()
        #expect(delivered.data == composed)
        #expect(result.size == composed.count)
        #expect(delivered.mailFrom == "ann@example.com")
        #expect(delivered.recipients == ["bob@example.com", "carol@example.com"])
        let wire = String(decoding: delivered.wireData, as: UTF8.self)
        #expect(wire.contains("\r\n..\r\n"))
        #expect(wire.contains("\r\n...two\r\n"))
        #expect(wire.contains("\r\n..three\r\n"))
    }

    /// A message with a file attachment: `size` random bytes in a temporary file.
    static func messageWithFile(size: Int) throws -> (RenderedMessage, URL) {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("posthorn-attachment-\(UUID().uuidString).bin")
        var generator = SystemRandomNumberGenerator()
        try Data((0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }).write(to: url)
        var request = EmailRequest(from: "Ann <ann@example.com>", to: "bob@example.com", subject: "Report", body: "Attached.")
        request.attachments = [EmailAttachment(filename: "report.bin", content: .file(path: url.path))]
        return (MessageComposer(identity: .deterministic()).compose(try request.validated()), url)
    }

    @Test("a file attachment is read by the sending task a few chunks ahead and arrives byte for byte")
    func fileAttachment() async throws {
        let harness = try Harness()
        let server = try await FakeSMTPServer.start(harness.behaviour(.implicit))
        defer { Task { await server.shutdown() } }
        let (message, url) = try Self.messageWithFile(size: 1024 * 1024 + 17)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(message.readsFiles)

        let result = try await harness.client.send(message, using: try harness.configuration(server, security: .implicitTLS))

        let delivered = try #require(server.messages.first)
        #expect(delivered.data == (try message.bytes()))
        #expect(result.size == delivered.data.count)
    }

    @Test("an attachment file that disappears before it is read fails that message, permanently, and nothing is delivered")
    func fileGone() async throws {
        let harness = try Harness()
        let server = try await FakeSMTPServer.start(harness.behaviour(.implicit))
        defer { Task { await server.shutdown() } }
        let (message, url) = try Self.messageWithFile(size: 1024)
        try FileManager.default.removeItem(at: url)

        let error = await harness.client.sendExpectingFailure(message, using: try harness.configuration(server, security: .implicitTLS))
        #expect(error?.code == .message)
        #expect(error?.disposition == .permanent)
        #expect(server.messages.isEmpty)
    }

    @Test("no bare CR or LF ever leaves the client")
    func onlyCRLF() async throws {
        let harness = try Harness()
        let server = try await FakeSMTPServer.start(harness.behaviour(.implicit))
        defer { Task { await server.shutdown() } }

        _ = try await harness.client.send(
            try Harness.message(body: "one\rtwo\nthree\r\n\n\r\rfour"), using: try harness.configuration(server, security: .implicitTLS))

        let bytes = try #require(server.sessions.first).received
        for (index, byte) in bytes.enumerated() {
            if byte == 10 { #expect(index > 0 && bytes[index - 1] == 13, "bare LF at \(index)") }
            if byte == 13 { #expect(index + 1 < bytes.count && bytes[index + 1] == 10, "bare CR at \(index)") }
        }
    }

    @Test("with PIPELINING, MAIL, every RCPT and DATA go out in one flight")
    func pipelinedEnvelope() async throws {
        let harness = try Harness()
        // The server answers MAIL and RCPT only once DATA has arrived: a client that waited for
        // each reply would time out.
        var behaviour = harness.behaviour(.implicit)
        behaviour.holdEnvelopeRepliesUntilData = true
        let server = try await FakeSMTPServer.start(behaviour)
        defer { Task { await server.shutdown() } }

        _ = try await harness.client.send(try Harness.message(), using: try harness.configuration(server, security: .implicitTLS))

        let text = String(decoding: try #require(server.sessions.first).received, as: UTF8.self)
        let flight = try #require(text.range(of: "MAIL FROM:"))
        let envelope = text[flight.lowerBound...]
        #expect(envelope.hasPrefix(
            "MAIL FROM:<ann@example.com> SIZE=\(try Harness.message().bytes().count)\r\nRCPT TO:<bob@example.com>\r\nRCPT TO:<carol@example.com>\r\nDATA\r\n"))
    }

    @Test("every AUTH mechanism logs in against a server that checks it", arguments: ["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"])
    func mechanisms(_ mechanism: String) async throws {
        let harness = try Harness()
        var behaviour = harness.behaviour(.implicit)
        behaviour.capabilities = ["PIPELINING", "AUTH \(mechanism)"]
        let server = try await FakeSMTPServer.start(behaviour)
        defer { Task { await server.shutdown() } }
        let credentials: SMTPCredentials = mechanism == "XOAUTH2"
            ? .oauth2(username: "alice", accessToken: Secret(Harness.password))
            : .password(username: "alice", password: Secret(Harness.password))

        let result = try await harness.client.send(
            try Harness.message(), using: try harness.configuration(server, security: .implicitTLS, credentials: credentials))

        #expect(result.isCompleteDelivery)
        #expect(server.sessions.first?.authenticatedAs == "alice")
        #expect(server.sessions.first?.commands.contains { $0.hasPrefix("AUTH \(mechanism)") } == true)
    }

    @Test("the strongest offered mechanism is used: CRAM-MD5 before PLAIN before LOGIN")
    func strongestFirst() async throws {
        let harness = try Harness()
        var behaviour = harness.behaviour(.implicit)
        behaviour.capabilities = ["AUTH LOGIN PLAIN CRAM-MD5"]
        let server = try await FakeSMTPServer.start(behaviour)
        defer { Task { await server.shutdown() } }

        _ = try await harness.client.testConnection(using: try harness.configuration(server, security: .implicitTLS))

        #expect(server.sessions.first?.commands.contains("AUTH CRAM-MD5") == true)
    }

    @Test("plaintext is used only when chosen, and then sends AUTH in clear as asked")
    func plaintextChosen() async throws {
        let harness = try Harness()
        let server = try await FakeSMTPServer.start(harness.behaviour(.none))
        defer { Task { await server.shutdown() } }

        let result = try await harness.client.send(try Harness.message(), using: try harness.configuration(server, security: .plaintext))

        #expect(result.tlsVersion == nil)
        #expect(server.sessions.first?.authenticatedAs == "alice")
    }

    @Test("test connection reports TLS version and capabilities without sending mail")
    func testConnection() async throws {
        let harness = try Harness()
        let server = try await FakeSMTPServer.start(harness.behaviour(.startTLS))
        defer { Task { await server.shutdown() } }

        let report = try await harness.client.testConnection(using: try harness.configuration(server))

        #expect(report.tlsVersion == "TLSv1.3")
        #expect(report.capabilities.contains("PIPELINING"))
        #expect(server.sessions.first?.sent("MAIL") == false)
        #expect(server.sessions.first?.authenticatedAs == "alice")
    }
}
