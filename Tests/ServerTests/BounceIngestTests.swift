import Flows
import Foundation
import Server
import Testing
import Workspaces

/// `posthorn bounce ingest`'s service: a bounce matched to its step, recorded, and suppressing
/// only what bounced for good.
@Suite("Bounce ingest: matched to the step, recorded, suppressed when the mailbox is gone")
struct BounceIngestTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("BouncesTests/Corpus")

    struct World {
        let flows = InMemoryFlowStore()
        let runs: InMemoryRunStore
        let sent = InMemorySentMessages()
        let store = InMemoryStore()
        var ingest: BounceIngest { BounceIngest(runs: runs, flows: flows, sentMessages: sent, suppressions: SuppressionService(store: store)) }

        init() { runs = InMemoryRunStore(flows: flows) }

        /// A flow of the workspace started by `trigger`.
        func flow(_ id: String, trigger: FlowTrigger, enabled: Bool = true) async throws {
            try await flows.insertFlow(Flow(
                id: id, workspaceID: "ws_1", name: id, trigger: trigger,
                steps: [FlowStep(id: "notify", type: "debug.echo", parameters: .object([:]))], enabled: enabled,
                retry: RetryPolicy(), createdAt: Date(), updatedAt: Date()))
        }

        /// A finished run whose step `send` sent `messageID` to `recipients`.
        func sentRun(
            _ runID: String, messageID: String, recipients: [String], flowID: String = "flow_1", triggerKind: String = "manual"
        ) async throws {
            var run = Run(id: runID, workspaceID: "ws_1", flowID: flowID, trigger: TriggerPayload(kind: triggerKind), createdAt: Date())
            run.handle(.claimed(owner: "w", leaseUntil: Date().addingTimeInterval(60)), now: Date())
            run.steps = [StepRecord(
                stepID: "send", type: "smtp.send", status: .succeeded, parameters: .object(["subject": .string("Welcome")]), output: .object(["messageId": .string(messageID)]),
                error: nil, attempts: 1, startedAt: Date(), finishedAt: Date())]
            run.handle(.completed, now: Date())
            try await runs.enqueue([run])
            try await sent.recordSentMessage(SentMessage(
                messageID: messageID, workspaceID: "ws_1", runID: runID, stepID: "send", recipients: recipients, sentAt: Date()))
        }
    }

    static func report(status: String, action: String = "failed", recipient: String, messageID: String) -> [UInt8] {
        Array("""
            From: MAILER-DAEMON@mx.example.net\r
            Subject: Delivery Status Notification\r
            MIME-Version: 1.0\r
            Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r
            \r
            --b\r
            Content-Type: text/plain\r
            \r
            Not delivered.\r
            --b\r
            Content-Type: message/delivery-status\r
            \r
            Reporting-MTA: dns; mx.example.net\r
            \r
            Final-Recipient: rfc822; \(recipient)\r
            Action: \(action)\r
            Status: \(status)\r
            Diagnostic-Code: smtp; 550 \(status) refused\r
            \r
            --b\r
            Content-Type: text/rfc822-headers\r
            \r
            Message-ID: \(messageID)\r
            \r
            --b--\r

            """.utf8)
    }

    @Test("a 5.1.1 report (Postfix's, from the corpus) marks the step's recipient bounced and suppresses the address")
    func hardBounce() async throws {
        let world = World()
        try await world.sentRun("run_01", messageID: "<run_01.send@posthorn.example>", recipients: ["grace@example.net", "ada@example.net"])
        let message = try Data(contentsOf: Self.corpus.appendingPathComponent("postfix-user-unknown.eml"))
        let outcome = try await world.ingest.ingest(Array(message))
        #expect(outcome.matched && outcome.runID == "run_01" && outcome.stepID == "send")
        #expect(outcome.suppressed == ["grace@example.net"])
        let step = try #require(try await world.runs.run(id: "run_01", workspaceID: "ws_1")?.steps.first)
        #expect(step.delivery.map(\.status) == ["bounced"] && step.delivery.first?.code == "5.1.1" && step.delivery.first?.recipient == "grace@example.net")
        #expect(try await world.store.suppressedKeys(workspaceID: "ws_1", among: ["grace@example.net", "ada@example.net"]) == ["grace@example.net"])
    }

    @Test("a policy block (5.7.1) and a delay are recorded but suppress nothing; a later report replaces the earlier for the address")
    func policyAndDelay() async throws {
        let world = World()
        try await world.sentRun("run_02", messageID: "<m2@posthorn.example>", recipients: ["cfo@bank.example"])
        _ = try await world.ingest.ingest(Self.report(status: "4.4.7", action: "delayed", recipient: "cfo@bank.example", messageID: "<m2@posthorn.example>"))
        let outcome = try await world.ingest.ingest(Self.report(status: "5.7.1", recipient: "cfo@bank.example", messageID: "<m2@posthorn.example>"))
        #expect(outcome.matched && outcome.suppressed.isEmpty)
        let step = try #require(try await world.runs.run(id: "run_02", workspaceID: "ws_1")?.steps.first)
        #expect(step.delivery.map(\.status) == ["bounced"] && step.delivery.first?.code == "5.7.1")
        #expect(try await world.store.suppressions(workspaceID: "ws_1", limit: 10).isEmpty)
    }

    @Test("a report about an unknown message, or naming someone the message was not sent to, changes nothing")
    func unknownChangesNothing() async throws {
        let world = World()
        try await world.sentRun("run_03", messageID: "<m3@posthorn.example>", recipients: ["ada@example.net"])
        let unknown = try await world.ingest.ingest(Self.report(status: "5.1.1", recipient: "ada@example.net", messageID: "<other@example.com>"))
        #expect(!unknown.matched && unknown.suppressed.isEmpty)
        let stranger = try await world.ingest.ingest(Self.report(status: "5.1.1", recipient: "ceo@example.net", messageID: "<m3@posthorn.example>"))
        #expect(stranger.deliveries.isEmpty && stranger.suppressed.isEmpty)
        #expect(try await world.runs.run(id: "run_03", workspaceID: "ws_1")?.steps.first?.delivery.isEmpty == true)
        #expect(try await world.store.suppressions(workspaceID: "ws_1", limit: 10).isEmpty)
    }

    // MARK: email.bounced and email.complained flows

    @Test("a bounce starts each enabled email.bounced flow once, with the original run, step, recipient and reason; the same report again starts nothing")
    func bounceStartsFlows() async throws {
        let world = World()
        try await world.flow("notify", trigger: .email(.bounced))
        try await world.flow("off", trigger: .email(.bounced), enabled: false)
        try await world.flow("complaints", trigger: .email(.complained))
        try await world.sentRun("run_10", messageID: "<m10@posthorn.example>", recipients: ["gone@example.net", "fine@example.net"])
        let report = Self.report(status: "5.1.1", recipient: "gone@example.net", messageID: "<m10@posthorn.example>")
        let outcome = try await world.ingest.ingest(report)
        #expect(outcome.startedRuns.count == 1)
        let started = try #require(try await world.runs.run(id: outcome.startedRuns[0], workspaceID: "ws_1"))
        #expect(started.flowID == "notify" && started.status == .queued && started.trigger.kind == "email.bounced")
        guard case .object(let body) = started.trigger.body else { Issue.record("body is an object"); return }
        #expect(body["recipient"] == .string("gone@example.net") && body["runId"] == .string("run_10") && body["stepId"] == .string("send"))
        #expect(body["code"] == .string("5.1.1") && body["reason"] == .string("550 5.1.1 refused") && body["subject"] == .string("Welcome"))
        #expect(body["suppressed"] == .bool(true) && body["source"] == .string("raw") && body["flowId"] == .string("flow_1"))
        #expect(try await world.ingest.ingest(report).startedRuns.isEmpty, "a bounce already recorded starts no second run")
    }

    @Test("mail sent by an email.bounced run, or by a flow listening for bounces, starts no further run when it bounces too")
    func noLoops() async throws {
        let world = World()
        try await world.flow("notify", trigger: .email(.bounced))
        try await world.sentRun("run_11", messageID: "<m11@posthorn.example>", recipients: ["author@example.net"], flowID: "notify", triggerKind: "email.bounced")
        let outcome = try await world.ingest.ingest(Self.report(status: "5.1.1", recipient: "author@example.net", messageID: "<m11@posthorn.example>"))
        #expect(outcome.matched && outcome.startedRuns.isEmpty)
        // The notifier run by hand (a test run): its flow listens for bounces, so still nothing.
        try await world.sentRun("run_12", messageID: "<m12@posthorn.example>", recipients: ["author@example.net"], flowID: "notify", triggerKind: "manual")
        #expect(try await world.ingest.ingest(Self.report(status: "5.1.1", recipient: "author@example.net", messageID: "<m12@posthorn.example>")).startedRuns.isEmpty)
        #expect(try await world.runs.runs(workspaceID: "ws_1", flowID: "notify", status: nil, limit: 10, before: nil).count == 2)
    }

    @Test("an ARF complaint marks the recipient complained, suppresses it as a complaint and starts email.complained flows, not email.bounced ones")
    func complaint() async throws {
        let world = World()
        try await world.flow("bounces", trigger: .email(.bounced))
        try await world.flow("complaints", trigger: .email(.complained))
        try await world.sentRun("run_10", messageID: "<run_10.send@posthorn.example>", recipients: ["reader@isp.example"])
        let message = try Data(contentsOf: Self.corpus.appendingPathComponent("arf-complaint.eml"))
        let outcome = try await world.ingest.ingest(Array(message))
        #expect(outcome.deliveries.map(\.status) == ["complained"] && outcome.suppressed == ["reader@isp.example"])
        let startedID = try #require(outcome.startedRuns.first)
        let started = try #require(try await world.runs.run(id: startedID, workspaceID: "ws_1"))
        #expect(started.flowID == "complaints" && started.trigger.kind == "email.complained" && outcome.startedRuns.count == 1)
        #expect(try await world.store.suppressions(workspaceID: "ws_1", limit: 10).map(\.reason) == [.complaint])
    }

    @Test("a DSN that lost the returned headers is matched by its ENVID (the Message-ID, xtext)")
    func envelopeID() async throws {
        let world = World()
        try await world.sentRun("run_13", messageID: "<a+b=c@posthorn.example>", recipients: ["gone@example.net"])
        let envid = try #require(EnvelopeID.make(messageID: "<a+b=c@posthorn.example>"))
        #expect(envid == "a+2Bb+3Dc@posthorn.example")
        #expect(EnvelopeID.messageID(from: envid) == "<a+b=c@posthorn.example>")
        let report = Array("""
            From: MAILER-DAEMON@mx.example.net\r
            Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r
            \r
            --b\r
            Content-Type: message/delivery-status\r
            \r
            Reporting-MTA: dns; mx.example.net\r
            Original-Envelope-Id: \(envid)\r
            \r
            Final-Recipient: rfc822; gone@example.net\r
            Action: failed\r
            Status: 5.1.1\r
            \r
            --b--\r

            """.utf8)
        let outcome = try await world.ingest.ingest(report)
        #expect(outcome.runID == "run_13" && outcome.suppressed == ["gone@example.net"])
    }

    @Test("a bounce for a run still executing a later step is kept when the executor writes the run again (regression: the ingest rewrote the whole run)")
    func runStillExecuting() async throws {
        let world = World()
        var run = Run(id: "run_20", workspaceID: "ws_1", flowID: "flow_1", trigger: TriggerPayload(kind: "manual"), createdAt: Date())
        run.handle(.claimed(owner: "w", leaseUntil: Date().addingTimeInterval(60)), now: Date())
        run.steps = [StepRecord(
            stepID: "send", type: "smtp.send", status: .succeeded, parameters: nil, output: nil, error: nil, attempts: 1,
            startedAt: Date(), finishedAt: Date())]
        try await world.runs.enqueue([run])
        try await world.sent.recordSentMessage(SentMessage(
            messageID: "<m20@posthorn.example>", workspaceID: "ws_1", runID: "run_20", stepID: "send", recipients: ["gone@example.net"], sentAt: Date()))
        _ = try await world.ingest.ingest(Self.report(status: "5.1.1", recipient: "gone@example.net", messageID: "<m20@posthorn.example>"))
        // The executor, holding its own copy, runs the next step and finishes.
        run.steps.append(StepRecord(stepID: "wait", type: "debug.echo", status: .succeeded, parameters: nil, output: nil, error: nil, attempts: 1, startedAt: Date(), finishedAt: Date()))
        run.handle(.completed, now: Date())
        try await world.runs.save(run)
        let stored = try #require(try await world.runs.run(id: "run_20", workspaceID: "ws_1"))
        #expect(stored.status == .succeeded && stored.steps.count == 2)
        #expect(stored.steps[0].delivery.map(\.status) == ["bounced"])
    }
}
