import Secrets
import Testing
@testable import SMTPCore

@Suite("State machine: greeting, STARTTLS, AUTH")
struct StateMachineHandshakeTests {
    @Test("greeting, EHLO, STARTTLS, EHLO again, AUTH PLAIN: the usual submission session")
    func starttlsAndPlain() {
        var machine = Machine.make()
        #expect(describe(machine.replyReceived(reply(220, "mx.example.com ESMTP"))) == "send EHLO client.example")
        #expect(describe(machine.replyReceived(ehlo("PIPELINING", "STARTTLS", "AUTH LOGIN"))) == "send STARTTLS")
        #expect(describe(machine.replyReceived(reply(220, "2.0.0 Ready to start TLS"))) == "startTLS")
        #expect(describe(machine.tlsEstablished()) == "send EHLO client.example")
        // After TLS the capabilities are read again: AUTH PLAIN appears only now.
        #expect(describe(machine.replyReceived(ehlo("PIPELINING", "AUTH PLAIN LOGIN", "SIZE 1000"))) == "send AUTH PLAIN <redacted>")
        #expect(describe(machine.replyReceived(reply(235, "2.7.0 Authentication successful"))) == "complete open opened AUTH PLAIN LOGIN,PIPELINING,SIZE 1000")
        #expect(machine.isReady)
    }

    @Test("a server without STARTTLS is refused before any AUTH or MAIL")
    func noStartTLS() {
        var machine = Machine.make()
        _ = machine.replyReceived(reply(220, "mx"))
        #expect(describe(machine.replyReceived(ehlo("AUTH PLAIN LOGIN", "PIPELINING"))) == "close quit: open failed ETLS permanent")
        #expect(describe(machine.replyReceived(reply(221, "bye"))) == "wait", "QUIT was written and the connection closed")
    }

    @Test("STARTTLS refused is fatal, transient for 454", arguments: [(454, "close quit: open failed ETLS transient"), (502, "close quit: open failed ETLS permanent")])
    func startTLSRefused(_ code: Int, _ expected: String) {
        var machine = Machine.make()
        _ = machine.replyReceived(reply(220, "mx"))
        _ = machine.replyReceived(ehlo("STARTTLS"))
        #expect(describe(machine.replyReceived(reply(code, "no"))) == expected)
    }

    @Test("bytes buffered with the 220 to STARTTLS, or a reply during the handshake, are fatal")
    func injectionAfterStartTLS() {
        var machine = Machine.make()
        _ = machine.replyReceived(reply(220, "mx"))
        _ = machine.replyReceived(ehlo("STARTTLS"))
        #expect(describe(machine.replyReceived(reply(220, "go"), unprocessedBytes: 12)) == "close: open failed ETLS permanent")

        var second = Machine.make()
        _ = second.replyReceived(reply(220, "mx"))
        _ = second.replyReceived(ehlo("STARTTLS"))
        _ = second.replyReceived(reply(220, "go"))
        #expect(describe(second.replyReceived(reply(250, "injected"))) == "close: open failed EPROTOCOL permanent")
    }

    @Test("implicit TLS skips STARTTLS; plaintext never asks for it")
    func otherModes() {
        var implicit = Machine.make(.implicitTLS)
        _ = implicit.replyReceived(reply(220, "mx"))
        #expect(describe(implicit.replyReceived(ehlo("STARTTLS", "AUTH PLAIN"))) == "send AUTH PLAIN <redacted>")
        var plain = Machine.make(.plaintext)
        _ = plain.replyReceived(reply(220, "mx"))
        #expect(describe(plain.replyReceived(ehlo("AUTH LOGIN"))) == "send AUTH LOGIN")
    }

    @Test("greeting refusals", arguments: [(554, "close: open failed ECONNECTION permanent"), (421, "close: open failed ECONNECTION transient"), (450, "close: open failed ECONNECTION transient")])
    func greetingRefused(_ code: Int, _ expected: String) {
        var machine = Machine.make()
        #expect(describe(machine.replyReceived(reply(code, "go away"))) == expected)
    }

    @Test("EHLO refused: HELO fallback only when nothing needs extensions")
    func heloFallback() {
        var plain = Machine.make(.plaintext, credentials: nil)
        _ = plain.replyReceived(reply(220, "old relay"))
        #expect(describe(plain.replyReceived(reply(502, "unknown command"))) == "send HELO client.example")
        #expect(describe(plain.replyReceived(reply(250, "hello"))) == "complete open opened ")

        var needsTLS = Machine.make(.startTLS, credentials: nil)
        _ = needsTLS.replyReceived(reply(220, "old relay"))
        #expect(describe(needsTLS.replyReceived(reply(502, "unknown command"))) == "close quit: open failed EPROTOCOL permanent")

        var needsAuth = Machine.make(.plaintext)
        _ = needsAuth.replyReceived(reply(220, "old relay"))
        #expect(describe(needsAuth.replyReceived(reply(500, "what"))) == "close quit: open failed EPROTOCOL permanent")
    }

    // MARK: AUTH

    static func authenticating(_ keywords: String..., credentials: SMTPCredentials? = nil) -> (Machine, String) {
        var machine = Machine.make(.implicitTLS, credentials: credentials
            ?? .password(username: "user@example.com", password: Secret("canary-Pa55word")))
        _ = machine.replyReceived(reply(220, "mx"))
        let first = describe(machine.replyReceived(SMTPReply(code: 250, lines: ["mx"] + keywords)))
        return (machine, first)
    }

