public import Foundation

/// Flows in memory: tests, and the behaviour the SQL store must match.
public actor InMemoryFlowStore: FlowStore {
    private var flows: [String: Flow] = [:]
    private var cronFires: [String: Date] = [:]

    public init() {}

    public func insertFlow(_ flow: Flow) throws {
        guard !flows.values.contains(where: { $0.workspaceID == flow.workspaceID && $0.name == flow.name }) else {
            throw FlowStoreError.duplicateName
        }
        flows[flow.id] = flow
    }

    public func flow(id: String, workspaceID: String) -> Flow? {
        flows[id].flatMap { $0.workspaceID == workspaceID ? $0 : nil }
    }

    public func flow(id: String) -> Flow? { flows[id] }

    public func flow(webhookID: String) -> Flow? { flows.values.first { $0.webhookID == webhookID } }

    public func flows(workspaceID: String) -> [Flow] {
        flows.values.filter { $0.workspaceID == workspaceID }.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
    }

    public func updateFlow(_ flow: Flow) throws -> Bool {
        guard let stored = self.flow(id: flow.id, workspaceID: flow.workspaceID) else { return false }
        if flows.values.contains(where: { $0.workspaceID == flow.workspaceID && $0.name == flow.name && $0.id != flow.id }) {
            throw FlowStoreError.duplicateName
        }
        guard stored.version == flow.version - 1 else { throw FlowStoreError.versionConflict }
        flows[flow.id] = flow
        return true
    }

    public func deleteFlow(id: String, workspaceID: String) -> Bool {
        guard flow(id: id, workspaceID: workspaceID) != nil else { return false }
        flows[id] = nil
        cronFires[id] = nil
        return true
    }

    public func cronFlows() -> [Flow] {
        flows.values.filter { flow in
            if case .cron = flow.trigger { return flow.enabled }
            return false
        }.sorted { $0.id < $1.id }
    }

    public func lastCronFire(flowID: String) -> Date? { cronFires[flowID] }

    /// Used by ``InMemoryRunStore`` to make a cron fire atomic with its run.
    func recordCronFire(flowID: String, dueAt: Date) -> Bool {
        if let last = cronFires[flowID], last >= dueAt { return false }
        cronFires[flowID] = dueAt
        return true
    }
}

