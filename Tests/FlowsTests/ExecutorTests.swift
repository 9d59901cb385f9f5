import Flows
import Foundation
import Synchronization
import TestSupport
import Testing

@Suite("Executor, group commit and scheduler over the in-memory stores")
struct ExecutorTests {
    /// Runs the writer and the executor until `body` returns, then shuts them down.
    func withEngine(
        flows: InMemoryFlowStore, runs: InMemoryRunStore, registry: NodeRegistry,
        configure: (inout FlowExecutor.Configuration) -> Void = { _ in },
        _ body: @Sendable (RunWriter, FlowExecutor) async throws -> Void
    ) async throws {
        let signal = WakeSignal()
        let writer = RunWriter(store: runs, onInserted: { signal.fire() })
        var configuration = FlowExecutor.Configuration()
        configuration.pollInterval = .milliseconds(20)
        configure(&configuration)
        let executor = FlowExecutor(
            flows: flows, runs: runs, writer: writer,
            processor: RunProcessor(registry: registry, now: { Date() }, jitter: { 0 }),
            configuration: configuration, signal: signal, logger: Fixtures.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await writer.run() }
            group.addTask { await executor.run() }
            try await body(writer, executor)
            group.cancelAll()
            try await group.waitForAll()
        }
    }

    func waitUntil(_ condition: @Sendable () async -> Bool) async throws {
        for _ in 0..<500 {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("condition not met within 5 s")
    }

    @Test("three hundred runs submitted at once all complete, and share far fewer commits than runs")
    func manyRuns() async throws {
        let flows = InMemoryFlowStore()
        let runs = InMemoryRunStore(flows: flows)
        let flow = Fixtures.flow([FlowStep(id: "a", type: "debug.echo", parameters: ["n": "{{trigger.body.n}}"])])
        try await flows.insertFlow(flow)
        try await withEngine(flows: flows, runs: runs, registry: NodeRegistry([DebugEchoNode()])) { writer, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<300 {
                    group.addTask {
                        try await writer.insert(Run(
                            id: "run_\(index)", workspaceID: flow.workspaceID, flowID: flow.id,
                            trigger: TriggerPayload(kind: "webhook", body: ["n": .integer(Int64(index))]), createdAt: Date()))
                    }
                }
                try await group.waitForAll()
            }
            try await waitUntil { await runs.countByStatus()[.succeeded] == 300 }
        }
        let run = try #require(await runs.run(id: "run_42", workspaceID: flow.workspaceID))
        #expect(run.steps.first?.output == ["n": "42"])
        let batches = await runs.writeBatches
        #expect(batches.reduce(0, +) >= 600, "every run written at least twice: queued and finished")
        // Typically 20–30 commits; under a loaded machine a few hundred. One per write would be 600.
        #expect(batches.count < 400, "writes were grouped: \(batches.count) commits")
    }

    @Test("runs left running by a previous life are recovered at start and complete")
    func recoveryAtStart() async throws {
        let flows = InMemoryFlowStore()
        let runs = InMemoryRunStore(flows: flows)
        let flow = Fixtures.flow([FlowStep(id: "a", type: "debug.echo", parameters: [:])])
        try await flows.insertFlow(flow)
        var orphan = Run(id: "run_orphan", workspaceID: flow.workspaceID, flowID: flow.id, trigger: TriggerPayload(kind: "manual"), createdAt: Date())
        orphan.restore(status: .running)
        orphan.restore(leaseOwner: "worker-dead")
        orphan.restore(leaseExpiresAt: Date().addingTimeInterval(3600))
        try await runs.save(orphan)
        try await withEngine(flows: flows, runs: runs, registry: NodeRegistry([DebugEchoNode()])) { _, _ in
            try await waitUntil { await runs.run(id: "run_orphan", workspaceID: flow.workspaceID)?.status == .succeeded }
        }
    }

    @Test("a transient failure is retried after its backoff by the executor itself")
    func executorRetries() async throws {
        let flows = InMemoryFlowStore()
        let runs = InMemoryRunStore(flows: flows)
        let flaky = ScriptedNode([.fail(.transient), .succeed(["ok": true])])
        let flow = Fixtures.flow(
            [FlowStep(id: "a", type: flaky.type, parameters: [:])],
            retry: RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(50), maxDelay: .seconds(1)))
        try await flows.insertFlow(flow)
        try await withEngine(flows: flows, runs: runs, registry: NodeRegistry([flaky])) { writer, _ in
            try await writer.insert(Run(id: "run_r", workspaceID: flow.workspaceID, flowID: flow.id, trigger: TriggerPayload(kind: "manual"), createdAt: Date()))
            try await waitUntil { await runs.run(id: "run_r", workspaceID: flow.workspaceID)?.status == .succeeded }
        }
        #expect(flaky.calls.map(\.attempt) == [1, 2])
    }
}

@Suite("Cron scheduler")
struct CronSchedulerTests {
    @Test("each due time fires once; after downtime only the latest missed time fires")
    func firesOnceAndCatchesUpOnce() async throws {
        let flows = InMemoryFlowStore()
        let runs = InMemoryRunStore(flows: flows)
        let clock = TestClock(Date(timeIntervalSince1970: 1_800_000_000))  // 2027-01-15T08:00:00Z
        var flow = Fixtures.flow(
            [FlowStep(id: "a", type: "debug.echo", parameters: [:])],
            trigger: .cron(CronTrigger(expression: "*/5 * * * *", timeZone: "UTC")))
        flow.updatedAt = clock.now
        try await flows.insertFlow(flow)
        let counter = IDCounter()
        let scheduler = CronScheduler(
            flows: flows, runs: runs, now: { clock.now }, makeRunID: { counter.next() }, logger: Fixtures.logger)

        #expect(await scheduler.tick().isEmpty)
        clock.advance(12 * 60)
        let fired = await scheduler.tick()
        #expect(fired.count == 1, "two due times passed; only the latest fires")
        #expect(fired.first?.trigger.body == ["scheduledFor": "2027-01-15T08:10:00.000Z"])
        #expect(await scheduler.tick().isEmpty, "the same due time never fires twice")
        clock.advance(4 * 60)
        #expect(await scheduler.tick().count == 1)
        #expect(await runs.countByStatus()[.queued] == 2)
    }

    @Test("two schedulers sharing the stores fire a due time once")
    func twoInstances() async throws {
        let flows = InMemoryFlowStore()
        let runs = InMemoryRunStore(flows: flows)
        let clock = TestClock()
        var flow = Fixtures.flow([FlowStep(id: "a", type: "debug.echo", parameters: [:])], trigger: .cron(CronTrigger(expression: "* * * * *", timeZone: "UTC")))
        flow.updatedAt = clock.now
        try await flows.insertFlow(flow)
        let counter = IDCounter()
        let one = CronScheduler(flows: flows, runs: runs, now: { clock.now }, makeRunID: { counter.next() }, logger: Fixtures.logger)
        let two = CronScheduler(flows: flows, runs: runs, now: { clock.now }, makeRunID: { counter.next() }, logger: Fixtures.logger)
        clock.advance(90)
        async let a = one.tick()
        async let b = two.tick()
        let total = await a.count + b.count
        #expect(total == 1)
    }
}

/// Sequential run ids.
final class IDCounter: Sendable {
    private let value = Mutex(0)
    func next() -> String { value.withLock { $0 += 1; return "run_\($0)" } }
}
