import Flows
import Foundation
import MetricsTestKit
import Synchronization
import TestSupport
import Testing

/// A run store around the in-memory one whose calls wait while it is paused: an instance frozen
/// (SIGSTOP) or cut off from its database, while another instance goes on over the same runs. It
/// can also hold back one owner-checked write of a run (a checkpoint stuck behind a busy
/// database), refuse to claim, and counts how often it is asked for work.
final class PausableRunStore: RunStore, Sendable {
    let base: InMemoryRunStore
    private struct State {
        var paused = false
        var claims = true
        /// The run whose first owner-checked write waits (and lease renewals with it: a database
        /// too busy to answer), and whether it is released.
        var held: (runID: String, released: Bool, holding: Bool)?
        /// How often each run was claimed through this store.
        var claimed: [String: Int] = [:]
        var claimCalls = 0
    }
    private let state = Mutex(State())
    init(_ base: InMemoryRunStore, claims: Bool = true) {
        self.base = base
        state.withLock { $0.claims = claims }
    }

    func pause() { state.withLock { $0.paused = true } }
    func resume() { state.withLock { $0.paused = false } }
    func holdFirstCheckedWrite(of runID: String) { state.withLock { $0.held = (runID, false, false) } }
    func releaseHeldWrite() { state.withLock { $0.held?.released = true } }
    var isHoldingWrite: Bool { state.withLock { $0.held?.holding == true } }
    func claims(of runID: String) -> Int { state.withLock { $0.claimed[runID] ?? 0 } }
    /// How often a worker asked for work.
    var claimCalls: Int { state.withLock { $0.claimCalls } }

    private func gate() async {
        while state.withLock({ $0.paused }) { try? await Task.sleep(for: .milliseconds(5)) }
    }

    func write(inserting: [Run], updating: [Run], owners: [String: String]) async throws -> RunWriteOutcome {
        await gate()
        let holds = state.withLock { state -> Bool in
            guard let held = state.held, !held.released, !held.holding, owners[held.runID] != nil else { return false }
            state.held?.holding = true
            return true
        }
        if holds {
            while !state.withLock({ $0.held?.released == true }) { try? await Task.sleep(for: .milliseconds(5)) }
        }
        return await base.write(inserting: inserting, updating: updating, owners: owners)
    }
    func enqueueCronFire(_ run: Run, flowID: String, dueAt: Date) async throws -> Bool {
        await gate()
        return await base.enqueueCronFire(run, flowID: flowID, dueAt: dueAt)
    }
    func insertRun(_ run: Run, idempotencyKey key: IdempotencyKey) async throws -> IdempotentInsert {
        await gate()
        return await base.insertRun(run, idempotencyKey: key)
    }
    func deleteIdempotencyKeys(before cutoff: Date) async throws -> Int { await base.deleteIdempotencyKeys(before: cutoff) }
    func recordDeliveries(_ deliveries: [StepRecord.Delivery], runID: String, stepID: String, inserting starting: [Run]) async throws {
        await gate()
        await base.recordDeliveries(deliveries, runID: runID, stepID: stepID, inserting: starting)
    }
    func claim(_ request: RunClaim) async throws -> [Run] {
        await gate()
        guard state.withLock({ state in
            state.claimCalls += 1
            return state.claims
        }) else { return [] }
        let claimed = await base.claim(request)
        state.withLock { state in for run in claimed { state.claimed[run.id, default: 0] += 1 } }
        return claimed
    }
    func requestCancellation(runID: String, workspaceID: String, now: Date) async throws -> RunCancellation? {
        await base.requestCancellation(runID: runID, workspaceID: workspaceID, now: now)
    }
    func renewLeases(workerID: String, until: Date) async throws -> Set<String> {
        await gate()
        while state.withLock({ $0.held.map { $0.holding && !$0.released } ?? false }) { try? await Task.sleep(for: .milliseconds(5)) }
        return await base.renewLeases(workerID: workerID, until: until)
    }
    func takeOver(owner: String, expiredBy: Date, leaseUntil: Date, limit: Int) async throws -> [Run] {
        await gate()
        return await base.takeOver(owner: owner, expiredBy: expiredBy, leaseUntil: leaseUntil, limit: limit)
    }
    func run(id: String, workspaceID: String) async throws -> Run? { await base.run(id: id, workspaceID: workspaceID) }
    func runs(workspaceID: String, flowID: String?, status: RunStatus?, limit: Int, before cursor: RunCursor?) async throws -> [Run] {
        await base.runs(workspaceID: workspaceID, flowID: flowID, status: status, limit: limit, before: cursor)
    }
    func runs(workspaceID: String, flowID: String?, status: RunStatus?, limit: Int, offset: Int) async throws -> (runs: [Run], total: Int) {
        await base.runs(workspaceID: workspaceID, flowID: flowID, status: status, limit: limit, offset: offset)
    }
    func deleteFinishedRuns(before cutoff: Date) async throws -> Int { await base.deleteFinishedRuns(before: cutoff) }
    func latestRuns(workspaceID: String, flowIDs: [String]) async throws -> [String: RunBrief] {
        await base.latestRuns(workspaceID: workspaceID, flowIDs: flowIDs)
    }
    func countByStatus() async throws -> [RunStatus: Int] { await base.countByStatus() }
}

