public import CoreMetrics
public import Egress
public import Logging
public import MIME
public import NIOCore
public import NIOPosix
public import SMTPCore

/// Keeps SMTP sessions warm per ``PoolKey`` so a send skips the TCP, TLS and AUTH handshake.
///
/// The bookkeeping is ``PoolStateMachine``; this actor performs its actions: it opens and closes
/// sessions, hands them to callers, and watches for sessions the server closes. Call ``run()`` in a
/// task for the pool's lifetime (it hosts connection attempts and the timer), and ``shutdown()`` to
/// end it.
///
/// A message is retried once, on a freshly opened session, only when its session failed *before*
/// the final dot. After the final dot a failure is `ambiguous` and is reported, never resent.
public actor SMTPPool {
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

    struct Lease {
        let requestID: Int
        let connectionID: Int
        let connection: SMTPConnection
        let checkLiveness: Bool
        let isNew: Bool
    }

    private enum Job: Sendable {
        case connect(Int, SMTPConfiguration)
        case close(SMTPConnection)
        case watch(Int, SMTPConnection)
        case shutdown
    }

    private var machine: PoolStateMachine
    private let configuration: Configuration
    private var connections: [Int: SMTPConnection] = [:]
    private var freshConnections: Set<Int> = []
    private var configurations: [PoolKey: SMTPConfiguration] = [:]
    private var waiters: [Int: CheckedContinuation<Lease, any Error>] = [:]
    private var connectErrors: [Int: SMTPError] = [:]
    private var lastConnectError: [PoolKey: SMTPError] = [:]
    private var nextRequestID = 0
    private let clock = ContinuousClock()
    private let started: ContinuousClock.Instant
    private let jobs: AsyncStream<Job>
    private let jobSink: AsyncStream<Job>.Continuation
    private let egress: EgressGuard
    private let dialer: SMTPDialer
    private let eventLoopGroup: any EventLoopGroup
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
        self.machine = PoolStateMachine(configuration: PoolStateMachine.Configuration(
            maximumConnectionsPerKey: configuration.maximumConnectionsPerKey,
            maximumConnections: configuration.maximumConnections,
            maximumBusyConnectionsPerWorkspace: configuration.maximumBusyConnectionsPerWorkspace
                ?? max(1, configuration.maximumConnections - max(1, configuration.maximumConnections / 8)),
            maximumMessagesPerConnection: configuration.maximumMessagesPerConnection,
            idleTimeout: configuration.idleTimeout, livenessCheckAfter: configuration.livenessCheckAfter,
            chainTransactions: configuration.chainTransactions),
            seed: UInt64.random(in: 0...UInt64.max))
        self.started = clock.now
        (jobs, jobSink) = AsyncStream.makeStream(of: Job.self)
        self.egress = egress
        self.dialer = dialer
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    // MARK: Lifecycle

    /// Runs the pool until ``shutdown()``: connection attempts, closes and the timer live here.
    ///
    /// After ``shutdown()`` it returns once every session is closed (each said QUIT), or after
    /// ``shutdownDeadline`` at the latest: then what is still under way — a session still being
    /// opened to a server that stalls its greeting, a QUIT without answer — is cancelled.
    ///
    /// Cancelled instead (a service group giving up), it shuts down at once: waiters fail, every
    /// session is closed (QUIT is written before the socket closes), and it returns — it used to
    /// wait for ever on the sessions nobody would close any more.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.runTimer() }
            for await job in jobs {
                group.addTask { await self.perform(job) }
            }
            if !isFinished {
                // The job stream ended because this task was cancelled: nothing reads it any more.
                let open = Array(connections.values)
                isShuttingDown = true
                isFinished = true
                perform(machine.shutdown())
                connections.removeAll()
                for connection in open { group.addTask { await connection.close(quitTimeout: .milliseconds(200)) } }
                logger.debug("smtp.pool.cancelled", metadata: ["smtp.pool.closed": "\(open.count)"])
            }
            // Drained: the closes finish by themselves (QUIT waits 2 s at most). Forced: cancel.
            if isForcedToFinish { group.cancelAll() }
        }
    }

    /// How long a shutdown waits for sessions being opened or closed before cancelling them.
    static let shutdownDeadline: Duration = .seconds(3)

    /// Starts ``shutdown()`` from any context (a service's graceful-shutdown handler): the request
    /// travels through ``run()``'s job queue, so it needs no task of its own.
    public nonisolated func beginShutdown() {
        jobSink.yield(.shutdown)
    }

    /// Fails every waiter, closes idle sessions now (each says QUIT) and busy ones when their
    /// message is done, and ends ``run()`` once everything is closed.
    public func shutdown() {
        guard !isShuttingDown else { return }
        isShuttingDown = true
        shutdownStarted = now
        perform(machine.shutdown())
        finishIfDrained()
    }

    private var isShuttingDown = false
    private var isForcedToFinish = false
    private var isFinished = false
    private var shutdownStarted: Duration = .zero

    private func finishIfDrained() {
        guard isShuttingDown, !isFinished else { return }
        if machine.isEmpty && connections.isEmpty {
            isFinished = true
            jobSink.finish()
        } else if now - shutdownStarted >= Self.shutdownDeadline {
            logger.debug("smtp.pool.shutdown.forced", metadata: ["smtp.pool.connecting": "\(machine.statistics.connecting)"])
            isForcedToFinish = true
            isFinished = true
            jobSink.finish()
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
        let size = (try? message.byteCount()) ?? nil
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
                let (outcome, envelope, data) = try await lease.connection.deliver(message, transaction: transaction)
                release(lease, reusable: true, messageSent: true)
                var timings = lease.isNew ? lease.connection.openingTimings : SMTPTimings()
                timings.envelope = envelope
                timings.data = data
                return SMTPSendResult(
                    messageID: message.messageID, envelope: message.envelope, outcome: outcome, size: size,
                    tlsVersion: lease.connection.tlsVersion, timings: timings)
            } catch {
                let reusable = error.leavesSessionUsable && lease.connection.isActive
                release(lease, reusable: reusable, messageSent: false)
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
        configurations[key] = configuration
        let id = nextRequestID
        nextRequestID += 1
        waiterKeys[id] = key
        let requested = clock.now
        defer {
            waiterKeys[id] = nil
            metrics.waits.recordNanoseconds((clock.now - requested).nanoseconds)
        }
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Lease, any Error>) in
                    waiters[id] = continuation
                    perform(machine.leaseRequested(
                        id, key: key, deadline: now + self.configuration.waitTimeout, fresh: fresh, now: now))
                }
            } onCancel: {
                Task { await self.cancel(id) }
            }
        } catch let error as SMTPError {
            throw error
        } catch {
            throw SMTPError(.connection, .transient, "the send was cancelled while waiting for a session")
        }
    }

    private func cancel(_ id: Int) {
        guard let continuation = waiters.removeValue(forKey: id) else { return }
        continuation.resume(throwing: CancellationError())
        perform(machine.requestCancelled(id, now: now))
    }

    private func release(_ lease: Lease, reusable: Bool, messageSent: Bool) {
        perform(machine.connectionReleased(
            lease.connectionID, request: lease.requestID, reusable: reusable, messageSent: messageSent, now: now))
        finishIfDrained()
    }

    // MARK: Actions

    private var now: Duration { clock.now - started }

    private func perform(_ actions: [PoolStateMachine.Action]) {
        defer { metrics.record(machine.statistics) }
        for action in actions {
            switch action {
            case .createConnection(let id, let key):
                guard let configuration = configurations[key] else { preconditionFailure("no configuration for \(key)") }
                jobSink.yield(.connect(id, configuration))
                connectionKeys[id] = key
            case .lease(let request, let connectionID, let checkLiveness):
                guard let connection = connections[connectionID] else { preconditionFailure("leased an unknown session") }
                let isNew = freshConnections.remove(connectionID) != nil
                metrics.leases.increment()
                waiters.removeValue(forKey: request)?.resume(returning: Lease(
                    requestID: request, connectionID: connectionID, connection: connection, checkLiveness: checkLiveness, isNew: isNew))
            case .closeConnection(let id):
                freshConnections.remove(id)
                if let connection = connections.removeValue(forKey: id) { jobSink.yield(.close(connection)) }
            case .failRequest(let request, let reason):
                let error: SMTPError
                switch reason {
                case .connectFailed(let connectionID):
                    error = connectErrors.removeValue(forKey: connectionID)
                        ?? SMTPError(.connection, .transient, "could not connect to the server")
                case .deadlineExceeded:
                    let cause = waiterKeys[request].flatMap { lastConnectError[$0] }
                    error = SMTPError(.timeout, .transient,
                        "no SMTP session became free in time" + (cause.map { "; the last connection attempt failed: \($0.message)" } ?? ""))
                case .shuttingDown:
                    error = SMTPError(.connection, .transient, "the pool is shutting down")
                }
                waiters.removeValue(forKey: request)?.resume(throwing: error)
            }
        }
    }

    private var connectionKeys: [Int: PoolKey] = [:]
    private var waiterKeys: [Int: PoolKey] = [:]

    private func perform(_ job: Job) async {
        switch job {
        case .connect(let id, let configuration):
            do {
                let connection = try await SMTPConnection.connect(
                    configuration: configuration, egress: egress, dialer: dialer, eventLoopGroup: eventLoopGroup, logger: logger)
                established(id, connection)
            } catch {
                failed(id, error)
            }
        case .close(let connection):
            await connection.close()
        case .watch(let id, let connection):
            try? await connection.closeFuture.get()
            closed(id)
        case .shutdown:
            shutdown()
        }
    }

    private func established(_ id: Int, _ connection: SMTPConnection) {
        connections[id] = connection
        freshConnections.insert(id)
        if let key = connectionKeys[id] { lastConnectError[key] = nil }
        jobSink.yield(.watch(id, connection))
        perform(machine.connectionEstablished(id, now: now))
        finishIfDrained()
    }

    private func failed(_ id: Int, _ error: SMTPError) {
        logger.debug("smtp.pool.connect.failed", metadata: ["smtp.error": "\(error)"])
        connectErrors[id] = error
        metrics.connectFailures.increment()
        if let key = connectionKeys.removeValue(forKey: id) { lastConnectError[key] = error }
        perform(machine.connectionFailed(id, now: now))
        connectErrors[id] = nil
        finishIfDrained()
    }

    private func closed(_ id: Int) {
        connectionKeys[id] = nil
        guard connections[id] != nil else { return }
        perform(machine.connectionClosed(id, now: now))
        if !machine.knows(id) { connections[id] = nil }
        finishIfDrained()
    }

    private func runTimer() async {
        while !Task.isCancelled && !isFinished {
            let hasWaiters = !waiters.isEmpty
            let wake = machine.nextWakeUp.map { $0 - now } ?? .seconds(1)
            var delay = max(.milliseconds(10), min(wake, hasWaiters ? .milliseconds(50) : .seconds(1)))
            if isShuttingDown { delay = min(delay, .milliseconds(100)) }
            try? await Task.sleep(for: delay)
            perform(machine.tick(now: now))
            forgetUnusedConfigurations()
            finishIfDrained()
        }
    }

    /// Drops the connection settings (the opened password among them) of every key that has no
    /// session and no waiter left: a password change or a deleted credential leaves nothing behind
    /// once its sessions are gone.
    private func forgetUnusedConfigurations() {
        for key in Array(configurations.keys) where !machine.isInUse(key) {
            configurations[key] = nil
            lastConnectError[key] = nil
        }
    }

    /// The keys whose connection settings the pool holds: for tests.
    var configuredKeys: Set<PoolKey> { Set(configurations.keys) }

    /// Sessions open, idle, leased and opening, and sends waiting: for tests and metrics.
    public var statistics: (idle: Int, leased: Int, connecting: Int, waiting: Int) { machine.statistics }
}

extension SMTPError {
    /// Whether the session can carry another message after this failure: a refusal of this one
    /// transaction (the client already said RSET), not a 421, a drop, a timeout or a TLS failure.
    var leavesSessionUsable: Bool {
        (code == .envelope || code == .message) && reply?.code != 421 && disposition != .ambiguous
    }
}

extension Duration {
    fileprivate var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
