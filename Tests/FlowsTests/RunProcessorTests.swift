import Flows
import Foundation
import TestSupport
import Testing

@Suite("Run processor: steps, templates, failures, retries, recovery")
struct RunProcessorTests {
    let clock = TestClock()

    func processor(_ nodes: [any Node], jitter: Double = 0) -> RunProcessor {
        let clock = self.clock
        return RunProcessor(registry: NodeRegistry(nodes + [DebugEchoNode()]), now: { clock.now }, jitter: { jitter })
    }

    @Test("templates see the trigger and earlier outputs; every step is recorded with its resolved parameters")
    func templatesAndOutputs() async {
        let flow = Fixtures.flow([
            FlowStep(id: "greet", type: "debug.echo", parameters: ["message": "Hello {{trigger.body.name}}", "n": 3]),
            FlowStep(id: "again", type: "debug.echo", parameters: ["echoed": "{{steps.greet.output.message}} ({{run.id}})"]),
        ])
        let ended = await processor([]).process(Fixtures.run(body: ["name": "Ada"]), flow: flow, logger: Fixtures.logger) { _ in false }
        #expect(ended.status == .succeeded)
        #expect(ended.steps.map(\.status) == [.succeeded, .succeeded])
        #expect(ended.steps[0].output == ["message": "Hello Ada", "n": 3])
        #expect(ended.steps[1].output == ["echoed": "Hello Ada (run_1)"])
        #expect(ended.steps[1].parameters == ["echoed": "Hello Ada (run_1)"])
        #expect(ended.finishedAt == clock.now)
    }

    @Test("a missing path fails the step with an error naming the path, and the run stops")
    func missingPath() async {
        let flow = Fixtures.flow([
            FlowStep(id: "a", type: "debug.echo", parameters: ["to": "{{trigger.body.email}}"]),
            FlowStep(id: "b", type: "debug.echo", parameters: [:]),
        ])
        let ended = await processor([]).process(Fixtures.run(body: ["name": "Ada"]), flow: flow, logger: Fixtures.logger) { _ in false }
        #expect(ended.status == .failed)
        #expect(ended.error?.code == "ETEMPLATE")
        #expect(ended.error?.stepID == "a")
        #expect(ended.error?.message.contains("trigger.body.email") == true)
        #expect(ended.steps.count == 1)
    }

    @Test("onError continue records the error as the output, and later steps can read it")
    func continueOnError() async {
        let failing = ScriptedNode([.fail(.permanent)])
        let flow = Fixtures.flow([
            FlowStep(id: "a", type: failing.type, parameters: [:], onError: .continue),
            FlowStep(id: "b", type: "debug.echo", parameters: ["saw": "{{steps.a.output.error.code}}"]),
        ])
        let ended = await processor([failing]).process(Fixtures.run(), flow: flow, logger: Fixtures.logger) { _ in false }
        #expect(ended.status == .succeeded)
        #expect(ended.steps[0].status == .failed)
        #expect(ended.steps[0].error?.code == "ETEST")
        #expect(ended.steps[1].output == ["saw": "ETEST"])
    }

    @Test("a transient failure queues the run for a jittered backoff; the next attempt resumes at that step")
    func transientRetry() async {
        let first = ScriptedNode(type: "test.first", [.succeed(["ok": true])])
        let flaky = ScriptedNode(type: "test.flaky", [.fail(.transient), .succeed(["sent": true])])
        let flow = Fixtures.flow(
            [FlowStep(id: "a", type: first.type, parameters: [:]), FlowStep(id: "b", type: flaky.type, parameters: [:])],
            retry: RetryPolicy(maxAttempts: 3, initialDelay: .seconds(10), maxDelay: .seconds(60)))
        let processor = self.processor([first, flaky], jitter: 0.5)
        let waiting = await processor.process(Fixtures.run(), flow: flow, logger: Fixtures.logger) { _ in false }
        #expect(waiting.status == .queued)
        #expect(waiting.steps.map(\.status) == [.succeeded, .retrying])
        // Jitter 0.5 maps to a factor of 0.75 of the nominal 10 s.
        #expect(waiting.notBefore == clock.now.addingTimeInterval(7.5))
        #expect(waiting.leaseOwner == nil)

        clock.advance(8)
        var claimed = waiting
        claimed.restore(status: .running)
        let ended = await processor.process(claimed, flow: flow, logger: Fixtures.logger) { _ in false }
        #expect(ended.status == .succeeded)
        #expect(ended.steps[1].attempts == 2)
        #expect(first.calls.count == 1, "the finished step is not run again")
        #expect(flaky.calls.map(\.attempt) == [1, 2])
    }