/// A node that counts its starts and finishes once released (or at once when not held).
final class GatedNode: Node, Sendable {
    let type: String
    private let idempotent: Bool
    private let state = Mutex((starts: 0, held: false))

    init(type: String, idempotent: Bool, held: Bool = false) {
        self.type = type
        self.idempotent = idempotent
        state.withLock { $0.held = held }
    }

    var starts: Int { state.withLock { $0.starts } }
    func release() { state.withLock { $0.held = false } }

    var descriptor: NodeDescriptor {
        NodeDescriptor(type: type, label: type, summary: "", parameters: [], acceptsOtherParameters: true, isIdempotent: idempotent)
    }

    func execute(_ context: NodeContext) async throws(NodeError) -> JSONValue {
        state.withLock { $0.starts += 1 }
        while state.withLock({ $0.held }) {
            do { try await Task.sleep(for: .milliseconds(5)) } catch {
                throw NodeError(code: "ECANCELLED", message: "stopped", disposition: .transient)
            }
        }
        return .object(["done": .bool(true)])
    }
}

@Suite("Executor leases: renewal, takeover, refused stale writes")
struct ExecutorLeaseTests {
    /// One worker (an instance) over `runs`, with a short lease.
    func worker(
        _ id: String, flows: InMemoryFlowStore, runs: any RunStore, registry: NodeRegistry, metrics: TestMetrics,
        renewal: Duration = .milliseconds(60), lease: Duration = .milliseconds(300)
    ) -> (RunWriter, FlowExecutor) {
        let signal = WakeSignal()
        let writer = RunWriter(store: runs, onInserted: { signal.fire() })
        var configuration = FlowExecutor.Configuration()
        configuration.pollInterval = .milliseconds(20)
        configuration.lease = lease
        configuration.leaseRenewal = renewal
        configuration.recoverAllRunningAtStart = false
        configuration.shutdownGrace = .milliseconds(200)
        configuration.workerID = id
        let executor = FlowExecutor(
            flows: flows, runs: runs, writer: writer, processor: RunProcessor(registry: registry, now: { Date() }, jitter: { 0 }),
            configuration: configuration, signal: signal, logger: Fixtures.logger, metricsFactory: metrics)
        return (writer, executor)
    }

