import Crypto
import Foundation
import NIOCore
import NIOSSL

/// The server side of one fake SMTP session: splits input at CRLF, answers commands in order (so a
/// pipelined flight gets its replies in one write), and records everything.
final class FakeSMTPSessionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Mode {
        case command
        case data(mailFrom: String, recipients: [String], wire: [UInt8])
        case authPlain
        case authLoginUsername
        case authLoginPassword(username: String)
        case authCRAMMD5(challenge: String)
    }

    private let behaviour: FakeSMTPServer.Behaviour
    private let recorder: Recorder
    private let index: Int
    private var pending: [UInt8] = []
    private var mode = Mode.command
    private var mailFrom: String?
    private var recipients: [String] = []
    private var tlsActive: Bool
    private var heldReplies: [String] = []
    private var pendingMessage: FakeSMTPMessage?
    private var closed = false

    init(behaviour: FakeSMTPServer.Behaviour, recorder: Recorder, index: Int) {
        self.behaviour = behaviour
        self.recorder = recorder
        self.index = index
        if case .implicit = behaviour.tls { tlsActive = true } else { tlsActive = false }
        recorder.update(index) { $0.tlsActive = tlsActive }
    }

    func channelActive(context: ChannelHandlerContext) {
        write([behaviour.greeting], context: context)
        context.flush()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let bytes = Array(buffer.readableBytesView)
        recorder.update(index) { $0.received += bytes }
        pending += bytes
        while !closed, let end = lineEnd() {
            let line = Array(pending[..<end])
            pending.removeFirst(end + 2)
            handle(line: line, context: context)
        }
        if !closed { context.flush() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func lineEnd() -> Int? {
        guard pending.count >= 2 else { return nil }
        for position in 0..<(pending.count - 1) where pending[position] == 13 && pending[position + 1] == 10 {
            return position
        }
        return nil
    }

    // MARK: Lines

    private func handle(line: [UInt8], context: ChannelHandlerContext) {
        if case .data(let from, let to, var wire) = mode {
            if line == [UInt8(ascii: ".")] {
                mode = .command
                pendingMessage = FakeSMTPMessage(mailFrom: from, recipients: to, data: Self.unstuff(wire), wireData: wire)
                if respondOverride(".", context: context) { return }
                finishMessage(context: context)
            } else {
                wire += line + [13, 10]
                mode = .data(mailFrom: from, recipients: to, wire: wire)
            }
            return
        }
        let text = String(decoding: line, as: UTF8.self)
        recorder.update(index) { $0.commands.append(text) }
        switch mode {
        case .data:
            preconditionFailure("handled above")
        case .authPlain:
            mode = .command
            finishPlain(text, context: context)
            return
        case .authLoginUsername:
            mode = .authLoginPassword(username: Self.decode(text) ?? "")
            write(["334 UGFzc3dvcmQ6"], context: context)
            return
        case .authLoginPassword(let username):
            mode = .command
            finishLogin(username: username, password: Self.decode(text) ?? "", context: context)
            return
        case .authCRAMMD5(let challenge):
            mode = .command
            finishCRAMMD5(challenge: challenge, response: Self.decode(text) ?? "", context: context)
            return
        case .command:
            break
        }
        if respondOverride(text, context: context) { return }
        command(text, context: context)
    }

    /// Accepts the message whose data just ended.
    private func finishMessage(context: ChannelHandlerContext) {
        if let message = pendingMessage {
            recorder.update(index) { $0.messages.append(message) }
        }
        pendingMessage = nil
        mailFrom = nil
        recipients = []
        write(["250 2.0.0 Ok: queued"], context: context)
    }

    private func respondOverride(_ line: String, context: ChannelHandlerContext) -> Bool {
        guard let override = behaviour.override, let response = override(line, recorder.session(index)) else { return false }
        switch response {
        case .reply(let lines):
            write(lines, context: context)
            if line.uppercased() == "DATA", lines.last?.hasPrefix("354") == true, let mailFrom {
                mode = .data(mailFrom: mailFrom, recipients: recipients, wire: [])
            }
        case .disconnect:
            closed = true
            context.flush()
            context.close(promise: nil)
        case .silence:
            break
        case .replyNormallyThenDisconnect:
            if line == "." { finishMessage(context: context) } else { command(line, context: context) }
            closed = true
            context.flush()
            context.close(promise: nil)
        }
        return true
    }

    private func command(_ text: String, context: ChannelHandlerContext) {
        let upper = text.uppercased()
        let verb = upper.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
        switch verb {
        case "EHLO":
            var keywords = behaviour.capabilities
            if !tlsActive {
                keywords = behaviour.capabilitiesBeforeTLS + keywords
                if case .startTLS = behaviour.tls { keywords.insert("STARTTLS", at: 0) }
            }
            let lines = ["fake.test greets you"] + keywords
            write(lines.enumerated().map { "250\($0.offset == lines.count - 1 ? " " : "-")\($0.element)" }, context: context)
        case "HELO":
            write(["250 fake.test"], context: context)
        case "STARTTLS":
            startTLS(context: context)
        case "AUTH":
            auth(text, context: context)
        case "MAIL":
            mailFrom = Self.path(text)
            recipients = []
            reply("250 2.1.0 Ok", holding: behaviour.holdEnvelopeRepliesUntilData, context: context)
        case "RCPT":
            guard mailFrom != nil else { return write(["503 5.5.1 Need MAIL first"], context: context) }
            recipients.append(Self.path(text))
            reply("250 2.1.5 Ok", holding: behaviour.holdEnvelopeRepliesUntilData, context: context)
        case "DATA":
            write(heldReplies, context: context)
            heldReplies = []
            guard let mailFrom, !recipients.isEmpty else { return write(["503 5.5.1 Need RCPT first"], context: context) }
            mode = .data(mailFrom: mailFrom, recipients: recipients, wire: [])
            write(["354 End data with <CR><LF>.<CR><LF>"], context: context)
        case "RSET":
            mailFrom = nil
            recipients = []
            write(["250 2.0.0 Ok"], context: context)
        case "NOOP":
            write(["250 2.0.0 Ok"], context: context)
        case "QUIT":
            write(["221 2.0.0 Bye"], context: context)
            closed = true
            context.writeAndFlush(NIOAny(context.channel.allocator.buffer(capacity: 0))).whenComplete { _ in
                context.close(promise: nil)
            }
        default:
            write(["502 5.5.2 Command not recognised"], context: context)
        }
    }

    // MARK: STARTTLS

    private func startTLS(context: ChannelHandlerContext) {
        guard case .startTLS(let configuration) = behaviour.tls, !tlsActive else {
            return write(["502 5.5.1 STARTTLS not available"], context: context)
        }
        write([behaviour.startTLSReply], context: context)
        guard behaviour.startTLSReply.hasPrefix("2") else { return }
        if let injected = behaviour.injectedAfterStartTLS {
            var buffer = context.channel.allocator.buffer(capacity: injected.utf8.count)
            buffer.writeString(injected)
            context.write(NIOAny(buffer), promise: nil)
        }
        context.flush()
        do {
            let handler = NIOSSLServerHandler(context: try NIOSSLContext(configuration: configuration))
            try context.pipeline.syncOperations.addHandler(handler, position: .first)
        } catch {
            context.close(promise: nil)
            return
        }
        tlsActive = true
        mailFrom = nil
        recipients = []
        recorder.update(index) { $0.tlsActive = true }
    }

    // MARK: AUTH

    private func auth(_ text: String, context: ChannelHandlerContext) {
        let parts = text.split(separator: " ")
        let mechanism = parts.count > 1 ? parts[1].uppercased() : ""
        let initial = parts.count > 2 ? String(parts[2]) : nil
        switch mechanism {
        case "PLAIN":
            if let initial { finishPlain(initial, context: context) } else {
                mode = .authPlain
                write(["334 "], context: context)
            }
        case "LOGIN":
            if let initial {
                mode = .authLoginPassword(username: Self.decode(initial) ?? "")
                write(["334 UGFzc3dvcmQ6"], context: context)
            } else {
                mode = .authLoginUsername
                write(["334 VXNlcm5hbWU6"], context: context)
            }
        case "CRAM-MD5":
            let challenge = "<\(UInt32.random(in: 1...UInt32.max)).\(index)@fake.test>"
            mode = .authCRAMMD5(challenge: challenge)
            write(["334 " + Data(challenge.utf8).base64EncodedString()], context: context)
        case "XOAUTH2":
            finishXOAUTH2(initial ?? "", context: context)
        default:
            write(["504 5.5.4 Unrecognized authentication type"], context: context)
        }
    }

    private func finishPlain(_ payload: String, context: ChannelHandlerContext) {
        let fields = (Self.decode(payload) ?? "").split(separator: "\u{0}", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 3 else { return write(["501 5.5.2 Malformed PLAIN"], context: context) }
        verify(username: fields[1], password: fields[2], context: context)
    }

    private func finishLogin(username: String, password: String, context: ChannelHandlerContext) {
        verify(username: username, password: password, context: context)
    }

    private func finishCRAMMD5(challenge: String, response: String, context: ChannelHandlerContext) {
        guard let space = response.lastIndex(of: " ") else { return write(["501 5.5.2 Malformed CRAM-MD5"], context: context) }
        let username = String(response[..<space])
        let digest = String(response[response.index(after: space)...])
        let expected = behaviour.logins[username].map { password in
            HMAC<Insecure.MD5>.authenticationCode(for: Data(challenge.utf8), using: SymmetricKey(data: Data(password.utf8)))
                .map { String(format: "%02x", $0) }.joined()
        }
        record(attempt: username, success: expected == digest, context: context)
    }

    private func finishXOAUTH2(_ payload: String, context: ChannelHandlerContext) {
        let fields = (Self.decode(payload) ?? "").split(separator: "\u{1}").map(String.init)
        let username = fields.first { $0.hasPrefix("user=") }.map { String($0.dropFirst(5)) } ?? ""
        let token = fields.first { $0.hasPrefix("auth=Bearer ") }.map { String($0.dropFirst(12)) } ?? ""
        verify(username: username, password: token, context: context)
    }

    private func verify(username: String, password: String, context: ChannelHandlerContext) {
        record(attempt: username, success: behaviour.logins[username] == password, context: context)
    }

    private func record(attempt username: String, success: Bool, context: ChannelHandlerContext) {
        recorder.update(index) { session in
            session.loginAttempts.append(username)
            if success { session.authenticatedAs = username }
        }
        write([success ? "235 2.7.0 Authentication successful" : "535 5.7.8 Authentication credentials invalid"], context: context)
    }

    // MARK: Helpers

    private func reply(_ line: String, holding: Bool, context: ChannelHandlerContext) {
        if holding { heldReplies.append(line) } else { write([line], context: context) }
    }

    private func write(_ lines: [String], context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 64)
        for line in lines {
            buffer.writeString(line)
            buffer.writeString("\r\n")
        }
        context.write(NIOAny(buffer), promise: nil)
    }

    private static func decode(_ base64: String) -> String? {
        Data(base64Encoded: base64).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The address inside `<…>` of a MAIL or RCPT line.
    private static func path(_ line: String) -> String {
        guard let open = line.firstIndex(of: "<"), let close = line[open...].firstIndex(of: ">") else { return "" }
        return String(line[line.index(after: open)..<close])
    }

    /// RFC 5321 section 4.5.2: a line that starts with a dot loses that dot.
    static func unstuff(_ wire: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(wire.count)
        var atLineStart = true
        for byte in wire {
            if atLineStart && byte == UInt8(ascii: ".") {
                atLineStart = false
                continue
            }
            output.append(byte)
            atLineStart = byte == 10
        }
        return output
    }
}
