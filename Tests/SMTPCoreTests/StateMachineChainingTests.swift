import Testing
@testable import SMTPCore

/// RFC 2920 section 3.1: the next transaction's commands may follow the previous final dot in the
/// same flight. These transcripts pin down what the machine then expects and reports.
@Suite("State machine: chained transactions")
struct StateMachineChainingTests {
    static let first = SMTPTransaction(mailFrom: "a@example.com", recipients: ["x@example.com"])
    static let second = SMTPTransaction(mailFrom: "b@example.com", recipients: ["y@example.com", "z@example.com"])

    /// A session whose first message's dot was just sent.
    static func afterFirstDot(_ keywords: String...) -> SMTPClientStateMachine {
        var machine = SMTPClientStateMachine.ready("PIPELINING")
        _ = machine.startTransaction(first)
        _ = machine.replyReceived(reply(250, "ok"))
        _ = machine.replyReceived(reply(250, "ok"))
        _ = machine.replyReceived(reply(354, "go"))
        _ = machine.bodyWritten()
        return machine
    }

    @Test("the next envelope goes out behind the dot; its replies follow the first message's verdict")
    func chained() {
        var machine = Self.afterFirstDot()
        #expect(machine.canChainTransaction)
        #expect(describe(machine.startTransaction(Self.second)) ==
            "send MAIL FROM:<b@example.com> | RCPT TO:<y@example.com> | RCPT TO:<z@example.com> | DATA [finalReply]")
        #expect(!machine.canChainTransaction, "one chained transaction at a time")
        #expect(describe(machine.replyReceived(reply(250, "queued 1"))) == "completed accepted=[\"x@example.com\"] rejected=[] 250")
        #expect(machine.waitPhase == .dataInitiation)
        #expect(describe(machine.replyReceived(reply(250, "ok"))) == "wait")
        #expect(describe(machine.replyReceived(reply(550, "no y"))) == "wait")
        #expect(describe(machine.replyReceived(reply(250, "ok"))) == "wait")
        #expect(describe(machine.replyReceived(reply(354, "go"))) == "writeBody")
        #expect(describe(machine.bodyWritten()) == "wait")
        #expect(describe(machine.replyReceived(reply(250, "queued 2"))) ==
            "completed accepted=[\"z@example.com\"] rejected=[\"y@example.com=550\"] 250")
        #expect(machine.isReady)
    }

    @Test("a refused first message does not affect the chained one")
    func firstRefused() {
        var machine = Self.afterFirstDot()
        _ = machine.startTransaction(Self.second)
        #expect(describe(machine.replyReceived(reply(554, "5.7.1 spam"))) ==
            "transactionFailed EMESSAGE permanent rejected=[] then=[]")
        _ = machine.replyReceived(reply(250, "ok"))
        _ = machine.replyReceived(reply(250, "ok"))
        _ = machine.replyReceived(reply(250, "ok"))
        #expect(describe(machine.replyReceived(reply(354, "go"))) == "writeBody")
    }

    @Test("a drop, a timeout, a TLS error or 421 while chained: the first is ambiguous, the chained one safe to retry")
    func failuresWhileChained() {
        var dropped = Self.afterFirstDot()
        _ = dropped.startTransaction(Self.second)
        #expect(describe(dropped.connectionClosed()) == "failChained ECONNECTION ambiguous / ECONNECTION transient")

        var timedOut = Self.afterFirstDot()
        _ = timedOut.startTransaction(Self.second)
        #expect(describe(timedOut.timedOut()) == "failChained ETIMEDOUT ambiguous / ETIMEDOUT transient")

        var broken = Self.afterFirstDot()
        _ = broken.startTransaction(Self.second)
        #expect(describe(broken.errorCaught(SMTPError(.tls, .transient, "bad record mac"))) == "failChained ETLS ambiguous / ETLS transient")

        var closing = Self.afterFirstDot()
        _ = closing.startTransaction(Self.second)
        #expect(describe(closing.replyReceived(reply(421, "4.3.2 shutting down"))) == "failChained EMESSAGE transient / EMESSAGE transient")
    }

    @Test("a chained message the server cannot take is refused before any command, and only it fails")
    func chainedRefusedUpFront() {
        var machine = SMTPClientStateMachine.ready("PIPELINING", "SIZE 100")
        _ = machine.startTransaction(SMTPTransaction(mailFrom: "a@example.com", recipients: ["x@example.com"], size: 10))
        _ = machine.replyReceived(reply(250, "ok"))
        _ = machine.replyReceived(reply(250, "ok"))
        _ = machine.replyReceived(reply(354, "go"))
        _ = machine.bodyWritten()
        #expect(describe(machine.startTransaction(SMTPTransaction(mailFrom: "b@example.com", recipients: ["y@example.com"], size: 500))) ==
            "transactionFailed EMESSAGE permanent rejected=[] then=[]")
        #expect(machine.canChainTransaction, "the session still waits for the first verdict")
        #expect(describe(machine.replyReceived(reply(250, "queued"))) == "completed accepted=[\"x@example.com\"] rejected=[] 250")
        #expect(machine.isReady)
    }

    @Test("without PIPELINING nothing is chained")
    func noPipelining() {
        var machine = SMTPClientStateMachine.ready("SIZE 1000")
        _ = machine.startTransaction(Self.first)
        _ = machine.replyReceived(reply(250, "ok"))
        _ = machine.replyReceived(reply(250, "ok"))
        _ = machine.replyReceived(reply(354, "go"))
        _ = machine.bodyWritten()
        #expect(!machine.canChainTransaction)
    }
}
