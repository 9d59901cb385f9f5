import Flows
import Foundation
import HTTPTypes
import HummingbirdTesting
import Server
import Testing

@Suite("API: live run events, flow versions and the last run")
struct EventAPITests {
    @Test("a run's changes reach its flow's stream as `event: run`, queued to succeeded, without the trigger's body; another flow's and workspace's do not")
    func stream() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            let other = try await harness.workspace("Other")
            let hub = harness.environment.services.runEvents
            try await harness.withEngine(executing: true) {
                try await harness.test { client in
                    let watched = try #require(try await client.call(.post, "/api/v1/flows", token: token, json: FlowJSON.manual(name: "Watched"))["id"] as? String)
                    let unwatched = try #require(try await client.call(.post, "/api/v1/flows", token: token, json: FlowJSON.manual(name: "Unwatched"))["id"] as? String)
                    let foreign = try #require(try await client.call(.post, "/api/v1/flows", token: other, json: FlowJSON.manual(name: "Watched"))["id"] as? String)

                    async let streamed = client.call(.get, "/api/v1/events?flowId=\(watched)", token: token)
                    let deadline = ContinuousClock.now.advanced(by: .seconds(10))
                    while hub.listenerCount < 1 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
                    #expect(hub.listenerCount == 1)

                    var ids: [String] = []
                    for (flow, key) in [(watched, token), (unwatched, token), (foreign, other)] {
                        let started = try await client.call(.post, "/api/v1/flows/\(flow)/runs", token: key, json: #"{"name":"body-canary-7f3a"}"#)
                        let id = try #require(started["runId"] as? String)
                        #expect(try await client.finishedRun(id, token: key)["status"] as? String == "succeeded")
                        ids.append(id)
                    }
                    hub.close()  // ends the stream, so the test client's response completes
                    let response = try await streamed
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType] == "text/event-stream; charset=utf-8")
                    #expect(response.headers[.cacheControl] == "no-store")
                    #expect(response.text.hasPrefix("retry: 3000\n"))

                    let events = response.text.components(separatedBy: "\n\n").filter { $0.hasPrefix("event: run\ndata: ") }
                    let decoded = events.compactMap { event in
                        (try? JSONSerialization.jsonObject(with: Data(event.dropFirst("event: run\ndata: ".count).utf8))) as? [String: Any]
                    }
                    #expect(decoded.count == events.count, "every event's data is one JSON object")
                    #expect(decoded.allSatisfy { $0["id"] as? String == ids[0] && $0["flowId"] as? String == watched }, "\(response.text)")
                    let statuses = decoded.compactMap { $0["status"] as? String }
                    #expect(statuses.first == "queued")
                    #expect(statuses.last == "succeeded")
                    let finalSteps = try #require(decoded.last?["steps"] as? [[String: String]])
                    #expect(finalSteps == [["id": "greet", "status": "succeeded"]])
                    #expect(!response.text.contains("body-canary-7f3a"), "no trigger body and no step output in a stream")
                    #expect(!response.text.contains(ids[1]) && !response.text.contains(ids[2]))
                }
            }
        }
    }

    @Test("a flowId that is empty or too long is 422 naming it; a closed hub is 503 shutting_down")
    func refusals() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                for query in ["flowId=", "flowId=" + String(repeating: "f", count: 65)] {
                    let refused = try await client.call(.get, "/api/v1/events?\(query)", token: token)
                    #expect(refused.status == .unprocessableContent)
                    #expect(refused.errorField == "flowId")
                }
                #expect(try await client.call(.get, "/api/v1/events", token: nil).status == .unauthorized)
                harness.environment.services.runEvents.close()
                let stopping = try await client.call(.get, "/api/v1/events", token: token)
                #expect(stopping.status == .serviceUnavailable)
                #expect(stopping.errorCode == "shutting_down")
            }
        }
    }

    @Test("PUT from a stale version is 409 version_conflict and changes nothing; from the current one it applies and counts up")
    func versions() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let created = try await client.call(.post, "/api/v1/flows", token: token, json: FlowJSON.manual(name: "One"))
                let id = try #require(created["id"] as? String)
                #expect(created["version"] as? Int == 1)
                #expect((created["problems"] as? [Any])?.isEmpty == true)

                func replaced(_ name: String, version: Int?) -> String {
                    let versionJSON = version.map { #","version":\#($0)"# } ?? ""
                    return #"{"name":"\#(name)","trigger":{"type":"manual"},"steps":[{"id":"a","type":"debug.echo"}]\#(versionJSON)}"#
                }
                let first = try await client.call(.put, "/api/v1/flows/\(id)", token: token, json: replaced("Two", version: 1))
                #expect(first.status == .ok)
                #expect(first["version"] as? Int == 2)
                let stale = try await client.call(.put, "/api/v1/flows/\(id)", token: token, json: replaced("Stale", version: 1))
                #expect(stale.status == .conflict)
                #expect(stale.errorCode == "version_conflict")
                #expect(stale.errorField == "version")
                let shown = try await client.call(.get, "/api/v1/flows/\(id)", token: token)
                #expect(shown["name"] as? String == "Two")
                #expect(shown["version"] as? Int == 2)
                let unversioned = try await client.call(.put, "/api/v1/flows/\(id)", token: token, json: replaced("Three", version: nil))
                #expect(unversioned["version"] as? Int == 3)
                let onCreate = try await client.call(.post, "/api/v1/flows", token: token, json: replaced("New", version: 1))
                #expect(onCreate.status == .unprocessableContent)
                #expect(onCreate.errorField == "version")
            }
        }
    }

    @Test("the flows list carries each flow's newest run, and null for a flow without runs")
    func lastRun() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.withEngine(executing: true) {
                try await harness.test { client in
                    let ran = try #require(try await client.call(.post, "/api/v1/flows", token: token, json: FlowJSON.manual(name: "Ran"))["id"] as? String)
                    let idle = try #require(try await client.call(.post, "/api/v1/flows", token: token, json: FlowJSON.manual(name: "Idle"))["id"] as? String)
                    var newest = ""
                    for _ in 0..<2 {
                        let started = try await client.call(.post, "/api/v1/flows/\(ran)/runs", token: token, json: #"{"name":"Ada"}"#)
                        newest = try #require(started["runId"] as? String)
                        _ = try await client.finishedRun(newest, token: token)
                    }
                    let list = try await client.call(.get, "/api/v1/flows", token: token)
                    let flows = try #require(list["flows"] as? [[String: Any]])
                    let ranEntry = try #require(flows.first { $0["id"] as? String == ran })
                    let last = try #require(ranEntry["lastRun"] as? [String: Any])
                    #expect(last["id"] as? String == newest)
                    #expect(last["status"] as? String == "succeeded")
                    #expect(last["finishedAt"] is String)
                    let idleEntry = try #require(flows.first { $0["id"] as? String == idle })
                    #expect(idleEntry["lastRun"] is NSNull)
                    let single = try await client.call(.get, "/api/v1/flows/\(ran)", token: token)
                    #expect(single["lastRun"] == nil, "one flow's answer leaves lastRun out")
                }
            }
        }
    }
}

