public import Foundation
public import CoreMetrics
public import Logging
import Metrics
import Synchronization

/// The worker service: claims due runs, runs up to ``Configuration/concurrency`` of them at once,
/// and saves each outcome through the ``RunWriter``. Woken at once when runs are inserted, and
/// polls in between for retries whose backoff has passed.
public final class FlowExecutor: Sendable {
    /// Limits and timings.
    public struct Configuration: Sendable {
        /// Runs executing at the same time.
        public var concurrency = 64
        /// The most of them one workspace may hold; `nil` keeps ``reservedForOtherWorkspaces``
        /// slots free for the others (see ``effectiveWorkspaceLimit``).
        public var workspaceConcurrency: Int?
        /// How long a claimed run belongs to this worker, unless renewed, before another worker
        /// may take it over (an instance that died or lost touch with the database).
        public var lease: Duration = .seconds(30)
        /// How often the worker renews the leases of its runs and takes over runs whose leases
        /// expired. A few renewals fit in one lease, so a slow database does not cost a live run.
        public var leaseRenewal: Duration = .seconds(10)
        /// The most runs one takeover takes.
        public var takeOverBatch = 100
        /// How often to look for due retries when nothing woke the worker.
        public var pollInterval: Duration = .milliseconds(250)
        /// How long a graceful stop waits for the runs under way; then they are cancelled, which
        /// leaves each either saved (a step interrupted before it finished is retried or, after an
        /// email's final dot, ambiguous) or `running`, for recovery at the next start.
        public var shutdownGrace: Duration = .seconds(10)
        /// Take over every `running` run at start (a single embedded instance: whatever was
        /// running belonged to this server's previous life). Off when several instances share work:
        /// then only runs whose lease expired are taken over.
        public var recoverAllRunningAtStart = true
        /// Identifies this worker in leases: the process id (for an operator reading the table)
        /// and 64 random bits (unique among instances on any number of machines).
        public var workerID = "worker-\(ProcessInfo.processInfo.processIdentifier)-\(String(UInt64.random(in: 0 ... .max), radix: 36))"

        public init() {}

        /// The slots kept from any one workspace by default: an eighth of ``concurrency``, at least
        /// one. A workspace whose sends all hang (a server that never answers) then leaves these
        /// for everyone else, while a single busy workspace keeps most of the throughput.
        public var reservedForOtherWorkspaces: Int { concurrency > 1 ? Swift.max(1, concurrency / 8) : 0 }

        /// The per-workspace limit in force: ``workspaceConcurrency``, or ``concurrency`` less the
        /// reserved slots.
        public var effectiveWorkspaceLimit: Int {
            Swift.min(concurrency, workspaceConcurrency ?? (concurrency - reservedForOtherWorkspaces))
        }
    }

    private let flows: any FlowStore
    private let runs: any RunStore
    private let writer: RunWriter
    private let processor: RunProcessor
    private let configuration: Configuration
    private let logger: Logger
    private let signal: WakeSignal
    private let metrics: RunMetrics
    private let leases: LeaseState

    /// `signal` wakes the executor; give the same one to the ``RunWriter``'s `onInserted`. Metrics
    /// go to `metricsFactory` (the process's `MetricsSystem` by default).
    public init(
        flows: any FlowStore, runs: any RunStore, writer: RunWriter, processor: RunProcessor,
        configuration: Configuration = Configuration(), signal: WakeSignal = WakeSignal(), logger: Logger,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.metrics = RunMetrics(factory: metricsFactory, nodeTypes: processor.registry.descriptors.map(\.type))
        self.signal = signal
        self.flows = flows
        self.runs = runs
        self.writer = writer
        self.processor = processor
        self.configuration = configuration
        self.logger = logger
        self.leases = LeaseState(until: .distantPast)
    }

    /// New runs are waiting: claim now rather than at the next poll.
    public func wake() { signal.fire() }

