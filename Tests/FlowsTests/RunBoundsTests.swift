import Flows
import Foundation
import Synchronization
import Testing
import TestSupport

/// Regression tests for the findings about runs that grow without bound, crash the server at every
/// start, or cannot be stopped: each replays the finding's flow through the processor.
@Suite("Run bounds: value caps, depth, quarantine, cancellation")
struct RunBoundsTests {
    let clock = TestClock()

    func processor(_ nodes: [any Node] = []) -> RunProcessor {
        let clock = self.clock
        return RunProcessor(registry: NodeRegistry(nodes + [DebugEchoNode()]), now: { clock.now }, jitter: { 0 })
    }

    /// Finding 3's flow: 27 echo steps, each repeating the previous output twice.
    static func doublingChain(steps: Int = 27) -> Flow {
        var list = [FlowStep(id: "s0", type: "debug.echo", parameters: ["message": "x"])]
        for index in 1..<steps {
            list.append(FlowStep(
                id: "s\(index)", type: "debug.echo",
                parameters: ["message": .string("{{steps.s\(index - 1).output.message}}{{steps.s\(index - 1).output.message}}")]))
        }
        return Fixtures.flow(list)
    }

    @Test("finding 3: a doubling template chain stops at the value bound with ETOOLARGE; the history stays small")
    func doublingChainIsBounded() async throws {
        let ended = await processor().process(Fixtures.run(), flow: Self.doublingChain(), logger: Fixtures.logger) { _ in false }
        #expect(ended.status == .failed)
        #expect(ended.error?.code == "ETOOLARGE")
        // 2^25 = 33.5 MB is the last message under 40 MB; the step after it would be 67 MB.
        #expect(ended.error?.stepID == "s26")
        #expect(ended.steps.count == 27)
        for record in ended.steps {
            let stored = try JSONEncoder().encode(record)
            #expect(stored.count < 1_100_000, "step \(record.stepID) keeps at most 1 MB in the history")
        }
        #expect(ended.steps[25].output?[path: [.key("$omitted"), .key("size")]] != nil, "a 33 MB output is summarised")
    }

    @Test("finding 3: outputs that would together exceed the live bound fail the step that would cross it")
    func liveBound() async {
        let big = String(repeating: "y", count: 30_000_000)
        let flow = Fixtures.flow((0..<4).map { FlowStep(id: "b\($0)", type: "debug.echo", parameters: ["v": .string(big)]) })
        let ended = await processor().process(Fixtures.run(), flow: flow, logger: Fixtures.logger) { _ in false }
        #expect(ended.status == .failed)
        #expect(ended.error?.code == "ETOOLARGE")
        #expect(ended.error?.stepID == "b3", "three 30 MB outputs fit in 100 MB, a fourth does not")
    }

    @Test("finding 9: an output nested deeper than 64 levels fails its step with ETOODEEP; the run is storable")
    func deepOutput() async throws {
        var deep: JSONValue = "leaf"
        for _ in 0..<70 { deep = .array([deep]) }
        let node = ScriptedNode(type: "test.deep", [.succeed(deep)])
        let flow = Fixtures.flow([FlowStep(id: "deep", type: node.type, parameters: [:])])
        let ended = await processor([node]).process(Fixtures.run(), flow: flow, logger: Fixtures.logger) { _ in false }
        #expect(ended.status == .failed)
        #expect(ended.error?.code == "ETOODEEP")
        _ = try JSONEncoder().encode(ended.steps)
    }

    @Test("finding 3: every step boundary is a checkpoint; a run the server died under three times without saving progress is quarantined")
    func quarantine() async throws {
        let flow = Fixtures.flow([
            FlowStep(id: "a", type: "debug.echo", parameters: ["n": 1]), FlowStep(id: "b", type: "debug.echo", parameters: ["n": 2]),
        ])
        var run = Run(id: "run_1", workspaceID: "ws_1", flowID: "flow_1", trigger: TriggerPayload(kind: "manual"), createdAt: clock.now)
        // A worker takes it: the claim counts a start. The first step (repeatable) needs no write of
        // its own; the boundary before b is a checkpoint, which saves progress.
        run.handle(.claimed(owner: "w", leaseUntil: clock.now.addingTimeInterval(60)), now: clock.now)
        #expect(run.lifecycle.startsWithoutProgress == 1)
        let checkpoints = Checkpoints()
        _ = await processor().process(run, flow: flow, logger: Fixtures.logger) { checkpoints.append($0); return false }
        #expect(checkpoints.all.count == 1)
        var stored = try #require(checkpoints.all.first)
        #expect(stored.steps.map(\.status) == [.succeeded, .running])
        #expect(stored.lifecycle.startsWithoutProgress == 0, "the checkpoint saved progress")

        // The server dies while b runs: what storage holds is the checkpoint. Each restart recovers
        // the run and a worker takes it again (b is the first step of that execution: no checkpoint).
        for start in 1...3 {
            stored = processor().recover(stored)
            #expect(stored.status == .queued, "start \(start)")
            stored.handle(.claimed(owner: "w", leaseUntil: clock.now.addingTimeInterval(60)), now: clock.now)
            #expect(stored.lifecycle.startsWithoutProgress == start)
            let again = Checkpoints()
            _ = await processor().process(stored, flow: flow, logger: Fixtures.logger) { again.append($0); return false }
            #expect(again.all.isEmpty, "resuming at b writes nothing before it runs")
        }
        stored = processor().recover(stored)
        #expect(stored.status == .failed)
        #expect(stored.error?.code == "EQUARANTINED")
        #expect(stored.error?.stepID == "b")
        #expect(stored.steps.map(\.status) == [.succeeded, .failed])
    }

