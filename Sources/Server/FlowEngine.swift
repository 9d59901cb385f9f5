public import Flows
import Foundation
public import SMTP
public import Logging
public import ServiceLifecycle
import Storage
import Workspaces
public import CoreMetrics

/// The flow engine's long-running parts, as services for `posthorn serve`'s service group: the
/// group-commit writer, the executor, the cron scheduler and run retention.
///
/// Listed in dependency order; a service group shuts them down in reverse, so the executor finishes
/// its runs while the writer still commits them.
public struct FlowEngine: Sendable {
    public let writer: RunWriter
    public let executor: FlowExecutor
    public let scheduler: CronScheduler
    public let service: FlowService
    /// The SMTP sessions `smtp.send` steps share, per workspace × credential × password.
    public let pool: SMTPPool
    private let retention: RunRetention
    /// Wakes the scheduler when a flow changes, so a new schedule takes effect at once.
    private let cronSignal: WakeSignal
    /// Every stored change of a run, for live listeners (`GET /api/v1/events`).
    public let events: RunEventHub
    private let storage: DatabaseStorage
    private let webhooks: WebhookFlowCache

    init(
        storage: DatabaseStorage, registry: NodeRegistry, pool: SMTPPool, webhooks: WebhookFlowCache,
        configuration: ServerConfiguration, metricsFactory: any MetricsFactory, logger: Logger
    ) {
        let store = storage.store
        self.storage = storage
        self.webhooks = webhooks
        self.pool = pool
        let signal = WakeSignal()
        let cronSignal = WakeSignal()
        self.cronSignal = cronSignal
        let events = RunEventHub()
        self.events = events
        writer = RunWriter(store: store, onInserted: { signal.fire() }, onCommitted: { events.publish($0) })
        let processor = RunProcessor(registry: registry, now: { Date() }, jitter: { Double.random(in: 0..<1) })
        var executorConfiguration = FlowExecutor.Configuration()
        executorConfiguration.concurrency = configuration.runConcurrency
        executorConfiguration.workspaceConcurrency = configuration.workspaceConcurrency
        executorConfiguration.shutdownGrace = configuration.shutdownGrace
        executorConfiguration.lease = configuration.lease
        executorConfiguration.leaseRenewal = configuration.leaseRenewal
        // Several instances share PostgreSQL: a running run may be another's, live. Runs queued
        // through another instance arrive as notices, so the poll is only a safety net there.
        executorConfiguration.recoverAllRunningAtStart = !storage.isShared
        if storage.isShared { executorConfiguration.pollInterval = .seconds(1) }
        executor = FlowExecutor(
            flows: store, runs: store, writer: writer, processor: processor, configuration: executorConfiguration,
            signal: signal, logger: logger, metricsFactory: metricsFactory)
        scheduler = CronScheduler(
            flows: store, runs: store, now: { Date() }, makeRunID: { FlowService.makeRunID() }, onEnqueued: { runs in
                signal.fire()
                events.publish(runs)
            },
            logger: logger)
        let executor = self.executor
        service = FlowService(flows: store, runs: store, writer: writer, registry: registry, onFlowsChanged: {
            cronSignal.fire()
            executor.flowsChanged()
            webhooks.invalidate()
        })
        retention = RunRetention(runs: store, sentMessages: store, replays: store, keep: configuration.runRetention, logger: logger)
    }

    /// The services in start order.
    public var services: [any Service] {
        var services: [any Service] = [
            // Stops last: QUIT on every pooled session once the executor no longer sends.
            GracefulService(name: "smtp-pool", body: { await pool.run() }, stop: { pool.beginShutdown() }),
            TaskService(name: "run-writer") { await writer.run() },
            GracefulService(name: "executor", body: { await executor.run() }, stop: { executor.stop() }),
            TaskService(name: "cron") { [cronSignal] in await scheduler.run(wake: cronSignal) },
            TaskService(name: "retention") { await retention.run() },
        ]
        // A service that returns ends the group: this one runs only where there is something to
        // listen to (PostgreSQL).
        if storage.isShared {
            services.append(TaskService(name: "cluster-notices") { await storage.listen { notice in await handle(notice) } })
        }
        return services
    }

    /// Acts on what an instance sharing the database did (PostgreSQL): claims the runs it queued,
    /// forgets cached flows when it changed one, and tells live listeners here about the runs it
    /// stored.
    func handle(_ notice: ClusterNotice) async {
        switch notice {
        case .runsQueued:
            executor.wake()
        case .flowsChanged:
            flowsChangedElsewhere()
        case .runsStored(let origin, let references):
            // This instance's own writes were published when they committed.
            guard origin != storage.store.origin else { return }
            let listened = events.listenedTo(Set(references.map(\.workspaceID)))
            guard !listened.isEmpty else { return }
            var runs: [Run] = []
            for reference in references where listened.contains(reference.workspaceID) {
                if let run = try? await storage.store.run(id: reference.runID, workspaceID: reference.workspaceID) { runs.append(run) }
            }
            events.publish(runs)
        case .everythingMayHaveChanged:
            executor.wake()
            flowsChangedElsewhere()
        }
    }

    private func flowsChangedElsewhere() {
        cronSignal.fire()
        executor.flowsChanged()
        webhooks.invalidate()
    }
}

/// A long-running loop as a `Service`: graceful shutdown cancels it, and it returns when its loop
/// has wound down.
struct TaskService: Service, CustomStringConvertible {
    let name: String
    let body: @Sendable () async -> Void

    init(name: String, _ body: @escaping @Sendable () async -> Void) {
        self.name = name
        self.body = body
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { await body() }
    }

    var description: String { name }
}

/// A loop that stops on its own when asked (graceful shutdown) instead of being cancelled: the
/// executor stops claiming and lets the runs under way finish.
struct GracefulService: Service, CustomStringConvertible {
    let name: String
    let body: @Sendable () async -> Void
    let stop: @Sendable () -> Void

    func run() async throws {
        await withGracefulShutdownHandler { await body() } onGracefulShutdown: { stop() }
    }

    var description: String { name }
}

/// Deletes finished runs older than the retention period, and the Message-IDs remembered for
/// bounce matching with them, once an hour.
struct RunRetention: Sendable {
    let runs: any RunStore
    let sentMessages: any SentMessageStore
    let replays: any ReplayStore
    let keep: Duration
    let logger: Logger

    func run() async {
        while !Task.isCancelled {
            let cutoff = Date().addingTimeInterval(-Double(keep.components.seconds))
            do {
                let deleted = try await runs.deleteFinishedRuns(before: cutoff)
                if deleted > 0 { logger.info("old runs deleted", metadata: ["posthorn.runs.count": "\(deleted)"]) }
                let keys = try await runs.deleteIdempotencyKeys(before: Date().addingTimeInterval(-Double(IdempotencyKey.retention.components.seconds)))
                if keys > 0 { logger.info("old idempotency keys forgotten", metadata: ["posthorn.idempotency_keys.count": "\(keys)"]) }
                _ = try await replays.forgetReplays(before: Date())
                let forgotten = try await sentMessages.deleteSentMessages(before: cutoff)
                if forgotten > 0 { logger.info("old sent messages forgotten", metadata: ["posthorn.sent_messages.count": "\(forgotten)"]) }
            } catch {
                logger.warning("deleting old runs failed", metadata: ["error.type": "\(type(of: error))"])
            }
            try? await Task.sleep(for: .seconds(3600))
        }
    }
}