    /// A flow was created, changed or deleted: forget the flows kept for running their runs.
    ///
    /// The executor keeps each flow it loaded (a run of a busy webhook flow then costs no read and
    /// no decoding of its definition). That is exact because every change of a flow goes through
    /// ``FlowService``, which calls this after the change is committed; the CLI only creates
    /// flows, and a flow not kept yet is read from the store. A load that read the store before an
    /// invalidation does not keep its result.
    public func flowsChanged() {
        flowCache.invalidate()
    }

    private let flowCache = InvalidatingCache<String, Flow>()

    private func cachedFlow(id: String) async throws -> Flow? {
        try await flowCache.value(for: id) { try await flows.flow(id: id) }
    }

    /// Graceful stop: claim nothing more; ``run()`` returns once the runs under way have finished.
    public func stop() {
        stopping.withLock { $0 = true }
        signal.fire()
    }

    private let stopping = Mutex(false)

    /// Recovers what a previous life left running, then executes runs until stopped or cancelled.
    /// After ``stop()``, runs under way get ``Configuration/shutdownGrace`` to finish and are
    /// cancelled after it; after cancellation, they are cancelled at once.
    public func run() async {
        await takeOver(all: configuration.recoverAllRunningAtStart)
        await withTaskGroup(of: Void.self) { maintenance in
            maintenance.addTask { await self.maintainLeases() }
            await executeRuns()
            maintenance.cancelAll()
        }
    }

    /// Whether the worker keeps its leases: a renewal (or a look for expired leases) succeeded
    /// within the last lease. A worker that cannot has its runs taken over by others; `/readyz`
    /// says so, so a load balancer stops sending it webhooks.
    public var isHealthy: Bool {
        leases.lastSuccess.withLock { ContinuousClock.now - $0 < configuration.lease }
    }

