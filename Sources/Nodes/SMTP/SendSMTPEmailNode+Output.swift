import DKIM
import Flows
import MIME
import SMTP
import SMTPCore

extension SendSMTPEmailNode {
    /// The step output: what was sent, to whom, and what the server said.
    /// Suppressed addresses are listed in `rejected` with the code `suppressed`.
    static func output(_ result: SMTPSendResult, signatures: [DKIMSigner.Identity] = [], suppressed: [String] = []) -> JSONValue {
        func ms(_ duration: Duration) -> JSONValue { .integer(duration.wholeMilliseconds) }
        return .object([
            "messageId": .string(result.messageID),
            "accepted": .array(result.outcome.accepted.map(JSONValue.string)),
            "rejected": .array(result.outcome.rejected.map(rejection) + suppressed.map { address in
                .object(["address": .string(address), "code": .string("suppressed"), "enhancedCode": .null,
                         "text": .string("On the workspace's suppression list: not sent")])
            }),
            "response": .string(result.outcome.response.description),
            "envelope": .object([
                "from": .string(result.envelope.mailFrom),
                "to": .array(result.envelope.recipients.map(JSONValue.string)),
            ]),
            "size": result.size.map { .integer(Int64($0)) } ?? .null,
            "tlsVersion": result.tlsVersion.map(JSONValue.string) ?? .null,
            "timings": .object([
                "connectMs": ms(result.timings.connect), "tlsMs": ms(result.timings.tls), "authMs": ms(result.timings.auth),
                "envelopeMs": ms(result.timings.envelope), "dataMs": ms(result.timings.data),
            ]),
            "dkim": dkimOutput(signatures),
        ])
    }

    /// Which domain and selector signed the message, one entry per signature.
    static func dkimOutput(_ signatures: [DKIMSigner.Identity]) -> JSONValue {
        .array(signatures.map { identity in
            .object([
                "domain": .string(identity.domain), "selector": .string(identity.selector),
                "algorithm": .string(identity.key.algorithm.rawValue),
            ])
        })
    }

    static func rejection(_ rejection: RecipientRejection) -> JSONValue {
        .object([
            "address": .string(rejection.address), "code": .integer(Int64(rejection.code)),
            "enhancedCode": rejection.enhancedCode.map { .string($0.description) } ?? .null, "text": .string(rejection.text),
        ])
    }

    /// An SMTP failure as a step error: the client's code (EAUTH, ETLS…), its disposition (a drop
    /// after the final dot stays ambiguous, never retried), and the spec's troubleshooting hint.
    static func nodeError(_ error: SMTPError) -> NodeError {
        let disposition: NodeError.Disposition = switch error.disposition {
        case .transient: .transient
        case .permanent: .permanent
        case .ambiguous: .ambiguous
        }
        return NodeError(
            code: error.code.rawValue, message: error.message, disposition: disposition,
            details: .object([
                "hint": error.code.troubleshootingHint.map(JSONValue.string) ?? .null,
                "responseCode": error.reply.map { .integer(Int64($0.code)) } ?? .null,
                "response": error.reply.map { .string($0.description) } ?? .null,
                "rejected": .array(error.rejectedRecipients.map(rejection)),
            ]))
    }
}
