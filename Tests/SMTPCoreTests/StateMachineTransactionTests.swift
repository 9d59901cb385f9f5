import Secrets
import Testing
@testable import SMTPCore

@Suite("State machine: transactions")
struct StateMachineTransactionTests {
    static let transaction = SMTPTransaction(
        mailFrom: "sender@example.com", recipients: ["a@example.com", "b@example.com", "c@example.com"], size: 1234)

    @Test("pipelined envelope with mixed replies: partial rejection is reported, not hidden")
    func pipelinedMixed() {
        var machine = Machine.ready("PIPELINING", "SIZE 10000", "ENHANCEDSTATUSCODES")
        #expect(describe(machine.sendRequested(Self.transaction, "m")) ==
            "send MAIL FROM:<sender@example.com> SIZE=1234 | RCPT TO:<a@example.com> | RCPT TO:<b@example.com> | RCPT TO:<c@example.com> | DATA")
        #expect(describe(machine.replyReceived(reply(250, "2.1.0 Ok"))) == "wait")
        #expect(describe(machine.replyReceived(reply(250, "2.1.5 Ok"))) == "wait")
        #expect(describe(machine.replyReceived(reply(550, "5.1.1 No such user"))) == "wait")
        #expect(describe(machine.replyReceived(reply(250, "2.1.5 Ok"))) == "wait")
        #expect(describe(machine.replyReceived(reply(354, "End data with <CR><LF>.<CR><LF>"))) == "writeBody m")
        #expect(describe(machine.bodyWritten()) == "endBody")
        #expect(describe(machine.replyReceived(reply(250, "2.0.0 Ok: queued as ABC123"))) ==
            "complete m delivered accepted=[\"a@example.com\", \"c@example.com\"] rejected=[\"b@example.com=550\"] 250")
        #expect(machine.isReady)
    }

    @Test("every recipient refused: DATA's 554 fails the envelope and RSET cleans up")
    func allRejected() {
        var machine = Machine.ready("PIPELINING")
        _ = machine.sendRequested(SMTPTransaction(mailFrom: "s@example.com", recipients: ["a@example.com"]), "m")
        _ = machine.replyReceived(reply(250, "ok"))
        _ = machine.replyReceived(reply(550, "5.1.1 unknown"))
        #expect(describe(machine.replyReceived(reply(554, "5.5.1 No valid recipients"))) == "send RSET")
        #expect(describe(machine.replyReceived(reply(250, "ok"))) ==
            "complete m failed EENVELOPE permanent rejected=[\"a@example.com=550\"]", "reported once the session is clean")
        #expect(machine.isReady)
    }

    @Test("a server that says 354 after refusing everything gets a lone dot, then the envelope error")
    func dataAfterRefusal() {
        var machine = Machine.ready("PIPELINING")
        _ = machine.sendRequested(SMTPTransaction(mailFrom: "s@example.com", recipients: ["a@example.com"]), "m")
        _ = machine.replyReceived(reply(550, "5.1.0 sender rejected"))
        _ = machine.replyReceived(reply(503, "5.5.1 need MAIL"))
        #expect(describe(machine.replyReceived(reply(354, "go ahead"))) == "send .")
        #expect(describe(machine.replyReceived(reply(554, "no message"))) == "send RSET")
        #expect(describe(machine.replyReceived(reply(250, "ok"))) == "complete m failed EENVELOPE permanent rejected=[\"a@example.com=503\"]")
    }

    @Test("without PIPELINING, one command per round trip")
    func sequential() {
        var machine = Machine.ready("SIZE 0")
        #expect(describe(machine.sendRequested(SMTPTransaction(mailFrom: "s@example.com", recipients: ["a@example.com", "b@example.com"], size: 99), "m"))
            == "send MAIL FROM:<s@example.com> SIZE=99")
        #expect(describe(machine.replyReceived(reply(250, "ok"))) == "send RCPT TO:<a@example.com>")
        #expect(describe(machine.replyReceived(reply(450, "4.2.0 greylisted"))) == "send RCPT TO:<b@example.com>")
        #expect(describe(machine.replyReceived(reply(250, "ok"))) == "send DATA")
        #expect(describe(machine.replyReceived(reply(354, "go"))) == "writeBody m")
        _ = machine.bodyWritten()
        #expect(describe(machine.replyReceived(reply(250, "queued"))) ==
            "complete m delivered accepted=[\"b@example.com\"] rejected=[\"a@example.com=450\"] 250")
    }

    @Test("without PIPELINING, a refused sender stops before RCPT", arguments: [(451, "transient"), (553, "permanent")])
    func sequentialSenderRefused(_ code: Int, _ disposition: String) {
        var machine = Machine.ready()
        _ = machine.sendRequested(SMTPTransaction(mailFrom: "s@example.com", recipients: ["a@example.com"]), "m")
        #expect(describe(machine.replyReceived(reply(code, "no"))) == "send RSET")
        #expect(describe(machine.replyReceived(reply(250, "ok"))) == "complete m failed EENVELOPE \(disposition)")
    }

    @Test("SIZE: over the server's limit fails before MAIL; SIZE 0 means no limit")
    func sizeLimit() {
        var limited = Machine.ready("SIZE 1000")
        #expect(describe(limited.sendRequested(SMTPTransaction(mailFrom: "s@example.com", recipients: ["a@example.com"], size: 1001), "m"))
            == "complete m failed EMESSAGE permanent")
        #expect(limited.isReady)
        var unlimited = Machine.ready("SIZE 0")
        #expect(describe(unlimited.sendRequested(SMTPTransaction(mailFrom: "s@example.com", recipients: ["a@example.com"], size: 10_000_000), "m"))
            == "send MAIL FROM:<s@example.com> SIZE=10000000")
    }

    @Test("SMTPUTF8: required addresses need the extension, and declare it")
    func smtputf8() {
        let transaction = SMTPTransaction(mailFrom: "jürgen@example.com", recipients: ["a@example.com"], requiresSMTPUTF8: true)
        var without = Machine.ready("8BITMIME")
        #expect(describe(without.sendRequested(transaction, "m")) == "complete m failed EENVELOPE permanent")
        var with = Machine.ready("8BITMIME", "SMTPUTF8")
        #expect(describe(with.sendRequested(transaction, "m")) == "send MAIL FROM:<jürgen@example.com> SMTPUTF8 BODY=8BITMIME")
    }

    @Test("DSN parameters only when the server offers DSN")
    func dsn() {
        let transaction = SMTPTransaction(mailFrom: "s@example.com", recipients: ["a@example.com"],
                                          dsn: DSNRequest(notify: ["FAILURE", "DELAY"], envelopeID: "abc123"))
        var with = Machine.ready("DSN", "PIPELINING")
        #expect(describe(with.sendRequested(transaction, "m")) ==
            "send MAIL FROM:<s@example.com> RET=HDRS ENVID=abc123 | RCPT TO:<a@example.com> NOTIFY=FAILURE,DELAY | DATA")
        var without = Machine.ready("PIPELINING")
        #expect(describe(without.sendRequested(transaction, "m")) == "send MAIL FROM:<s@example.com> | RCPT TO:<a@example.com> | DATA")
    }

    @Test("the final reply decides: 4xx transient, 5xx permanent, session stays ready", arguments: [
        (451, "complete m failed EMESSAGE transient"), (552, "complete m failed EMESSAGE permanent"),
    ])
    func finalReply(_ code: Int, _ expected: String) {
        var machine = Machine.ready("PIPELINING")
        _ = machine.sendRequested(SMTPTransaction(mailFrom: "s@example.com", recipients: ["a@example.com"]), "m")
        _ = machine.replyReceived(reply(250, "ok"))
        _ = machine.replyReceived(reply(250, "ok"))
        _ = machine.replyReceived(reply(354, "go"))
        _ = machine.bodyWritten()
        #expect(describe(machine.replyReceived(reply(code, "no"))) == expected)
        #expect(machine.isReady)
    }

    // MARK: Faults

    /// Steps to reach each point of a session; 421 is fed after them.
    static let points: [(String, [SMTPReply], String)] = [
        ("greeting", [], "close: open failed ECONNECTION transient"),
        ("after EHLO", [reply(220, "mx")], "close: open failed ECONNECTION transient"),
        ("mid-envelope", [reply(220, "mx"), ehlo("PIPELINING"), reply(250, "ok")], "close: m failed ECONNECTION transient"),
        ("after DATA", [reply(220, "mx"), ehlo("PIPELINING"), reply(250, "ok"), reply(250, "ok"), reply(354, "go")],
         "close: m failed EMESSAGE transient"),
    ]

    @Test("421 anywhere closes the session as transient", arguments: points)
    func serviceClosing(_ name: String, _ before: [SMTPReply], _ expected: String) {
        var machine = Machine.make(.plaintext, credentials: nil)
        var sent = false
        for step in before {
            _ = machine.replyReceived(step)
            if machine.isReady && !sent {
                _ = machine.sendRequested(SMTPTransaction(mailFrom: "s@example.com", recipients: ["a@example.com"]), "m")
                sent = true
            }
        }
        if case .writeBody = machine.replyReceived(reply(421, "4.3.2 shutting down")) {
            Issue.record("421 must not start the body")
        }
        var again = Machine.make(.plaintext, credentials: nil)
        sent = false
        for step in before {
            let action = again.replyReceived(step)
            if case .writeBody = action { _ = again.bodyWritten() }
            if again.isReady && !sent {
                _ = again.sendRequested(SMTPTransaction(mailFrom: "s@example.com", recipients: ["a@example.com"]), "m")
                sent = true
            }
        }
        #expect(describe(again.replyReceived(reply(421, "4.3.2 shutting down"))) == expected, "\(name)")
    }

    static func afterFinalDot() -> Machine {
        var machine = Machine.ready("PIPELINING")
        _ = machine.sendRequested(SMTPTransaction(mailFrom: "s@example.com", recipients: ["a@example.com"]), "m")
        _ = machine.replyReceived(reply(250, "ok"))
        _ = machine.replyReceived(reply(250, "ok"))
        _ = machine.replyReceived(reply(354, "go"))
        _ = machine.bodyWritten()
        return machine
    }

    @Test("a drop or timeout after the final dot is ambiguous; before it, transient")
    func dropClassification() {
        var afterDot = Self.afterFinalDot()
        #expect(describe(afterDot.connectionClosed()) == "close: m failed ECONNECTION ambiguous")
        var timedOut = Self.afterFinalDot()
        #expect(describe(timedOut.timedOut()) == "close: m failed ETIMEDOUT ambiguous")
        var reset = Self.afterFinalDot()
        #expect(describe(reset.errorCaught(SMTPError(.connection, .transient, "reset by peer"))) == "close: m failed ECONNECTION ambiguous")

        var beforeDot = Machine.ready("PIPELINING")
        _ = beforeDot.sendRequested(SMTPTransaction(mailFrom: "s@example.com", recipients: ["a@example.com"]), "m")
        _ = beforeDot.replyReceived(reply(250, "ok"))
        #expect(describe(beforeDot.connectionClosed()) == "close: m failed ECONNECTION transient")
        var idle = Machine.ready()
        #expect(describe(idle.timedOut()) == "close", "nothing was waiting")
    }

    @Test("liveness check and QUIT on an idle session")
    func livenessAndQuit() {
        var machine = Machine.ready("PIPELINING")
        #expect(describe(machine.livenessRequested("noop")) == "send NOOP")
        #expect(describe(machine.replyReceived(reply(250, "ok"))) == "complete noop alive")
        #expect(describe(machine.quitRequested("bye")) == "send QUIT")
        #expect(describe(machine.replyReceived(reply(221, "bye"))) == "close: bye quit")
        #expect(describe(machine.connectionClosed()) == "wait")
    }

    @Test("commands on the wire")
    func commandEncoding() {
        #expect(wire(.mailFrom("a@example.com", parameters: ["SIZE=10"])) == "MAIL FROM:<a@example.com> SIZE=10\r\n")
        #expect(wire(.rcptTo("b@example.com", parameters: [])) == "RCPT TO:<b@example.com>\r\n")
        #expect(wire(.auth(mechanism: "PLAIN", initialResponse: Secret("AGEAYg=="))) == "AUTH PLAIN AGEAYg==\r\n")
        #expect(wire(.auth(mechanism: "LOGIN", initialResponse: nil)) == "AUTH LOGIN\r\n")
        #expect(wire(.authResponse(Secret("c2VjcmV0"))) == "c2VjcmV0\r\n")
        #expect(SMTPCommand.authResponse(Secret("c2VjcmV0")).redactedDescription == "<redacted>")
        #expect("\(Secret("c2VjcmV0"))" == "<redacted>")
    }
}
