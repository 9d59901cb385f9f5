public import CoreMetrics
public import Egress
public import Logging
public import MIME
public import NIOCore
public import NIOPosix
public import SMTPCore
import Synchronization

/// Keeps SMTP sessions warm per ``PoolKey`` so a send skips the TCP, TLS and AUTH handshake.
///
/// The bookkeeping is ``PoolStateMachine``, kept under a lock with the few tables that map its ids
/// to sessions and callers; every call mutates it under the lock and performs the resulting
/// actions after unlocking (postgres-nio's ConnectionPool). A send that finds an idle session
/// takes it without suspending; its message goes to the session's event loop and its verdict
/// comes back: one hop each way. The session is returned to the pool on its event loop, before
/// the caller resumes. Timers (idle close, waiter deadlines, backoff) are scheduled on an event
/// loop for the machine's next wake-up, so an idle pool costs nothing.
///
/// Call ``run()`` in a task for the pool's lifetime (it hosts connection attempts, which resolve
/// names and so are async), and ``shutdown()`` to end it.
///
/// A message is retried once, on a freshly opened session, only when its session failed *before*
/// the final dot. After the final dot a failure is `ambiguous` and is reported, never resent.
public final class SMTPPool: Sendable {
    /// Limits and timings; see each field.
    public struct Configuration: Sendable, Hashable {
        /// Sessions open or opening for one key (default 4).
        public var maximumConnectionsPerKey = 4
        /// Sessions open or opening in all (default 64).
        public var maximumConnections = 64
        /// Sessions opening or carrying a message for one workspace (default: ``maximumConnections``
        /// less an eighth, kept for the other workspaces, as the executor keeps run slots).
        public var maximumBusyConnectionsPerWorkspace: Int?
        /// Messages one session carries before it is replaced (default 100).
        public var maximumMessagesPerConnection = 100
        /// An idle session is closed after this long (default 60 s; servers drop idle clients
        /// after a few minutes).
        public var idleTimeout: Duration = .seconds(60)
        /// A session idle at least this long gets a NOOP before it carries a message (default 5 s).
        public var livenessCheckAfter: Duration = .seconds(5)
        /// How long a send waits for a session before failing with `ETIMEDOUT` (default 60 s).
        public var waitTimeout: Duration = .seconds(60)
        /// When every session of a key is busy and no more may open, queue the next message on a busy
        /// session so its envelope follows the current final dot in the same flight (RFC 2920).
        public var chainTransactions = true

        /// The defaults.
        public init() {}
    }

    struct Lease: Sendable {
        let requestID: Int
        let connectionID: Int
        let connection: SMTPConnection
        let checkLiveness: Bool
        let isNew: Bool
    }

    /// The settings of one key, its opened credentials among them. Shared by the key's sessions
    /// (each keeps it alive) and by the pool while the key has a session or a waiter; once neither
    /// holds it, it is gone.
    final class OpenedConfiguration: Sendable {
        let configuration: SMTPConfiguration

        init(_ configuration: SMTPConfiguration) {
            self.configuration = configuration
        }
    }

    private enum Job: Sendable {
        case connect(Int, OpenedConfiguration)
        case shutdown
    }

    /// What a waiter is told; set before its continuation exists when the answer comes first.
    private typealias Answer = Result<Lease, SMTPError>

    private struct State: ~Copyable {
        var machine: PoolStateMachine
        var connections: [Int: SMTPConnection] = [:]
        var freshConnections: Set<Int> = []
        var configurations: [PoolKey: OpenedConfiguration] = [:]
        var connectionKeys: [Int: PoolKey] = [:]
        var waiterKeys: [Int: PoolKey] = [:]
        var waiters: [Int: CheckedContinuation<Lease, any Error>] = [:]
        var answers: [Int: Answer] = [:]
        var cancelled: Set<Int> = []
        var connectErrors: [Int: SMTPError] = [:]
        var lastConnectError: [PoolKey: SMTPError] = [:]
        var nextRequestID = 0
        /// Sessions closing (QUIT sent, not yet closed).
        var closing = 0
        var timer: (deadline: Duration, task: Scheduled<Void>)?
        var isShuttingDown = false
        var isForcedToFinish = false
        var isFinished = false
        var shutdownStarted: Duration = .zero
        var drained: CheckedContinuation<Void, Never>?
    }

