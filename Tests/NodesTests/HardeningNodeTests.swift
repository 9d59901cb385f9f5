import Flows
import Foundation
import Logging
import MIME
import Nodes
import Testing
import TestSupport
import Workspaces

/// Regression tests for the security review's findings about what a message may carry: each
/// replays the finding's input through a flow run or the node, and asserts what reached the
/// transport (the SMTP server's view).
@Suite("Hardening: recipients a webhook cannot add, addresses that cannot hide, per-message caps")
struct HardeningNodeTests {
    /// The flow from finding 1: a display name and an address, both from the webhook body.
    static let greeting = FlowStep(
        id: "send", type: "smtp.send",
        parameters: [
            "credential": "{{trigger.body.credential}}", "to": "{{trigger.body.name}} <{{trigger.body.email}}>",
            "from": "Ann <ann@example.com>", "subject": "Welcome", "body": "Hello",
        ])

    static func run(_ harness: NodeHarness, body: [String: JSONValue]) async -> Run {
        let processor = RunProcessor(registry: NodeRegistry([harness.node]), now: { Date() }, jitter: { 0 })
        var body = body
        body["credential"] = .string(harness.relay.id)
        var run = Run(id: "run_1", workspaceID: "ws_1", flowID: "flow_1", trigger: TriggerPayload(kind: "webhook", body: .object(body)), createdAt: Date())
        run.handle(.claimed(owner: "test", leaseUntil: Date().addingTimeInterval(60)), now: Date())
        let flow = Flow(
            id: "flow_1", workspaceID: "ws_1", name: "Welcome", trigger: .manual, steps: [greeting], enabled: true,
            retry: RetryPolicy(maxAttempts: 1), createdAt: Date(), updatedAt: Date())
        return await processor.process(run, flow: flow, logger: Logger(label: "test")) { _ in false }
    }

    @Test("finding 1: a separator followed by a combining mark cannot add a recipient", arguments: [
        ",", ";", "<", ">", "\"", ":", "\\",
    ])
    func combiningMarkAfterSeparator(separator: String) async throws {
        let harness = try await NodeHarness.make()
        let name = "attacker@evil.example" + separator + "\u{301}Ada"
        let ended = await Self.run(harness, body: ["name": .string(name), "email": "ada@example.com"])
        #expect(ended.status == .failed)
        #expect(ended.error?.code == "ETEMPLATE")
        #expect(ended.error?.message.contains("trigger.body.name") == true)
        #expect(harness.transport.sent.isEmpty, "nothing reached the server, least of all the attacker's address")
    }

    @Test("finding 1: the honest case still sends to exactly one recipient")
    func honestName() async throws {
        let harness = try await NodeHarness.make()
        let ended = await Self.run(harness, body: ["name": "Ada Lovelace", "email": "ada@example.com"])
        #expect(ended.status == .succeeded, "\(String(describing: ended.error))")
        #expect(harness.transport.sent.map(\.envelope.recipients) == [["ada@example.com"]])
    }

    @Test("finding 11: control, bidi and invisible characters in an address are refused before sending", arguments: [
        "a\u{0085}b@example.com", "a\u{202E}b@example.com", "a\u{200B}@example.com", "ada@exa\u{200D}mple.com",
        "a\u{00A0}b@example.com", "a\u{2066}b@example.com", "Ada \u{202E}moc.elpmaxe <ada@example.com>", "a\u{FEFF}@example.com",
    ])
    func deceptiveAddress(to: String) async throws {
        let harness = try await NodeHarness.make()
        let error = await harness.failure(["to": .string(to), "from": "ann@example.com", "subject": "s", "body": "b"])
        #expect(error?.code == "EMESSAGE")
        #expect(error?.message.hasPrefix("to: Invalid address: U+") == true, "\(String(describing: error))")
        #expect(harness.transport.sent.isEmpty)
    }

    @Test("finding 11: an emoji sequence in a display name is still a name")
    func emojiDisplayName() async throws {
        let harness = try await NodeHarness.make()
        _ = try await harness.run([
            "to": "\"Ada 👩‍💻\" <ada@example.com>", "from": "ann@example.com", "subject": "s", "body": "b",
        ])
        #expect(harness.transport.sent.count == 1)
    }

    @Test("finding 11: a right-to-left override in a file name is neutralised, not sent")
    func neutralisedFilename() async throws {
        let harness = try await NodeHarness.make()
        _ = try await harness.run([
            "to": "ada@example.com", "from": "ann@example.com", "subject": "s", "body": "b",
            "attachments": [["source": "base64", "content": "aGVsbG8=", "filename": "invoice\u{202E}fdp.exe"]],
        ])
        let sent = try #require(harness.transport.sent.first)
        let text = String(decoding: sent.bytes, as: UTF8.self)
        #expect(!text.contains("\u{202E}"))
        #expect(!text.unicodeScalars.contains("\u{202E}"))
        #expect(text.contains("invoice_fdp.exe"))
    }

    @Test("finding 12: more than 100 recipients, or 20 attachments, are refused before any fetch or send")
    func perMessageCaps() async throws {
        let fetcher = FakeFetcher()
        let harness = try await NodeHarness.make(fetcher: fetcher)
        let list = (1...101).map { "r\($0)@example.com" }.joined(separator: ", ")
        let tooMany = await harness.failure(["to": .string(list), "from": "ann@example.com", "subject": "s", "body": "b"])
        #expect(tooMany?.code == "EMESSAGE")
        #expect(tooMany?.message.hasPrefix("to: At most 100 recipients") == true, "\(String(describing: tooMany))")

        let hundred = (1...100).map { "r\($0)@example.com" }.joined(separator: ", ")
        _ = try await harness.run(["to": .string(hundred), "from": "ann@example.com", "subject": "s", "body": "b"])
        #expect(harness.transport.sent.count == 1)

        let attachments: [JSONValue] = (1...21).map { ["source": "url", "url": .string("https://files.example.com/\($0).pdf")] }
        let tooManyFiles = await harness.failure([
            "to": "ada@example.com", "from": "ann@example.com", "subject": "s", "body": "b", "attachments": .array(attachments),
        ])
        #expect(tooManyFiles?.message.hasPrefix("attachments: At most 20 attachments") == true, "\(String(describing: tooManyFiles))")
        #expect(fetcher.requests.isEmpty, "no URL was fetched")
        #expect(harness.transport.sent.count == 1)
    }
}
