import Flows
import Foundation
import MIME
import Nodes
import Secrets
import SMTPCore
import Testing
import Workspaces

/// What a send asks of the server so that bounces come back to the step.
@Suite("Delivery status notifications and provider metadata on sends")
struct DeliveryNotificationTests {
    static let parameters: [String: JSONValue] = ["from": "sender@example.com", "to": "ada@example.com", "subject": "Hi", "body": "Hello"]

    @Test("by default a send asks for failure and delay notifications, headers only, with the Message-ID as ENVID")
    func onByDefault() async throws {
        let harness = try await NodeHarness.make()
        #expect(harness.relay.deliveryNotifications)
        _ = try await harness.run(Self.parameters)
        let sent = try #require(harness.transport.sent.first)
        let dsn = try #require(sent.dsn)
        #expect(dsn.notify == ["FAILURE", "DELAY"] && !dsn.returnFullMessage)
        let messageID = try #require(String(decoding: sent.bytes, as: UTF8.self).split(separator: "\r\n").first { $0.hasPrefix("Message-ID: ") })
        #expect("<" + (dsn.envelopeID ?? "") + ">" == messageID.dropFirst("Message-ID: ".count))
    }

    @Test("a credential with delivery notifications turned off asks for none")
    func off() async throws {
        let harness = try await NodeHarness.make()
        var input = CredentialInput()
        input.deliveryNotifications = false
        _ = try await harness.credentials.update(harness.relay.id, in: "ws_1", with: input)
        _ = try await harness.run(Self.parameters)
        #expect(harness.transport.sent.first.map { $0.dsn == nil } == true)
    }

    @Test("through Postmark the message carries its Message-ID as X-PM-Metadata, which Postmark's webhooks return; elsewhere it does not")
    func postmarkMetadata() async throws {
        let harness = try await NodeHarness.make()
        _ = try await harness.run(Self.parameters)
        let postmark = try await harness.credentials.create(
            CredentialInput(name: "postmark", host: "smtp.postmarkapp.com", username: .some("token"), password: .some(.init("token"))), in: "ws_1")
        var parameters = Self.parameters
        parameters["credential"] = .string(postmark.id)
        _ = try await harness.run(parameters)
        let texts = harness.transport.sent.map { String(decoding: $0.bytes, as: UTF8.self) }
        #expect(texts.count == 2 && !texts[0].contains("X-PM-Metadata"))
        #expect(texts[1].hasPrefix("X-PM-Metadata-posthorn-message-id: <"))
    }
}
