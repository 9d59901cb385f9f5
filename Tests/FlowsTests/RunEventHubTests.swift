import Flows
import Foundation
import Testing

@Suite("RunEventHub: who hears of a run")
struct RunEventHubTests {
    static func run(_ id: String, workspace: String = "ws_1", flow: String = "flow_1") -> Run {
        Run(id: id, workspaceID: workspace, flowID: flow, trigger: TriggerPayload(kind: "manual", body: .object([:])),
            createdAt: Date(timeIntervalSince1970: 1_800_000_000))
    }

    /// The ids a stream holds once the hub is closed.
    static func ids(_ stream: AsyncStream<RunEventHub.Event>) async -> [String] {
        var ids: [String] = []
        for await event in stream { ids.append(event.runID) }
        return ids
    }

    @Test("a listener hears its workspace's runs, of its flow when it names one, and nothing of others")
    func filtering() async throws {
        let hub = RunEventHub()
        let workspace = try hub.subscribe(workspaceID: "ws_1", flowID: nil)
        let flow = try hub.subscribe(workspaceID: "ws_1", flowID: "flow_2")
        hub.publish([Self.run("run_a"), Self.run("run_b", flow: "flow_2"), Self.run("run_c", workspace: "ws_2", flow: "flow_2")])
        hub.close()
        #expect(await Self.ids(workspace) == ["run_a", "run_b"])
        #expect(await Self.ids(flow) == ["run_b"])
    }

    @Test("a workspace may hold a set number of listeners; another workspace is not counted; a closed hub refuses")
    func limits() throws {
        let hub = RunEventHub(maximumPerWorkspace: 2)
        let kept = [try hub.subscribe(workspaceID: "ws_1", flowID: nil), try hub.subscribe(workspaceID: "ws_1", flowID: "f")]
        #expect(throws: RunEventHub.SubscribeError.tooMany) { _ = try hub.subscribe(workspaceID: "ws_1", flowID: nil) }
        let elsewhere = try hub.subscribe(workspaceID: "ws_2", flowID: nil)
        #expect(hub.listenerCount == 3)
        hub.close()
        #expect(throws: RunEventHub.SubscribeError.closed) { _ = try hub.subscribe(workspaceID: "ws_3", flowID: nil) }
        _ = (kept, elsewhere)
    }

    @Test("a listener that stops reading is forgotten, and frees its place")
    func termination() async throws {
        let hub = RunEventHub(maximumPerWorkspace: 1)
        let reader = Task {
            let stream = try hub.subscribe(workspaceID: "ws_1", flowID: nil)
            for await _ in stream {}
        }
        let deadline = ContinuousClock.now.advanced(by: .seconds(5))
        while hub.listenerCount == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
        #expect(hub.listenerCount == 1)
        reader.cancel()
        _ = await reader.result
        #expect(hub.listenerCount == 0)
        _ = try hub.subscribe(workspaceID: "ws_1", flowID: nil)
    }

    @Test("a slow listener keeps the newest events, never blocking the publisher")
    func slowListener() async throws {
        let hub = RunEventHub(bufferSize: 3)
        let stream = try hub.subscribe(workspaceID: "ws_1", flowID: nil)
        hub.publish((1...10).map { Self.run("run_\($0)") })
        hub.close()
        #expect(await Self.ids(stream) == ["run_8", "run_9", "run_10"])
    }

    @Test("an event carries the run's summary and step statuses, never its body or outputs")
    func event() {
        var run = Self.run("run_x")
        run.trigger = TriggerPayload(kind: "webhook", body: .object(["secret": .string("canary")]))
        let event = RunEventHub.Event(run)
        #expect(event.triggerKind == "webhook")
        #expect(!String(describing: event).contains("canary"))
    }
}
