public import Foundation
import Synchronization

/// One send counted against a credential's limits, as the store keeps it: the time it went (or is
/// reserved to go, for a send that waits its turn), its cost, and the key of the send it was for.
public struct RateSpend: Sendable, Hashable {
    /// The credential, or `workspace:<id>` for a workspace's cap.
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
    /// What a send counts against: its credential's limits, or its workspace's cap (stored under
    /// `workspace:<id>`), each with the send's cost in that one's unit.
    public struct Holder: Sendable, Hashable {
        public var id: String
        public var limits: RateLimits
        public var cost: Int
        public var isWorkspace: Bool

        public init(id: String, limits: RateLimits, cost: Int, isWorkspace: Bool = false) {
            self.id = id
            self.limits = limits
            self.cost = cost
            self.isWorkspace = isWorkspace
        }

        /// The cap of `workspaceID`.
        public static func workspace(_ workspaceID: String, limits: RateLimits, cost: Int) -> Holder {
            Holder(id: "workspace:\(workspaceID)", limits: limits, cost: cost, isWorkspace: true)
        }
    }

    /// The answer for one send.
    public enum Admission: Sendable, Hashable {
        /// Send now.
        case go
        /// Wait until `until`; `limit` names what holds it (`perMinute`, `backoff`, …), and whose
        /// it is (the workspace's cap, or the credential's).
        case wait(until: Date, limit: String, workspace: Bool)
        /// Larger than a whole window of `limit`: it can never go.
        case never(limit: String, workspace: Bool)
    }

    /// A send given a time: when, what held it (not known after a restart), its cost per holder.
    struct Grant {
        var at: Date
        var limit: String?
        var byWorkspace: Bool
        var costs: [String: Int]
    }

    /// The key under which a back-off's end is stored.
    public static let backoffKey = "!backoff"
    /// How far back a window reaches: a day.
    static let horizon: TimeInterval = 86_400

    private let store: any RateStore
    private let now: @Sendable () -> Date
    private var ledgers: [String: RateLedger] = [:]
    /// The time each send of the last day was given, by key: a send that waited comes back under
    /// its key and goes at its reserved time without counting again.
    private var granted: [String: Grant] = [:]
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

    /// Whether the send `key` of `credentialID`, costing `cost` under `limits`, may go now.
    public func admit(credentialID: String, limits: RateLimits, cost: Int, key: String) async throws -> Admission {
        try await admit([Holder(id: credentialID, limits: limits, cost: cost)], key: key)
    }

    /// Whether the send `key` may go now under every holder's limits (its credential's, its
    /// workspace's cap), or a provider's back-off. A send that must wait has its time reserved in
    /// each (stored) before this returns.
    ///
    /// A send that comes back after waiting is checked again at its reserved time: the sends
    /// before it are counted when their server answered (``sent(key:)``), which can be a little
    /// later than they went, so its turn may move on by that much.
    public func admit(_ holders: [Holder], key: String) async throws -> Admission {
        try await load()
        let now = now()
        var working = holders.map { ledgers[$0.id] ?? RateLedger() }
        let earlier = granted[key]
        if let earlier {
            if let backoff = working.compactMap(\.backoffUntil).filter({ $0 > now }).max() {
                return .wait(until: backoff, limit: "backoff", workspace: false)
            }
            if earlier.at > now {
                return .wait(until: earlier.at, limit: earlier.limit ?? holders.first?.limits.windows.last?.name ?? "backoff", workspace: earlier.byWorkspace)
            }
            // Its turn came: check again without its own reservation.
            for (index, holder) in holders.enumerated() { working[index].unspend(cost: earlier.costs[holder.id] ?? holder.cost, at: earlier.at) }
        }
        // The earliest time every holder allows: each may push it later than the others allowed.
        var scheduled = now
        var holding: (limit: String, workspace: Bool)?
        for _ in 0..<32 {
            var moved = false
            for (index, holder) in holders.enumerated() {
                guard let (at, limit) = working[index].schedule(cost: holder.cost, now: scheduled, limits: holder.limits, onlyUntilNow: earlier != nil)
                else {
                    return .never(limit: holder.limits.windows.first { holder.cost > $0.limit }?.name ?? "perDay", workspace: holder.isWorkspace)
                }
                if at > scheduled {
                    scheduled = at
                    holding = (limit ?? "backoff", holder.isWorkspace)
                    moved = true
                }
            }
            if !moved { break }
        }
        // Whole milliseconds, as the store and the run's due time keep it (rounded up: never early).
        let at = scheduled <= now ? now : Date(timeIntervalSince1970: (scheduled.timeIntervalSince1970 * 1000).rounded(.up) / 1000)
        // Without limits only a back-off holds a send, and a send that goes need not be counted.
        if holders.allSatisfy(\.limits.isEmpty) && at <= now && earlier == nil { return .go }
        // The ledgers change before the store is awaited: the actor takes other sends meanwhile,
        // and each must see this one.
        for (index, holder) in holders.enumerated() {
            working[index].spend(cost: holder.cost, at: at, now: now)
            ledgers[holder.id] = working[index]
        }
        granted[key] = Grant(
            at: at, limit: holding?.limit ?? earlier?.limit, byWorkspace: holding?.workspace ?? earlier?.byWorkspace ?? false,
            costs: Dictionary(holders.map { ($0.id, $0.cost) }, uniquingKeysWith: { first, _ in first }))
        do {
            for holder in holders {
                if earlier != nil {
                    try await store.moveSpend(credentialID: holder.id, key: key, to: at)
                } else {
                    try await store.recordSpend(RateSpend(credentialID: holder.id, key: key, at: at, cost: holder.cost))
                }
            }
        } catch {
            // Not stored, so not given: back to what the store holds.
            for holder in holders {
                ledgers[holder.id]?.unspend(cost: holder.cost, at: at)
                if let earlier { ledgers[holder.id]?.spend(cost: earlier.costs[holder.id] ?? holder.cost, at: earlier.at, now: now) }
            }
            granted[key] = earlier
            throw error
        }
        try await forgetOld(now: now)
        guard at > now else { return .go }
        return .wait(until: at, limit: holding?.limit ?? earlier?.limit ?? "backoff", workspace: holding?.workspace ?? false)
    }

    /// The server answered the send `key` (accepted it or not): it counts from now, the moment a
    /// provider counts it, rather than from when it went.
    public func sent(key: String) async throws {
        guard let earlier = granted[key] else { return }
        let now = now()
        guard now > earlier.at else { return }
        for (holderID, cost) in earlier.costs {
            ledgers[holderID]?.unspend(cost: cost, at: earlier.at)
            ledgers[holderID]?.spend(cost: cost, at: now, now: now)
        }
        granted[key]?.at = now
        // Kept in memory if the store fails: the later time only ever holds sends back.
        for holderID in earlier.costs.keys { try await store.moveSpend(credentialID: holderID, key: key, to: now) }
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
                var grant = granted[spend.key] ?? Grant(at: spend.at, limit: nil, byWorkspace: false, costs: [:])
                grant.costs[spend.credentialID] = spend.cost
                granted[spend.key] = grant
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
