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
        let runs = InMemoryRunStore(flows: InMemoryFlowStore())
        let sent = InMemorySentMessages()
        let store = InMemoryStore()
        var ingest: BounceIngest { BounceIngest(runs: runs, sentMessages: sent, suppressions: SuppressionService(store: store)) }

        /// A finished run whose step `send` sent `messageID` to `recipients`.
        func sentRun(_ runID: String, messageID: String, recipients: [String]) async throws {
            var run = Run(id: runID, workspaceID: "ws_1", flowID: "flow_1", trigger: TriggerPayload(kind: "manual"), createdAt: Date())
            run.handle(.claimed(owner: "w", leaseUntil: Date().addingTimeInterval(60)), now: Date())
            run.steps = [StepRecord(
                stepID: "send", type: "smtp.send", status: .succeeded, parameters: nil, output: .object(["messageId": .string(messageID)]),
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
}
