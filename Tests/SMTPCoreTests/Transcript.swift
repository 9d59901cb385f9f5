import NIOCore
import Secrets
@testable import SMTPCore

typealias Machine = SMTPClientStateMachine<String>

/// Renders machine actions as short, readable lines so tests read like SMTP transcripts. Requests
/// are named by strings: `open` for the opener, whatever the test chose for the others.
func describe(_ action: Machine.Action) -> String {
    func commands(_ commands: [SMTPCommand]) -> String {
        commands.map(\.redactedDescription).joined(separator: " | ")
    }
    func then(_ next: [SMTPCommand]) -> String {
        next.isEmpty ? "" : " then \(commands(next))"
    }
    switch action {
    case .wait:
        return "wait"
    case .send(let next, _):
        return "send \(commands(next))"
    case .startTLS:
        return "startTLS"
    case .writeBody(let request):
        return "writeBody \(request)"
    case .endBody(let next, _):
        return "endBody" + then(next)
    case .complete(let completions, let next, _):
        return "complete " + completions.map(describe).joined(separator: "; ") + then(next)
    case .close(let completions, let sendQuit):
        return "close" + (sendQuit ? " quit" : "") + (completions.isEmpty ? "" : ": " + completions.map(describe).joined(separator: "; "))
    }
}

func describe(_ completion: Machine.Completion) -> String {
    switch completion.result {
    case .opened(let capabilities):
        return "\(completion.request) opened \(capabilities.summary.joined(separator: ","))"
    case .delivered(let outcome):
        let rejected = outcome.rejected.map { "\($0.address)=\($0.code)" }
        return "\(completion.request) delivered accepted=\(outcome.accepted) rejected=\(rejected) \(outcome.response.code)"
    case .alive:
        return "\(completion.request) alive"
    case .quit:
        return "\(completion.request) quit"
    case .failed(let error):
        let rejected = error.rejectedRecipients.isEmpty ? "" : " rejected=\(error.rejectedRecipients.map { "\($0.address)=\($0.code)" })"
        return "\(completion.request) failed \(error.code) \(error.disposition.rawValue)\(rejected)"
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

extension SMTPClientStateMachine where Request == String {
    static func make(
        _ security: SMTPSecurity = .startTLS,
        credentials: SMTPCredentials? = .password(username: "user@example.com", password: Secret("canary-Pa55word"))
    ) -> Machine {
        Machine(configuration: .init(security: security, clientIdentifier: "client.example", credentials: credentials), opening: "open")
    }

    /// Drives the machine through greeting, EHLO and (no) auth to a ready plaintext session.
    static func ready(_ keywords: String...) -> Machine {
        var machine = make(.plaintext, credentials: nil)
        _ = machine.replyReceived(reply(220, "mx ESMTP"))
        _ = machine.replyReceived(SMTPReply(code: 250, lines: ["mx"] + keywords))
        precondition(machine.isReady)
        return machine
    }

    /// A reply with nothing after it in the driver's buffer.
    mutating func replyReceived(_ reply: SMTPReply) -> Action {
        replyReceived(reply, unprocessedBytes: 0)
    }
}
