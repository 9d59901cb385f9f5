public import Foundation
import Synchronization

/// One send counted against a credential's limits, as the store keeps it: the time it went (or is
/// reserved to go, for a send that waits its turn), its cost, and the key of the send it was for.
public struct RateSpend: Sendable, Hashable {
    public var credentialID: String
    /// `run/step/attempt` of the send; ``RateGate/backoffKey`` for a back-off's end.
    public var key: String
    public var at: Date
    public var cost: Int

    public init(credentialID: String, key: String, at: Date, cost: Int) {
        self.credentialID = credentialID
        self.key = key
        self.at = at
        self.cost = cost
    }
}

/// Where the rate gate keeps what was spent, so a restart neither forgets a window nor loses a
/// waiting send's place. SQL in `Storage` (table `rate_spends`), ``InMemoryRateStore`` for tests.
public protocol RateStore: Sendable {
    /// Stores one spend; durable when it returns.
    func recordSpend(_ spend: RateSpend) async throws
    /// Every spend at or after `since`, oldest first.
    func spends(since: Date) async throws -> [RateSpend]
    /// Moves the spend `key` of the credential to `at`.
    func moveSpend(credentialID: String, key: String, to at: Date) async throws
    /// Forgets spends before `before` (no window reaches them).
    func forgetSpends(before: Date) async throws
}

