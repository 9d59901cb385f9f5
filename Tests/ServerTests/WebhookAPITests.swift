import Foundation
import HTTPTypes
import HummingbirdTesting
import Server
import Testing

@Suite("Webhooks: POST /hooks/{webhookId}")
struct WebhookAPITests {
    /// Creates a flow through the API and returns its id and webhook path.
    static func makeFlow(_ client: some TestClientProtocol, token: String, json: String) async throws -> (id: String, hook: String) {
        let created = try await client.call(.post, "/api/v1/flows", token: token, json: json)
        let id = try #require(created["id"] as? String, "\(created.text)")
        let url = try #require((created["trigger"] as? [String: Any])?["url"] as? String)
        return (id, url)
    }

    static let json = ["Content-Type": "application/json"]

    @Test("end to end: webhook → 202 once persisted → executed → the run shows the resolved output")
    func endToEnd() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            // The run is persisted by the writer alone: the executor starts only afterwards.
            try await harness.withEngine {
                try await harness.test { client in
                    let flow = try await Self.makeFlow(client, token: token, json: """
                        {"name":"Signup","trigger":{"type":"webhook"},
                         "steps":[{"id":"greet","type":"debug.echo","parameters":{"message":"Hello {{trigger.body.name}}",
                                   "first":"{{trigger.body.items.0.email}}","source":"{{trigger.query.source}}","run":"{{run.id}}"}},
                                  {"id":"again","type":"debug.echo","parameters":{"echoed":"{{steps.greet.output.message}}!"}}]}
                        """)
                    let accepted = try await client.send(
                        flow.hook + "?source=landing%20page&source2=x",
                        headers: ["Content-Type": "application/json; charset=utf-8", "User-Agent": "Hooker/1.0",
                                  "Authorization": "Bearer leaked-token", "Cookie": "session=leaked", "X-Request-ID": "abc-123"],
                        body: #"{"name":"Ada","items":[{"email":"ada@example.com"}]}"#)
                    #expect(accepted.status == .accepted, "\(accepted.text)")
                    let runID = try #require(accepted["runId"] as? String)
                    #expect(accepted.headers[.location] == "/api/v1/runs/\(runID)")

                    let queued = try await client.call(.get, "/api/v1/runs/\(runID)", token: token)
                    #expect(queued["status"] as? String == "queued", "persisted before the 202")
                    let trigger = try #require(queued["trigger"] as? [String: Any])
                    #expect(trigger["kind"] as? String == "webhook")
                    #expect(trigger["query"] as? [String: String] == ["source": "landing page", "source2": "x"])
                    let headers = try #require(trigger["headers"] as? [String: String])
                    #expect(headers["user-agent"] == "Hooker/1.0")
                    #expect(headers["x-request-id"] == "abc-123")
                    #expect(headers["content-type"] == "application/json; charset=utf-8")
                    #expect(headers["authorization"] == nil)
                    #expect(headers["cookie"] == nil)
                    #expect(!queued.text.contains("leaked"))

                    try await harness.withExecutor {
                        let run = try await client.finishedRun(runID, token: token)
                        #expect(run["status"] as? String == "succeeded", "\(run.text)")
                        #expect(run["flowId"] as? String == flow.id)
                        let steps = try #require(run["steps"] as? [[String: Any]])
                        #expect(steps.map { $0["status"] as? String } == ["succeeded", "succeeded"])
                        #expect(steps.first?["output"] as? [String: String] == [
                            "message": "Hello Ada", "first": "ada@example.com", "source": "landing page", "run": runID,
                        ])
                        #expect(steps.last?["output"] as? [String: String] == ["echoed": "Hello Ada!"])
                    }
                }
            }
        }
    }

    @Test("a flow with a secret needs X-Webhook-Secret: missing or wrong is 401; it is never recorded")
    func secret() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.withEngine {
                try await harness.test { client in
                    let flow = try await Self.makeFlow(client, token: token, json: FlowJSON.webhook(name: "Signed", secret: FlowJSON.secret))
                    let missing = try await client.send(flow.hook, headers: Self.json, body: "{}")
                    #expect(missing.status == .unauthorized)
                    #expect(missing.errorCode == "invalid_webhook_secret")
                    let wrong = try await client.send(
                        flow.hook, headers: Self.json.merging(["X-Webhook-Secret": FlowJSON.secret + "x"]) { $1 }, body: "{}")
                    #expect(wrong.status == .unauthorized)
                    let hashInstead = try await client.send(
                        flow.hook, headers: Self.json.merging(["X-Webhook-Secret": FlowJSON.secretSHA256]) { $1 }, body: "{}")
                    #expect(hashInstead.status == .unauthorized)

                    let right = try await client.send(
                        flow.hook, headers: Self.json.merging(["X-Webhook-Secret": FlowJSON.secret]) { $1 }, body: #"{"name":"Ada"}"#)
                    #expect(right.status == .accepted, "\(right.text)")
                    let run = try await client.call(.get, "/api/v1/runs/\(try #require(right["runId"] as? String))", token: token)
                    let headers = try #require((run["trigger"] as? [String: Any])?["headers"] as? [String: String])
                    #expect(headers["x-webhook-secret"] == nil)
                    #expect(!run.text.contains(FlowJSON.secret))
                    let list = try await client.call(.get, "/api/v1/runs", token: token)
                    #expect((list["items"] as? [Any])?.count == 1, "refused calls store no run")
                }
            }
        }
    }

    @Test("without a secret, any caller with the URL may start the flow; no bearer token is needed")
    func noSecret() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.withEngine {
                try await harness.test { client in
                    let flow = try await Self.makeFlow(client, token: token, json: FlowJSON.webhook(name: "Open"))
                    let accepted = try await client.send(flow.hook, headers: Self.json, body: #"{"name":"Ada"}"#)
                    #expect(accepted.status == .accepted)
                    #expect(accepted["status"] as? String == "queued")
                    let ignored = try await client.send(
                        flow.hook, headers: Self.json.merging(["X-Webhook-Secret": "anything-at-all-here"]) { $1 }, body: "{}")
                    #expect(ignored.status == .accepted)
                }
            }
        }
    }

    @Test("an Idempotency-Key makes a retried webhook answer the same run (Idempotent-Replayed), another body 422, a bad key 400; manual runs too")
    func idempotencyKey() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.withEngine {
                try await harness.test { client in
                    let flow = try await Self.makeFlow(client, token: token, json: FlowJSON.webhook(name: "Orders"))
                    let keyed = Self.json.merging(["Idempotency-Key": "order-1042"]) { $1 }
                    let first = try await client.send(flow.hook, headers: keyed, body: #"{"order":1042}"#)
                    #expect(first.status == .accepted && first.headers[.init("Idempotent-Replayed")!] == nil)
                    let runID = try #require(first["runId"] as? String)
                    let retry = try await client.send(flow.hook, headers: keyed, body: #"{"order":1042}"#)
                    #expect(retry.status == .accepted && retry["runId"] as? String == runID)
                    #expect(retry.headers[.init("Idempotent-Replayed")!] == "true")
                    let other = try await client.send(flow.hook, headers: keyed, body: #"{"order": 1042}"#)
                    #expect(other.status == .unprocessableContent && other.errorCode == "idempotency_key_reused", "the raw body differs")
                    let bad = try await client.send(flow.hook, headers: Self.json.merging(["Idempotency-Key": "has space"]) { $1 }, body: "{}")
                    #expect(bad.status == .badRequest && bad.errorCode == "invalid_idempotency_key")
                    let runs = try await client.call(.get, "/api/v1/runs?flowId=\(flow.id)", token: token)
                    #expect((runs["items"] as? [Any])?.count == 1, "one run for the key, none for the refused calls")

                    let manualPath = "/api/v1/flows/\(flow.id)/runs"
                    let auth = ["Authorization": "Bearer \(token)", "Content-Type": "application/json", "Idempotency-Key": "manual-7"]
                    let manual = try await client.send(manualPath, headers: auth, body: #"{"n":7}"#)
                    let again = try await client.send(manualPath, headers: auth, body: #"{"n":7}"#)
                    #expect(manual.status == .accepted && again["runId"] as? String == manual["runId"] as? String)
                    #expect(again.headers[.init("Idempotent-Replayed")!] == "true")
                }
            }
        }
    }

    @Test("a form body becomes an object of strings; a repeated field an array")
    func formBody() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.withEngine {
                try await harness.test { client in
                    let flow = try await Self.makeFlow(client, token: token, json: FlowJSON.webhook(name: "Form"))
                    let accepted = try await client.send(
                        flow.hook, headers: ["Content-Type": "application/x-www-form-urlencoded"],
                        body: "name=Ada+Lovelace&email=ada%40example.com&tag=a&tag=b&tag=c&empty=&flag&caf%C3%A9=cr%C3%A8me")
                    #expect(accepted.status == .accepted, "\(accepted.text)")
                    let run = try await client.call(.get, "/api/v1/runs/\(try #require(accepted["runId"] as? String))", token: token)
                    let body = try #require((run["trigger"] as? [String: Any])?["body"] as? [String: Any])
                    #expect(body["name"] as? String == "Ada Lovelace")
                    #expect(body["email"] as? String == "ada@example.com")
                    #expect(body["tag"] as? [String] == ["a", "b", "c"])
                    #expect(body["empty"] as? String == "")
                    #expect(body["flag"] as? String == "")
                    #expect(body["café"] as? String == "crème")

                    let malformed = try await client.send(
                        flow.hook, headers: ["Content-Type": "application/x-www-form-urlencoded"], body: "name=%zz")
                    #expect(malformed.status == .badRequest)
                    #expect(malformed.errorCode == "invalid_form")
                }
            }
        }
    }

    @Test("no body at all is {}; a body needs a JSON or form content type (else 415)")
    func contentTypes() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.withEngine {
                try await harness.test { client in
                    let flow = try await Self.makeFlow(client, token: token, json: FlowJSON.webhook(name: "Types"))
                    let ping = try await client.send(flow.hook)
                    #expect(ping.status == .accepted, "\(ping.text)")
                    let run = try await client.call(.get, "/api/v1/runs/\(try #require(ping["runId"] as? String))", token: token)
                    #expect((run["trigger"] as? [String: Any])?["body"] as? [String: String] == [:])

                    let vendorJSON = try await client.send(
                        flow.hook, headers: ["Content-Type": "application/vnd.github+json"], body: #"{"name":"x"}"#)
                    #expect(vendorJSON.status == .accepted)

                    for (headers, body) in [
                        (["Content-Type": "text/plain"], "name=Ada"),
                        (["Content-Type": "multipart/form-data; boundary=x"], "--x--"),
                        ([:], #"{"name":"Ada"}"#),
                    ] {
                        let refused = try await client.send(flow.hook, headers: headers, body: body)
                        #expect(refused.status == .unsupportedMediaType, "\(headers)")
                        #expect(refused.errorCode == "unsupported_media_type")
                    }
                }
            }
        }
    }

    @Test("a body over 1 MiB is 413; exactly 1 MiB is accepted")
    func sizeCap() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.withEngine {
                try await harness.test { client in
                    let flow = try await Self.makeFlow(client, token: token, json: FlowJSON.webhook(name: "Big"))
                    let envelope = #"{"pad":""}"#.utf8.count
                    let exact = #"{"pad":""# + String(repeating: "x", count: (1 << 20) - envelope) + #""}"#
                    #expect(exact.utf8.count == 1 << 20)
                    #expect(try await client.send(flow.hook, headers: Self.json, body: exact).status == .accepted)

                    let over = #"{"pad":""# + String(repeating: "x", count: (1 << 20) - envelope + 1) + #""}"#
                    let refused = try await client.send(flow.hook, headers: Self.json, body: over)
                    #expect(refused.status == .contentTooLarge)
                    #expect(refused.errorCode == "body_too_large")
                    let form = try await client.send(
                        flow.hook, headers: ["Content-Type": "application/x-www-form-urlencoded"],
                        body: "a=" + String(repeating: "y", count: 1 << 20))
                    #expect(form.status == .contentTooLarge)
                }
            }
        }
    }

    @Test("malformed JSON, or JSON that is not an object, is 400", arguments: ["{", "[1,2]", "\"text\"", "{\"a\":1,}", "nul"])
    func malformed(body: String) async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let flow = try await Self.makeFlow(client, token: token, json: FlowJSON.webhook(name: "Strict"))
                let refused = try await client.send(flow.hook, headers: Self.json, body: body)
                #expect(refused.status == .badRequest)
                #expect(refused.errorCode == "invalid_json")
            }
        }
    }

    @Test("an unknown webhook, a disabled flow, and a flow disabled or deleted after a call are 404")
    func notFound() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.withEngine {
                try await harness.test { client in
                    let unknown = try await client.send("/hooks/wh_aaaaaaaaaaaaaaaaaaaaaaaaaa", headers: Self.json, body: "{}")
                    #expect(unknown.status == .notFound)
                    #expect(unknown.errorCode == "not_found")

                    let off = try await Self.makeFlow(client, token: token, json: FlowJSON.webhook(name: "Off", enabled: false))
                    #expect(try await client.send(off.hook, headers: Self.json, body: "{}").status == .notFound)

                    // Warm the cache, then disable: the next call must see the change.
                    let flow = try await Self.makeFlow(client, token: token, json: FlowJSON.webhook(name: "Live"))
                    #expect(try await client.send(flow.hook, headers: Self.json, body: "{}").status == .accepted)
                    let disabled = try await client.call(
                        .put, "/api/v1/flows/\(flow.id)", token: token, json: FlowJSON.webhook(name: "Live", enabled: false))
                    #expect(disabled.status == .ok)
                    #expect(try await client.send(flow.hook, headers: Self.json, body: "{}").status == .notFound)
                    let enabled = try await client.call(
                        .put, "/api/v1/flows/\(flow.id)", token: token, json: FlowJSON.webhook(name: "Live", secret: FlowJSON.secret))
                    #expect((enabled["trigger"] as? [String: Any])?["url"] as? String == flow.hook, "PUT keeps the webhook id")
                    #expect(try await client.send(flow.hook, headers: Self.json, body: "{}").status == .unauthorized, "the new secret applies at once")
                    #expect(try await client.send(
                        flow.hook, headers: Self.json.merging(["X-Webhook-Secret": FlowJSON.secret]) { $1 }, body: "{}").status == .accepted)

                    #expect(try await client.call(.delete, "/api/v1/flows/\(flow.id)", token: token).status == .noContent)
                    #expect(try await client.send(flow.hook, headers: Self.json, body: "{}").status == .notFound)

                    // A flow changed to a manual trigger no longer answers on its old URL.
                    let switched = try await Self.makeFlow(client, token: token, json: FlowJSON.webhook(name: "Switch"))
                    #expect(try await client.send(switched.hook, headers: Self.json, body: "{}").status == .accepted)
                    _ = try await client.call(.put, "/api/v1/flows/\(switched.id)", token: token, json: FlowJSON.manual(name: "Switch"))
                    #expect(try await client.send(switched.hook, headers: Self.json, body: "{}").status == .notFound)
                }
            }
        }
    }

    @Test("only POST starts a flow")
    func method() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let flow = try await Self.makeFlow(client, token: token, json: FlowJSON.webhook(name: "Post"))
                let get = try await client.send(flow.hook, method: .get)
                #expect(get.status != .accepted)
                #expect((try await client.call(.get, "/api/v1/runs", token: token)["items"] as? [Any])?.isEmpty == true)
            }
        }
    }
}
