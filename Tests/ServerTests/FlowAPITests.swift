import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Flows
import Server
import SMTP
import Testing

@Suite("API: flows")
struct FlowAPITests {
    @Test("create answers 201 with the flow, its webhook id and relative URL, and the defaults")
    func create() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let created = try await client.call(.post, "/api/v1/flows", token: token, json: FlowJSON.webhook(name: "Signup"))
                #expect(created.status == .created)
                let id = try #require(created["id"] as? String)
                #expect(id.hasPrefix("flow_"))
                #expect(created.headers[.location] == "/api/v1/flows/\(id)")
                #expect(created["name"] as? String == "Signup")
                #expect(created["enabled"] as? Bool == true)
                let trigger = try #require(created["trigger"] as? [String: Any])
                let webhookID = try #require(trigger["webhookId"] as? String)
                #expect(webhookID.count == 29, "wh_ and 26 random characters")
                #expect(trigger["type"] as? String == "webhook")
                #expect(trigger["url"] as? String == "/hooks/\(webhookID)")
                #expect(trigger["hasSecret"] as? Bool == false)
                let steps = try #require(created["steps"] as? [[String: Any]])
                #expect(steps.map { $0["id"] as? String } == ["greet"])
                #expect(steps.first?["type"] as? String == "debug.echo")
                #expect(steps.first?["onError"] as? String == "stop")
                #expect((steps.first?["parameters"] as? [String: Any])?["message"] as? String == "Hello {{trigger.body.name}}")
                let retry = try #require(created["retry"] as? [String: Any])
                #expect(retry["maxAttempts"] as? Int == 3)
                #expect(retry["initialDelayMs"] as? Int == 1000)
                #expect(retry["maxDelayMs"] as? Int == 60000)
                #expect((created["createdAt"] as? String)?.hasSuffix("Z") == true)
                #expect(created["updatedAt"] is String)

