import Testing
@testable import SMTPCore

/// RFC 2920 section 3.1: the next transaction's commands may follow the previous final dot in the
/// same flight. The machine keeps the queue and decides what rides behind a dot; these transcripts
/// pin down what it then expects and reports.
@Suite("State machine: queued and chained transactions")
struct StateMachineChainingTests {
    static let first = SMTPTransaction(mailFrom: "a@example.com", recipients: ["x@example.com"])
    static let second = SMTPTransaction(mailFrom: "b@example.com", recipients: ["y@example.com", "z@example.com"])

    /// A session writing its first message's body, with the second queued behind it.
    static func writingFirst(_ keywords: String...) -> Machine {
        var machine = Machine.ready(keywords.isEmpty ? "PIPELINING" : keywords[0])
        _ = machine.sendRequested(first, "m1")
        _ = machine.replyReceived(reply(250, "ok"))
        _ = machine.replyReceived(reply(250, "ok"))
        _ = machine.replyReceived(reply(354, "go"))
        #expect(describe(machine.sendRequested(second, "m2")) == "wait", "a busy session queues the message")
        return machine
    }

    @Test("the queued envelope goes out behind the dot; its replies follow the first message's verdict")
    func chained() {
        var machine = Self.writingFirst()
        #expect(!machine.isReady)
        #expect(describe(machine.bodyWritten()) ==
            "endBody then MAIL FROM:<b@example.com> | RCPT TO:<y@example.com> | RCPT TO:<z@example.com> | DATA")
        #expect(machine.waitPhase == .finalReply)
        #expect(describe(machine.replyReceived(reply(250, "queued 1"))) ==
            "complete m1 delivered accepted=[\"x@example.com\"] rejected=[] 250")
        #expect(machine.waitPhase == .dataInitiation)
        #expect(describe(machine.replyReceived(reply(250, "ok"))) == "wait")
        #expect(describe(machine.replyReceived(reply(550, "no y"))) == "wait")
        #expect(describe(machine.replyReceived(reply(250, "ok"))) == "wait")
        #expect(describe(machine.replyReceived(reply(354, "go"))) == "writeBody m2")
        #expect(describe(machine.bodyWritten()) == "endBody")
        #expect(describe(machine.replyReceived(reply(250, "queued 2"))) ==
            "complete m2 delivered accepted=[\"z@example.com\"] rejected=[\"y@example.com=550\"] 250")
        #expect(machine.isReady)
    }

    @Test("a refused first message does not affect the chained one")
    func firstRefused() {
        var machine = Self.writingFirst()
        _ = machine.bodyWritten()
        #expect(describe(machine.replyReceived(reply(554, "5.7.1 spam"))) == "complete m1 failed EMESSAGE permanent")
        _ = machine.replyReceived(reply(250, "ok"))
        _ = machine.replyReceived(reply(250, "ok"))
        _ = machine.replyReceived(reply(250, "ok"))
        #expect(describe(machine.replyReceived(reply(354, "go"))) == "writeBody m2")
    }

    @Test("a drop, a timeout, a TLS error or 421 while chained: the first is ambiguous, the chained one safe to retry")
    func failuresWhileChained() {
        var dropped = Self.writingFirst()
        _ = dropped.bodyWritten()
        #expect(describe(dropped.connectionClosed()) == "close: m1 failed ECONNECTION ambiguous; m2 failed ECONNECTION transient")

        var timedOut = Self.writingFirst()
        _ = timedOut.bodyWritten()
        #expect(describe(timedOut.timedOut()) == "close: m1 failed ETIMEDOUT ambiguous; m2 failed ETIMEDOUT transient")

        var broken = Self.writingFirst()
        _ = broken.bodyWritten()
        #expect(describe(broken.errorCaught(SMTPError(.tls, .transient, "bad record mac"))) ==
            "close: m1 failed ETLS ambiguous; m2 failed ETLS transient")

        var closing = Self.writingFirst()
        _ = closing.bodyWritten()
        #expect(describe(closing.replyReceived(reply(421, "4.3.2 shutting down"))) ==
            "close: m1 failed EMESSAGE transient; m2 failed ECONNECTION transient")
    }

    @Test("a queued message is told it was never sent, in the one wording, when the session ends first")
    func queuedWhenSessionEnds() {
        var machine = Self.writingFirst()
        guard case .close(let completions, _) = machine.connectionClosed() else { Issue.record("expected close"); return }
        #expect(completions.map(describe) == ["m1 failed ECONNECTION transient", "m2 failed ECONNECTION transient"])
        guard case .failed(let error) = completions[1].result else { Issue.record("expected a failure"); return }
        #expect(error.message == "the session ended before this message was sent: the server closed the connection")
        #expect(describe(machine.sendRequested(Self.first, "m3")) ==
            "complete m3 failed ECONNECTION transient", "a closed session refuses at once")
    }

    @Test("a message the server cannot take is refused before any command, and only it fails")
    func refusedUpFront() {
        var machine = Machine.ready("PIPELINING", "SIZE 100")
        _ = machine.sendRequested(SMTPTransaction(mailFrom: "a@example.com", recipients: ["x@example.com"], size: 10), "m1")
        _ = machine.replyReceived(reply(250, "ok"))
        _ = machine.replyReceived(reply(250, "ok"))
        _ = machine.replyReceived(reply(354, "go"))
        #expect(describe(machine.sendRequested(SMTPTransaction(mailFrom: "b@example.com", recipients: ["y@example.com"], size: 500), "m2")) ==
            "complete m2 failed EMESSAGE permanent")
        #expect(describe(machine.bodyWritten()) == "endBody", "nothing left to chain")
        #expect(describe(machine.replyReceived(reply(250, "queued"))) == "complete m1 delivered accepted=[\"x@example.com\"] rejected=[] 250")
        #expect(machine.isReady)
    }

    @Test("without PIPELINING nothing is chained: the queued message starts after the verdict")
    func noPipelining() {
        var machine = Self.writingFirst("SIZE 1000")
        #expect(describe(machine.bodyWritten()) == "endBody")
        #expect(describe(machine.replyReceived(reply(250, "queued"))) ==
            "complete m1 delivered accepted=[\"x@example.com\"] rejected=[] 250 then MAIL FROM:<b@example.com>")
        #expect(machine.waitPhase == .command)
    }

    @Test("a liveness check and QUIT queued behind a message run after it, in order; later sends are refused")
    func queuedLivenessAndQuit() {
        var machine = Self.writingFirst()
        #expect(describe(machine.livenessRequested("noop")) == "wait")
        #expect(describe(machine.quitRequested("bye")) == "wait")
        #expect(describe(machine.sendRequested(Self.first, "late")) == "complete late failed ECONNECTION transient")
        _ = machine.bodyWritten()  // m2 rides behind the dot
        _ = machine.replyReceived(reply(250, "queued 1"))
        for _ in 0..<3 { _ = machine.replyReceived(reply(250, "ok")) }
        _ = machine.replyReceived(reply(354, "go"))
        _ = machine.bodyWritten()
        #expect(describe(machine.replyReceived(reply(250, "queued 2"))).hasSuffix(" then NOOP"))
        #expect(describe(machine.replyReceived(reply(250, "ok"))) == "complete noop alive then QUIT")
        #expect(describe(machine.replyReceived(reply(221, "bye"))) == "close: bye quit")
    }
}