/// The rate-limit gate: whether a send of a credential with limits may go now, and if not, until
/// when it waits — with its place in line kept.
///
/// A send that must wait is given the earliest time every limit allows after everything already
/// spent or reserved, and that time is reserved for it at once (stored before the answer): sends
/// that wait are served first in, first out, and a later send never takes the place of an earlier
/// one. When the waiting send comes back (its run claimed again at that time) under the same key,
/// its reservation lets it go without counting it twice. A provider's throttling reply backs the
/// credential off for every send (see ``RateLedger``).
///
/// One gate per process. With several instances on one database each gate counts only its own
/// sends (the shared count is the PostgreSQL issue's part).
public actor RateGate {
    /// The answer for one send.
    public enum Admission: Sendable, Hashable {
        /// Send now.
        case go
        /// Wait until `until`; `limit` names what holds it (`perMinute`, `backoff`, …).
        case wait(until: Date, limit: String)
        /// Larger than a whole window of `limit`: it can never go.
        case never(limit: String)
    }

    /// The key under which a back-off's end is stored.
    public static let backoffKey = "!backoff"
    /// How far back a window reaches: a day.
    static let horizon: TimeInterval = 86_400

    private let store: any RateStore
    private let now: @Sendable () -> Date
    private var ledgers: [String: RateLedger] = [:]
    /// The time each send of the last day was given, by key, and the limit it waited for (not
    /// known after a restart): a send that waited comes back under its key and goes at its
    /// reserved time without counting again.
    private var granted: [String: (at: Date, limit: String?, cost: Int)] = [:]
    private var loaded = false
    /// Credentials backed off and not yet sent through since: read without waiting for the actor,
    /// so a credential without limits costs nothing on every send.
    private let backedOff = Mutex<Set<String>>([])
    private var lastForget: Date?

    public init(store: any RateStore, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.now = now
    }

    /// Reads what was spent and reserved in the last day (at start; the first ``admit`` would).
    public func restore() async throws { try await load() }

    /// Whether the credential was backed off (a throttling reply) and has not sent since.
    public nonisolated func isBackedOff(_ credentialID: String) -> Bool {
        backedOff.withLock { $0.contains(credentialID) }
    }

    /// Whether the send `key` of `credentialID`, costing `cost` under `limits`, may go now. A send
    /// that must wait has its time reserved (stored) before this returns.
    ///
    /// A send that comes back after waiting is checked again at its reserved time: the sends
    /// before it are counted when their server answered (``sent(credentialID:key:)``), which can be
    /// a little later than they went, so its turn may move on by that much.
    public func admit(credentialID: String, limits: RateLimits, cost: Int, key: String) async throws -> Admission {
        try await load()
        let now = now()
        var ledger = ledgers[credentialID] ?? RateLedger()
        let earlier = granted[key]
        if let earlier {
            if let backoff = ledger.backoffUntil, backoff > now { return .wait(until: backoff, limit: "backoff") }
            if earlier.at > now { return .wait(until: earlier.at, limit: earlier.limit ?? limits.windows.last?.name ?? "backoff") }
            // Its turn came: check again without its own reservation.
            ledger.unspend(cost: earlier.cost, at: earlier.at)
        }
        guard let (scheduled, limit) = ledger.schedule(cost: cost, now: now, limits: limits, onlyUntilNow: earlier != nil) else {
            return .never(limit: limits.windows.first { cost > $0.limit }?.name ?? "perDay")
        }
        // Whole milliseconds, as the store and the run's due time keep it (rounded up: never early).
        let at = scheduled <= now ? now : Date(timeIntervalSince1970: (scheduled.timeIntervalSince1970 * 1000).rounded(.up) / 1000)
        // Without limits only a back-off holds a send, and a send that goes need not be counted.
        if limits.isEmpty && at <= now && earlier == nil { return .go }
        // The ledger changes before the store is awaited: the actor takes other sends meanwhile,
        // and each must see this one.
        ledger.spend(cost: cost, at: at, now: now)
        ledgers[credentialID] = ledger
        granted[key] = (at, limit ?? earlier?.limit, cost)
        do {
            if earlier != nil {
                try await store.moveSpend(credentialID: credentialID, key: key, to: at)
            } else {
                try await store.recordSpend(RateSpend(credentialID: credentialID, key: key, at: at, cost: cost))
            }
        } catch {
            // Not stored, so not given: back to what the store holds.
            ledgers[credentialID]?.unspend(cost: cost, at: at)
            if let earlier { ledgers[credentialID]?.spend(cost: earlier.cost, at: earlier.at, now: now) }
            granted[key] = earlier
            throw error
        }
        try await forgetOld(now: now)
        return at <= now ? .go : .wait(until: at, limit: limit ?? "backoff")
    }

    /// The server answered the send `key` (accepted it or not): it counts from now, the moment a
    /// provider counts it, rather than from when it went.
    public func sent(credentialID: String, key: String) async throws {
        guard let earlier = granted[key], var ledger = ledgers[credentialID] else { return }
        let now = now()
        guard now > earlier.at else { return }
        ledger.unspend(cost: earlier.cost, at: earlier.at)
        ledger.spend(cost: earlier.cost, at: now, now: now)
        ledgers[credentialID] = ledger
        granted[key] = (now, earlier.limit, earlier.cost)
        // Kept in memory if the store fails: the later time only ever holds sends back.
        try await store.moveSpend(credentialID: credentialID, key: key, to: now)
    }

    /// The provider said to slow down: the credential backs off (60 s, doubling to 15 minutes);
    /// returns until when. Stored, so a restart keeps it.
    @discardableResult
    public func throttled(credentialID: String) async throws -> Date {
        try await load()
        let now = now()
        var ledger = ledgers[credentialID] ?? RateLedger()
        ledger.throttled(now: now)
        ledgers[credentialID] = ledger
        let until = ledger.backoffUntil ?? now
        backedOff.withLock { _ = $0.insert(credentialID) }
        try await store.recordSpend(RateSpend(credentialID: credentialID, key: Self.backoffKey, at: until, cost: 0))
        return until
    }

    /// A send of the credential succeeded: its back-off starts again from 60 s next time.
    public func succeeded(credentialID: String) {
        ledgers[credentialID]?.succeeded()
        backedOff.withLock { _ = $0.remove(credentialID) }
    }

    /// Reads the last day's spends once, replaying them into the ledgers. Two first sends may both
    /// read; the first to resume replays, the other finds it done.
    private func load() async throws {
        guard !loaded else { return }
        let spends = try await store.spends(since: now().addingTimeInterval(-Self.horizon))
        guard !loaded else { return }
        let now = now()
        for spend in spends {
            var ledger = ledgers[spend.credentialID] ?? RateLedger()
            if spend.key == Self.backoffKey {
                ledger.backOff(until: spend.at)
                if spend.at > now { backedOff.withLock { _ = $0.insert(spend.credentialID) } }
            } else {
                ledger.spend(cost: spend.cost, at: spend.at, now: now)
                granted[spend.key] = (spend.at, nil, spend.cost)
            }
            ledgers[spend.credentialID] = ledger
        }
        loaded = true
    }

    /// Forgets, about once a minute, what no window can see any more.
    private func forgetOld(now: Date) async throws {
        guard lastForget.map({ now.timeIntervalSince($0) >= 60 }) ?? true else { return }
        lastForget = now
        let cutoff = now.addingTimeInterval(-Self.horizon)
        granted = granted.filter { $0.value.at >= cutoff }
        try await store.forgetSpends(before: cutoff)
    }
}

/// A ``RateStore`` in memory, for tests (a restart is a new gate on the same store).
public actor InMemoryRateStore: RateStore {
    private var stored: [RateSpend] = []

    public init() {}

    public func recordSpend(_ spend: RateSpend) async throws { stored.append(spend) }

    public func spends(since: Date) async throws -> [RateSpend] {
        stored.filter { $0.at >= since }.sorted { $0.at < $1.at }
    }

    public func moveSpend(credentialID: String, key: String, to at: Date) async throws {
        for index in stored.indices where stored[index].credentialID == credentialID && stored[index].key == key { stored[index].at = at }
    }

    public func forgetSpends(before: Date) async throws { stored.removeAll { $0.at < before } }

    /// How many spends are kept.
    public var count: Int { stored.count }
}
