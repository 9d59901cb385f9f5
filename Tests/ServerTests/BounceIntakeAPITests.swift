import Foundation
import HTTPTypes
import HummingbirdTesting
import Server
import Storage
import Testing
import Workspaces

/// A credential's bounce intake address and `POST /hooks/deliverability/{intakeId}/raw`.
@Suite("Bounce intake API")
struct BounceIntakeAPITests {
    static func report(recipient: String, messageID: String) -> String {
        """
        From: MAILER-DAEMON@mx.example.net\r
        MIME-Version: 1.0\r
        Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r
        \r
        --b\r
        Content-Type: message/delivery-status\r
        \r
        Reporting-MTA: dns; mx.example.net\r
        \r
        Final-Recipient: rfc822; \(recipient)\r
        Action: failed\r
        Status: 5.1.1\r
        \r
        --b\r
        Content-Type: text/rfc822-headers\r
        \r
        Message-ID: \(messageID)\r
        \r
        --b--\r

        """
    }

    @Test("the intake id is made once, rotated on request (the old one then 404s), and only it works: not a credential id, not another provider; a bounce is matched within its workspace only")
    func intake() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let token = try #require(try await client.call(.post, "/api/v1/workspaces", token: APIHarness.adminToken, json: #"{"name":"Bounces"}"#)["token"] as? String)
                let other = try #require(try await client.call(.post, "/api/v1/workspaces", token: APIHarness.adminToken, json: #"{"name":"Other"}"#)["token"] as? String)
                let credential = try #require(try await client.call(.post, "/api/v1/credentials", token: token, json: #"{"name":"Relay","host":"smtp.example.com"}"#)["id"] as? String)
                let otherCredential = try #require(try await client.call(.post, "/api/v1/credentials", token: other, json: #"{"name":"Relay","host":"smtp.example.com"}"#)["id"] as? String)
                let first = try await client.call(.get, "/api/v1/credentials/\(credential)/intake", token: token)
                let intake = try #require(first["intakeId"] as? String)
                #expect(intake.hasPrefix("bin_") && intake.count == 30 && first["path"] as? String == "/hooks/deliverability/\(intake)/raw")
                #expect(try await client.call(.get, "/api/v1/credentials/\(credential)/intake", token: token)["intakeId"] as? String == intake)
                #expect(try await client.call(.get, "/api/v1/credentials/\(credential)/intake", token: other).status == .notFound)

                // A message of each workspace, as the node remembers them.
                let store = harness.environment.storage.store
                let workspace = try #require(try await client.call(.get, "/api/v1/workspace", token: token)["id"] as? String)
                try await store.recordSentMessage(SentMessage(
                    messageID: "<m1@example.com>", workspaceID: workspace, runID: "run_missing", stepID: "send", recipients: ["ada@example.com"], sentAt: Date()))
                let otherIntake = try #require(try await client.call(.get, "/api/v1/credentials/\(otherCredential)/intake", token: other)["intakeId"] as? String)

                let unknown = try await client.call(.post, "/hooks/deliverability/\(intake)/raw", token: nil, json: Self.report(recipient: "ada@example.com", messageID: "<nope@example.com>"))
                #expect(unknown.status == .ok && unknown["matched"] as? Bool == false)
                let elsewhere = try await client.call(.post, "/hooks/deliverability/\(otherIntake)/raw", token: nil, json: Self.report(recipient: "ada@example.com", messageID: "<m1@example.com>"))
                #expect(elsewhere.status == .ok && elsewhere["matched"] as? Bool == false, "another workspace's intake matches nothing of this one")
                #expect(try await client.call(.post, "/hooks/deliverability/\(intake)/raw", token: nil, json: "Subject: hello\r\n\r\nnot a bounce").status == .unprocessableContent)
                #expect(try await client.call(.post, "/hooks/deliverability/\(credential)/raw", token: nil, json: Self.report(recipient: "a@b.c", messageID: "<m1@example.com>")).status == .notFound)
                #expect(try await client.call(.post, "/hooks/deliverability/\(intake)/ses", token: nil, json: "{}").status == .notFound)

                let rotated = try #require(try await client.call(.post, "/api/v1/credentials/\(credential)/intake", token: token)["intakeId"] as? String)
                #expect(rotated != intake)
                #expect(try await client.call(.post, "/hooks/deliverability/\(intake)/raw", token: nil, json: Self.report(recipient: "a@b.c", messageID: "<x@y.z>")).status == .notFound)
                #expect(try await client.call(.post, "/hooks/deliverability/\(rotated)/raw", token: nil, json: Self.report(recipient: "a@b.c", messageID: "<x@y.z>")).status == .ok)
            }
        }
    }
}
