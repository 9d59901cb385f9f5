import NIOCore
import Secrets
@testable import SMTPCore

/// Renders machine actions as short, readable lines so tests read like SMTP transcripts.
func describe(_ action: SMTPClientStateMachine.Action) -> String {
    switch action {
    case .wait:
        return "wait"
    case .send(let commands, let phase):
        return "send \(commands.map(\.redactedDescription).joined(separator: " | ")) [\(phase)]"
    case .startTLS:
        return "startTLS"
    case .sessionReady(let capabilities):
        return "ready \(capabilities.summary.joined(separator: ","))"
    case .writeBody:
        return "writeBody"
    case .transactionCompleted(let outcome):
        let rejected = outcome.rejected.map { "\($0.address)=\($0.code)" }
        return "completed accepted=\(outcome.accepted) rejected=\(rejected) \(outcome.response.code)"
    case .transactionFailed(let error, let then):
        let rejected = error.rejectedRecipients.map { "\($0.address)=\($0.code)" }
        return "transactionFailed \(error.code) \(error.disposition.rawValue) rejected=\(rejected) then=\(then.map(\.redactedDescription))"
    case .fail(let error, let sendQuit):
        return "fail \(error.code) \(error.disposition.rawValue)\(sendQuit ? " quit" : "")"
    case .failChained(let current, let chained):
        return "failChained \(current.code) \(current.disposition.rawValue) / \(chained.code) \(chained.disposition.rawValue)"
    case .close:
        return "close"
    }
}

/// The bytes a command puts on the wire, as text.
func wire(_ command: SMTPCommand) -> String {
    var buffer = ByteBuffer()
    command.write(into: &buffer)
    return String(buffer: buffer)
}

func reply(_ code: Int, _ lines: String...) -> SMTPReply {
    SMTPReply(code: code, lines: lines)
}

func ehlo(_ keywords: String...) -> SMTPReply {
    SMTPReply(code: 250, lines: ["mx.example.com greets you"] + keywords)
}

extension SMTPClientStateMachine {
    static func make(
        _ security: SMTPSecurity = .startTLS,
        credentials: SMTPCredentials? = .password(username: "user@example.com", password: Secret("canary-Pa55word"))
    ) -> SMTPClientStateMachine {
        SMTPClientStateMachine(configuration: .init(security: security, clientIdentifier: "client.example", credentials: credentials))
    }

    /// Drives the machine through greeting, EHLO and (no) auth to a ready plaintext session.
    static func ready(_ keywords: String...) -> SMTPClientStateMachine {
        var machine = make(.plaintext, credentials: nil)
        _ = machine.replyReceived(reply(220, "mx ESMTP"))
        _ = machine.replyReceived(SMTPReply(code: 250, lines: ["mx"] + keywords))
        precondition(machine.isReady)
        return machine
    }
}
