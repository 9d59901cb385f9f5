import Crypto
import Flows
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
                #expect(try await client.call(.post, "/hooks/deliverability/\(intake)/ses", token: nil, json: "{}").status == .forbidden, "no SES keys set up")
                #expect(try await client.call(.post, "/hooks/deliverability/\(intake)/sparkpost", token: nil, json: "{}").status == .notFound)

                let rotated = try #require(try await client.call(.post, "/api/v1/credentials/\(credential)/intake", token: token)["intakeId"] as? String)
                #expect(rotated != intake)
                #expect(try await client.call(.post, "/hooks/deliverability/\(intake)/raw", token: nil, json: Self.report(recipient: "a@b.c", messageID: "<x@y.z>")).status == .notFound)
                #expect(try await client.call(.post, "/hooks/deliverability/\(rotated)/raw", token: nil, json: Self.report(recipient: "a@b.c", messageID: "<x@y.z>")).status == .ok)
            }
        }
    }

    static func mailgunCall(key: String, token: String, recipient: String, messageID: String, at: Date = Date()) -> String {
        let stamp = String(Int(at.timeIntervalSince1970))
        let mac = HMAC<SHA256>.authenticationCode(for: Data((stamp + token).utf8), using: SymmetricKey(data: Data(key.utf8)))
        let hex = mac.map { String(format: "%02x", $0) }.joined()
        return """
            {"signature":{"timestamp":"\(stamp)","token":"\(token)","signature":"\(hex)"},
             "event-data":{"event":"failed","severity":"permanent","recipient":"\(recipient)","message":{"headers":{"message-id":"\(messageID)"}},
               "delivery-status":{"code":550,"enhanced-code":"5.1.1","message":"5.1.1 no such user"}}}
            """
    }

    @Test("a provider's keys: set up by an admin, checked, never shown; a Mailgun call verified and applied once; forged, replayed or after removal refused with nothing changed")
    func providerKeys() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let token = try #require(try await client.call(.post, "/api/v1/workspaces", token: APIHarness.adminToken, json: #"{"name":"Providers"}"#)["token"] as? String)
                let credential = try #require(try await client.call(.post, "/api/v1/credentials", token: token, json: #"{"name":"Relay","host":"smtp.example.com"}"#)["id"] as? String)
                let intake = try await client.call(.get, "/api/v1/credentials/\(credential)/intake", token: token)
                let intakeID = try #require(intake["intakeId"] as? String)
                #expect((intake["providers"] as? [String: Any])?.keys.sorted() == ["mailgun", "postmark", "raw", "sendgrid", "ses"])

                let bad = try await client.call(.put, "/api/v1/credentials/\(credential)/intake/sendgrid", token: token, json: #"{"verificationKey":"bm90IGEga2V5"}"#)
                #expect(bad.status == .unprocessableContent && bad.errorField == "verificationKey")
                let foreign = try await client.call(.put, "/api/v1/credentials/\(credential)/intake/mailgun", token: token, json: #"{"password":"x"}"#)
                #expect(foreign.status == .unprocessableContent && foreign.errorField == "password")
                let set = try await client.call(.put, "/api/v1/credentials/\(credential)/intake/mailgun", token: token, json: #"{"signingKey":"mg-signing-key-123"}"#)
                #expect(set.status == .ok && ((set["providers"] as? [String: Any])?["mailgun"] as? [String: Any])?["configured"] as? Bool == true)
                #expect(!set.text.contains("mg-signing-key-123"))
                #expect(!(try await client.call(.get, "/api/v1/credentials/\(credential)/intake", token: token)).text.contains("mg-signing-key-123"))

                let store = harness.environment.storage.store
                let workspace = try #require(try await client.call(.get, "/api/v1/workspace", token: token)["id"] as? String)
                var run = Run(id: "run_mg", workspaceID: workspace, flowID: "flow_x", trigger: TriggerPayload(kind: "manual"), createdAt: Date())
                run.steps = [StepRecord(stepID: "send", type: "smtp.send", status: .succeeded, parameters: nil, output: nil, error: nil, attempts: 1, startedAt: Date(), finishedAt: Date())]
                try await store.enqueue([run])
                try await store.recordSentMessage(SentMessage(
                    messageID: "<mg1@example.com>", workspaceID: workspace, runID: "run_mg", stepID: "send", recipients: ["gone@example.com"], sentAt: Date()))

                let path = "/hooks/deliverability/\(intakeID)/mailgun"
                let forged = try await client.call(.post, path, token: nil, json: Self.mailgunCall(key: "other", token: "tok-1", recipient: "gone@example.com", messageID: "mg1@example.com"))
                #expect(forged.status == .unauthorized && forged.errorCode == "bad_signature")
                let stale = try await client.call(.post, path, token: nil, json: Self.mailgunCall(key: "mg-signing-key-123", token: "tok-0", recipient: "gone@example.com", messageID: "mg1@example.com", at: Date() - 3_600))
                #expect(stale.status == .unauthorized)
                #expect(try await store.run(id: "run_mg", workspaceID: workspace)?.steps.first?.delivery.isEmpty == true)
                #expect(try await store.suppressions(workspaceID: workspace, limit: 10).isEmpty)
                #expect(try await client.call(.post, "/hooks/deliverability/\(credential)/mailgun", token: nil, json: Self.mailgunCall(key: "mg-signing-key-123", token: "tok-1", recipient: "gone@example.com", messageID: "mg1@example.com")).status == .notFound)

                let call = Self.mailgunCall(key: "mg-signing-key-123", token: "tok-1", recipient: "gone@example.com", messageID: "mg1@example.com")
                let taken = try await client.call(.post, path, token: nil, json: call)
                #expect(taken.status == .ok && taken["events"] as? Int == 1 && taken["matched"] as? Int == 1)
                #expect(try await store.run(id: "run_mg", workspaceID: workspace)?.steps.first?.delivery.map(\.status) == ["bounced"])
                #expect(try await store.suppressions(workspaceID: workspace, limit: 10).map(\.address) == ["gone@example.com"])
                let replayed = try await client.call(.post, path, token: nil, json: call)
                #expect(replayed.status == .conflict && replayed.errorCode == "replayed")

                #expect(try await client.call(.delete, "/api/v1/credentials/\(credential)/intake/mailgun", token: token).status == .ok)
                let removed = try await client.call(.post, path, token: nil, json: Self.mailgunCall(key: "mg-signing-key-123", token: "tok-2", recipient: "gone@example.com", messageID: "mg1@example.com"))
                #expect(removed.status == .forbidden && removed.errorCode == "not_configured")
            }
        }
    }
}