    @Test("finding 3: a cancellation seen at a checkpoint stops the run before that step; earlier steps stay recorded")
    func cancelledAtBoundary() async {
        let sender = ScriptedNode(type: "test.send", idempotent: false, [.succeed(["messageId": "<m1@example.com>"])])
        let after = ScriptedNode(type: "test.after", [])
        let flow = Fixtures.flow([
            FlowStep(id: "send", type: sender.type, parameters: [:]), FlowStep(id: "after", type: after.type, parameters: [:]),
        ])
        let checkpoints = Mutex(0)
        let ended = await processor([sender, after]).process(Fixtures.run(), flow: flow, logger: Fixtures.logger) { _ in
            checkpoints.withLock { $0 += 1; return $0 == 2 }
        }
        #expect(ended.status == .cancelled)
        #expect(ended.error?.code == "ECANCELLED")
        #expect(ended.steps.map(\.stepID) == ["send"])
        #expect(ended.steps.first?.status == .succeeded, "the email sent before the request stays recorded as sent")
        #expect(sender.calls.count == 1)
        #expect(after.calls.isEmpty)
    }

    @Test("review: a step whose output the history did not keep is judged by what it recorded when it ran, not by its summarised parameters")
    func resumeUsesRecordedRepeatability() async throws {
        let poster = ScriptedNode(type: "test.post", idempotent: false, [.succeed(["ok": true])])
        let summary = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(JSONValue.object(["body": .bytes([1, 2, 3])])))
        var run = Fixtures.run()
        // Its parameters were over 1 MB: the history holds a summary that no longer names a method.
        run.steps = [StepRecord(
            stepID: "post", type: poster.type, status: .succeeded, parameters: ["$omitted": ["size": 2_000_000]], output: summary,
            error: nil, attempts: 1, isRepeatable: false, startedAt: clock.now, finishedAt: clock.now)]
        let flow = Fixtures.flow([
            FlowStep(id: "post", type: poster.type, parameters: [:]),
            FlowStep(id: "use", type: "debug.echo", parameters: ["b": "{{steps.post.output.body}}"]),
        ])
        let ended = await processor([poster]).process(run, flow: flow, logger: Fixtures.logger) { _ in false }
        #expect(ended.error?.code == "ERESUME")
        #expect(poster.calls.isEmpty, "the POST is not sent again")
    }

    @Test("review: a step cut short because the server is stopping does not use up an attempt")
    func cancellationKeepsAttempts() async throws {
        let hang = HangingStep()
        let flow = Fixtures.flow([FlowStep(id: "a", type: hang.type, parameters: [:])], retry: RetryPolicy(maxAttempts: 1))
        let task = Task { await processor([hang]).process(Fixtures.run(), flow: flow, logger: Fixtures.logger) { _ in false } }
        while !hang.started { try await Task.sleep(for: .milliseconds(5)) }
        task.cancel()
        let ended = await task.value
        #expect(ended.status == .queued, "with one attempt allowed, a real failure would have ended it failed")
        #expect(ended.steps.first?.status == .retrying)
        #expect(ended.steps.first?.attempts == 0, "the interrupted attempt does not count")
        #expect(ended.steps.first?.error?.code == "EINTERRUPTED")
    }
}

/// A node that waits until its task is cancelled, then fails transiently.
final class HangingStep: Node, Sendable {
    let type = "test.hangs"
    private let didStart = Mutex(false)
    var started: Bool { didStart.withLock { $0 } }

    var descriptor: NodeDescriptor {
        NodeDescriptor(type: type, label: "Hangs", summary: "", parameters: [], acceptsOtherParameters: true, isIdempotent: true)
    }

    func execute(_ context: NodeContext) async throws(NodeError) -> JSONValue {
        didStart.withLock { $0 = true }
        try? await Task.sleep(for: .seconds(3600))
        throw NodeError(code: "ECONNECTION", message: "interrupted", disposition: .transient)
    }
}
