/// Group commit for run writes: every write submitted while a commit is under way goes into the
/// next one, so under load many webhook acknowledgements share one transaction (one fsync) instead
/// of paying one each, and an idle system still commits a lone write at once.
///
/// ``run()`` is the commit loop (a service); ``insert(_:)`` and ``update(_:)`` return only when the
/// write is durable.
public actor RunWriter {
    private struct Pending {
        var run: Run
        var isInsert: Bool
        /// The lease token an update is checked against (see ``update(_:owner:)``).
        var owner: String?
        var done: CheckedContinuation<RunWriteResult, any Error>
    }

    private let store: any RunStore
    private let maximumBatch: Int
    private let onInserted: @Sendable () -> Void
    private let onCommitted: @Sendable ([Run]) -> Void
    private var pending: [Pending] = []
    private var loopWaiter: CheckedContinuation<Void, Never>?
    private var isStopped = false

    /// `onInserted` runs after each commit that inserted runs (it wakes the executor);
    /// `onCommitted` after each commit with the runs as stored (live listeners).
    public init(
        store: any RunStore, maximumBatch: Int = 1024, onInserted: @escaping @Sendable () -> Void = {},
        onCommitted: @escaping @Sendable ([Run]) -> Void = { _ in }
    ) {
        self.store = store
        self.maximumBatch = maximumBatch
        self.onInserted = onInserted
        self.onCommitted = onCommitted
    }

    /// Stores a new run; returns once it is committed.
    public func insert(_ run: Run) async throws { _ = try await submit(run, isInsert: true, owner: nil) }

    /// Stores a new run under an idempotency key, in a transaction of its own (whether it is
    /// stored depends on what is): see ``RunStore/insertRun(_:idempotencyKey:)``.
    public func insert(_ run: Run, idempotencyKey key: IdempotencyKey) async throws -> IdempotentInsert {
        guard !isStopped else { throw RunWriterError.stopped }
        let outcome = try await store.insertRun(run, idempotencyKey: key)
        if outcome == .inserted {
            onCommitted([run])
            onInserted()
        }
        return outcome
    }

    /// Stores a run's progress or end; returns once it is committed, with what a cancellation
    /// request for it did (see ``RunStore/write(inserting:updating:owners:)``). With an `owner`
    /// (a ``LeaseToken``), only while the store holds the run under that claim (else
    /// ``RunWriteResult/refused``).
    @discardableResult
    public func update(_ run: Run, owner: String? = nil) async throws -> RunWriteResult {
        try await submit(run, isInsert: false, owner: owner)
    }

    private func submit(_ run: Run, isInsert: Bool, owner: String?) async throws -> RunWriteResult {
        guard !isStopped else { throw RunWriterError.stopped }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RunWriteResult, any Error>) in
            pending.append(Pending(run: run, isInsert: isInsert, owner: owner, done: continuation))
            loopWaiter?.resume()
            loopWaiter = nil
        }
    }

    /// Commits batches until cancelled; what is pending then is still committed before it returns.
    public func run() async {
        while true {
            if pending.isEmpty {
                if Task.isCancelled || isStopped { break }
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        if pending.isEmpty && !isStopped { loopWaiter = continuation } else { continuation.resume() }
                    }
                } onCancel: {
                    Task { await self.stop() }
                }
                continue
            }
            let batch = Array(pending.prefix(maximumBatch))
            pending.removeFirst(batch.count)
            // One transaction per round, each run at most once per round, in the order submitted.
            // Two pending writes of one run come from two executions of it — a stale one that lost
            // its lease and the one that holds it now — and each must be checked against its own
            // claim: in one write the store would keep the last and answer both by its check
            // (both sent the email: seen under load with three instances).
            var rounds: [[Pending]] = []
            var writes: [String: Int] = [:]
            for item in batch {
                let round = writes[item.run.id, default: 0]
                writes[item.run.id] = round + 1
                if round == rounds.count { rounds.append([]) }
                rounds[round].append(item)
            }
            for round in rounds { await commit(round) }
        }
        isStopped = true
    }

    /// Commits `batch` in one transaction; when that fails, each write alone, so that one bad row
    /// does not fail the others it shared the commit with.
    private func commit(_ batch: [Pending]) async {
        let inserts = batch.filter(\.isInsert).map(\.run)
        var owners: [String: String] = [:]
        for item in batch where !item.isInsert { owners[item.run.id] = item.owner }
        do {
            let outcome = try await store.write(
                inserting: inserts, updating: batch.filter { !$0.isInsert }.map(\.run), owners: owners)
            for item in batch { item.done.resume(returning: RunWriteResult(outcome, for: item.run.id)) }
            if !inserts.isEmpty { onInserted() }
            onCommitted(batch.filter { !outcome.refusedStale.contains($0.run.id) }.map { outcome.cancelledInstead[$0.run.id] ?? $0.run })
        } catch {
            var inserted = false
            for item in batch {
                do {
                    let outcome = try await store.write(
                        inserting: item.isInsert ? [item.run] : [], updating: item.isInsert ? [] : [item.run],
                        owners: item.owner.map { [item.run.id: $0] } ?? [:])
                    item.done.resume(returning: RunWriteResult(outcome, for: item.run.id))
                    if !outcome.refusedStale.contains(item.run.id) { onCommitted([outcome.cancelledInstead[item.run.id] ?? item.run]) }
                    inserted = inserted || item.isInsert
                } catch {
                    item.done.resume(throwing: error)
                }
            }
            if inserted { onInserted() }
        }
    }

    private func stop() {
        isStopped = true
        loopWaiter?.resume()
        loopWaiter = nil
    }
}

/// What a committed write of one run found.
public enum RunWriteResult: Sendable, Hashable {
    /// Stored as written.
    case saved
    /// Stored as written; a cancellation was requested: stop at the next step boundary.
    case cancellationRequested
    /// Written `queued` with a cancellation requested: stored `cancelled` instead.
    case cancelledInstead(Run)
    /// Not written: the writing worker no longer holds the run's lease (another took it over).
    case refused

    init(_ outcome: RunWriteOutcome, for id: String) {
        if outcome.refusedStale.contains(id) {
            self = .refused
        } else if let run = outcome.cancelledInstead[id] {
            self = .cancelledInstead(run)
        } else if outcome.cancellationRequested.contains(id) {
            self = .cancellationRequested
        } else {
            self = .saved
        }
    }
}

/// The writer has shut down.
public enum RunWriterError: Error, Sendable {
    case stopped
}
