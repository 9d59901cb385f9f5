import SMTPCore

// MARK: - The pool's bookkeeping, without I/O
//
// Every input is a mutating call that returns the actions to perform; the driver (`SMTPPool`) runs
// them. Time is a `Duration` since the pool started, passed in by the caller, and jitter comes from
// a seeded generator, so tests replay any schedule exactly.
//
// Fairness: waiters form one queue across keys, served oldest first. When the global cap is reached
// and the oldest waiter's key has nothing idle, an idle session of another key is closed to make room,
// so a busy key cannot starve a quiet one.

/// The pool's state: sessions per key, waiters, backoff. A value type with no I/O.
struct PoolStateMachine: Sendable {
    typealias ConnectionID = Int
    typealias RequestID = Int

    /// Limits and timings.
    struct Configuration: Sendable, Hashable {
        /// Sessions open or opening for one key.
        var maximumConnectionsPerKey = 4
        /// Sessions open or opening in all.
        var maximumConnections = 64
        /// Sessions opening or carrying a message for one workspace (the part of the key's scope
        /// before `/`), so one workspace whose relays stall cannot hold every session while other
        /// workspaces' sends wait. `nil`: no limit besides ``maximumConnections``.
        var maximumBusyConnectionsPerWorkspace: Int?
        /// Messages one session carries before it is closed and replaced.
        var maximumMessagesPerConnection = 100
        /// An idle session is closed after this long.
        var idleTimeout: Duration = .seconds(60)
        /// A session idle at least this long is checked (NOOP) before it carries a message.
        var livenessCheckAfter: Duration = .seconds(5)
        /// Reconnect backoff: `base × 2^(failures − 1)`, capped at `maximum`, then jittered.
        var backoffBase: Duration = .milliseconds(100)
        var backoffMaximum: Duration = .seconds(30)
        /// Hand a waiter a busy session of its key when no session is free and no more may open:
        /// its envelope then follows the current message's final dot in the same flight
        /// (RFC 2920), so a warm session costs one round trip per message instead of two.
        var chainTransactions = false
    }

    /// Why a waiter got no session.
    enum RequestFailure: Sendable, Hashable {
        /// Its deadline passed first.
        case deadlineExceeded
        /// The attempt to open a session for it failed; the driver has the error.
        case connectFailed(ConnectionID)
        /// The pool is shutting down.
        case shuttingDown
    }

    enum Action: Sendable, Hashable {
        /// Open a session for `key`; report ``connectionEstablished(_:now:)`` or ``connectionFailed(_:now:)``.
        case createConnection(ConnectionID, PoolKey)
        /// Hand the session to the waiter; when `checkLiveness`, NOOP it first.
        case lease(RequestID, ConnectionID, checkLiveness: Bool)
        /// Close the session (QUIT).
        case closeConnection(ConnectionID)
        /// The waiter gets no session.
        case failRequest(RequestID, RequestFailure)
    }

    private enum ConnectionState: Sendable, Hashable {
        case connecting
        case idle(since: Duration)
        /// Carrying `RequestID`'s message, and possibly a second one chained behind it.
        case leased(RequestID, chained: RequestID?)
    }

    private struct Connection: Sendable, Hashable {
        var key: PoolKey
        var state: ConnectionState
        var messages = 0
        /// Set when the key was superseded or the session must not carry more: close when free.
        var draining = false
    }

    private struct Waiter: Sendable, Hashable {
        var id: RequestID
        var key: PoolKey
        var deadline: Duration
        /// Needs a newly opened session (a retry after a session failed mid-message).
        var fresh: Bool
        /// The connection being opened for this fresh waiter.
        var reserved: ConnectionID?
    }

    private struct Backoff: Sendable, Hashable {
        var failures: Int
        var until: Duration
    }

    let configuration: Configuration
    private var connections: [ConnectionID: Connection] = [:]
    private var waiters: [Waiter] = []
    private var backoff: [PoolKey: Backoff] = [:]
    private var nextConnectionID = 0
    private var random: SplitMix64
    private var isShuttingDown = false
    /// Leases whose session was closed while they were still out (the other message on a chained
    /// session ended it); their release is expected and changes nothing.
    private var orphanedLeases: [ConnectionID: RequestID] = [:]

    init(configuration: Configuration = Configuration(), seed: UInt64 = 0x5EED) {
        self.configuration = configuration
        self.random = SplitMix64(seed: seed)
    }

