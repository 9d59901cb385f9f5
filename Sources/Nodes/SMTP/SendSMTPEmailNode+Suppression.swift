import Flows
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