    /// What runs after the lock is released.
    private enum Effect {
        case resume(CheckedContinuation<Lease, any Error>, Answer)
        case job(Job)
        case close(SMTPConnection)
        case watch(Int, SMTPConnection)
        case finishJobs
        case drained(CheckedContinuation<Void, Never>)
    }

    private let state: Mutex<State>
    private let configuration: Configuration
    private let clock = ContinuousClock()
    private let started: ContinuousClock.Instant
    private let jobs: AsyncStream<Job>
    private let jobSink: AsyncStream<Job>.Continuation
    private let egress: EgressGuard
    private let dialer: SMTPDialer
    private let eventLoopGroup: any EventLoopGroup
    private let timerLoop: any EventLoop
    private let logger: Logger
    private let metrics: PoolMetrics

    /// Creates a pool; sessions connect only where `egress` allows. Metrics go to `metricsFactory`
    /// (the process's `MetricsSystem` by default).
    public init(
        configuration: Configuration = Configuration(), egress: EgressGuard, dialer: SMTPDialer = .network,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.metrics = PoolMetrics(factory: metricsFactory)
        self.configuration = configuration
        self.state = Mutex(State(machine: PoolStateMachine(configuration: PoolStateMachine.Configuration(
            maximumConnectionsPerKey: configuration.maximumConnectionsPerKey,
            maximumConnections: configuration.maximumConnections,
            maximumBusyConnectionsPerWorkspace: configuration.maximumBusyConnectionsPerWorkspace
                ?? max(1, configuration.maximumConnections - max(1, configuration.maximumConnections / 8)),
            maximumMessagesPerConnection: configuration.maximumMessagesPerConnection,
            idleTimeout: configuration.idleTimeout, livenessCheckAfter: configuration.livenessCheckAfter,
            chainTransactions: configuration.chainTransactions),
            seed: UInt64.random(in: 0...UInt64.max))))
        self.started = clock.now
        (jobs, jobSink) = AsyncStream.makeStream(of: Job.self)
        self.egress = egress
        self.dialer = dialer
        self.eventLoopGroup = eventLoopGroup
        self.timerLoop = eventLoopGroup.next()
        self.logger = logger
    }

    // MARK: Lifecycle

