import Flows
import Foundation
import Logging
import MIME
import Workspaces

extension SendSMTPEmailNode {
    /// The envelope recipients the workspace suppresses (as the envelope writes them), unless the
    /// step sends to them anyway; every one suppressed fails the step for good (`EENVELOPE`),
    /// before anything is sent.
    func suppressedRecipients(of email: ValidatedEmail, in workspaceID: String, ignoring: Bool) async throws(NodeError) -> [String] {
        guard let suppressions, !ignoring else { return [] }
        let recipients = email.envelope.recipients
        let keys: Set<String>
        do {
            keys = try await suppressions.suppressed(among: recipients, in: workspaceID)
        } catch {
            throw NodeError(code: "ESTORE", message: "The suppression list could not be read", disposition: .transient)
        }
        let suppressed = recipients.filter { keys.contains(Suppression.key(of: $0)) }
        guard suppressed.count < recipients.count else {
            throw NodeError(
                code: "EENVELOPE",
                message: "Every recipient is on the workspace's suppression list (\(suppressed.joined(separator: ", "))): nothing was sent. Remove an address from the list, or set ignoreSuppression for mail the person asked for",
                disposition: .permanent,
                details: .object(["suppressed": .array(suppressed.map(JSONValue.string))]))
        }
        return suppressed
    }
}

extension SendSMTPEmailNode {
    /// Remembers the sent message by its Message-ID, so a bounce about it finds this step. A
    /// failure to remember does not undo the send: it is logged, and a bounce then matches nothing.
    func remember(_ output: JSONValue, context: NodeContext) async {
        guard let sentMessages, case .object(let fields) = output, case .string(let messageID)? = fields["messageId"] else { return }
        var recipients: [String] = []
        if case .array(let accepted)? = fields["accepted"] {
            for case .string(let address) in accepted { recipients.append(address) }
        }
        do {
            try await sentMessages.recordSentMessage(SentMessage(
                messageID: messageID, workspaceID: context.workspaceID, runID: context.runID, stepID: context.stepID,
                recipients: recipients, sentAt: Date()))
        } catch {
            context.logger.info("smtp.send.unremembered", metadata: ["error": "\(type(of: error))"])
        }
    }
}
