import DKIM
import Flows
import Nodes
import TestSupport
import Foundation
import Logging
import Vault
import Testing
import Workspaces

@Suite("smtp.send: DKIM signing with the workspace's sending domains")
struct SendSMTPSigningTests {
    static let message: [String: JSONValue] = [
        "from": "Team <team@Example.com>", "to": "grace@example.net", "subject": "Hello", "body": "Hi Grace",
    ]

    /// The header fields of what the transport received, by lowercase name.
    static func headerNames(_ bytes: [UInt8]) -> [String] {
        let text = String(decoding: bytes, as: UTF8.self)
        let head = text.components(separatedBy: "\r\n\r\n").first ?? ""
        return head.components(separatedBy: "\r\n").compactMap { line in
            guard let colon = line.firstIndex(of: ":"), line.first != " ", line.first != "\t" else { return nil }
            return line[..<colon].lowercased()
        }
    }

    @Test("every active key of the From domain signs (RSA and Ed25519 together), and the output says which")
    func signsWithActiveKeys() async throws {
        let harness = try await NodeHarness.make()
        _ = try await harness.domains.addKey(DomainKeyInput(domain: "example.com", selector: "rsa1"), in: "ws_1")
        _ = try await harness.domains.addKey(DomainKeyInput(domain: "example.com", selector: "ed1", algorithm: "ed25519-sha256"), in: "ws_1")
        // Waiting for its DNS record: inactive, so it does not sign.
        _ = try await harness.domains.addKey(DomainKeyInput(domain: "example.com", selector: "rsa2"), in: "ws_1")

        let output = try await harness.run(Self.message)
        let dkim = try #require(output[path: [.key("dkim")]])
        #expect(dkim == .array([
            .object(["domain": "example.com", "selector": "rsa1", "algorithm": "rsa-sha256"]),
            .object(["domain": "example.com", "selector": "ed1", "algorithm": "ed25519-sha256"]),
        ]))
        let sent = try #require(harness.transport.sent.last)
        #expect(Self.headerNames(sent.bytes).filter { $0 == "dkim-signature" }.count == 2)
        let text = String(decoding: sent.bytes, as: UTF8.self)
        #expect(text.contains("d=example.com; s=rsa1") && text.contains("d=example.com; s=ed1"))
    }

    @Test("a From domain without keys goes out unsigned; another workspace's keys never sign")
    func unsignedElsewhere() async throws {
        let harness = try await NodeHarness.make()
        _ = try await harness.domains.addKey(DomainKeyInput(domain: "other.example", selector: "s"), in: "ws_2")
        let output = try await harness.run(["from": "x@other.example", "to": "grace@example.net", "subject": "Hi", "body": "b"])
        #expect(output[path: [.key("dkim")]] == .array([]))
        #expect(!Self.headerNames(try #require(harness.transport.sent.last).bytes).contains("dkim-signature"))
    }

    @Test("dkimDomain picks the signing domain; one without an active key fails before anything is sent")
    func explicitDomain() async throws {
        let harness = try await NodeHarness.make()
        _ = try await harness.domains.addKey(DomainKeyInput(domain: "example.org", selector: "s"), in: "ws_1")
        var parameters = Self.message
        parameters["dkimDomain"] = "example.org"
        let output = try await harness.run(parameters)
        #expect(output[path: [.key("dkim"), .index(0), .key("domain")]] == "example.org")

        parameters["dkimDomain"] = "example.net"
        let error = try #require(await harness.failure(parameters))
        #expect(error.code == "EMESSAGE" && error.message.hasPrefix("dkimDomain: "))
        parameters["dkimDomain"] = "not a domain"
        #expect(try #require(await harness.failure(parameters)).message.hasPrefix("dkimDomain: "))
        #expect(harness.transport.sent.count == 1)
    }

    @Test("a key the vault cannot open fails the step (EDKIM, permanent) and nothing goes out unsigned")
    func unopenableKey() async throws {
        let harness = try await NodeHarness.make()
        _ = try await harness.domains.addKey(DomainKeyInput(domain: "example.com", selector: "s"), in: "ws_1")
        let otherVault = Vault(keyRing: KeyRing(single: MasterKey.generate()))
        let node = SendSMTPEmailNode(
            credentials: harness.credentials, domains: DomainService(store: harness.store, vault: otherVault),
            transport: harness.transport, fetcher: harness.fetcher, identity: .deterministic())
        var parameters = Self.message
        parameters["credential"] = .string(harness.relay.id)
        do throws(NodeError) {
            _ = try await node.execute(NodeContext(
                parameters: .object(parameters), stepOutputs: [:], workspaceID: "ws_1", flowID: "flow_1", runID: "run_1",
                stepID: "send", attempt: 1, logger: Logger(label: "test.nodes")))
            Issue.record("the step succeeded")
        } catch {
            #expect(error.code == "EDKIM" && error.disposition == .permanent)
        }
        #expect(harness.transport.sent.isEmpty)
    }

}