    // MARK: Inputs

    /// A caller wants a session for `key` by `deadline`.
    mutating func leaseRequested(_ id: RequestID, key: PoolKey, deadline: Duration, fresh: Bool = false, now: Duration) -> [Action] {
        guard !isShuttingDown else { return [.failRequest(id, .shuttingDown)] }
        var actions = supersede(olderThan: key)
        waiters.append(Waiter(id: id, key: key, deadline: deadline, fresh: fresh))
        actions += serve(now: now)
        return actions
    }

    /// The caller gave up (task cancelled).
    mutating func requestCancelled(_ id: RequestID, now: Duration) -> [Action] {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return [] }
        waiters.remove(at: index)
        return serve(now: now)
    }

    /// A session opened.
    mutating func connectionEstablished(_ id: ConnectionID, now: Duration) -> [Action] {
        guard var connection = connections[id], case .connecting = connection.state else {
            preconditionFailure("connection \(id) established without being opened")
        }
        backoff[connection.key] = nil
        if connection.draining || isShuttingDown {
            connections[id] = nil
            return [.closeConnection(id)] + serve(now: now)
        }
        // A fresh waiter that reserved this session gets it; otherwise the oldest waiter of the key.
        let index = waiters.firstIndex { $0.reserved == id }
            ?? waiters.firstIndex { $0.key == connection.key && !$0.fresh }
        guard let index else {
            connection.state = .idle(since: now)
            connections[id] = connection
            return serve(now: now)
        }
        let waiter = waiters.remove(at: index)
        connection.state = .leased(waiter.id, chained: nil)
        connections[id] = connection
        return [.lease(waiter.id, id, checkLiveness: false)] + serve(now: now)
    }

    /// Opening a session failed. The oldest waiter of the key (or the fresh waiter it was opened for)
    /// gets the failure; the key backs off before the next attempt.
    mutating func connectionFailed(_ id: ConnectionID, now: Duration) -> [Action] {
        guard let connection = connections.removeValue(forKey: id) else {
            preconditionFailure("connection \(id) failed without being opened")
        }
        let failures = (backoff[connection.key]?.failures ?? 0) + 1
        backoff[connection.key] = Backoff(failures: failures, until: now + backoffDelay(failures: failures))
        var actions: [Action] = []
        if let index = waiters.firstIndex(where: { $0.reserved == id })
            ?? waiters.firstIndex(where: { $0.key == connection.key && $0.reserved == nil }) {
            actions.append(.failRequest(waiters.remove(at: index).id, .connectFailed(id)))
        }
        return actions + serve(now: now)
    }

    /// The caller is done with a session; `reusable` is false after a failure that ended it (421,
    /// a drop, a timeout) or a failed liveness check. `request` says which lease ends; it is needed
    /// only when a message was chained onto the session.
    mutating func connectionReleased(
        _ id: ConnectionID, request: RequestID? = nil, reusable: Bool, messageSent: Bool, now: Duration
    ) -> [Action] {
        if let request, orphanedLeases[id] == request {
            orphanedLeases[id] = nil
            return []
        }
        guard var connection = connections[id], case .leased(let current, let chained) = connection.state else {
            preconditionFailure("connection \(id) released without being leased")
        }
        if messageSent { connection.messages += 1 }
        if let chained {
            guard let request, request == current || request == chained else {
                preconditionFailure("a chained session released without naming its lease")
            }
            let remaining = request == current ? chained : current
            guard reusable, !isShuttingDown else {
                // The session is finished; the other message on it fails on its own.
                connections[id] = nil
                orphanedLeases[id] = remaining
                return [.closeConnection(id)] + serve(now: now)
            }
            connection.state = .leased(remaining, chained: nil)
            connections[id] = connection
            return serve(now: now)
        }
        if !reusable || connection.draining || isShuttingDown
            || connection.messages >= configuration.maximumMessagesPerConnection {
            connections[id] = nil
            return [.closeConnection(id)] + serve(now: now)
        }
        connection.state = .idle(since: now)
        connections[id] = connection
        return serve(now: now)
    }

    /// The server closed a session on its own. Only idle sessions are affected here; a leased one
    /// is reported through ``connectionReleased(_:reusable:messageSent:now:)`` by its holder.
    mutating func connectionClosed(_ id: ConnectionID, now: Duration) -> [Action] {
        guard let connection = connections[id], case .idle = connection.state else { return [] }
        connections[id] = nil
        return serve(now: now)
    }

    /// Time passed: expire idle sessions and overdue waiters, and retry after backoff.
    mutating func tick(now: Duration) -> [Action] {
        var actions: [Action] = []
        for (id, connection) in connections.sorted(by: { $0.key < $1.key }) {
            if case .idle(let since) = connection.state, now - since >= configuration.idleTimeout {
                connections[id] = nil
                actions.append(.closeConnection(id))
            }
        }
        waiters.removeAll { waiter in
            guard waiter.deadline <= now else { return false }
            actions.append(.failRequest(waiter.id, .deadlineExceeded))
            return true
        }
        return actions + serve(now: now)
    }

    /// Close everything idle, fail every waiter, and close the rest as they come back.
    mutating func shutdown() -> [Action] {
        isShuttingDown = true
        var actions = waiters.map { Action.failRequest($0.id, .shuttingDown) }
        waiters = []
        for (id, connection) in connections.sorted(by: { $0.key < $1.key }) {
            if case .idle = connection.state {
                connections[id] = nil
                actions.append(.closeConnection(id))
            }
        }
        return actions
    }

    /// When the driver should next call ``tick(now:)``: the earliest idle expiry, waiter deadline or
    /// end of a backoff that a waiter is held up by.
    var nextWakeUp: Duration? {
        var times = waiters.map(\.deadline)
        for connection in connections.values {
            if case .idle(let since) = connection.state { times.append(since + configuration.idleTimeout) }
        }
        for (key, entry) in backoff where waiters.contains(where: { $0.key == key }) {
            times.append(entry.until)
        }
        return times.min()
    }

    /// Whether any session of `key` is open, opening or leased, or a caller waits for one.
    func isInUse(_ key: PoolKey) -> Bool {
        connections.values.contains { $0.key == key } || waiters.contains { $0.key == key }
    }

    /// Whether the pool still tracks session `id` (opening, idle or leased).
    func knows(_ id: ConnectionID) -> Bool { connections[id] != nil }

    /// Whether nothing is open, opening, leased or waiting (for tests and shutdown).
    var isEmpty: Bool { connections.isEmpty && waiters.isEmpty }

    /// Counts for metrics and tests.
    var statistics: (idle: Int, leased: Int, connecting: Int, waiting: Int) {
        var idle = 0, leased = 0, connecting = 0
        for connection in connections.values {
            switch connection.state {
            case .idle: idle += 1
            case .leased: leased += 1
            case .connecting: connecting += 1
            }
        }
        return (idle, leased, connecting, waiters.count)
    }

    // MARK: Serving waiters

    private mutating func serve(now: Duration) -> [Action] {
        var actions: [Action] = []
        var index = 0
        while index < waiters.count {
            let waiter = waiters[index]
            if waiter.reserved != nil {
                index += 1
                continue
            }
            if !waiter.fresh, let id = mostRecentlyIdle(for: waiter.key) {
                guard case .idle(let since) = connections[id]!.state else { preconditionFailure("idle connection expected") }
                connections[id]!.state = .leased(waiter.id, chained: nil)
                waiters.remove(at: index)
                actions.append(.lease(waiter.id, id, checkLiveness: now - since >= configuration.livenessCheckAfter))
                continue
            }
            if let entry = backoff[waiter.key], entry.until > now {
                if chain(waiter, at: index, into: &actions) { continue }
                index += 1
                continue
            }
            let openingForKey = connections.values.filter { $0.key == waiter.key && $0.state == .connecting }.count
            let unreservedWaitersAhead = waiters[...index].filter { $0.key == waiter.key && !$0.fresh && $0.reserved == nil }.count
            if !waiter.fresh && openingForKey - reservedCount(for: waiter.key) >= unreservedWaitersAhead {
                // Enough sessions are already opening for the waiters of this key up to this one.
                index += 1
                continue
            }
            if count(for: waiter.key) >= configuration.maximumConnectionsPerKey {
                if chain(waiter, at: index, into: &actions) { continue }
                index += 1
                continue
            }
            if let limit = configuration.maximumBusyConnectionsPerWorkspace, busyCount(forWorkspaceOf: waiter.key) >= limit {
                if chain(waiter, at: index, into: &actions) { continue }
                index += 1
                continue
            }
            if connections.count >= configuration.maximumConnections {
                guard let victim = oldestIdle(excluding: waiter.key) else {
                    if chain(waiter, at: index, into: &actions) { continue }
                    index += 1
                    continue
                }
                connections[victim] = nil
                actions.append(.closeConnection(victim))
            }
            let id = nextConnectionID
            nextConnectionID += 1
            connections[id] = Connection(key: waiter.key, state: .connecting)
            if waiter.fresh { waiters[index].reserved = id }
            actions.append(.createConnection(id, waiter.key))
            index += 1
        }
        return actions
    }

    /// Chains the waiter onto a busy session of its key, if chaining is on and one can take it:
    /// nothing chained yet, not draining, and room for two more messages under the per-session cap.
    private mutating func chain(_ waiter: Waiter, at index: Int, into actions: inout [Action]) -> Bool {
        guard configuration.chainTransactions, !waiter.fresh else { return false }
        let candidates = connections.filter { id, connection in
            guard connection.key == waiter.key, !connection.draining,
                connection.messages + 2 <= configuration.maximumMessagesPerConnection,
                case .leased(_, chained: nil) = connection.state
            else { return false }
            return true
        }
        guard let id = candidates.keys.min(), case .leased(let current, _) = connections[id]!.state else { return false }
        connections[id]!.state = .leased(current, chained: waiter.id)
        waiters.remove(at: index)
        actions.append(.lease(waiter.id, id, checkLiveness: false))
        return true
    }

    private func count(for key: PoolKey) -> Int {
        connections.values.filter { $0.key == key }.count
    }

    /// Sessions opening or leased for the workspace of `key`.
    private func busyCount(forWorkspaceOf key: PoolKey) -> Int {
        let workspace = key.workspace
        return connections.values.filter { connection in
            guard connection.key.workspace == workspace else { return false }
            if case .idle = connection.state { return false }
            return true
        }.count
    }

    private func reservedCount(for key: PoolKey) -> Int {
        waiters.filter { $0.key == key && $0.reserved != nil }.count
    }

    /// The session of `key` that went idle last: keeping the same few sessions busy lets the rest
    /// expire.
    private func mostRecentlyIdle(for key: PoolKey) -> ConnectionID? {
        var best: (ConnectionID, Duration)?
        for (id, connection) in connections where connection.key == key && !connection.draining {
            if case .idle(let since) = connection.state, best.map({ since > $0.1 || (since == $0.1 && id > $0.0) }) ?? true {
                best = (id, since)
            }
        }
        return best?.0
    }

    private func oldestIdle(excluding key: PoolKey) -> ConnectionID? {
        var best: (ConnectionID, Duration)?
        for (id, connection) in connections where connection.key != key {
            if case .idle(let since) = connection.state, best.map({ since < $0.1 || (since == $0.1 && id < $0.0) }) ?? true {
                best = (id, since)
            }
        }
        return best?.0
    }

    /// Sessions of an older version of `key`'s scope drain: idle ones close now, the rest when free.
    private mutating func supersede(olderThan key: PoolKey) -> [Action] {
        var actions: [Action] = []
        for (id, connection) in connections.sorted(by: { $0.key < $1.key })
        where connection.key.scope == key.scope && connection.key != key && !connection.draining {
            switch connection.state {
            case .idle:
                connections[id] = nil
                actions.append(.closeConnection(id))
            case .connecting, .leased:
                connections[id]!.draining = true
            }
        }
        return actions
    }

    // MARK: Backoff

    /// `base × 2^(failures − 1)` capped at the maximum, then scaled by a factor in [0.5, 1.0]
    /// ("equal jitter"): a fleet of pools restarting together does not reconnect in lockstep, and a
    /// delay never drops below half its nominal value.
    private mutating func backoffDelay(failures: Int) -> Duration {
        let exponent = min(failures - 1, 30)
        let nominal = min(configuration.backoffBase * (1 << exponent), configuration.backoffMaximum)
        let factor = 0.5 + 0.5 * Double(random.next() >> 11) / Double(1 << 53)
        return nominal * factor
    }
}

/// A small seeded generator (SplitMix64) so backoff jitter is reproducible in tests.
struct SplitMix64: RandomNumberGenerator, Sendable, Hashable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
