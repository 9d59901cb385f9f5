public import Bounces
public import Flows
public import Foundation
public import Workspaces

/// Applies what an intake learnt about sent mail — a bounce message (RFC 3464 report, a common
/// text notice, an ARF complaint) or a provider's signed events — to the step that sent it
/// (matched by Message-ID, or by the ENVID a DSN-asking send gave): records each recipient's fate
/// on the step's `delivery`, suppresses the addresses that bounced for good (5.1.x bad mailbox,
/// 5.2.1 disabled) or complained, and starts the workspace's `email.bounced` /
/// `email.complained` flows — never for mail such a flow sent, so a bouncing notification
/// cannot loop, and once per recipient and event, so a redelivered event starts nothing twice.
/// What `posthorn bounce ingest` and `/hooks/deliverability/…` run.
public struct BounceIngest: Sendable {
    let runs: any RunStore
    let flows: any FlowStore
    let sentMessages: any SentMessageStore
    let suppressions: SuppressionService
    let wake: @Sendable () -> Void
    let now: @Sendable () -> Date

    /// `wake` is called after runs were started (the executor's wake-up; it polls anyway).
    public init(
        runs: any RunStore, flows: any FlowStore, sentMessages: any SentMessageStore, suppressions: SuppressionService,
        wake: @escaping @Sendable () -> Void = {}, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.runs = runs
        self.flows = flows
        self.sentMessages = sentMessages
        self.suppressions = suppressions
        self.wake = wake
        self.now = now
    }

    /// What applying events to one sent message did.
    public struct Outcome: Sendable, Hashable {
        /// The step that sent the message, when the events name a message Posthorn sent.
        public var workspaceID: String?
        public var runID: String?
        public var stepID: String?
        /// Each recipient's fate, as recorded (only the message's own recipients are).
        public var deliveries: [StepRecord.Delivery]
        /// Addresses added to the workspace's suppression list.
        public var suppressed: [String]
        /// Runs of `email.bounced` / `email.complained` flows started.
        public var startedRuns: [String] = []

        public var matched: Bool { runID != nil }

        static let unmatched = Outcome(deliveries: [], suppressed: [])
    }

    /// Reads and applies one bounce message. Throws ``Bounces/BounceParseError`` for a message
    /// that is not a bounce; an unknown message — or, with `workspaceID` (an intake URL), another
    /// workspace's — changes nothing (`matched` false).
    public func ingest(_ message: [UInt8], workspaceID: String? = nil) async throws -> Outcome {
        let report = try BounceParser.parse(message)
        guard let messageID = report.messageID ?? report.envelopeID.flatMap(EnvelopeID.messageID(from:)) else { return .unmatched }
        let events = report.recipients.map { recipient in
            DeliveryEvent(
                messageID: messageID, recipient: recipient.address, kind: DeliveryEvent.Kind(recipient.action),
                code: recipient.status, diagnostic: recipient.diagnostic, permanent: recipient.isHardBounce)
        }
        return try await apply(events, messageID: messageID, workspaceID: workspaceID, source: "raw")
    }

    /// Applies a provider's events, each to the message it names, within `workspaceID` only.
    public func apply(_ events: [DeliveryEvent], workspaceID: String, source: String) async throws -> [Outcome] {
        var order: [String] = []
        var byMessage: [String: [DeliveryEvent]] = [:]
        for event in events {
            let key = SentMessage.key(event.messageID)
            if byMessage[key] == nil { order.append(key) }
            byMessage[key, default: []].append(event)
        }
        var outcomes: [Outcome] = []
        for key in order {
            let group = byMessage[key] ?? []
            outcomes.append(try await apply(group, messageID: group[0].messageID, workspaceID: workspaceID, source: source))
        }
        return outcomes
    }