/// Runs in memory.
public actor InMemoryRunStore: RunStore {
    private var runs: [String: Run] = [:]
    /// flow id + key → (body digest, run id, made at).
    private var idempotencyKeys: [String: (digest: String, runID: String, at: Date)] = [:]
    /// run id → step id → lower-cased recipient → delivery.
    private var deliveries: [String: [String: [String: StepRecord.Delivery]]] = [:]
    private let flows: InMemoryFlowStore
    /// Every write's size (inserts + updates), for group-commit tests.
    public private(set) var writeBatches: [Int] = []

    /// Cron fires are recorded in `flows`.
    public init(flows: InMemoryFlowStore) {
        self.flows = flows
    }

    @discardableResult
    public func write(inserting newRuns: [Run], updating changed: [Run], owners: [String: String]) -> RunWriteOutcome {
        writeBatches.append(newRuns.count + changed.count)
        var outcome = RunWriteOutcome()
        for run in newRuns { runs[run.id] = run }
        for var run in changed {
            if let owner = owners[run.id], runs[run.id].map({ $0.status != .running || $0.leaseOwner != owner }) ?? true {
                outcome.refusedStale.insert(run.id)
                continue
            }
            if cancellations.contains(run.id) {
                if run.status.isPending, run.handle(.cancellationObserved, now: Date()) == .save {
                    outcome.cancelledInstead[run.id] = run
                }
                if run.isFinished { cancellations.remove(run.id) } else { outcome.cancellationRequested.insert(run.id) }
            }
            runs[run.id] = run
        }
        return outcome
    }

    /// Runs whose cancellation was requested while they ran.
    private var cancellations: Set<String> = []

    public func enqueueCronFire(_ run: Run, flowID: String, dueAt: Date) async -> Bool {
        guard await flows.recordCronFire(flowID: flowID, dueAt: dueAt) else { return false }
        runs[run.id] = run
        return true
    }

    public func claim(_ request: RunClaim) -> [Run] {
        var due: [String: [Run]] = [:]
        for run in runs.values where run.status.isPending && run.notBefore <= request.now {
            due[run.workspaceID, default: []].append(run)
        }
        let candidates = due.map { workspaceID, queued in
            let oldestFirst = queued.sorted { ($0.notBefore, $0.createdAt, $0.id) < ($1.notBefore, $1.createdAt, $1.id) }
            return (workspaceID: workspaceID, dueRunIDs: oldestFirst.map(\.id), oldest: oldestFirst[0])
        }
        .sorted { ($0.oldest.notBefore, $0.oldest.createdAt, $0.oldest.id) < ($1.oldest.notBefore, $1.oldest.createdAt, $1.oldest.id) }
        return request.choose(candidates.map { ($0.workspaceID, $0.dueRunIDs) }).map { id in
            var claimed = runs[id]!
            claimed.handle(.claimed(owner: request.owner, leaseUntil: request.leaseUntil), now: request.now)
            runs[id] = claimed
            return claimed
        }
    }

    public func requestCancellation(runID: String, workspaceID: String, now: Date) -> RunCancellation? {
        guard var run = run(id: runID, workspaceID: workspaceID) else { return nil }
        switch run.handle(.cancelRequested, now: now) {
        case .save:
            runs[runID] = run
            return .cancelled(run)
        case .requestCancellation:
            cancellations.insert(runID)
            return .requested(run)
        case .refuseFinished, .ignore:
            return .alreadyFinished(run)
        }
    }

    public func renewLeases(workerID: String, until: Date) -> Set<String> {
        var held: Set<String> = []
        let prefix = LeaseToken.prefix(of: workerID)
        for (id, var run) in runs where run.status == .running && run.leaseOwner?.hasPrefix(prefix) == true {
            run.handle(.leaseRenewed(until: until), now: until)
            runs[id] = run
            held.insert(id)
        }
        return held
    }

    public func takeOver(owner: String, expiredBy: Date, leaseUntil: Date, limit: Int) -> [Run] {
        let expired = runs.values.filter { $0.status == .running && ($0.leaseExpiresAt ?? .distantPast) <= expiredBy }
            .sorted { $0.id < $1.id }.prefix(limit)
        return expired.map { run in
            var run = run
            run.handle(.takenOver(owner: owner, leaseUntil: leaseUntil), now: expiredBy)
            runs[run.id] = run
            return run
        }
    }

    public func run(id: String, workspaceID: String) -> Run? {
        guard var run = runs[id], run.workspaceID == workspaceID else { return nil }
        for (stepID, byRecipient) in deliveries[id] ?? [:] {
            guard let index = run.steps.firstIndex(where: { $0.stepID == stepID }) else { continue }
            run.steps[index].delivery = StepRecord.Delivery.merged(run.steps[index].delivery, with: Array(byRecipient.values))
        }
        return run
    }

    public func insertRun(_ run: Run, idempotencyKey key: IdempotencyKey) -> IdempotentInsert {
        let slot = run.flowID + "\u{0}" + key.key
        if let existing = idempotencyKeys[slot] {
            return existing.digest == key.bodyDigest ? .replayed(runID: existing.runID) : .conflict
        }
        idempotencyKeys[slot] = (key.bodyDigest, run.id, key.createdAt)
        runs[run.id] = run
        return .inserted
    }

    public func deleteIdempotencyKeys(before cutoff: Date) -> Int {
        let old = idempotencyKeys.filter { $0.value.at < cutoff }.keys
        for slot in old { idempotencyKeys[slot] = nil }
        return old.count
    }

    public func recordDeliveries(_ new: [StepRecord.Delivery], runID: String, stepID: String, inserting starting: [Run]) {
        for delivery in new { deliveries[runID, default: [:]][stepID, default: [:]][delivery.recipient.lowercased()] = delivery }
        for run in starting { runs[run.id] = run }
    }

    public func runs(workspaceID: String, flowID: String?, status: RunStatus?, limit: Int, before cursor: RunCursor?) -> [Run] {
        runs.values.filter { run in
            run.workspaceID == workspaceID && (flowID == nil || run.flowID == flowID)
                && (status == nil || run.status == status)
                && (cursor.map { (run.createdAt, run.id) < ($0.createdAt, $0.id) } ?? true)
        }
        .sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
        .prefix(limit).map { $0 }
    }

    public func runs(workspaceID: String, flowID: String?, status: RunStatus?, limit: Int, offset: Int) -> (runs: [Run], total: Int) {
        let matching = runs.values.filter { run in
            run.workspaceID == workspaceID && (flowID == nil || run.flowID == flowID) && (status == nil || run.status == status)
        }
        .sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
        return (Array(matching.dropFirst(offset).prefix(limit)), matching.count)
    }

    public func latestRuns(workspaceID: String, flowIDs: [String]) -> [String: RunBrief] {
        var latest: [String: RunBrief] = [:]
        for flowID in flowIDs {
            if let run = runs(workspaceID: workspaceID, flowID: flowID, status: nil, limit: 1, before: nil).first {
                latest[flowID] = RunBrief(id: run.id, status: run.status, createdAt: run.createdAt, finishedAt: run.finishedAt)
            }
        }
        return latest
    }

    public func deleteFinishedRuns(before cutoff: Date) -> Int {
        let doomed = runs.values.filter { $0.isFinished && ($0.finishedAt ?? $0.createdAt) < cutoff }.map(\.id)
        for id in doomed {
            runs[id] = nil
            deliveries[id] = nil
        }
        return doomed.count
    }

    public func countByStatus() -> [RunStatus: Int] {
        var counts: [RunStatus: Int] = [:]
        for run in runs.values { counts[run.status, default: 0] += 1 }
        return counts
    }
}
