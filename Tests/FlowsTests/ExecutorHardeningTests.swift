import Flows
import Foundation
import Synchronization
import TestSupport
import Testing

/// A node that waits until released (a send to a server that never answers).
final class HangingNode: Node, Sendable {
    let type: String
    private let started = Mutex(0)
    init(type: String = "test.hang") { self.type = type }
    var starts: Int { started.withLock { $0 } }

    var descriptor: NodeDescriptor {
        NodeDescriptor(type: type, label: "Hang", summary: "", parameters: [], acceptsOtherParameters: true, isIdempotent: true)
    }

    func execute(_ context: NodeContext) async throws(NodeError) -> JSONValue {
        started.withLock { $0 += 1 }
        do {
            try await Task.sleep(for: .seconds(3600))
        } catch {
            throw NodeError(code: "ECANCELLED", message: "stopped", disposition: .transient)
        }
        return .null
    }
}

@Suite("Executor hardening: idle, fairness, cancellation, shutdown")
struct ExecutorHardeningTests {
    func engine(
        flows: InMemoryFlowStore, runs: any RunStore, registry: NodeRegistry,
        configure: (inout FlowExecutor.Configuration) -> Void = { _ in }
    ) -> (RunWriter, FlowExecutor) {
        let signal = WakeSignal()
        let writer = RunWriter(store: runs, onInserted: { signal.fire() })
        var configuration = FlowExecutor.Configuration()
        configuration.pollInterval = .milliseconds(50)
        configure(&configuration)
        let executor = FlowExecutor(
            flows: flows, runs: runs, writer: writer, processor: RunProcessor(registry: registry, now: { Date() }, jitter: { 0 }),
            configuration: configuration, signal: signal, logger: Fixtures.logger)
        return (writer, executor)
    }

