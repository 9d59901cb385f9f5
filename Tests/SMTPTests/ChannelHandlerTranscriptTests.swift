import Logging
import MIME
import NIOCore
import NIOEmbedded
import NIOSSL
@testable import SMTP
import SMTPCore
import Testing

/// The channel handler as a driver, without sockets: server bytes go in, client bytes come out,
/// and what the callers are told is checked at each step.
@Suite("Channel handler: transcripts on an EmbeddedChannel")
struct ChannelHandlerTranscriptTests {
    /// One session on an `EmbeddedChannel`.
    final class Transcript {
        let channel = EmbeddedChannel()
        let opened: EventLoopPromise<SMTPSessionInfo>
        private(set) var openedResult: Result<SMTPSessionInfo, any Error>?

        init(security: SMTPSecurity = .plaintext, tls: NIOSSLContext? = nil) throws {
            opened = channel.eventLoop.makePromise()
            let handler = SMTPChannelHandler(
                configuration: SMTPSessionConfiguration(security: security, clientIdentifier: "client.example", credentials: nil),
                timeouts: Harness.fastTimeouts, tlsUpgrade: tls.map { ($0, "localhost") },
                sessionPromise: opened, logger: Logger(label: "test.transcript"))
            try channel.pipeline.syncOperations.addHandler(handler)
            opened.futureResult.whenComplete { self.openedResult = $0 }
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2525)).wait()
        }

        /// The server sends `text` (one read).
        func server(_ text: String) throws {
            try channel.writeInbound(ByteBuffer(string: text))
        }

        /// Each buffer the client wrote since the last call, as text.
        func client() throws -> [String] {
            var writes: [String] = []
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) { writes.append(String(buffer: buffer)) }
            return writes
        }

        /// Hands a message to the handler; the returned box fills in when the handler answers.
        func send(from: String, to: String, streamed: Bool = false) throws -> Box<SMTPDelivery> {
            let message = try Harness.message(to: to, from: from)
            let body = streamed ? SMTPMessageBody(message) : SMTPMessageBody.prepare(message).body
            let transaction = SMTPTransaction(mailFrom: message.envelope.mailFrom, recipients: message.envelope.recipients)
            let promise = channel.eventLoop.makePromise(of: SMTPDelivery.self)
            let box = Box<SMTPDelivery>()
            promise.futureResult.whenComplete { box.result = $0 }
            channel.pipeline.triggerUserOutboundEvent(SMTPRequest.send(transaction, body, promise), promise: nil)
            return box
        }

        /// Greeted and ready on a plaintext session that offers `keywords`.
        func open(_ keywords: String...) throws {
            try server("220 mx.example ESMTP\r\n")
            #expect(try client() == ["EHLO client.example\r\n"])
            try server((["250-mx.example"] + keywords.map { "250-\($0)" } + ["250 8BITMIME"]).joined(separator: "\r\n") + "\r\n")
            #expect(isOpen)
        }

        var isOpen: Bool {
            if case .success = openedResult { return true }
            return false
        }
    }

    /// Filled on the EmbeddedChannel's (only) thread.
    final class Box<Value>: @unchecked Sendable {
        var result: Result<Value, any Error>?

        var error: SMTPError? {
            if case .failure(let error) = result { return error as? SMTPError }
            return nil
        }
    }

    static func clientTLS() throws -> NIOSSLContext {
        try NIOSSLContext(configuration: .makeClientConfiguration())
    }

    @Test("STARTTLS: a 220 alone starts the handshake; a 220 with bytes behind it in the same read ends the session, nothing sent in TLS")
    func startTLSWithBufferedBytes() throws {
        let clean = try Transcript(security: .startTLS, tls: Self.clientTLS())
        try clean.server("220 mx ESMTP\r\n")
        _ = try clean.client()
        try clean.server("250-mx\r\n250 STARTTLS\r\n")
        #expect(try clean.client() == ["STARTTLS\r\n"])
        try clean.server("220 2.0.0 go ahead\r\n")
        #expect(try clean.channel.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self) != nil)
        #expect(clean.openedResult == nil, "still opening: the handshake is under way")

        let injected = try Transcript(security: .startTLS, tls: Self.clientTLS())
        try injected.server("220 mx ESMTP\r\n")
        _ = try injected.client()
        try injected.server("250-mx\r\n250 STARTTLS\r\n")
        _ = try injected.client()
        try injected.server("220 2.0.0 go ahead\r\n250-mx.injected\r\n250 AUTH PLAIN\r\n")
        #expect(throws: (any Error).self) { try injected.channel.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self) }
        guard case .failure(let error as SMTPError) = injected.openedResult else { Issue.record("the session must fail"); return }
        #expect(error.code == .tls)
        #expect(error.message.contains("possible injection"))
        #expect(try injected.client().isEmpty, "no EHLO, no ClientHello")
        #expect(!injected.channel.isActive)
    }

    @Test("the connection drops after the final dot: the message is ambiguous, never retried as unsent")
    func dropAfterFinalDot() throws {
        let transcript = try Transcript()
        try transcript.open("PIPELINING")
        let sent = try transcript.send(from: "ann@example.com", to: "bob@example.com", streamed: true)
        #expect(try transcript.client() == ["MAIL FROM:<ann@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"])
        try transcript.server("250 ok\r\n250 ok\r\n354 go\r\n")
        let body = try transcript.client().joined()
        #expect(body.hasSuffix("\r\n.\r\n"))
        #expect(body.contains("\r\n..\r\n...dots\r\n"), "dot-stuffed")
        #expect(sent.result == nil)
        transcript.channel.pipeline.fireChannelInactive()
        #expect(sent.error?.code == .connection)
        #expect(sent.error?.disposition == .ambiguous)
    }

    @Test("a message handed over during another's DATA rides behind its dot in the same write; verdicts arrive in order")
    func chaining() throws {
        let transcript = try Transcript()
        try transcript.open("PIPELINING")
        let first = try transcript.send(from: "ann@example.com", to: "bob@example.com")
        _ = try transcript.client()
        let second = try transcript.send(from: "ann@example.com", to: "carol@example.com")
        #expect(try transcript.client().isEmpty, "queued behind the first message")
        try transcript.server("250 ok\r\n250 ok\r\n354 go\r\n")
        let writes = try transcript.client()
        #expect(writes.count == 1, "a small message, its terminator and the next envelope in one write")
        #expect(writes.first?.hasPrefix("Date: ") == true)
        #expect(writes.first?.hasSuffix("Bye=\r\n.\r\nMAIL FROM:<ann@example.com>\r\nRCPT TO:<carol@example.com>\r\nDATA\r\n") == true)
        try transcript.server("250 2.0.0 queued as A\r\n250 ok\r\n250 ok\r\n354 go\r\n")
        guard case .success(let delivered) = first.result else { Issue.record("the first message must be delivered"); return }
        #expect(delivered.outcome.response.lines == ["2.0.0 queued as A"])
        let secondBody = try transcript.client()
        #expect(secondBody.count == 1 && secondBody[0].hasSuffix("Bye=\r\n.\r\n"), "the second body, with nothing behind it")
        try transcript.server("550 5.7.1 no thanks\r\n")
        #expect(second.error?.code == .message)
        #expect(second.error?.disposition == .permanent)
        #expect(transcript.channel.isActive, "a refused message leaves the session usable")
    }

    @Test("a drop while a message is chained: the first is ambiguous, the chained one was never sent")
    func dropWhileChained() throws {
        let transcript = try Transcript()
        try transcript.open("PIPELINING")
        let first = try transcript.send(from: "ann@example.com", to: "bob@example.com")
        let second = try transcript.send(from: "ann@example.com", to: "carol@example.com")
        try transcript.server("250 ok\r\n250 ok\r\n354 go\r\n")
        _ = try transcript.client()
        transcript.channel.pipeline.fireChannelInactive()
        #expect(first.error?.disposition == .ambiguous)
        #expect(second.error?.disposition == .transient)
        #expect(second.error?.message.hasPrefix("the session ended before this message was sent") == true)
    }

    @Test("replies split at every byte decode the same")
    func splitReplies() throws {
        let transcript = try Transcript()
        for byte in "220 mx.example ESMTP\r\n".utf8 { try transcript.channel.writeInbound(ByteBuffer(bytes: [byte])) }
        #expect(try transcript.client() == ["EHLO client.example\r\n"])
        for byte in "250-mx.example\r\n250 PIPELINING\r\n".utf8 { try transcript.channel.writeInbound(ByteBuffer(bytes: [byte])) }
        #expect(transcript.isOpen)
    }

    @Test("a greeting that never comes times out the opening")
    func greetingTimeout() throws {
        let transcript = try Transcript()
        transcript.channel.embeddedEventLoop.advanceTime(by: TimeAmount(Harness.fastTimeouts.greeting) + .milliseconds(1))
        guard case .failure(let error as SMTPError) = transcript.openedResult else { Issue.record("the opening must fail"); return }
        #expect(error.code == .timeout)
        #expect(!transcript.channel.isActive)
    }
}
