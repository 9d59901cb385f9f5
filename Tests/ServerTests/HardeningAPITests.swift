import Foundation
import HTTPTypes
import HummingbirdTesting
import Server
import Testing

/// Regression tests for the review's findings that an API caller can trigger: each replays the
/// finding's request and asserts the answer a client sees.
@Suite("Hardening: hostile requests get 4xx and change nothing")
struct HardeningAPITests {
    @Test("finding 2: a cursor whose time does not fit is 422 naming the cursor (it crashed the server)", arguments: [
        "9223372036854775807_x", "-9223372036854775808_x", "253402300800000_x", "99999999999999999999_x",
        "1700000000000_" + String(repeating: "a", count: 65), "1700000000000_",
    ])
    func hostileCursor(cursor: String) async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let response = try await client.call(.get, "/api/v1/runs?cursor=\(cursor)", token: token)
                #expect(response.status == .unprocessableContent)
                #expect(response.errorField == "cursor")
                #expect(try await client.call(.get, "/healthz", token: nil).status == .ok)
            }
        }
    }

    @Test("finding 10: webhook bodies nested 65, 511, 512 and 600 deep are 400 and store no run", arguments: [65, 511, 512, 600])
    func deepWebhookBody(depth: Int) async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.withEngine {
                try await harness.test { client in
                    let flow = try await WebhookAPITests.makeFlow(client, token: token, json: FlowJSON.webhook(name: "Deep"))
                    let body = #"{"a":"# + String(repeating: "[", count: depth - 1) + String(repeating: "]", count: depth - 1) + "}"
                    let response = try await client.send(flow.hook, headers: WebhookAPITests.json, body: body)
                    #expect(response.status == .badRequest, "\(response.text)")
                    #expect(response.errorCode == "invalid_json")
                    #expect(response.text.contains("nested deeper than 64 levels"))
                    let list = try await client.call(.get, "/api/v1/runs", token: token)
                    #expect((list["items"] as? [Any])?.isEmpty == true)
                    let shallow = #"{"a":"# + String(repeating: "[", count: 63) + String(repeating: "]", count: 63) + "}"
                    #expect(try await client.send(flow.hook, headers: WebhookAPITests.json, body: shallow).status == .accepted)
                }
            }
        }
    }

    @Test("finding 10: API bodies deeper than 64 levels are 400, not a decoder's 500")
    func deepAPIBody() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let deep = #"{"name":"Deep","trigger":{"type":"manual"},"steps":[{"id":"a","type":"debug.echo","parameters":{"v":"#
                    + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + "}}]}"
                let flow = try await client.call(.post, "/api/v1/flows", token: token, json: deep)
                #expect(flow.status == .badRequest, "\(flow.text)")
                let credential = try await client.call(
                    .post, "/api/v1/credentials", token: token, json: #"{"name":"#
                        + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + "}")
                #expect(credential.status == .badRequest, "\(credential.text)")
            }
        }
    }

    @Test("finding 12: headers that carry credentials are redacted in the run; harmless ones stay")
    func webhookHeaderRedaction() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.withEngine {
                try await harness.test { client in
                    let flow = try await WebhookAPITests.makeFlow(client, token: token, json: FlowJSON.webhook(name: "Hook"))
                    let accepted = try await client.send(flow.hook + "?token=canary0008&page=2&key=canary0009", headers: [
                        "Content-Type": "application/json", "X-Api-Key": "canary-api-key-0001",
                        "X-Hub-Signature-256": "sha256=canary0002", "X-Shopify-Hmac-Sha256": "canary0003",
                        "X-Custom": "Bearer canary0004", "X-Forwarded-Token-Like": "ghp_canary0005",
                        "X-Opaque": "c4n4ryc4n4ryc4n4ryc4n4ryc4n4ry0006aa", "Proxy-Authorization": "Basic canary0007",
                        "X-GitHub-Event": "push", "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
                    ], body: "{}")
                    #expect(accepted.status == .accepted)
                    let run = try await client.call(.get, "/api/v1/runs/\(try #require(accepted["runId"] as? String))", token: token)
                    #expect(!run.text.contains("canary"), "\(run.text)")
                    let headers = try #require((run["trigger"] as? [String: Any])?["headers"] as? [String: String])
                    #expect(headers["x-api-key"] == "<redacted>")
                    #expect(headers["x-hub-signature-256"] == "<redacted>")
                    #expect(headers["proxy-authorization"] == nil)
                    #expect(headers["x-github-event"] == "push")
                    #expect(headers["x-github-delivery"] == "72d3162e-cc78-11e3-81ab-4c9367dc0958", "a UUID is not a secret")
                    let query = try #require((run["trigger"] as? [String: Any])?["query"] as? [String: String])
                    #expect(query == ["token": "<redacted>", "key": "<redacted>", "page": "2"])
                }
            }
        }
    }

    @Test("finding 12: a workspace names, lists and revokes its API tokens; a revoked token is 401")
    func apiTokens() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            let other = try await harness.workspace("Other")
            try await harness.test { client in
                let created = try await client.call(.post, "/api/v1/tokens", token: token, json: #"{"name":"CRM sync"}"#)
                #expect(created.status == .created, "\(created.text)")
                let value = try #require(created["token"] as? String)
                let id = try #require(created["id"] as? String)
                #expect(value.hasPrefix("ph_"))
                #expect(try await client.call(.get, "/api/v1/workspace", token: value)["name"] as? String == "Team")

                let list = try await client.call(.get, "/api/v1/tokens", token: token)
                let items = try #require(list["items"] as? [[String: Any]])
                #expect(items.map { $0["name"] as? String } == ["default", "CRM sync"])
                #expect(items.last?["createdBy"] as? String == items.first?["id"] as? String, "minted with the default token")
                #expect(items.first?["createdBy"] is NSNull)
                #expect(!list.text.contains(value), "a list never shows a token")
                #expect(items.first?["lastUsedAt"] is String, "the default token was just used")

                #expect(try await client.call(.post, "/api/v1/tokens", token: token, json: #"{"name":"CRM sync"}"#).status == .conflict)
                #expect(try await client.call(.delete, "/api/v1/tokens/\(id)", token: other).status == .notFound)
                #expect(try await client.call(.delete, "/api/v1/tokens/\(id)", token: token).status == .noContent)
                #expect(try await client.call(.get, "/api/v1/workspace", token: value).status == .unauthorized)
                #expect(try await client.call(.get, "/api/v1/workspace", token: token).status == .ok, "the others still work")
            }
        }
    }

    @Test("finding 3: POST /runs/{id}/cancel ends a queued run at once; a finished one is 409; another workspace's is 404")
    func cancelRoute() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            let other = try await harness.workspace("Other")
            try await harness.withEngine {
                try await harness.test { client in
                    let flow = try await client.call(.post, "/api/v1/flows", token: token, json: FlowJSON.manual(name: "By hand"))
                    let flowID = try #require(flow["id"] as? String)
                    let started = try await client.call(.post, "/api/v1/flows/\(flowID)/runs", token: token, json: "{}")
                    let runID = try #require(started["runId"] as? String)
                    #expect(try await client.call(.post, "/api/v1/runs/\(runID)/cancel", token: other).status == .notFound)
                    let cancelled = try await client.call(.post, "/api/v1/runs/\(runID)/cancel", token: token)
                    #expect(cancelled.status == .ok)
                    #expect(cancelled["status"] as? String == "cancelled")
                    #expect((cancelled["error"] as? [String: Any])?["code"] as? String == "ECANCELLED")
                    let again = try await client.call(.post, "/api/v1/runs/\(runID)/cancel", token: token)
                    #expect(again.status == .conflict)
                    #expect(again.errorCode == "run_finished")
                    let filtered = try await client.call(.get, "/api/v1/runs?status=cancelled", token: token)
                    #expect((filtered["items"] as? [[String: Any]])?.map { $0["id"] as? String } == [runID])
                }
            }
        }
    }
}