    func waitUntil(_ condition: @Sendable () async -> Bool) async throws {
        for _ in 0..<500 {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("condition not met within 5 s")
    }

    @Test("finding 4: after a run, an idle executor looks for work once per poll interval, not in a loop")
    func idleDoesNotSpin() async throws {
        let flows = InMemoryFlowStore()
        let base = InMemoryRunStore(flows: flows)
        let runs = PausableRunStore(base)
        let flow = Fixtures.flow([FlowStep(id: "a", type: "debug.echo", parameters: [:])])
        try await flows.insertFlow(flow)
        let (writer, executor) = engine(flows: flows, runs: runs, registry: NodeRegistry([DebugEchoNode()]))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await writer.run() }
            group.addTask { await executor.run() }
            try await writer.insert(Run(id: "run_1", workspaceID: "ws_1", flowID: flow.id, trigger: TriggerPayload(kind: "manual"), createdAt: Date()))
            try await waitUntil { await base.countByStatus()[.succeeded] == 1 }
            let before = runs.claimCalls
            try await Task.sleep(for: .seconds(1))
            let idleClaims = runs.claimCalls - before
            // One look per 50 ms poll is 20; the spinning executor made tens of thousands.
            #expect(idleClaims <= 30, "\(idleClaims) claims in one idle second")
            #expect(idleClaims >= 2, "the executor still polls for due retries")
            group.cancelAll()
            try await group.waitForAll()
        }
    }

    @Test("finding 8: a workspace whose runs hang cannot take every slot; another workspace's run completes")
    func stuckWorkspaceLeavesRoom() async throws {
        let flows = InMemoryFlowStore()
        let runs = InMemoryRunStore(flows: flows)
        let hang = HangingNode()
        var stuck = Fixtures.flow([FlowStep(id: "a", type: hang.type, parameters: [:])])
        stuck.id = "flow_stuck"
        stuck.workspaceID = "ws_stuck"
        var other = Fixtures.flow([FlowStep(id: "a", type: "debug.echo", parameters: [:])])
        other.id = "flow_other"
        other.workspaceID = "ws_other"
        try await flows.insertFlow(stuck)
        try await flows.insertFlow(other)
        let (writer, executor) = engine(flows: flows, runs: runs, registry: NodeRegistry([hang, DebugEchoNode()])) {
            $0.concurrency = 8
            $0.shutdownGrace = .milliseconds(100)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await writer.run() }
            group.addTask { await executor.run() }
            for index in 0..<12 {
                try await writer.insert(Run(
                    id: "run_stuck_\(index)", workspaceID: "ws_stuck", flowID: stuck.id, trigger: TriggerPayload(kind: "webhook"),
                    createdAt: Date()))
            }
            try await waitUntil { hang.starts == 7 }
            try await writer.insert(Run(id: "run_other", workspaceID: "ws_other", flowID: other.id, trigger: TriggerPayload(kind: "manual"), createdAt: Date()))
            try await waitUntil { await runs.run(id: "run_other", workspaceID: "ws_other")?.status == .succeeded }
            #expect(hang.starts == 7, "the stuck workspace holds at most 8 − 1 slots")
            executor.stop()
            group.cancelAll()
            try await group.waitForAll()
        }
    }

    @Test("round robin: with two backlogs, one claim takes from both workspaces in turn")
    func roundRobin() async throws {
        let flows = InMemoryFlowStore()
        let runs = InMemoryRunStore(flows: flows)
        let now = Date()
        var queued: [Run] = []
        for index in 0..<6 {
            queued.append(Run(id: "run_a\(index)", workspaceID: "ws_a", flowID: "f", trigger: TriggerPayload(kind: "manual"), createdAt: now.addingTimeInterval(Double(index))))
        }
        queued.append(Run(id: "run_b0", workspaceID: "ws_b", flowID: "f", trigger: TriggerPayload(kind: "manual"), createdAt: now.addingTimeInterval(10)))
        queued.append(Run(id: "run_b1", workspaceID: "ws_b", flowID: "f", trigger: TriggerPayload(kind: "manual"), createdAt: now.addingTimeInterval(11)))
        try await runs.enqueue(queued)
        let claimed = await runs.claim(RunClaim(limit: 4, owner: "w", now: now.addingTimeInterval(20), leaseUntil: now.addingTimeInterval(80), perWorkspaceLimit: 3))
        #expect(claimed.map(\.id) == ["run_a0", "run_b0", "run_a1", "run_b1"])
        let more = await runs.claim(RunClaim(
            limit: 10, owner: "w", now: now.addingTimeInterval(20), leaseUntil: now.addingTimeInterval(80), perWorkspaceLimit: 3,
            running: ["ws_a": 2, "ws_b": 2]))
        #expect(more.map(\.id) == ["run_a2"], "ws_a may have one more under way, ws_b is out of runs")
    }

    @Test("finding 3: cancelling a run waiting for a retry ends it at once; a running one ends at its next step boundary")
    func cancellation() async throws {
        let flows = InMemoryFlowStore()
        let runs = InMemoryRunStore(flows: flows)
        let flaky = ScriptedNode(type: "test.flaky", [.fail(.transient), .fail(.transient)])
        let waiting = Fixtures.flow(
            [FlowStep(id: "a", type: flaky.type, parameters: [:])],
            retry: RetryPolicy(maxAttempts: 5, initialDelay: .seconds(600), maxDelay: .seconds(600)))
        try await flows.insertFlow(waiting)
        let (writer, executor) = engine(flows: flows, runs: runs, registry: NodeRegistry([flaky]))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await writer.run() }
            group.addTask { await executor.run() }
            try await writer.insert(Run(id: "run_w", workspaceID: "ws_1", flowID: waiting.id, trigger: TriggerPayload(kind: "manual"), createdAt: Date()))
            try await waitUntil { await runs.run(id: "run_w", workspaceID: "ws_1")?.steps.first?.status == .retrying }
            let answer = await runs.requestCancellation(runID: "run_w", workspaceID: "ws_1", now: Date())
            guard case .cancelled(let cancelled)? = answer else {
                Issue.record("expected cancelled, got \(String(describing: answer))")
                return
            }
            #expect(cancelled.status == .cancelled)
            #expect(await runs.run(id: "run_w", workspaceID: "ws_1")?.status == .cancelled)
            guard case .alreadyFinished? = await runs.requestCancellation(runID: "run_w", workspaceID: "ws_1", now: Date()) else {
                Issue.record("a second cancel is refused")
                return
            }
            #expect(await runs.requestCancellation(runID: "run_w", workspaceID: "ws_other", now: Date()) == nil)
            group.cancelAll()
            try await group.waitForAll()
        }
        #expect(flaky.calls.count == 1)
    }

    @Test("finding 5: a graceful stop waits for runs under way, then cancels them after the grace period")
    func shutdownGrace() async throws {
        let flows = InMemoryFlowStore()
        let runs = InMemoryRunStore(flows: flows)
        let hang = HangingNode()
        let flow = Fixtures.flow([FlowStep(id: "a", type: hang.type, parameters: [:])])
        try await flows.insertFlow(flow)
        let (writer, executor) = engine(flows: flows, runs: runs, registry: NodeRegistry([hang])) {
            $0.shutdownGrace = .milliseconds(300)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await writer.run() }
            group.addTask { await executor.run() }
            try await writer.insert(Run(id: "run_h", workspaceID: "ws_1", flowID: flow.id, trigger: TriggerPayload(kind: "manual"), createdAt: Date()))
            try await waitUntil { hang.starts == 1 }
            let stopping = ContinuousClock.now
            executor.stop()
            try await group.next()  // the executor returns
            // The node would hang for an hour; the stop returns after the 0.3 s grace (with room for a
            // loaded machine).
            #expect(ContinuousClock.now - stopping < .seconds(30))
            group.cancelAll()
            try await group.waitForAll()
        }
        let run = try #require(await runs.run(id: "run_h", workspaceID: "ws_1"))
        #expect(run.status == .queued, "cancelled mid-step, the run went back to the queue for its next start")
    }

    @Test("the cron scheduler sleeps until the next due time instead of reading the flows every second")
    func cronSleeps() async throws {
        let flows = InMemoryFlowStore()
        let runs = PausableRunStore(InMemoryRunStore(flows: flows))
        let counting = CountingFlowStore(flows)
        var flow = Fixtures.flow([FlowStep(id: "a", type: "debug.echo", parameters: [:])], trigger: .cron(CronTrigger(expression: "0 0 1 1 *", timeZone: "UTC")))
        flow.updatedAt = Date()
        try await flows.insertFlow(flow)
        let scheduler = CronScheduler(flows: counting, runs: runs, now: { Date() }, makeRunID: { "run_x" }, logger: Fixtures.logger)
        let task = Task { await scheduler.run() }
        try await Task.sleep(for: .seconds(2))
        task.cancel()
        _ = await task.value
        #expect(counting.cronReads <= 2, "\(counting.cronReads) reads of the cron flows in 2 s")
    }
}