                let fetched = try await client.call(.get, "/api/v1/flows/\(id)", token: token)
                #expect(fetched.status == .ok)
                #expect((fetched["trigger"] as? [String: Any])?["webhookId"] as? String == webhookID)
                let list = try await client.call(.get, "/api/v1/flows", token: token)
                #expect((list["flows"] as? [[String: Any]])?.map { $0["id"] as? String } == [id])
            }
        }
    }

    @Test("a webhook secret shows only as hasSecret: neither it nor its hash is ever returned")
    func secretNeverShown() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let created = try await client.call(
                    .post, "/api/v1/flows", token: token, json: FlowJSON.webhook(name: "Signed", secret: FlowJSON.secret))
                #expect(created.status == .created)
                #expect((created["trigger"] as? [String: Any])?["hasSecret"] as? Bool == true)
                let id = try #require(created["id"] as? String)
                for text in [created.text, try await client.call(.get, "/api/v1/flows/\(id)", token: token).text,
                             try await client.call(.get, "/api/v1/flows", token: token).text] {
                    #expect(!text.contains(FlowJSON.secret))
                    #expect(!text.contains(FlowJSON.secretSHA256))
                    #expect(!text.contains("secret\""), "no secret or secretHash key")
                }
            }
        }
    }

    @Test("cron and manual triggers show the keys of their type only; retry comes back in ms")
    func otherTriggers() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let cron = try await client.call(.post, "/api/v1/flows", token: token, json: """
                    {"name":"Nightly","trigger":{"type":"cron","expression":"0 3 * * *","timeZone":"Europe/Berlin"},
                     "steps":[{"id":"a","type":"debug.echo","parameters":{"message":"{{now}}"},"onError":"continue"}],
                     "enabled":false,"retry":{"maxAttempts":5,"initialDelayMs":250,"maxDelayMs":4000}}
                    """)
                #expect(cron.status == .created, "\(cron.text)")
                #expect(cron["trigger"] as? [String: String] == ["type": "cron", "expression": "0 3 * * *", "timeZone": "Europe/Berlin"])
                #expect(cron["enabled"] as? Bool == false)
                #expect((cron["steps"] as? [[String: Any]])?.first?["onError"] as? String == "continue")
                #expect(cron["retry"] as? [String: Int] == ["maxAttempts": 5, "initialDelayMs": 250, "maxDelayMs": 4000])

                let manual = try await client.call(.post, "/api/v1/flows", token: token, json: FlowJSON.manual(name: "By hand"))
                #expect(manual.status == .created)
                #expect(manual["trigger"] as? [String: String] == ["type": "manual"])
                let defaultZone = try await client.call(.post, "/api/v1/flows", token: token, json: """
                    {"name":"UTC","trigger":{"type":"cron","expression":"@daily"},"steps":[{"id":"a","type":"debug.echo"}]}
                    """)
                #expect((defaultZone["trigger"] as? [String: Any])?["timeZone"] as? String == "UTC")
                #expect((defaultZone["steps"] as? [[String: Any]])?.first?["parameters"] as? [String: String] == [:])
            }
        }
    }

    /// Shape and rule violations: 422 naming the field in validation's spelling, nothing stored.
    @Test("invalid flows are 422 naming the field, and store nothing", arguments: [
        (#"{"name":"x","trigger":{"type":"manual"},"steps":[{"id":"a","type":"debug.echo"}],"bogus":1}"#, "bogus"),
        (#"{"name":"x","trigger":{"type":"manual","cron":"*"},"steps":[{"id":"a","type":"debug.echo"}]}"#, "trigger.cron"),
        (#"{"name":"x","trigger":{"type":"manual"},"steps":[{"id":"a","type":"debug.echo"},{"id":"b","type":"debug.echo","onErorr":"stop"}]}"#, "steps[1].onErorr"),
        (#"{"name":"x","trigger":{"type":"manual"},"steps":[{"id":"a","type":"debug.echo"}],"retry":{"attempts":2}}"#, "retry.attempts"),
        (#"{"trigger":{"type":"manual"},"steps":[{"id":"a","type":"debug.echo"}]}"#, "name"),
        (#"{"name":7,"trigger":{"type":"manual"},"steps":[{"id":"a","type":"debug.echo"}]}"#, "name"),
        (#"{"name":"","trigger":{"type":"manual"},"steps":[{"id":"a","type":"debug.echo"}]}"#, "name"),
        (#"{"name":"x","steps":[{"id":"a","type":"debug.echo"}]}"#, "trigger"),
        (#"{"name":"x","trigger":"manual","steps":[{"id":"a","type":"debug.echo"}]}"#, "trigger"),
        (#"{"name":"x","trigger":{"type":"email"},"steps":[{"id":"a","type":"debug.echo"}]}"#, "trigger.type"),
        (#"{"name":"x","trigger":{"type":"webhook","secret":"short"},"steps":[{"id":"a","type":"debug.echo"}]}"#, "trigger.secret"),
        (#"{"name":"x","trigger":{"type":"manual"},"steps":{"id":"a"}}"#, "steps"),
        (#"{"name":"x","trigger":{"type":"manual"},"steps":[{"id":"a","type":"smtp.sendd"}]}"#, "steps[0].type"),
        (#"{"name":"x","trigger":{"type":"manual"},"steps":[{"id":"a","type":"debug.echo"},{"type":"debug.echo"}]}"#, "steps[1].id"),
        (#"{"name":"x","trigger":{"type":"manual"},"steps":[{"id":"a","type":"debug.echo"},{"id":"a","type":"debug.echo"}]}"#, "steps[1].id"),
        (#"{"name":"x","trigger":{"type":"manual"},"steps":[{"id":"a","type":"debug.echo","onError":"retry"}]}"#, "steps[0].onError"),
        (#"{"name":"x","trigger":{"type":"manual"},"steps":[{"id":"a","type":"debug.echo"}],"enabled":null}"#, "enabled"),
        (#"{"name":"x","trigger":{"type":"manual"},"steps":[{"id":"a","type":"debug.echo"}],"retry":{"maxAttempts":0}}"#, "retry"),
        (#"{"name":"x","trigger":{"type":"manual"},"steps":[{"id":"a","type":"debug.echo"}],"retry":{"initialDelayMs":"1s"}}"#, "retry.initialDelayMs"),
    ])
    func invalid(body: String, field: String) async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let refused = try await client.call(.post, "/api/v1/flows", token: token, json: body)
                #expect(refused.status == .unprocessableContent, "\(refused.text)")
                #expect(refused.errorCode == "validation_failed")
                #expect(refused.errorField == field, "\(refused.text)")
                #expect(refused.errorMessage?.isEmpty == false)
                let list = try await client.call(.get, "/api/v1/flows", token: token)
                #expect((list["flows"] as? [Any])?.isEmpty == true)
            }
        }
    }

    /// What a draft may still lack: an enabled flow with it is 422 `flow_has_problems` naming the
    /// field; the same flow disabled is saved, and answers with its problems; enabling it is refused.
    @Test("a draft's problems: enabled, 422 flow_has_problems naming the field; disabled, saved with its problems", arguments: [
        (#"{"name":"x","trigger":{"type":"cron","expression":"61 * * * *"},"steps":[{"id":"a","type":"debug.echo"}]}"#, "trigger.expression"),
        (#"{"name":"x","trigger":{"type":"cron","expression":"* * * * *","timeZone":"Mars/Olympus"},"steps":[{"id":"a","type":"debug.echo"}]}"#, "trigger.timeZone"),
        (#"{"name":"x","trigger":{"type":"manual"},"steps":[]}"#, "steps"),
        (#"{"name":"x","trigger":{"type":"manual"},"steps":[{"id":"a","type":"debug.echo","parameters":{"message":5}}]}"#, "steps[0].parameters.message"),
        (#"{"name":"x","trigger":{"type":"manual"},"steps":[{"id":"a","type":"debug.echo","parameters":{"m":"{{steps.b.output.x}}"}},{"id":"b","type":"debug.echo"}]}"#, "steps[0].parameters"),
    ])
    func draftProblems(body: String, field: String) async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let refused = try await client.call(.post, "/api/v1/flows", token: token, json: body)
                #expect(refused.status == .unprocessableContent, "\(refused.text)")
                #expect(refused.errorCode == "flow_has_problems")
                #expect(refused.errorField == field, "\(refused.text)")
                let listed = ((refused["error"] as? [String: Any])?["problems"] as? [[String: Any]])?.compactMap { $0["field"] as? String }
                #expect(listed?.contains(field) == true, "\(refused.text)")
                let empty = try await client.call(.get, "/api/v1/flows", token: token)
                #expect((empty["flows"] as? [Any])?.isEmpty == true)

                let draftBody = String(body.dropLast()) + #","enabled":false}"#
                let draft = try await client.call(.post, "/api/v1/flows", token: token, json: draftBody)
                #expect(draft.status == .created, "\(draft.text)")
                let problems = try #require(draft["problems"] as? [[String: Any]])
                #expect(problems.contains { $0["field"] as? String == field && ($0["message"] as? String)?.isEmpty == false })
                let id = try #require(draft["id"] as? String)
                let version = try #require(draft["version"] as? Int)
                let enableBody = String(body.dropLast()) + ",\"enabled\":true,\"version\":\(version)}"
                let enable = try await client.call(.put, "/api/v1/flows/\(id)", token: token, json: enableBody)
                #expect(enable.status == .unprocessableContent)
                #expect(enable.errorCode == "flow_has_problems")
                let shown = try await client.call(.get, "/api/v1/flows/\(id)", token: token)
                #expect(shown["enabled"] as? Bool == false)
                #expect(shown["version"] as? Int == version, "a refused change leaves the version")
            }
        }
    }

    /// The email rules that need no run, checked when the flow is saved, with the send's own words.
    @Test("an email step's written-out rules are problems at their field: a reserved or CR/LF header, a bad address, too many headers")
    func emailProblems() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                func flow(_ parameters: String) -> String {
                    #"{"name":"Mail","trigger":{"type":"manual"},"enabled":false,"steps":[{"id":"send","type":"smtp.send","parameters":{"credential":"cred_x","from":"Team <team@example.com>",\#(parameters)}}]}"#
                }
                let cases: [(String, String, String)] = [
                    (#""to":"a@example.com","subject":"Hi","body":"b","headers":[{"name":"Bcc","value":"x@example.com"}]"#,
                     "steps[0].parameters.headers[0].name", "Reserved header is not allowed"),
                    (#""to":"a@example.com","subject":"Hi","body":"b","headers":[{"name":"X-Tag","value":"a\r\nBcc: x@example.com"}]"#,
                     "steps[0].parameters.headers[0].value", "Header value contains forbidden characters"),
                    (#""to":"not an address","subject":"Hi","body":"b""#, "steps[0].parameters.to", ""),
                    (#""to":"a@example.com","subject":"Hi","body":"b","headers":[\#(Array(repeating: #"{"name":"X-A","value":"1"}"#, count: 51).joined(separator: ","))]"#,
                     "steps[0].parameters.headers", "At most 50 custom headers are allowed"),
                ]
                for (parameters, field, message) in cases {
                    let draft = try await client.call(.post, "/api/v1/flows", token: token, json: flow(parameters))
                    #expect(draft.status == .created, "\(draft.text)")
                    let problems = try #require(draft["problems"] as? [[String: String]])
                    #expect(problems.contains { $0["field"] == field && (message.isEmpty || $0["message"] == message) }, "\(problems)")
                    _ = try await client.call(.delete, "/api/v1/flows/\(try #require(draft["id"] as? String))", token: token)
                }
                // A template is checked when it is rendered, not before.
                let templated = try await client.call(.post, "/api/v1/flows", token: token, json: flow(
                    #""to":"{{trigger.body.email}}","subject":"{{trigger.body.subject}}","body":"b","headers":[{"name":"X-Tag","value":"{{trigger.body.tag}}"}]"#))
                #expect((templated["problems"] as? [Any])?.isEmpty == true, "\(templated.text)")
            }
        }
    }

    @Test("a template that does not parse names the parameter")
    func badTemplate() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let refused = try await client.call(.post, "/api/v1/flows", token: token, json: """
                    {"name":"x","trigger":{"type":"manual"},"steps":[{"id":"a","type":"debug.echo","parameters":{"message":"{{nowhere.at.all}}"}}]}
                    """)
                #expect(refused.status == .unprocessableContent)
                #expect(refused.errorCode == "flow_has_problems")
                #expect(refused.errorField?.hasPrefix("steps[0].parameters") == true, "\(refused.text)")
            }
        }
    }

    @Test("a body that is not a JSON object is 400", arguments: ["{", "[]", "\"flow\"", "{\"name\":\"x\",}"])
    func malformed(body: String) async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let refused = try await client.call(.post, "/api/v1/flows", token: token, json: body)
                #expect(refused.status == .badRequest)
                #expect(refused.errorCode == "invalid_json")
            }
        }
    }

    @Test("a name used twice in a workspace is 409, on create and on replace; other workspaces may reuse it")
    func duplicateName() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            let other = try await harness.workspace("Other")
            try await harness.test { client in
                #expect(try await client.call(.post, "/api/v1/flows", token: token, json: FlowJSON.manual(name: "One")).status == .created)
                let second = try await client.call(.post, "/api/v1/flows", token: token, json: FlowJSON.manual(name: "Two"))
                let secondID = try #require(second["id"] as? String)

                let again = try await client.call(.post, "/api/v1/flows", token: token, json: FlowJSON.manual(name: "One"))
                #expect(again.status == .conflict)
                #expect(again.errorCode == "conflict")
                #expect(again.errorField == "name")
                let renamed = try await client.call(.put, "/api/v1/flows/\(secondID)", token: token, json: FlowJSON.manual(name: "One"))
                #expect(renamed.status == .conflict)
                #expect(try await client.call(.get, "/api/v1/flows/\(secondID)", token: token)["name"] as? String == "Two")

                #expect(try await client.call(.post, "/api/v1/flows", token: other, json: FlowJSON.manual(name: "One")).status == .created)
            }
        }
    }

    @Test("PUT replaces the definition and keeps the webhook id and, when none is given, the secret")
    func replace() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let created = try await client.call(
                    .post, "/api/v1/flows", token: token, json: FlowJSON.webhook(name: "Signup", secret: FlowJSON.secret))
                let id = try #require(created["id"] as? String)
                let webhookID = try #require((created["trigger"] as? [String: Any])?["webhookId"] as? String)

                let replaced = try await client.call(.put, "/api/v1/flows/\(id)", token: token, json: """
                    {"name":"Signup v2","trigger":{"type":"webhook"},
                     "steps":[{"id":"first","type":"debug.echo"},{"id":"second","type":"debug.echo","parameters":{"m":"{{steps.first.output.x}}"}}],
                     "enabled":false}
                    """)
                #expect(replaced.status == .ok, "\(replaced.text)")
                #expect(replaced["id"] as? String == id)
                #expect(replaced["name"] as? String == "Signup v2")
                #expect(replaced["enabled"] as? Bool == false)
                let trigger = try #require(replaced["trigger"] as? [String: Any])
                #expect(trigger["webhookId"] as? String == webhookID)
                #expect(trigger["hasSecret"] as? Bool == true)
                #expect((replaced["steps"] as? [[String: Any]])?.count == 2)
                #expect(replaced["createdAt"] as? String == created["createdAt"] as? String)
                #expect(try await client.call(.get, "/api/v1/flows/\(id)", token: token)["name"] as? String == "Signup v2")

                // `"secret": null` removes the stored secret; the webhook id stays.
                let unsecured = try await client.call(.put, "/api/v1/flows/\(id)", token: token, json: """
                    {"name":"Signup v2","trigger":{"type":"webhook","secret":null},"steps":[{"id":"first","type":"debug.echo"}]}
                    """)
                #expect(unsecured.status == .ok, "\(unsecured.text)")
                #expect((unsecured["trigger"] as? [String: Any])?["hasSecret"] as? Bool == false)
                #expect((unsecured["trigger"] as? [String: Any])?["webhookId"] as? String == webhookID)

                let manual = try await client.call(.put, "/api/v1/flows/\(id)", token: token, json: FlowJSON.manual(name: "Signup v3"))
                #expect(manual["trigger"] as? [String: String] == ["type": "manual"])

                let invalid = try await client.call(.put, "/api/v1/flows/\(id)", token: token, json: #"{"name":"x"}"#)
                #expect(invalid.status == .unprocessableContent)
                #expect(invalid.errorField == "trigger")
                let missing = try await client.call(.put, "/api/v1/flows/flow_missing", token: token, json: FlowJSON.manual(name: "Z"))
                #expect(missing.status == .notFound)
                #expect(missing.errorCode == "not_found")
            }
        }
    }

    @Test("DELETE answers 204, then the flow is gone")
    func delete() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let created = try await client.call(.post, "/api/v1/flows", token: token, json: FlowJSON.manual(name: "Gone"))
                let id = try #require(created["id"] as? String)
                #expect(try await client.call(.delete, "/api/v1/flows/\(id)", token: token).status == .noContent)
                #expect(try await client.call(.get, "/api/v1/flows/\(id)", token: token).status == .notFound)
                #expect(try await client.call(.delete, "/api/v1/flows/\(id)", token: token).status == .notFound)
                #expect((try await client.call(.get, "/api/v1/flows", token: token)["flows"] as? [Any])?.isEmpty == true)
            }
        }
    }

    @Test("another workspace's flow is 404 for every route, and absent from its list")
    func isolation() async throws {
        try await APIHarness.run { harness in
            let owner = try await harness.workspace("Owner")
            let stranger = try await harness.workspace("Stranger")
            try await harness.test { client in
                let created = try await client.call(.post, "/api/v1/flows", token: owner, json: FlowJSON.manual(name: "Private"))
                let id = try #require(created["id"] as? String)
                #expect(try await client.call(.get, "/api/v1/flows/\(id)", token: stranger).status == .notFound)
                #expect(try await client.call(.put, "/api/v1/flows/\(id)", token: stranger, json: FlowJSON.manual(name: "Mine")).status == .notFound)
                #expect(try await client.call(.delete, "/api/v1/flows/\(id)", token: stranger).status == .notFound)
                #expect(try await client.call(.post, "/api/v1/flows/\(id)/runs", token: stranger, json: "{}").status == .notFound)
                #expect((try await client.call(.get, "/api/v1/flows", token: stranger)["flows"] as? [Any])?.isEmpty == true)
                let stillThere = try await client.call(.get, "/api/v1/flows/\(id)", token: owner)
                #expect(stillThere["name"] as? String == "Private")
            }
        }
    }

    @Test("flows need a workspace token: none is 401, the admin token 403")
    func tokens() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                #expect(try await client.call(.get, "/api/v1/flows", token: nil).status == .unauthorized)
                let admin = try await client.call(.post, "/api/v1/flows", token: APIHarness.adminToken, json: FlowJSON.manual(name: "A"))
                #expect(admin.status == .forbidden)
                #expect(admin.errorCode == "workspace_token_required")
                #expect(try await client.call(.get, "/api/v1/nodes", token: nil).status == .unauthorized)
            }
        }
    }

    @Test("GET /api/v1/nodes lists each node type with its form")
    func nodes() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let listed = try await client.call(.get, "/api/v1/nodes", token: token)
                #expect(listed.status == .ok)
                let nodes = try #require(listed["nodes"] as? [[String: Any]])
                let echo = try #require(nodes.first { $0["type"] as? String == "debug.echo" })
                #expect(echo["label"] as? String == "Echo")
                #expect((echo["summary"] as? String)?.isEmpty == false)
                #expect(echo["isIdempotent"] as? Bool == true)
                #expect(echo["acceptsOtherParameters"] as? Bool == true)
                let parameters = try #require(echo["parameters"] as? [[String: Any]])
                let message = try #require(parameters.first)
                #expect(message["name"] as? String == "message")
                #expect(message["label"] as? String == "Message")
                #expect(message["kind"] as? String == "text")
                #expect(message["required"] as? Bool == false)
                #expect(message["secret"] as? Bool == false)
                #expect(message["options"] is NSNull)
                #expect(message["default"] is NSNull)
                #expect(message["help"] is String)
                #expect(Set(message.keys) == ["name", "label", "kind", "required", "options", "default", "help", "secret", "visibleWhen", "items", "maxItems"])
            }
        }
    }
}