    private func apply(_ events: [DeliveryEvent], messageID: String, workspaceID: String?, source: String) async throws -> Outcome {
        guard let sent = try await sentMessages.sentMessage(messageID: messageID),
            workspaceID.map({ $0 == sent.workspaceID }) ?? true,
            var run = try await runs.run(id: sent.runID, workspaceID: sent.workspaceID),
            let index = run.steps.firstIndex(where: { $0.stepID == sent.stepID })
        else {
            return .unmatched
        }
        let at = now()
        let recipients = Set(sent.recipients.map(Suppression.key(of:)))
        var outcome = Outcome(workspaceID: sent.workspaceID, runID: sent.runID, stepID: sent.stepID, deliveries: [], suppressed: [])
        var news: [(EmailEvent, DeliveryEvent, suppressed: Bool)] = []
        for event in events where recipients.contains(Suppression.key(of: event.recipient)) {
            let key = Suppression.key(of: event.recipient)
            let delivery = StepRecord.Delivery(
                status: event.kind.rawValue, recipient: event.recipient, code: event.code, diagnostic: event.diagnostic, at: at)
            let previous = run.steps[index].delivery.first { Suppression.key(of: $0.recipient) == key }
            outcome.deliveries.append(delivery)
            run.steps[index].delivery.removeAll { Suppression.key(of: $0.recipient) == key }
            run.steps[index].delivery.append(delivery)
            var suppressed = false
            if let reason = Self.suppressionReason(event) {
                let detail = [event.code, event.diagnostic].compactMap { $0 }.joined(separator: " ")
                let (_, created) = try await suppressions.add(
                    event.recipient, reason: reason, detail: detail.isEmpty ? nil : detail, in: sent.workspaceID)
                if created { outcome.suppressed.append(event.recipient) }
                suppressed = true
            }
            if let emailEvent = event.kind.emailEvent, previous?.status != event.kind.rawValue {
                news.append((emailEvent, event, suppressed))
            }
        }
        guard !outcome.deliveries.isEmpty else { return outcome }
        let started = try await eventRuns(for: news, after: run, stepIndex: index, source: source, at: at)
        // Beside the run, not by rewriting it: the run may still be executing a later step.
        try await runs.recordDeliveries(outcome.deliveries, runID: run.id, stepID: sent.stepID, inserting: started)
        outcome.startedRuns = started.map(\.id)
        if !started.isEmpty { wake() }
        return outcome
    }

    /// The runs that `news` start: one per enabled flow of the workspace listening for the event
    /// and per recipient — none when the message came from such a run, or from a flow that is
    /// one (a notification that bounces must not notify again).
    private func eventRuns(
        for news: [(EmailEvent, DeliveryEvent, suppressed: Bool)], after run: Run, stepIndex: Int, source: String, at: Date
    ) async throws -> [Run] {
        guard !news.isEmpty, !EmailEvent.isEventKind(run.trigger.kind) else { return [] }
        let workspaceFlows = try await flows.flows(workspaceID: run.workspaceID)
        if let sender = workspaceFlows.first(where: { $0.id == run.flowID }), case .email = sender.trigger { return [] }
        let step = run.steps[stepIndex]
        var subject: JSONValue = .null
        if case .object(let parameters)? = step.parameters, case .string(let text)? = parameters["subject"] { subject = .string(text) }
        var started: [Run] = []
        for (event, delivery, suppressed) in news {
            let body: JSONValue = .object([
                "event": .string(event.rawValue),
                "recipient": .string(delivery.recipient),
                "reason": .string(delivery.diagnostic ?? delivery.code ?? (event == .complained ? "Marked as spam" : "Not delivered")),
                "code": delivery.code.map(JSONValue.string) ?? .null,
                "diagnostic": delivery.diagnostic.map(JSONValue.string) ?? .null,
                "permanent": .bool(delivery.permanent),
                "suppressed": .bool(suppressed),
                "runId": .string(run.id),
                "flowId": .string(run.flowID),
                "stepId": .string(step.stepID),
                "messageId": .string(delivery.messageID),
                "subject": subject,
                "source": .string(source),
                "at": .string(Timestamp.string(at)),
            ])
            for flow in workspaceFlows where flow.enabled && flow.trigger == .email(event) {
                started.append(Run(
                    id: FlowService.makeRunID(), workspaceID: flow.workspaceID, flowID: flow.id,
                    trigger: TriggerPayload(kind: event.rawValue, body: body), createdAt: at))
            }
        }
        return started
    }

    /// Why an event suppresses its recipient: a complaint; a permanent failure whose status says
    /// the mailbox is gone — 5.1.x (bad address) or 5.2.1 (disabled), or no status at all. Not a
    /// policy block (5.7.x), a full mailbox (5.2.2), a delay or a delivery.
    static func suppressionReason(_ event: DeliveryEvent) -> Suppression.Reason? {
        switch event.kind {
        case .complained: return .complaint
        case .bounced:
            guard event.permanent else { return nil }
            guard let status = event.code else { return .bounce }
            return status.hasPrefix("5.1.") || status == "5.2.1" ? .bounce : nil
        case .delayed, .delivered: return nil
        }
    }
}

extension DeliveryEvent.Kind {
    /// The trigger this kind starts, if any.
    var emailEvent: EmailEvent? {
        switch self {
        case .bounced: .bounced
        case .complained: .complained
        case .delayed, .delivered: nil
        }
    }
}
