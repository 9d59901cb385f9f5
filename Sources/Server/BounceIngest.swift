public import Bounces
public import Flows
public import Foundation
public import Workspaces

/// Takes a bounce message (RFC 3464 report or a common text notice), matches it to the step that
/// sent the message (by the returned Message-ID), records each recipient's fate on that step's
/// `delivery`, and suppresses the addresses that bounced for good (5.1.x bad mailbox, 5.2.1
/// disabled; not a 5.7.x policy block, not a delay). What `posthorn bounce ingest` runs.
public struct BounceIngest: Sendable {
    let runs: any RunStore
    let sentMessages: any SentMessageStore
    let suppressions: SuppressionService
    let now: @Sendable () -> Date

    public init(runs: any RunStore, sentMessages: any SentMessageStore, suppressions: SuppressionService, now: @escaping @Sendable () -> Date = { Date() }) {
        self.runs = runs
        self.sentMessages = sentMessages
        self.suppressions = suppressions
        self.now = now
    }

    /// What an ingested bounce did.
    public struct Outcome: Sendable, Hashable {
        /// The step that sent the message, when the report names a message Posthorn sent.
        public var workspaceID: String?
        public var runID: String?
        public var stepID: String?
        /// Each recipient's fate, as recorded (only the message's own recipients are).
        public var deliveries: [StepRecord.Delivery]
        /// Addresses added to the workspace's suppression list.
        public var suppressed: [String]

        public var matched: Bool { runID != nil }
    }

    /// Reads and applies one bounce message. Throws ``Bounces/BounceParseError`` for a message
    /// that is not a bounce; an unknown message — or, with `workspaceID` (an intake URL), another
    /// workspace's — changes nothing (`matched` false).
    public func ingest(_ message: [UInt8], workspaceID: String? = nil) async throws -> Outcome {
        let report = try BounceParser.parse(message)
        guard let messageID = report.messageID, let sent = try await sentMessages.sentMessage(messageID: messageID),
            workspaceID.map({ $0 == sent.workspaceID }) ?? true,
            var run = try await runs.run(id: sent.runID, workspaceID: sent.workspaceID),
            let index = run.steps.firstIndex(where: { $0.stepID == sent.stepID })
        else {
            return Outcome(deliveries: [], suppressed: [])
        }
        let at = now()
        let recipients = Set(sent.recipients.map(Suppression.key(of:)))
        var deliveries: [StepRecord.Delivery] = []
        var suppressed: [String] = []
        for recipient in report.recipients where recipients.contains(Suppression.key(of: recipient.address)) {
            let status = switch recipient.action {
            case .failed: "bounced"
            case .delayed: "delayed"
            case .delivered, .relayed, .expanded: "delivered"
            }
            let delivery = StepRecord.Delivery(status: status, recipient: recipient.address, code: recipient.status, diagnostic: recipient.diagnostic, at: at)
            deliveries.append(delivery)
            run.steps[index].delivery.removeAll { Suppression.key(of: $0.recipient) == Suppression.key(of: recipient.address) }
            run.steps[index].delivery.append(delivery)
            if recipient.isHardBounce, Self.suppresses(recipient.status) {
                let detail = [recipient.status, recipient.diagnostic].compactMap { $0 }.joined(separator: " ")
                let (_, created) = try await suppressions.add(recipient.address, reason: .bounce, detail: detail.isEmpty ? nil : detail, in: sent.workspaceID)
                if created { suppressed.append(recipient.address) }
            }
        }
        if !deliveries.isEmpty { try await runs.save(run) }
        return Outcome(workspaceID: sent.workspaceID, runID: sent.runID, stepID: sent.stepID, deliveries: deliveries, suppressed: suppressed)
    }

    /// Whether a failure's status means the mailbox is gone: 5.1.x (bad address) or 5.2.1
    /// (disabled); a report without a status counts as such. Policy blocks (5.7.x) and full
    /// mailboxes (5.2.2) do not.
    static func suppresses(_ status: String?) -> Bool {
        guard let status else { return true }
        return status.hasPrefix("5.1.") || status == "5.2.1"
    }
}