/// Counts reads of the cron flows, around the in-memory flow store.
final class CountingFlowStore: FlowStore, Sendable {
    let base: InMemoryFlowStore
    private let reads = Mutex(0)
    init(_ base: InMemoryFlowStore) { self.base = base }
    var cronReads: Int { reads.withLock { $0 } }

    func insertFlow(_ flow: Flow) async throws { try await base.insertFlow(flow) }
    func flow(id: String, workspaceID: String) async throws -> Flow? { await base.flow(id: id, workspaceID: workspaceID) }
    func flow(id: String) async throws -> Flow? { await base.flow(id: id) }
    func flow(webhookID: String) async throws -> Flow? { await base.flow(webhookID: webhookID) }
    func flows(workspaceID: String) async throws -> [Flow] { await base.flows(workspaceID: workspaceID) }
    func updateFlow(_ flow: Flow) async throws -> Bool { try await base.updateFlow(flow) }
    func deleteFlow(id: String, workspaceID: String) async throws -> Bool { await base.deleteFlow(id: id, workspaceID: workspaceID) }
    func cronFlows() async throws -> [Flow] {
        reads.withLock { $0 += 1 }
        return await base.cronFlows()
    }
    func lastCronFire(flowID: String) async throws -> Date? { await base.lastCronFire(flowID: flowID) }
}