@Suite("API: cron preview")
struct CronPreviewAPITests {
    @Test("the next fires and the reading come from the server's cron, in UTC and as the zone's wall time")
    func preview() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let answer = try await client.call(.post, "/api/v1/cron/preview", token: token, json: """
                    {"expression":"0 8 * * MON-FRI","timeZone":"Europe/Madrid","after":"2026-03-27T12:00:00Z"}
                    """)
                #expect(answer.status == .ok, "\(answer.text)")
                #expect(answer["description"] as? String == "every weekday at 08:00, Europe/Madrid")
                let next = try #require(answer["next"] as? [[String: String]])
                // Friday 27 March, then Monday 30 March after the change to summer time (+02:00).
                #expect(next.map { $0["local"] ?? "" } == [
                    "2026-03-30T08:00:00+02:00", "2026-03-31T08:00:00+02:00", "2026-04-01T08:00:00+02:00",
                    "2026-04-02T08:00:00+02:00", "2026-04-03T08:00:00+02:00",
                ])
                #expect(next.first?["at"] == "2026-03-30T06:00:00.000Z")
                let schedule = try CronSchedule(parsing: "0 8 * * MON-FRI", timeZone: try #require(TimeZone(identifier: "Europe/Madrid")))
                var cursor = try #require(try? Date("2026-03-27T12:00:00Z", strategy: .iso8601))
                for fire in next {
                    let expected = try #require(schedule.nextFire(after: cursor))
                    #expect(fire["at"] == expected.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
                    cursor = expected
                }
                let three = try await client.call(.post, "/api/v1/cron/preview", token: token, json: #"{"expression":"@hourly","count":3}"#)
                #expect((three["next"] as? [Any])?.count == 3)
                #expect(three["timeZone"] as? String == "UTC")
            }
        }
    }

    @Test("a bad expression, zone, count or time is 422 naming it, with the words a saved flow gets", arguments: [
        (#"{"expression":"61 * * * *"}"#, "expression"),
        (#"{"expression":"0 8 * * *","timeZone":"Mars/Olympus"}"#, "timeZone"),
        (#"{"expression":"0 8 * * *","count":0}"#, "count"),
        (#"{"expression":"0 8 * * *","count":21}"#, "count"),
        (#"{"expression":"0 8 * * *","after":"yesterday"}"#, "after"),
        (#"{"expression":"0 8 * * *","zone":"UTC"}"#, "zone"),
        (#"{"timeZone":"UTC"}"#, "expression"),
    ])
    func refused(body: String, field: String) async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let refused = try await client.call(.post, "/api/v1/cron/preview", token: token, json: body)
                #expect(refused.status == .unprocessableContent, "\(refused.text)")
                #expect(refused.errorField == field, "\(refused.text)")
                if field == "expression" || field == "timeZone", body.contains("expression") {
                    let flow = try await client.call(.post, "/api/v1/flows", token: token, json: """
                        {"name":"Cron","trigger":{"type":"cron",\(body.dropFirst().dropLast())},"steps":[{"id":"a","type":"debug.echo"}]}
                        """)
                    #expect(flow.errorField == "trigger.\(field)")
                    #expect(flow.errorMessage?.hasSuffix(refused.errorMessage ?? "?") == true, "\(flow.text) vs \(refused.text)")
                }
            }
        }
    }
}

@Suite("API: a flow's sample body")
struct SampleBodyAPITests {
    @Test("a sample body is kept with the flow, replaced by PUT, stands in for a preview's body, and is a small JSON object")
    func sampleBody() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let created = try await client.call(.post, "/api/v1/flows", token: token, json: """
                    {"name":"Sampled","trigger":{"type":"manual"},"sampleBody":{"name":"Ada","n":[1,2]},
                     "steps":[{"id":"greet","type":"debug.echo","parameters":{"message":"Hi {{trigger.body.name}}"}}]}
                    """)
                #expect(created.status == .created, "\(created.text)")
                let id = try #require(created["id"] as? String)
                let shown = try await client.call(.get, "/api/v1/flows/\(id)", token: token)
                #expect((shown["sampleBody"] as? [String: Any])?["name"] as? String == "Ada")

                let preview = try await client.call(.post, "/api/v1/flows/\(id)/steps/greet/preview", token: token, json: "{}")
                #expect(preview["parameters"] as? [String: String] == ["message": "Hi Ada"], "\(preview.text)")

                let replaced = try await client.call(.put, "/api/v1/flows/\(id)", token: token, json: """
                    {"name":"Sampled","trigger":{"type":"manual"},"steps":[{"id":"greet","type":"debug.echo"}]}
                    """)
                #expect(replaced["sampleBody"] is NSNull, "PUT replaces the whole definition")

                let big = String(repeating: "x", count: 70_000)
                for sample in ["[1]", "\"text\"", #"{"big":"\#(big)"}"#] {
                    let refused = try await client.call(.post, "/api/v1/flows", token: token, json: """
                        {"name":"Bad","trigger":{"type":"manual"},"sampleBody":\(sample),"steps":[{"id":"a","type":"debug.echo"}]}
                        """)
                    #expect(refused.status == .unprocessableContent)
                    #expect(refused.errorField == "sampleBody", "\(refused.text.prefix(300))")
                }
            }
        }
    }
}