    @Test("the strongest offered mechanism is chosen", arguments: [
        ("AUTH LOGIN PLAIN CRAM-MD5", "CRAM-MD5"), ("AUTH LOGIN PLAIN", "PLAIN"), ("AUTH LOGIN", "LOGIN"),
        ("AUTH login plain", "PLAIN"), ("AUTH=LOGIN", "LOGIN"),
    ])
    func mechanismChoice(_ keyword: String, _ mechanism: String) {
        let (_, first) = Self.authenticating(keyword)
        #expect(first.hasPrefix("send AUTH \(mechanism)"))
    }

    @Test("AUTH PLAIN sends the RFC 4616 payload, and a 334 re-prompt gets it again")
    func plain() {
        var (machine, _) = Self.authenticating("AUTH PLAIN")
        // base64("\0user@example.com\0canary-Pa55word")
        let payload = SASLPayload.plain(username: "user@example.com", password: Secret("canary-Pa55word"))
        #expect(payload.revealedValue == "AHVzZXJAZXhhbXBsZS5jb20AY2FuYXJ5LVBhNTV3b3Jk")
        #expect(describe(machine.replyReceived(reply(334, ""))) == "send <redacted>")
        #expect(describe(machine.replyReceived(reply(235, "ok"))).hasPrefix("complete open opened"))
    }

    @Test("AUTH LOGIN: username then password prompts")
    func login() {
        var (machine, first) = Self.authenticating("AUTH LOGIN")
        #expect(first == "send AUTH LOGIN")
        #expect(describe(machine.replyReceived(reply(334, "VXNlcm5hbWU6"))) == "send <redacted>")
        #expect(describe(machine.replyReceived(reply(334, "UGFzc3dvcmQ6"))) == "send <redacted>")
        #expect(describe(machine.replyReceived(reply(535, "5.7.8 Authentication credentials invalid"))) == "close quit: open failed EAUTH permanent")
    }

    @Test("CRAM-MD5 answers the RFC 2195 example challenge")
    func cramMD5() {
        let response = SASLPayload.cramMD5(
            username: "tim", password: Secret("tanstaaftanstaaf"), challenge: Array("<1896.697170952@postoffice.reston.mci.net>".utf8))
        #expect(SASLPayload.decodeBase64(response.revealedValue).map { String(decoding: $0, as: UTF8.self) }
            == "tim b913a602c7eda7a495b4e6e7334d3890")
        var (machine, first) = Self.authenticating("AUTH CRAM-MD5")
        #expect(first == "send AUTH CRAM-MD5")
        #expect(describe(machine.replyReceived(reply(334, "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+"))) == "send <redacted>")
        #expect(describe(machine.replyReceived(reply(235, "ok"))).hasPrefix("complete open opened"))
        var (broken, _) = Self.authenticating("AUTH CRAM-MD5")
        #expect(describe(broken.replyReceived(reply(334, "!!not base64!!"))) == "close quit: open failed EAUTH permanent")
    }

    @Test("XOAUTH2: success, and the 334-error-then-535 dance")
    func xoauth2() {
        let credentials = SMTPCredentials.oauth2(username: "me@gmail.com", accessToken: Secret("ya29.canary-token"))
        var (machine, first) = Self.authenticating("AUTH XOAUTH2 PLAIN", credentials: credentials)
        #expect(first == "send AUTH XOAUTH2 <redacted>")
        #expect(describe(machine.replyReceived(reply(235, "2.7.0 Accepted"))).hasPrefix("complete open opened"))

        var (failing, _) = Self.authenticating("AUTH XOAUTH2", credentials: credentials)
        #expect(describe(failing.replyReceived(reply(334, "eyJzdGF0dXMiOiI0MDEifQ=="))) == "send <redacted>")
        #expect(describe(failing.replyReceived(reply(535, "5.7.8 Username and Password not accepted"))) == "close quit: open failed EAUTH permanent")
        #expect(SASLPayload.xoauth2(username: "me@gmail.com", token: Secret("t")).revealedValue
            == "dXNlcj1tZUBnbWFpbC5jb20BYXV0aD1CZWFyZXIgdAEB")
    }

    @Test("credentials but no usable mechanism fails; it never skips login")
    func noMechanism() {
        #expect(Self.authenticating("PIPELINING").1 == "close quit: open failed EAUTH permanent")
        #expect(Self.authenticating("AUTH GSSAPI NTLM").1 == "close quit: open failed EAUTH permanent")
        #expect(Self.authenticating("AUTH PLAIN", credentials: .oauth2(username: "u", accessToken: Secret("t"))).1 == "close quit: open failed EAUTH permanent")
    }

    @Test("authentication failures are classified", arguments: [
        (535, "close quit: open failed EAUTH permanent"), (534, "close quit: open failed EAUTH permanent"), (454, "close quit: open failed EAUTH transient"),
        (421, "close: open failed EAUTH transient"),
    ])
    func authFailures(_ code: Int, _ expected: String) {
        var (machine, _) = Self.authenticating("AUTH PLAIN")
        #expect(describe(machine.replyReceived(reply(code, "no"))) == expected)
    }

    @Test("a server echoing the password has it scrubbed from the error")
    func scrubbing() {
        var (machine, _) = Self.authenticating("AUTH PLAIN")
        let action = machine.replyReceived(reply(535, "5.7.8 bad password canary-Pa55word for AHVzZXJAZXhhbXBsZS5jb20AY2FuYXJ5LVBhNTV3b3Jk"))
        guard case .close(let completions, _) = action, case .failed(let error) = completions.first?.result else {
            Issue.record("expected a failure"); return
        }
        #expect(!"\(error)".contains("canary"))
        #expect(!"\(error)".contains("AHVzZXJAZXhhbXBsZS5jb20AY2FuYXJ5LVBhNTV3b3Jk"))
        #expect("\(error)".contains("<redacted>"))
    }
}