    /// Runs the pool until ``shutdown()``: connection attempts live here.
    ///
    /// After ``shutdown()`` it returns once every session is closed (each said QUIT), or after
    /// ``shutdownDeadline`` at the latest: then what is still under way — a session still being
    /// opened to a server that stalls its greeting, a QUIT without answer — is cancelled.
    ///
    /// Cancelled instead (a service group giving up), it shuts down at once: waiters fail, every
    /// session is closed (QUIT is written before the socket closes, with 200 ms for the answer), and
    /// it returns once they are closed.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for await job in jobs {
                switch job {
                case .connect(let id, let opened):
                    group.addTask { await self.connect(id, opened) }
                case .shutdown:
                    shutdown()
                }
            }
            let cancelledFirst = state.withLock { state in
                defer { state.isFinished = true }
                return !state.isFinished
            }
            if cancelledFirst {
                // The job stream ended because this task was cancelled: nothing reads it any more.
                let open = state.withLock { state in
                    state.isShuttingDown = true
                    let open = Array(state.connections.values)
                    let effects = perform(state.machine.shutdown(), in: &state)
                    state.connections.removeAll()
                    return (open, effects)
                }
                run(open.1)
                logger.debug("smtp.pool.cancelled", metadata: ["smtp.pool.closed": "\(open.0.count)"])
                for connection in open.0 { close(connection, quitTimeout: .milliseconds(200)) }
                group.cancelAll()
                await waitForCloses()
            } else if state.withLock({ $0.isForcedToFinish }) {
                group.cancelAll()
            }
        }
        state.withLock { state in
            state.timer?.task.cancel()
            state.timer = nil
        }
    }

    /// How long a shutdown waits for sessions being opened or closed before cancelling them.
    static let shutdownDeadline: Duration = .seconds(3)

    /// Starts ``shutdown()`` from any context (a service's graceful-shutdown handler).
    public func beginShutdown() {
        jobSink.yield(.shutdown)
    }

    /// Fails every waiter, closes idle sessions now (each says QUIT) and busy ones when their
    /// message is done, and ends ``run()`` once everything is closed.
    public func shutdown() {
        let effects = state.withLock { state -> [Effect] in
            guard !state.isShuttingDown else { return [] }
            state.isShuttingDown = true
            state.shutdownStarted = now
            return perform(state.machine.shutdown(), in: &state)
        }
        run(effects)
    }

    /// Waits until no session is closing.
    private func waitForCloses() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                guard state.closing > 0 else { return true }
                state.drained = continuation
                return false
            }
            if ready { continuation.resume() }
        }
    }

    // MARK: Sending

    /// Delivers `message` over a pooled session for `key`, opening one with `configuration` if none
    /// is free.
    ///
    /// - Throws: ``SMTPError``; `ETIMEDOUT` when no session became free within the wait timeout.
    public func send(
        _ message: RenderedMessage, key: PoolKey, configuration: SMTPConfiguration, dsn: DSNRequest? = nil
    ) async throws(SMTPError) -> SMTPSendResult {
        let (body, size) = SMTPMessageBody.prepare(message)
        let transaction = SMTPTransaction(
            mailFrom: message.envelope.mailFrom, recipients: message.envelope.recipients, size: size,
            requiresSMTPUTF8: message.envelope.requiresSMTPUTF8, dsn: dsn)
        var retried = false
        while true {
            let lease = try await lease(key: key, configuration: configuration, fresh: retried)
            if lease.checkLiveness {
                do {
                    try await lease.connection.checkLiveness()
                } catch {
                    logger.debug("smtp.pool.liveness.failed", metadata: ["smtp.pool.key": "\(key)"])
                    release(lease, reusable: false, messageSent: false)
                    continue
                }
            }
            do {
                let connection = lease.connection
                let delivery = try await connection.deliver(body, transaction: transaction) { result in
                    // On the session's event loop, before this caller resumes.
                    switch result {
                    case .success:
                        self.release(lease, reusable: true, messageSent: true)
                    case .failure(let error):
                        let error = SMTPError.transport(error)
                        self.release(lease, reusable: error.leavesSessionUsable && connection.isActive, messageSent: false)
                    }
                }
                var timings = lease.isNew ? lease.connection.openingTimings : SMTPTimings()
                timings.envelope = delivery.envelope
                timings.data = delivery.data
                return SMTPSendResult(
                    messageID: message.messageID, envelope: message.envelope, outcome: delivery.outcome, size: size,
                    tlsVersion: lease.connection.tlsVersion, timings: timings)
            } catch {
                let reusable = error.leavesSessionUsable && lease.connection.isActive
                // Before the final dot nothing was delivered: one more try on a new session (not when
                // the send was cancelled: the server is stopping).
                if !reusable && error.disposition == .transient && !retried && !Task.isCancelled {
                    logger.debug("smtp.pool.retry", metadata: ["smtp.pool.key": "\(key)", "smtp.error": "\(error)"])
                    metrics.retries.increment()
                    retried = true
                    continue
                }
                throw error
            }
        }
    }

    private func lease(key: PoolKey, configuration: SMTPConfiguration, fresh: Bool) async throws(SMTPError) -> Lease {
        // A cancelled caller (a stopping server) must not open a session it will never use.
        guard !Task.isCancelled else {
            throw SMTPError(.connection, .transient, "the send was cancelled before it had a session")
        }
        let requested = clock.now
        defer { metrics.waits.recordNanoseconds(TimeAmount(clock.now - requested).nanoseconds) }
        let (id, immediate, effects) = state.withLock { state -> (Int, Answer?, [Effect]) in
            let id = state.nextRequestID
            state.nextRequestID += 1
            if state.configurations[key] == nil { state.configurations[key] = OpenedConfiguration(configuration) }
            state.waiterKeys[id] = key
            let effects = perform(state.machine.leaseRequested(
                id, key: key, deadline: now + self.configuration.waitTimeout, fresh: fresh, now: now), in: &state)
            return (id, state.answers.removeValue(forKey: id), effects)
        }
        run(effects)
        // The common case: an idle session was free, and nothing suspended.
        if let immediate { return try immediate.get() }
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Lease, any Error>) in
                    let early = state.withLock { state -> Result<Lease, any Error>? in
                        if let answer = state.answers.removeValue(forKey: id) { return answer.mapError { $0 } }
                        if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                        state.waiters[id] = continuation
                        return nil
                    }
                    if let early { continuation.resume(with: early) }
                }
            } onCancel: {
                cancel(id)
            }
        } catch let error as SMTPError {
            throw error
        } catch {
            throw SMTPError(.connection, .transient, "the send was cancelled while waiting for a session")
        }
    }

    private func cancel(_ id: Int) {
        let effects = state.withLock { state -> [Effect] in
            guard state.waiterKeys[id] != nil, state.answers[id] == nil else { return [] }
            var effects: [Effect] = []
            if let continuation = state.waiters.removeValue(forKey: id) {
                effects.append(.resume(continuation, .failure(SMTPError(.connection, .transient, "cancelled"))))
            } else {
                state.cancelled.insert(id)
            }
            state.waiterKeys[id] = nil
            return effects + perform(state.machine.requestCancelled(id, now: now), in: &state)
        }
        run(effects)
    }

    private func release(_ lease: Lease, reusable: Bool, messageSent: Bool) {
        let effects = state.withLock { state in
            perform(state.machine.connectionReleased(
                lease.connectionID, request: lease.requestID, reusable: reusable, messageSent: messageSent, now: now), in: &state)
        }
        run(effects)
    }

    // MARK: Connections

    private func connect(_ id: Int, _ opened: OpenedConfiguration) async {
        do {
            let connection = try await SMTPConnection.connect(
                configuration: opened.configuration, egress: egress, dialer: dialer, eventLoopGroup: eventLoopGroup,
                logger: logger, owner: opened)
            let effects = state.withLock { state -> [Effect] in
                state.connections[id] = connection
                state.freshConnections.insert(id)
                if let key = state.connectionKeys[id] { state.lastConnectError[key] = nil }
                return [.watch(id, connection)] + perform(state.machine.connectionEstablished(id, now: now), in: &state)
            }
            run(effects)
        } catch {
            logger.debug("smtp.pool.connect.failed", metadata: ["smtp.error": "\(error)"])
            metrics.connectFailures.increment()
            let effects = state.withLock { state -> [Effect] in
                state.connectErrors[id] = error
                if let key = state.connectionKeys.removeValue(forKey: id) { state.lastConnectError[key] = error }
                defer { state.connectErrors[id] = nil }
                return perform(state.machine.connectionFailed(id, now: now), in: &state)
            }
            run(effects)
        }
    }

    /// The session closed, for whatever reason: an idle one the server dropped leaves the pool.
    private func closed(_ id: Int) {
        let effects = state.withLock { state -> [Effect] in
            state.connectionKeys[id] = nil
            guard state.connections[id] != nil else { return perform([], in: &state) }
            let actions = state.machine.connectionClosed(id, now: now)
            if !state.machine.knows(id) { state.connections[id] = nil }
            return perform(actions, in: &state)
        }
        run(effects)
    }

    private func close(_ connection: SMTPConnection, quitTimeout: Duration = .seconds(2)) {
        state.withLock { $0.closing += 1 }
        connection.beginClose(quitTimeout: quitTimeout).whenComplete { _ in
            let effects = self.state.withLock { state -> [Effect] in
                state.closing -= 1
                var effects: [Effect] = []
                if state.closing == 0, let drained = state.drained {
                    state.drained = nil
                    effects.append(.drained(drained))
                }
                return effects + self.perform([], in: &state)
            }
            self.run(effects)
        }
    }

    private func tick() {
        let effects = state.withLock { state -> [Effect] in
            state.timer = nil
            return perform(state.machine.tick(now: now), in: &state)
        }
        run(effects)
    }

    // MARK: Actions

    private var now: Duration { clock.now - started }

    /// Applies the machine's actions to the tables, under the lock, and returns what must happen
    /// after it: callers resumed, sessions opened or closed. Then forgets the settings of keys with
    /// nothing left, checks whether a shutdown is complete, and schedules the next wake-up.
    private func perform(_ actions: [PoolStateMachine.Action], in state: inout State) -> [Effect] {
        var effects: [Effect] = []
        for action in actions {
            switch action {
            case .createConnection(let id, let key):
                guard let opened = state.configurations[key] else { preconditionFailure("no configuration for \(key)") }
                state.connectionKeys[id] = key
                effects.append(.job(.connect(id, opened)))
            case .lease(let request, let connectionID, let checkLiveness):
                guard let connection = state.connections[connectionID] else { preconditionFailure("leased an unknown session") }
                let isNew = state.freshConnections.remove(connectionID) != nil
                metrics.leases.increment()
                state.waiterKeys[request] = nil
                answer(request, .success(Lease(
                    requestID: request, connectionID: connectionID, connection: connection, checkLiveness: checkLiveness,
                    isNew: isNew)), in: &state, into: &effects)
            case .closeConnection(let id):
                state.freshConnections.remove(id)
                if let connection = state.connections.removeValue(forKey: id) { effects.append(.close(connection)) }
            case .failRequest(let request, let reason):
                let error: SMTPError
                switch reason {
                case .connectFailed(let connectionID):
                    error = state.connectErrors[connectionID] ?? SMTPError(.connection, .transient, "could not connect to the server")
                case .deadlineExceeded:
                    let cause = state.waiterKeys[request].flatMap { state.lastConnectError[$0] }
                    error = SMTPError(.timeout, .transient,
                        "no SMTP session became free in time" + (cause.map { "; the last connection attempt failed: \($0.message)" } ?? ""))
                case .shuttingDown:
                    error = SMTPError(.connection, .transient, "the pool is shutting down")
                }
                state.waiterKeys[request] = nil
                answer(request, .failure(error), in: &state, into: &effects)
            }
        }
        for key in Array(state.configurations.keys) where !state.machine.isInUse(key) {
            state.configurations[key] = nil
            state.lastConnectError[key] = nil
        }
        metrics.record(state.machine.statistics)
        if state.isShuttingDown && !state.isFinished {
            if state.machine.isEmpty && state.connections.isEmpty && state.closing == 0 {
                state.isFinished = true
                effects.append(.finishJobs)
            } else if now - state.shutdownStarted >= Self.shutdownDeadline {
                logger.debug("smtp.pool.shutdown.forced", metadata: ["smtp.pool.connecting": "\(state.machine.statistics.connecting)"])
                state.isForcedToFinish = true
                state.isFinished = true
                effects.append(.finishJobs)
            }
        }
        scheduleWakeUp(in: &state)
        return effects
    }

    private func answer(_ request: Int, _ answer: Answer, in state: inout State, into effects: inout [Effect]) {
        if let continuation = state.waiters.removeValue(forKey: request) {
            effects.append(.resume(continuation, answer))
        } else {
            state.answers[request] = answer  // its caller has not suspended yet, or never will
        }
    }

    /// Keeps one timer, at the machine's next wake-up (or the shutdown deadline): an earlier one
    /// replaces a later one; one that fires ticks the machine, which schedules the next.
    private func scheduleWakeUp(in state: inout State) {
        guard !state.isFinished else { return }
        var wake = state.machine.nextWakeUp
        if state.isShuttingDown { wake = min(wake ?? .seconds(Int64.max / 2), state.shutdownStarted + Self.shutdownDeadline) }
        guard let wake else { return }
        if let timer = state.timer {
            if timer.deadline <= wake { return }
            timer.task.cancel()
        }
        let delay = max(wake - now, .milliseconds(1))
        let task = timerLoop.scheduleTask(in: TimeAmount(delay)) { [weak self] () -> Void in self?.tick() }
        state.timer = (wake, task)
    }

    private func run(_ effects: [Effect]) {
        for effect in effects {
            switch effect {
            case .resume(let continuation, let answer):
                continuation.resume(with: answer.mapError { $0 })
            case .job(let job):
                jobSink.yield(job)
            case .close(let connection):
                close(connection)
            case .watch(let id, let connection):
                connection.closeFuture.whenComplete { [weak self] _ in self?.closed(id) }
            case .finishJobs:
                jobSink.finish()
            case .drained(let continuation):
                continuation.resume()
            }
        }
    }

    /// The keys whose connection settings the pool holds: for tests.
    var configuredKeys: Set<PoolKey> { state.withLock { Set($0.configurations.keys) } }

    /// The opened settings the pool holds for `key`: for tests that check they are released.
    func openedConfiguration(for key: PoolKey) -> OpenedConfiguration? {
        state.withLock { $0.configurations[key] }
    }

    /// Sessions open, idle, leased and opening, and sends waiting: for tests and metrics.
    public var statistics: (idle: Int, leased: Int, connecting: Int, waiting: Int) { state.withLock { $0.machine.statistics } }
}

extension SMTPError {
    /// Whether the session can carry another message after this failure: a refusal of this one
    /// transaction (the client already said RSET), not a 421, a drop, a timeout or a TLS failure.
    var leavesSessionUsable: Bool {
        (code == .envelope || code == .message) && reply?.code != 421 && disposition != .ambiguous
    }
}