    func waitUntil(seconds: Int = 5, _ condition: @Sendable () async -> Bool) async throws {
        for _ in 0..<(seconds * 100) {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("condition not met within \(seconds) s")
    }

    @Test("a run that outlasts several leases stays its worker's: renewals keep a second worker from taking it over")
    func renewalKeepsLongRuns() async throws {
        let flows = InMemoryFlowStore()
        let store = InMemoryRunStore(flows: flows)
        let slow = GatedNode(type: "test.slow", idempotent: false, held: true)
        let flow = Fixtures.flow([FlowStep(id: "send", type: slow.type, parameters: [:])])
        try await flows.insertFlow(flow)
        let registry = NodeRegistry([slow])
        let (metricsA, metricsB) = (TestMetrics(), TestMetrics())
        // A 1 s lease renewed every 100 ms: ten renewals of margin, so a machine loaded by the
        // rest of the suite (which starved a 300 ms lease in CI) cannot make a renewal late.
        let (writerA, a) = worker("a", flows: flows, runs: store, registry: registry, metrics: metricsA, renewal: .milliseconds(100), lease: .seconds(1))
        let (writerB, b) = worker("b", flows: flows, runs: store, registry: registry, metrics: metricsB, renewal: .milliseconds(100), lease: .seconds(1))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await writerA.run() }
            group.addTask { await a.run() }
            try await writerA.insert(Run(id: "run_1", workspaceID: "ws_1", flowID: flow.id, trigger: TriggerPayload(kind: "manual"), createdAt: Date()))
            try await waitUntil { slow.starts == 1 }
            group.addTask { await writerB.run() }
            group.addTask { await b.run() }
            // More than three leases long: without renewal, b would take the run over and end it ambiguous.
            try await Task.sleep(for: .milliseconds(3_500))
            slow.release()
            try await waitUntil { await store.run(id: "run_1", workspaceID: "ws_1")?.status == .succeeded }
            #expect(slow.starts == 1)
            #expect(metricsB.counterTotal(label: "posthorn_runs_taken_over_total") == 0)
            #expect(metricsA.counterTotal(label: "posthorn_run_writes_refused_total") == 0)
            a.stop()
            b.stop()
            group.cancelAll()
            try await group.waitForAll()
        }
    }

    @Test("a worker frozen past its lease loses the run: another takes it over and finishes it, the email step runs once, and the frozen worker's late writes are refused")
    func frozenWorkerLosesItsRun() async throws {
        let flows = InMemoryFlowStore()
        let base = InMemoryRunStore(flows: flows)
        let frozenStore = PausableRunStore(base)
        let fetch = GatedNode(type: "test.fetch", idempotent: true, held: true)
        let email = GatedNode(type: "test.email", idempotent: false)
        let flow = Fixtures.flow([
            FlowStep(id: "fetch", type: fetch.type, parameters: [:]), FlowStep(id: "email", type: email.type, parameters: [:]),
        ])
        try await flows.insertFlow(flow)
        let registry = NodeRegistry([fetch, email])
        let (metricsA, metricsB) = (TestMetrics(), TestMetrics())
        let (writerA, a) = worker("a", flows: flows, runs: frozenStore, registry: registry, metrics: metricsA)
        let (writerB, b) = worker("b", flows: flows, runs: base, registry: registry, metrics: metricsB)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await writerA.run() }
            group.addTask { await a.run() }
            try await writerA.insert(Run(id: "run_1", workspaceID: "ws_1", flowID: flow.id, trigger: TriggerPayload(kind: "manual"), createdAt: Date()))
            try await waitUntil { fetch.starts == 1 }
            frozenStore.pause()
            fetch.release()
            group.addTask { await writerB.run() }
            group.addTask { await b.run() }
            // b takes the run over once a's lease ends, runs the repeatable step again, then the email.
            try await waitUntil { await base.run(id: "run_1", workspaceID: "ws_1")?.status == .succeeded }
            #expect(metricsB.counterTotal(label: "posthorn_runs_taken_over_total") == 1)
            #expect(fetch.starts == 2 && email.starts == 1)
            let finished = try #require(await base.run(id: "run_1", workspaceID: "ws_1"))

            frozenStore.resume()
            // a wakes: its checkpoint before the email is refused, so the email does not start again.
            try await waitUntil { metricsA.counterTotal(label: "posthorn_run_writes_refused_total") >= 1 }
            try await Task.sleep(for: .milliseconds(200))
            #expect(email.starts == 1)
            #expect(await base.run(id: "run_1", workspaceID: "ws_1") == finished, "b's outcome stands")
            a.stop()
            b.stop()
            group.cancelAll()
            try await group.waitForAll()
        }
    }

    @Test("regression: a worker that lost a run and claimed it again cannot let its stale execution write or send: one email, not two")
    func sameWorkerStaleExecution() async throws {
        let flows = InMemoryFlowStore()
        let base = InMemoryRunStore(flows: flows)
        let storeA = PausableRunStore(base)
        let email = GatedNode(type: "test.email", idempotent: false)
        let flow = Fixtures.flow([FlowStep(id: "email", type: email.type, parameters: [:])])
        try await flows.insertFlow(flow)
        let registry = NodeRegistry([email])
        let (metricsA, metricsB) = (TestMetrics(), TestMetrics())
        // While a's checkpoint is stuck so are its renewals; b only takes over (it claims nothing).
        // A 1 s lease: the second execution keeps its lease however loaded the machine is, so the
        // one refused write is the stale execution's (a 300 ms lease was lost once more in CI).
        let (writerA, a) = worker("a", flows: flows, runs: storeA, registry: registry, metrics: metricsA, renewal: .milliseconds(100), lease: .seconds(1))
        let (writerB, b) = worker(
            "b", flows: flows, runs: PausableRunStore(base, claims: false), registry: registry, metrics: metricsB, renewal: .milliseconds(100),
            lease: .seconds(1))
        storeA.holdFirstCheckedWrite(of: "run_1")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await writerA.run() }
            group.addTask { await a.run() }
            group.addTask { await writerB.run() }
            group.addTask { await b.run() }
            try await writerA.insert(Run(id: "run_1", workspaceID: "ws_1", flowID: flow.id, trigger: TriggerPayload(kind: "manual"), createdAt: Date()))
            // a's checkpoint before the email is stuck; its lease ends; b puts the run back in the
            // queue; a claims it again, and that execution's checkpoint queues behind the stuck one.
            try await waitUntil { storeA.isHoldingWrite }
            try await waitUntil { storeA.claims(of: "run_1") == 2 }
            #expect(metricsB.counterTotal(label: "posthorn_runs_taken_over_total") == 1)
            // The database answers again: the first execution's checkpoint is refused (it never
            // sends), the second's lands and it sends.
            storeA.releaseHeldWrite()
            try await waitUntil { await base.run(id: "run_1", workspaceID: "ws_1")?.status == .succeeded }
            try await Task.sleep(for: .milliseconds(100))
            #expect(metricsA.counterTotal(label: "posthorn_run_writes_refused_total") == 1)
            #expect(email.starts == 1)
            #expect(await base.run(id: "run_1", workspaceID: "ws_1")?.status == .succeeded)
            a.stop()
            b.stop()
            group.cancelAll()
            try await group.waitForAll()
        }
    }

    @Test("regression: two executions' writes of one run in one group commit are each checked against their own claim")
    func groupCommitChecksEachClaim() async throws {
        let flows = InMemoryFlowStore()
        let store = InMemoryRunStore(flows: flows)
        var run = Run(id: "run_1", workspaceID: "ws_1", flowID: "f", trigger: TriggerPayload(kind: "manual"), createdAt: Date())
        try await store.enqueue([run])
        // The stale execution claimed under w#1; the run was taken back and claimed again as w#2.
        let current = try #require(await store.claim(RunClaim(limit: 1, owner: "w#2", now: Date(), leaseUntil: Date().addingTimeInterval(60))).first)
        run.handle(.claimed(owner: "w#1", leaseUntil: Date().addingTimeInterval(60)), now: Date())
        var stale = run
        stale.handle(.progressSaved, now: Date())
        let writer = RunWriter(store: store)
        // Both are pending before the writer's loop starts: one batch.
        async let staleResult = writer.update(stale, owner: "w#1")
        async let currentResult = writer.update(current, owner: "w#2")
        try await Task.sleep(for: .milliseconds(50))
        let loop = Task { await writer.run() }
        #expect(try await staleResult == .refused, "the stale execution must not think its checkpoint was saved")
        #expect(try await currentResult == .saved)
        loop.cancel()
        await loop.value
    }

    @Test("an instance that cannot renew its leases says it is not healthy, and is again once it can")
    func healthFollowsRenewal() async throws {
        let flows = InMemoryFlowStore()
        let store = PausableRunStore(InMemoryRunStore(flows: flows))
        let (writer, executor) = worker("a", flows: flows, runs: store, registry: NodeRegistry([DebugEchoNode()]), metrics: TestMetrics())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await writer.run() }
            group.addTask { await executor.run() }
            // Healthy once renewing (a loaded machine may start the maintenance loop late: the
            // full suite runs hundreds of tests beside this one, and a 300 ms lease is short).
            try await waitUntil { executor.isHealthy }
            store.pause()
            try await waitUntil { !executor.isHealthy }
            store.resume()
            try await waitUntil { executor.isHealthy }
            executor.stop()
            group.cancelAll()
            try await group.waitForAll()
        }
    }
}