// MARK: - Fixtures shared by the flow, run and webhook tests

enum FlowJSON {
    static let secret = "hook-secret-0123456789abcdef"
    /// SHA-256 of ``secret`` in hex, what the database stores (`printf %s … | sha256sum`).
    static let secretSHA256 = "c8f96e1c3f953626a1d2333c0d8acf55f451b3698dd90e4168eccab67704ffed"

    /// A webhook flow whose one echo step greets `{{trigger.body.name}}`.
    static func webhook(name: String, secret: String? = nil, enabled: Bool = true) -> String {
        let secretJSON = secret.map { #","secret":"\#($0)""# } ?? ""
        return """
            {"name":"\(name)","trigger":{"type":"webhook"\(secretJSON)},"enabled":\(enabled),
             "steps":[{"id":"greet","type":"debug.echo","parameters":{"message":"Hello {{trigger.body.name}}"}}]}
            """
    }

    /// A manual flow with one echo step.
    static func manual(name: String, enabled: Bool = true) -> String {
        """
        {"name":"\(name)","trigger":{"type":"manual"},"enabled":\(enabled),
         "steps":[{"id":"greet","type":"debug.echo","parameters":{"message":"Hello {{trigger.body.name}}"}}]}
        """
    }
}

extension APIHarness {
    /// Runs `body` while the engine's group-commit writer runs (starting a run waits for its
    /// commit) and, when `executing`, the executor and the SMTP pool too; stops them afterwards.
    func withEngine(executing: Bool = false, _ body: () async throws -> Void) async throws {
        let engine = environment.engine
        // The pool stops as `serve` stops it: told to shut down (QUIT on every session), then awaited.
        let pool = executing ? Task { await engine.pool.run() } : nil
        defer { engine.pool.beginShutdown() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await engine.writer.run() }
            if executing { group.addTask { await engine.executor.run() } }
            do {
                try await body()
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
        engine.pool.beginShutdown()
        await pool?.value
    }

    /// Runs `body` while the engine's executor runs (the writer must be running already).
    func withExecutor(_ body: () async throws -> Void) async throws {
        let executor = environment.engine.executor
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await executor.run() }
            do {
                try await body()
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }
}

extension TestClientProtocol {
    /// A request with any headers and a raw body, without a bearer token unless given.
    func send(
        _ uri: String, method: HTTPRequest.Method = .post, headers: [String: String] = [:], body: String? = nil
    ) async throws -> APIResponse {
        var fields: HTTPFields = [:]
        for (name, value) in headers { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        let response = try await execute(uri: uri, method: method, headers: fields, body: body.map { ByteBuffer(string: $0) }) { response in
            APIResponse(status: response.status, headers: response.headers, text: String(buffer: response.body))
        }
        let isJSON = headers.contains { $0.key.lowercased() == "content-type" && $0.value.lowercased().contains("json") }
        OpenAPIContract.check(
            method: method.rawValue, uri: uri, requestBody: isJSON ? body : nil, status: response.status.code, responseBody: response.text)
        return response
    }

    /// Polls `GET /api/v1/runs/{id}` until the run has ended (or 10 s have passed).
    func finishedRun(_ id: String, token: String) async throws -> APIResponse {
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while true {
            let run = try await call(.get, "/api/v1/runs/\(id)", token: token)
            let status = run["status"] as? String
            if status != "queued" && status != "running" || ContinuousClock.now >= deadline { return run }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