    /// Every ``Configuration/leaseRenewal``: extends the leases of the runs under way, then takes
    /// over runs whose lease expired, until cancelled.
    private func maintainLeases() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.leaseRenewal)
            guard !Task.isCancelled else { return }
            let now = processor.now()
            let until = now.addingTimeInterval(configuration.lease.timeInterval)
            do {
                _ = try await runs.renewLeases(workerID: configuration.workerID, until: until)
                leases.until.withLock { $0 = until }
                leases.lastSuccess.withLock { $0 = .now }
            } catch {
                metrics.renewalFailed()
                logger.warning("renewing run leases failed", metadata: ["error.type": "\(type(of: error))"])
                continue
            }
            await takeOver(all: false)
        }
    }

    private func executeRuns() async {
        await withDiscardingTaskGroup { group in
            let active = ActiveCount()
            while !Task.isCancelled && !stopping.withLock({ $0 }) {
                let capacity = configuration.concurrency - active.value
                var claimed: [Run] = []
                let token = nextLeaseToken()
                if capacity > 0 {
                    let now = processor.now()
                    do {
                        claimed = try await runs.claim(RunClaim(
                            limit: capacity, owner: token, now: now,
                            leaseUntil: now.addingTimeInterval(configuration.lease.timeInterval),
                            perWorkspaceLimit: configuration.effectiveWorkspaceLimit, running: active.byWorkspace))
                    } catch is CancellationError {
                        break
                    } catch {
                        logger.warning("claiming runs failed", metadata: ["error.type": "\(type(of: error))"])
                    }
                }
                metrics.runsClaimed(claimed.count)
                for run in claimed {
                    active.add(run.workspaceID)
                    group.addTask {
                        await self.execute(run, owner: token)
                        active.remove(run.workspaceID)
                        self.metrics.executing(active.value)
                        self.signal.fire()
                    }
                }
                if !claimed.isEmpty { metrics.executing(active.value) }
                // Runs were due and slots are left: look again at once, until a claim comes back empty
                // (nothing due, or every waiting workspace at its limit: a run ending fires the signal).
                if !claimed.isEmpty && claimed.count < capacity { continue }
                if claimed.count == capacity && capacity > 0 { await Task.yield(); continue }
                await signal.wait(timeout: configuration.pollInterval)
            }
            let deadline = ContinuousClock.now + configuration.shutdownGrace
            while active.value > 0 && !Task.isCancelled && ContinuousClock.now < deadline {
                await signal.wait(timeout: min(.milliseconds(100), deadline - ContinuousClock.now))
            }
            if active.value > 0 {
                logger.warning("runs still under way at shutdown are cancelled", metadata: ["posthorn.runs.count": "\(active.value)"])
                group.cancelAll()
            }
        }
    }

    /// Executes a run claimed under the lease token `owner`.
    private func execute(_ claimed: Run, owner: String) async {
        var logger = self.logger
        logger[metadataKey: "posthorn.run.id"] = "\(claimed.id)"
        logger.debug("run claimed", metadata: ["posthorn.run.lease": "\(owner)"])
        // The store may hand over a run it could not read back whole, already ended: store that.
        guard !claimed.isFinished else {
            await save(claimed, owner: owner, logger: logger)
            return
        }
        let flow: Flow?
        do {
            flow = try await cachedFlow(id: claimed.flowID)
        } catch {
            // The store could not say; a deleted flow is only `nil`. Try again shortly.
            var later = claimed
            later.handle(.postponed(notBefore: processor.now().addingTimeInterval(1)), now: processor.now())
            await save(later, owner: owner, logger: logger)
            return
        }
        let writer = self.writer
        let began = processor.now()
        // Every write names the claim's token: an execution that lost the run is refused even when
        // this worker has claimed the run again since.
        let leases = self.leases
        let lost = Mutex(false)
        let finished = await processor.process(claimed, flow: flow, logger: logger) { [logger] progress in
            var progress = progress
            // The lease as last renewed: a checkpoint must not shorten it.
            progress.handle(.leaseRenewed(until: leases.until.withLock { $0 }), now: progress.startedAt ?? began)
            let result = try await writer.update(progress, owner: owner)
            logger.trace("progress saved", metadata: ["posthorn.run.write": "\(result)"])
            switch result {
            case .saved, .cancelledInstead: return false
            case .cancellationRequested: return true
            case .refused:
                lost.withLock { $0 = true }
                throw LeaseLost()
            }
        }
        guard !lost.withLock({ $0 }) else {
            // Another worker took the run over while this one was cut off: its next step did not
            // start here, and the run is the other's to finish.
            staleWriteRefused(logger: logger)
            return
        }
        metrics.executed(await save(finished, owner: owner, logger: logger), began: began)
    }

    /// Counts and logs a write refused because another worker holds the run now.
    private func staleWriteRefused(logger: Logger) {
        metrics.writeRefused()
        logger.warning("run taken over by another worker; this worker's outcome is dropped")
    }

    /// Saves a run's outcome, retrying a failed commit with backoff (0.1 s doubling, 6 tries); if
    /// it still fails the run stays `running` and is recovered at the next start.
    ///
    /// A run put back in the queue for a retry whose cancellation was requested meanwhile is stored
    /// `cancelled` by that same write. A run the store cannot write (a value the encoder refuses)
    /// is saved `failed` with `ESAVE` and without its step data, rather than left running to be
    /// re-run at every start.
    @discardableResult
    private func save(_ run: Run, owner: String?, logger: Logger) async -> Run {
        var run = run
        var delay = Duration.milliseconds(100)
        var attempt = 1
        var stripped = false
        while attempt <= 6 {
            do {
                switch try await writer.update(run, owner: owner) {
                case .saved:
                    break
                case .refused:
                    staleWriteRefused(logger: logger)
                    return run
                case .cancelledInstead(let cancelled):
                    run = cancelled
                case .cancellationRequested:
                    // Only a run written unfinished and not queued gets here; it ends now.
                    if run.handle(.cancellationObserved, now: processor.now()) == .save { continue }
                }
                logger.debug("run saved", metadata: ["posthorn.run.status": "\(run.status.rawValue)"])
                return run
            } catch RunStoreError.unstorable(let reason) {
                // Once only: stripped, a run that still cannot be stored is beyond help here.
                guard !stripped else { break }
                stripped = true
                run = processor.unstorable(run, reason: reason)
                continue
            } catch {
                if attempt == 6 || error is RunWriterError { break }
                try? await Task.sleep(for: delay)
                delay *= 2
                attempt += 1
            }
        }
        logger.error("saving a run failed")
        return run
    }

    /// Takes over and recovers the runs a dead worker left `running`: all of them at an embedded
    /// start, else those whose lease expired — in batches until none is left.
    ///
    /// Each run is saved on its own, as any outcome is (a failed write retries, a pending
    /// cancellation is honoured), so one failure does not leave the others `running`.
    func takeOver(all: Bool) async {
        var total = 0
        // A run taken here whose save failed is still `running` and, at an embedded start, taken
        // again by the next batch: a batch of only those means a failing database, not more work.
        var taken: Set<String> = []
        while !Task.isCancelled {
            let now = processor.now()
            let token = nextLeaseToken()
            let orphans: [Run]
            do {
                orphans = try await runs.takeOver(
                    owner: token, expiredBy: all ? .distantFuture : now,
                    leaseUntil: now.addingTimeInterval(configuration.lease.timeInterval), limit: configuration.takeOverBatch)
            } catch {
                logger.error("taking over runs failed", metadata: ["error.type": "\(type(of: error))"])
                return
            }
            leases.lastSuccess.withLock { $0 = .now }
            metrics.runsTakenOver(orphans.count)
            for run in orphans {
                var logger = self.logger
                logger[metadataKey: "posthorn.run.id"] = "\(run.id)"
                let recovered = processor.recover(run)
                logger.info("run taken over", metadata: [
                    "posthorn.run.lease": "\(token)", "posthorn.run.status": "\(recovered.status.rawValue)",
                    "posthorn.run.steps": "\(run.steps.map { "\($0.stepID):\($0.status.rawValue)" }.joined(separator: ","))",
                ])
                await save(recovered, owner: token, logger: logger)
            }
            total += orphans.count
            if orphans.count < configuration.takeOverBatch || orphans.allSatisfy({ taken.contains($0.id) }) { break }
            taken.formUnion(orphans.map(\.id))
        }
        if total > 0 { logger.info("runs taken over", metadata: ["posthorn.runs.count": "\(total)"]) }
    }

    /// A new ``LeaseToken`` of this worker, for one claim or takeover.
    private func nextLeaseToken() -> String {
        LeaseToken.make(workerID: configuration.workerID, claim: leases.claims.withLock { count in
            count += 1
            return count
        })
    }

    /// The leases this worker holds: until when they were last renewed, when it last managed to
    /// talk to the store about them, and how many claims it made.
    final class LeaseState: Sendable {
        let until: Mutex<Date>
        let lastSuccess = Mutex(ContinuousClock.now)
        let claims = Mutex<UInt64>(0)
        init(until: Date) { self.until = Mutex(until) }
    }
}

/// A checkpoint was refused: another worker holds the run now.
struct LeaseLost: Error {}

/// How many runs are executing, in all and per workspace.
final class ActiveCount: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    var value: Int { counts.withLock { $0.values.reduce(0, +) } }
    var byWorkspace: [String: Int] { counts.withLock { $0 } }
    func add(_ workspaceID: String) { counts.withLock { $0[workspaceID, default: 0] += 1 } }
    func remove(_ workspaceID: String) {
        counts.withLock { counts in
            counts[workspaceID, default: 1] -= 1
            if counts[workspaceID] == 0 { counts[workspaceID] = nil }
        }
    }
}
