import Foundation
import HTTPTypes
import HummingbirdTesting
import Server
import Testing

@Suite("API: runs")
struct RunAPITests {
    @Test("a manual run answers 202 once persisted; its body stands in for the trigger's")
    func manualRun() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.withEngine {
                try await harness.test { client in
                    let flow = try await client.call(.post, "/api/v1/flows", token: token, json: FlowJSON.webhook(name: "Hook"))
                    let flowID = try #require(flow["id"] as? String)
                    let started = try await client.call(.post, "/api/v1/flows/\(flowID)/runs", token: token, json: #"{"name":"Ada"}"#)
                    #expect(started.status == .accepted, "\(started.text)")
                    #expect(started["status"] as? String == "queued")
                    let runID = try #require(started["runId"] as? String)
                    #expect(runID.hasPrefix("run_"))

                    // Nothing executes it here: the history shows it queued, with its trigger.
                    let run = try await client.call(.get, "/api/v1/runs/\(runID)", token: token)
                    #expect(run.status == .ok)
                    #expect(run["id"] as? String == runID)
                    #expect(run["flowId"] as? String == flowID)
                    #expect(run["status"] as? String == "queued")
                    let trigger = try #require(run["trigger"] as? [String: Any])
                    #expect(trigger["kind"] as? String == "manual")
                    #expect(trigger["body"] as? [String: String] == ["name": "Ada"])
                    #expect(trigger["headers"] as? [String: String] == [:])
                    #expect((run["steps"] as? [Any])?.isEmpty == true)
                    #expect(run["error"] is NSNull)
                    #expect(run["startedAt"] is NSNull)
                    #expect(run["finishedAt"] is NSNull)
                    #expect(run["createdAt"] is String)

                    let empty = try await client.call(.post, "/api/v1/flows/\(flowID)/runs", token: token)
                    #expect(empty.status == .accepted)
                    let emptyRun = try await client.call(.get, "/api/v1/runs/\(try #require(empty["runId"] as? String))", token: token)
                    #expect((emptyRun["trigger"] as? [String: Any])?["body"] as? [String: String] == [:])
                }
            }
        }
    }

    @Test("a manual run of a draft with problems is 422 naming them, of a missing flow 404, with a non-object body 400")
    func manualRunRefused() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.withEngine { try await harness.test { client in
                let draft = try await client.call(
                    .post, "/api/v1/flows", token: token,
                    json: #"{"name": "Draft", "trigger": {"type": "manual"}, "steps": [], "enabled": false}"#)
                let draftID = try #require(draft["id"] as? String)
                let refused = try await client.call(.post, "/api/v1/flows/\(draftID)/runs", token: token, json: "{}")
                #expect(refused.status == .unprocessableContent)
                #expect(refused.errorCode == "flow_has_problems")
                #expect(refused.errorField == "steps")
                #expect(try await client.call(.post, "/api/v1/flows/flow_nope/runs", token: token, json: "{}").status == .notFound)

                let enabled = try await client.call(.post, "/api/v1/flows", token: token, json: FlowJSON.manual(name: "On"))
                let enabledID = try #require(enabled["id"] as? String)
                for body in ["[1]", "{", "\"text\""] {
                    let malformed = try await client.call(.post, "/api/v1/flows/\(enabledID)/runs", token: token, json: body)
                    #expect(malformed.status == .badRequest, "\(body)")
                    #expect(malformed.errorCode == "invalid_json")
                }
                let list = try await client.call(.get, "/api/v1/runs", token: token)
                #expect((list["items"] as? [Any])?.isEmpty == true, "no refused call stored a run")

                // A disabled flow without problems runs manually: Run in the studio tests a draft.
                let off = try await client.call(.post, "/api/v1/flows", token: token, json: FlowJSON.manual(name: "Off", enabled: false))
                let started = try await client.call(.post, "/api/v1/flows/\(try #require(off["id"] as? String))/runs", token: token, json: "{}")
                #expect(started.status == .accepted)
            } }
        }
    }

    @Test("a manual run executes: the echo step's output resolves the body, the run succeeds")
    func manualRunExecutes() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.withEngine(executing: true) {
                try await harness.test { client in
                    let flow = try await client.call(.post, "/api/v1/flows", token: token, json: FlowJSON.manual(name: "By hand"))
                    let flowID = try #require(flow["id"] as? String)
                    let started = try await client.call(.post, "/api/v1/flows/\(flowID)/runs", token: token, json: #"{"name":"Grace"}"#)
                    let run = try await client.finishedRun(try #require(started["runId"] as? String), token: token)
                    #expect(run["status"] as? String == "succeeded", "\(run.text)")
                    let step = try #require((run["steps"] as? [[String: Any]])?.first)
                    #expect(step["id"] as? String == "greet")
                    #expect(step["status"] as? String == "succeeded")
                    #expect(step["output"] as? [String: String] == ["message": "Hello Grace"])
                    #expect(step["parameters"] as? [String: String] == ["message": "Hello Grace"])
                    #expect(step["attempts"] as? Int == 1)
                    #expect(step["error"] is NSNull)
                    #expect(step["finishedAt"] is String)
                    #expect(run["finishedAt"] is String)
                }
            }
        }
    }

    @Test("the list pages newest first with a cursor, and filters by flow and status")
    func listing() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.withEngine {
                try await harness.test { client in
                    let first = try #require(try await client.call(.post, "/api/v1/flows", token: token, json: FlowJSON.manual(name: "A"))["id"] as? String)
                    let second = try #require(try await client.call(.post, "/api/v1/flows", token: token, json: FlowJSON.manual(name: "B"))["id"] as? String)
                    var started: [String] = []
                    for flowID in [first, first, second, first, second] {
                        let run = try await client.call(.post, "/api/v1/flows/\(flowID)/runs", token: token, json: "{}")
                        started.append(try #require(run["runId"] as? String))
                        try await Task.sleep(for: .milliseconds(3))  // distinct creation times
                    }

                    var seen: [String] = []
                    var cursor: String?
                    var pages = 0
                    repeat {
                        let page = try await client.call(
                            .get, "/api/v1/runs?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), token: token)
                        #expect(page.status == .ok)
                        let items = try #require(page["items"] as? [[String: Any]])
                        #expect(items.count <= 2)
                        #expect(items.allSatisfy { $0["triggerKind"] as? String == "manual" && $0["status"] as? String == "queued" })
                        #expect(items.allSatisfy { $0["steps"] == nil && $0["trigger"] == nil }, "list items are summaries")
                        seen += items.compactMap { $0["id"] as? String }
                        cursor = page["next"] as? String
                        if cursor == nil { #expect(page.object["next"] is NSNull) }
                        pages += 1
                    } while cursor != nil && pages < 10
                    #expect(seen == started.reversed(), "every run once, newest first")
                    #expect(pages == 3)

                    let firstOnly = try await client.call(.get, "/api/v1/runs?flowId=\(first)", token: token)
                    #expect((firstOnly["items"] as? [[String: Any]])?.count == 3)
                    #expect((firstOnly["items"] as? [[String: Any]])?.allSatisfy { $0["flowId"] as? String == first } == true)
                    let queued = try await client.call(.get, "/api/v1/runs?status=queued&flowId=\(second)", token: token)
                    #expect((queued["items"] as? [Any])?.count == 2)
                    let succeeded = try await client.call(.get, "/api/v1/runs?status=succeeded", token: token)
                    #expect((succeeded["items"] as? [Any])?.isEmpty == true)
                    #expect(succeeded.object["next"] is NSNull)
                    let all = try await client.call(.get, "/api/v1/runs", token: token)
                    #expect((all["items"] as? [Any])?.count == 5)
                    #expect(all.object["total"] == nil, "a cursor page counts nothing")

                    // By position: any window at once, with the total.
                    let window = try await client.call(.get, "/api/v1/runs?offset=3&limit=2", token: token)
                    #expect((window["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == Array(started.reversed()[3..<5]))
                    #expect(window["total"] as? Int == 5 && window.object["next"] is NSNull)
                    let ofFirst = try await client.call(.get, "/api/v1/runs?offset=0&flowId=\(first)", token: token)
                    #expect(ofFirst["total"] as? Int == 3 && (ofFirst["items"] as? [Any])?.count == 3)
                    let past = try await client.call(.get, "/api/v1/runs?offset=50", token: token)
                    #expect((past["items"] as? [Any])?.isEmpty == true && past["total"] as? Int == 5)
                    let token2 = try #require(try await client.call(.get, "/api/v1/runs?limit=1", token: token)["next"] as? String)
                    let both = try await client.call(.get, "/api/v1/runs?offset=1&cursor=\(token2)", token: token)
                    #expect(both.status == .unprocessableContent && both.errorField == "offset")
                }
            }
        }
    }

    @Test("a bad status, limit, cursor or offset is 422 naming the query parameter", arguments: [
        ("status=done", "status"), ("limit=0", "limit"), ("limit=201", "limit"), ("limit=ten", "limit"),
        ("limit=", "limit"), ("cursor=not-a-cursor", "cursor"), ("cursor=12_", "cursor"),
        ("offset=-1", "offset"), ("offset=ten", "offset"), ("offset=", "offset"), ("offset=10000001", "offset"),
    ])
    func badQuery(query: String, field: String) async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let refused = try await client.call(.get, "/api/v1/runs?\(query)", token: token)
                #expect(refused.status == .unprocessableContent, "\(refused.text)")
                #expect(refused.errorField == field)
                #expect(refused.errorCode == "validation_failed")
            }
        }
    }

    @Test("limit 200 is the most a page holds")
    func limitBounds() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let largest = try await client.call(.get, "/api/v1/runs?limit=200", token: token)
                let smallest = try await client.call(.get, "/api/v1/runs?limit=1", token: token)
                #expect(largest.status == .ok)
                #expect(smallest.status == .ok)
            }
        }
    }

    @Test("another workspace's runs are 404 and absent from its list; a missing run is 404")
    func isolation() async throws {
        try await APIHarness.run { harness in
            let owner = try await harness.workspace("Owner")
            let stranger = try await harness.workspace("Stranger")
            try await harness.withEngine {
                try await harness.test { client in
                    let flowID = try #require(try await client.call(.post, "/api/v1/flows", token: owner, json: FlowJSON.manual(name: "F"))["id"] as? String)
                    let started = try await client.call(.post, "/api/v1/flows/\(flowID)/runs", token: owner, json: #"{"name":"private"}"#)
                    let runID = try #require(started["runId"] as? String)
                    let foreign = try await client.call(.get, "/api/v1/runs/\(runID)", token: stranger)
                    #expect(foreign.status == .notFound)
                    #expect(foreign.errorCode == "not_found")
                    #expect((try await client.call(.get, "/api/v1/runs", token: stranger)["items"] as? [Any])?.isEmpty == true)
                    #expect((try await client.call(.get, "/api/v1/runs?flowId=\(flowID)", token: stranger)["items"] as? [Any])?.isEmpty == true)
                    #expect(try await client.call(.get, "/api/v1/runs/run_missing", token: owner).status == .notFound)
                    #expect(try await client.call(.get, "/api/v1/runs/\(runID)", token: owner).status == .ok)
                    #expect(try await client.call(.get, "/api/v1/runs", token: nil).status == .unauthorized)
                }
            }
        }
    }
}