    @Test("transient failures stop after the last attempt")
    func retriesExhausted() async {
        let flaky = ScriptedNode([.fail(.transient), .fail(.transient)])
        let flow = Fixtures.flow([FlowStep(id: "a", type: flaky.type, parameters: [:])], retry: RetryPolicy(maxAttempts: 2))
        let processor = self.processor([flaky])
        var run = await processor.process(Fixtures.run(), flow: flow, logger: Fixtures.logger) { _ in false }
        #expect(run.status == .queued)
        run.restore(status: .running)
        run = await processor.process(run, flow: flow, logger: Fixtures.logger) { _ in false }
        #expect(run.status == .failed)
        #expect(run.steps[0].attempts == 2)
    }

    @Test("an ambiguous step ends the run ambiguous, even with onError continue, and is never retried")
    func ambiguous() async {
        let unsure = ScriptedNode([.fail(.ambiguous)])
        let after = ScriptedNode(type: "test.after", [])
        let flow = Fixtures.flow([
            FlowStep(id: "a", type: unsure.type, parameters: [:], onError: .continue),
            FlowStep(id: "b", type: after.type, parameters: [:]),
        ])
        let ended = await processor([unsure, after]).process(Fixtures.run(), flow: flow, logger: Fixtures.logger) { _ in false }
        #expect(ended.status == .ambiguous)
        #expect(ended.steps.map(\.status) == [.ambiguous])
        #expect(after.calls.isEmpty)
    }

    @Test("a step that is not idempotent is checkpointed as running before it starts; secret parameters are redacted")
    func checkpointAndRedaction() async {
        let sender = ScriptedNode(idempotent: false, [.succeed(["id": "m1"])])
        let flow = Fixtures.flow([FlowStep(id: "send", type: sender.type, parameters: ["password": "hunter2-secret", "to": "a@example.com"])])
        let checkpoints = Checkpoints()
        let ended = await processor([sender]).process(Fixtures.run(), flow: flow, logger: Fixtures.logger) { checkpoints.append($0); return false }
        #expect(checkpoints.all.count == 1)
        #expect(checkpoints.all.first?.steps.first?.status == .running)
        #expect(ended.steps[0].parameters == ["password": "<redacted>", "to": "a@example.com"])
        #expect(sender.calls.first?.string("password") == "hunter2-secret", "the node itself gets the value")
        #expect(!"\(ended)".contains("hunter2-secret"))
    }

    @Test("after a crash: a non-idempotent step that had started makes the run ambiguous; otherwise it resumes")
    func recovery() async {
        let processor = self.processor([])
        var interrupted = Fixtures.run()
        interrupted.steps = [StepRecord(
            stepID: "send", type: "smtp.send", status: .running, parameters: nil, output: nil, error: nil, attempts: 1,
            startedAt: clock.now, finishedAt: nil)]
        let ambiguous = processor.recover(interrupted)
        #expect(ambiguous.status == .ambiguous)
        #expect(ambiguous.error?.code == "EINTERRUPTED")

        let counter = ScriptedNode(type: "test.count", [])
        let flow = Fixtures.flow([
            FlowStep(id: "a", type: "debug.echo", parameters: ["x": 1]),
            FlowStep(id: "b", type: counter.type, parameters: ["from": "{{steps.a.output.x}}"]),
        ])
        var halfway = Fixtures.run()
        halfway.steps = [StepRecord(
            stepID: "a", type: "debug.echo", status: .succeeded, parameters: ["x": 1], output: ["x": 1], error: nil, attempts: 1,
            startedAt: clock.now, finishedAt: clock.now)]
        var requeued = processor.recover(halfway)
        #expect(requeued.status == .queued)
        requeued.restore(status: .running)
        let ended = await self.processor([counter]).process(requeued, flow: flow, logger: Fixtures.logger) { _ in false }
        #expect(ended.status == .succeeded)
        #expect(counter.calls.map { $0.string("from") } == ["1"])
    }

