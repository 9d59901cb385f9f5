import Flows
import Foundation
import Logging
import MIME
import Nodes
import Testing
import TestSupport
import Workspaces

/// The Send SMTP Email node and the workspace's suppression list.
@Suite("Suppressed addresses are left out of the envelope")
struct SuppressionNodeTests {
    static func node(_ harness: NodeHarness) -> (SendSMTPEmailNode, SuppressionService) {
        let suppressions = SuppressionService(store: harness.store)
        let node = SendSMTPEmailNode(
            credentials: harness.credentials, domains: harness.domains, transport: harness.transport, fetcher: harness.fetcher,
            identity: .deterministic(), suppressions: suppressions)
        return (node, suppressions)
    }

    static func send(_ node: SendSMTPEmailNode, _ harness: NodeHarness, _ extra: [String: JSONValue] = [:]) async throws(NodeError) -> JSONValue {
        var parameters: [String: JSONValue] = [
            "credential": .string(harness.relay.id), "from": "sender@example.com", "to": "Ada <Ada@Example.com>, grace@example.com",
            "cc": "linus@example.com", "subject": "Hello", "body": "Hi",
        ]
        parameters.merge(extra) { $1 }
        return try await node.execute(NodeContext(
            parameters: .object(parameters), stepOutputs: [:], workspaceID: "ws_1", flowID: "flow_1", runID: "run_1", stepID: "send",
            attempt: 1, logger: Logger(label: "test")))
    }

    @Test("a suppressed recipient (matched whatever its case) is left out of the envelope, kept in the headers, and reported as suppressed")
    func leftOut() async throws {
        let harness = try await NodeHarness.make()
        let (node, suppressions) = Self.node(harness)
        try await suppressions.add("ada@example.com", reason: .bounce, detail: "5.1.1 unknown user", in: "ws_1")
        try await suppressions.add("grace@example.com", reason: .manual, in: "ws_2")
        let output = try await Self.send(node, harness)
        let sent = try #require(harness.transport.sent.first)
        #expect(sent.envelope.recipients == ["grace@example.com", "linus@example.com"], "another workspace's list does not count")
        #expect(String(decoding: sent.bytes, as: UTF8.self).contains("To: Ada <Ada@example.com>, grace@example.com")
            || String(decoding: sent.bytes, as: UTF8.self).contains("Ada <Ada@"), "the headers stay as written")
        guard case .object(let fields) = output, case .array(let rejected)? = fields["rejected"],
            case .object(let entry)? = rejected.first
        else { Issue.record("no rejected entry: \(output)"); return }
        #expect(rejected.count == 1)
        #expect(entry["address"] == .string("Ada@example.com") && entry["code"] == .string("suppressed"))
    }

    @Test("when every recipient is suppressed the step fails for good, naming them, and nothing is sent; ignoreSuppression sends anyway")
    func everyoneSuppressed() async throws {
        let harness = try await NodeHarness.make()
        let (node, suppressions) = Self.node(harness)
        for address in ["ada@example.com", "grace@example.com", "linus@example.com"] {
            try await suppressions.add(address, reason: .complaint, in: "ws_1")
        }
        do {
            _ = try await Self.send(node, harness)
            Issue.record("sent to suppressed addresses")
        } catch {
            #expect(error.code == "EENVELOPE" && error.disposition == .permanent)
            #expect(error.message.contains("suppression list") && error.message.contains("linus@example.com"))
        }
        #expect(harness.transport.sent.isEmpty)
        _ = try await Self.send(node, harness, ["ignoreSuppression": true])
        #expect(harness.transport.sent.first?.envelope.recipients.count == 3)
    }

    @Test("an address is one email address, or refused naming the field")
    func validation() async throws {
        let suppressions = SuppressionService(store: InMemoryStore())
        for bad in ["", "ada", "@example.com", "ada@", "Ada <ada@example.com>", "a b@example.com", "ada@example.com\r\nBcc: x@y.z"] {
            await #expect(throws: WorkspaceError.invalid("address", "Enter one email address, like ada@example.com"), "\(bad)") {
                try await suppressions.add(bad, reason: .manual, in: "ws_1")
            }
        }
        let (first, created) = try await suppressions.add("Ada@EXAMPLE.com", reason: .manual, in: "ws_1")
        #expect(created && first.address == "Ada@example.com")
        let (again, createdAgain) = try await suppressions.add("ada@example.com", reason: .bounce, in: "ws_1")
        #expect(!createdAgain && again.reason == .manual, "an address listed keeps its first reason")
    }
}
