public import Foundation
public import Logging
import Synchronization

/// The worker service: claims due runs, runs up to ``Configuration/concurrency`` of them at once,
/// and saves each outcome through the ``RunWriter``. Woken at once when runs are inserted, and
/// polls in between for retries whose backoff has passed.
public final class FlowExecutor: Sendable {
    /// Limits and timings.
    public struct Configuration: Sendable {
        /// Runs executing at the same time.
        public var concurrency = 64
        /// How long a claimed run belongs to this worker before another may take it over.
        public var lease: Duration = .seconds(300)
        /// How often to look for due retries when nothing woke the worker.
        public var pollInterval: Duration = .milliseconds(250)
        /// Take over every `running` run at start (a single embedded instance: whatever was
        /// running belonged to this server's previous life). Off when several instances share work:
        /// then only runs whose lease expired are taken over.
        public var recoverAllRunningAtStart = true
        /// Identifies this worker in leases.
        public var workerID = "worker-\(UInt32.random(in: 0 ... .max))"

        public init() {}
    }

    private let flows: any FlowStore
    private let runs: any RunStore
    private let writer: RunWriter
    private let processor: RunProcessor
    private let configuration: Configuration
    private let logger: Logger
    private let signal: WakeSignal

    /// `signal` wakes the executor; give the same one to the ``RunWriter``'s `onInserted`.
    public init(
        flows: any FlowStore, runs: any RunStore, writer: RunWriter, processor: RunProcessor,
        configuration: Configuration = Configuration(), signal: WakeSignal = WakeSignal(), logger: Logger
    ) {
        self.signal = signal
        self.flows = flows
        self.runs = runs
        self.writer = writer
        self.processor = processor
        self.configuration = configuration
        self.logger = logger
    }

    /// New runs are waiting: claim now rather than at the next poll.
    public func wake() { signal.fire() }

    /// Graceful stop: claim nothing more; ``run()`` returns once the runs under way have finished.
    public func stop() {
        stopping.withLock { $0 = true }
        signal.fire()
    }

    private let stopping = Mutex(false)

    /// Recovers what a previous life left running, then executes runs until cancelled; runs under
    /// way when cancelled finish first (graceful shutdown).
    public func run() async {
        await recover(all: configuration.recoverAllRunningAtStart)
        await withDiscardingTaskGroup { group in
            let active = ActiveCount()
            while !Task.isCancelled && !stopping.withLock({ $0 }) {
                let capacity = configuration.concurrency - active.value
                var claimed: [Run] = []
                if capacity > 0 {
                    let now = processor.now()
                    do {
                        claimed = try await runs.claim(
                            limit: capacity, owner: configuration.workerID, now: now,
                            leaseUntil: now.addingTimeInterval(Self.seconds(configuration.lease)))
                    } catch is CancellationError {
                        break
                    } catch {
                        logger.warning("claiming runs failed", metadata: ["error.type": "\(type(of: error))"])
                    }
                }
                for run in claimed {
                    active.add(1)
                    group.addTask {
                        await self.execute(run)
                        active.add(-1)
                        self.signal.fire()
                    }
                }
                // A full batch suggests more are due: look again at once.
                if claimed.count == capacity && capacity > 0 { continue }
                await signal.wait(timeout: configuration.pollInterval)
            }
        }
    }

    private func execute(_ claimed: Run) async {
        var logger = self.logger
        logger[metadataKey: "posthorn.run.id"] = "\(claimed.id)"
        let flow: Flow?
        do {
            flow = try await flows.flow(id: claimed.flowID)
        } catch {
            // The store could not say; a deleted flow is only `nil`. Try again shortly.
            var later = claimed
            later.status = .queued
            later.notBefore = processor.now().addingTimeInterval(1)
            later.leaseOwner = nil
            later.leaseExpiresAt = nil
            await save(later, logger: logger)
            return
        }
        let writer = self.writer
        let finished = await processor.process(claimed, flow: flow, logger: logger) { progress in
            try await writer.update(progress)
        }
        await save(finished, logger: logger)
        logger.debug("run ended", metadata: ["posthorn.run.status": "\(finished.status.rawValue)"])
    }

    /// Saves a run's outcome, retrying a failed commit with backoff (0.1 s doubling, 6 tries); if
    /// it still fails the run stays `running` and is recovered at the next start.
    private func save(_ run: Run, logger: Logger) async {
        var delay = Duration.milliseconds(100)
        for attempt in 1...6 {
            do {
                try await writer.update(run)
                return
            } catch {
                if attempt == 6 || error is RunWriterError {
                    logger.error("saving a run failed", metadata: ["error.type": "\(type(of: error))"])
                    return
                }
                try? await Task.sleep(for: delay)
                delay *= 2
            }
        }
    }

    /// Runs a dead worker left `running`: all of them at an embedded start, else those whose lease
    /// expired.
    func recover(all: Bool) async {
        do {
            let orphans = try await runs.abandoned(now: all ? .distantFuture : processor.now())
            for run in orphans { try await writer.update(processor.recover(run)) }
            if !orphans.isEmpty { logger.info("runs recovered", metadata: ["posthorn.runs.count": "\(orphans.count)"]) }
        } catch {
            logger.error("recovering runs failed", metadata: ["error.type": "\(type(of: error))"])
        }
    }

    static func seconds(_ duration: Duration) -> TimeInterval {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// How many runs are executing.
final class ActiveCount: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func add(_ delta: Int) { count.withLock { $0 += delta } }
}

/// A wake-up flag with a timed wait: `fire()` before `wait` makes the next wait return at once.
public final class WakeSignal: Sendable {
    private struct State {
        var fired = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    /// A signal that has not fired.
    public init() {}

    /// Wakes the waiter, or the next one to wait.
    public func fire() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.fired = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns when fired, when `timeout` passes, or when the task is cancelled.
    func wait(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        let resumeNow = self.state.withLock { state -> Bool in
                            if state.fired {
                                state.fired = false
                                return true
                            }
                            state.waiter = continuation
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    self.fire()
                }
            }
            group.addTask {
                // A fire left over from a cancelled timer only causes one extra look for due runs:
                // harmless, where a lost wake-up would not be.
                try? await Task.sleep(for: timeout)
                self.fire()
            }
            await group.next()
            group.cancelAll()
        }
    }

}