    @Test("a deleted flow or an unknown node type fails the run with a clear code")
    func missingPieces() async {
        let gone = await processor([]).process(Fixtures.run(), flow: nil, logger: Fixtures.logger) { _ in false }
        #expect(gone.status == .failed)
        #expect(gone.error?.code == "EFLOW")
        let unknown = await processor([]).process(
            Fixtures.run(), flow: Fixtures.flow([FlowStep(id: "a", type: "no.such", parameters: [:])]), logger: Fixtures.logger) { _ in false }
        #expect(unknown.error?.code == "ENODE")
    }
}

@Suite("Run processor: edits while waiting, unsafe insertions, unsafe re-runs")
struct RunProcessorSafetyTests {
    let clock = TestClock()

    /// Declares `to` as an address field: inserted values may not add list separators.
    struct AddressNode: Node {
        var descriptor: NodeDescriptor {
            NodeDescriptor(
                type: "test.address", label: "Address", summary: "",
                parameters: [NodeParameter(name: "to", label: "To", kind: .string, insertionForbids: Set(",;<>\"\r\n".unicodeScalars))],
                isIdempotent: true)
        }

        func execute(_ context: NodeContext) async throws(NodeError) -> JSONValue { context.parameters }
    }

    func processor(_ nodes: [any Node]) -> RunProcessor {
        let clock = self.clock
        return RunProcessor(registry: NodeRegistry(nodes + [DebugEchoNode()]), now: { clock.now }, jitter: { 0 })
    }

    @Test("a value inserted into an address may not add recipients; a whole-parameter placeholder may hold a list", arguments: [
        ("{{trigger.body.name}} <{{trigger.body.email}}>", "x <spam@evil.example>, y", false),
        ("{{trigger.body.name}} <{{trigger.body.email}}>", "Ada Lovelace", true),
        ("{{trigger.body.email}}", "Ada", true),
        ("{{trigger.body.list}}", "Ada", true),
    ])
    func insertions(template: String, name: String, allowed: Bool) async {
        let flow = Fixtures.flow([FlowStep(id: "a", type: "test.address", parameters: ["to": .string(template)])])
        let run = Fixtures.run(body: ["name": .string(name), "email": "ada@example.com", "list": "a@example.com, b@example.com"])
        let ended = await processor([AddressNode()]).process(run, flow: flow, logger: Fixtures.logger) { _ in false }
        #expect((ended.status == .succeeded) == allowed, "\(String(describing: ended.error))")
        if !allowed {
            #expect(ended.error?.code == "ETEMPLATE")
            #expect(ended.error?.message.contains("trigger.body.name") == true)
        }
    }

    @Test("a flow edited while a run waits: the run fails instead of pairing old records with new steps")
    func flowChanged() async {
        let sender = ScriptedNode(type: "test.send", idempotent: false, [])
        var run = Fixtures.run()
        run.steps = [StepRecord(
            stepID: "send", type: "test.send", status: .succeeded, parameters: [:], output: ["id": "m1"], error: nil,
            attempts: 1, startedAt: clock.now, finishedAt: clock.now)]
        let edited = Fixtures.flow([
            FlowStep(id: "first", type: "test.send", parameters: [:]), FlowStep(id: "send", type: "test.send", parameters: [:]),
        ])
        let ended = await processor([sender]).process(run, flow: edited, logger: Fixtures.logger) { _ in false }
        #expect(ended.status == .failed)
        #expect(ended.error?.code == "EFLOWCHANGED")
        #expect(sender.calls.isEmpty, "nothing is sent again")
    }

    @Test("binary output lost across a retry is not regenerated by a step that is not safe to repeat")
    func unsafeRerun() async throws {
        let poster = ScriptedNode(type: "test.post", idempotent: false, [.succeed(["body": .bytes([1, 2, 3])])])
        var run = Fixtures.run()
        let summary = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(JSONValue.object(["body": .bytes([1, 2, 3])])))
        run.steps = [StepRecord(
            stepID: "post", type: "test.post", status: .succeeded, parameters: [:], output: summary, error: nil,
            attempts: 1, startedAt: clock.now, finishedAt: clock.now)]
        let flow = Fixtures.flow([
            FlowStep(id: "post", type: "test.post", parameters: [:]),
            FlowStep(id: "use", type: "debug.echo", parameters: ["b": "{{steps.post.output.body}}"]),
        ])
        let ended = await processor([poster]).process(run, flow: flow, logger: Fixtures.logger) { _ in false }
        #expect(ended.error?.code == "ERESUME")
        #expect(poster.calls.isEmpty)
    }
}
