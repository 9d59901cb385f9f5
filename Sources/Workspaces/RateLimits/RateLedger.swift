public import Foundation

/// What one sender has spent, and whether the next send may go now: the pure part of the rate
/// gate, on an injected clock.
///
/// Every limit is a **sliding window**: at any moment, what was spent in the last second (minute,
/// hour, day) plus the next send stays within the limit. Token buckets were the first idea for the
/// short windows, but a bucket refilled at the limit's rate lets up to twice the limit through in
/// some window (a full bucket, then its refill), and a provider that counts per window refuses the
/// excess. Each window keeps its spending in slots of a hundredth of its length (at most a minute),
/// so a window holds at most 1,440 slots however fast the sends; a slot counts as spent at its
/// end, so the rounding only ever waits a little longer (at most 1 % of the window), never lets
/// more through.
///
/// A provider's throttling reply backs the sender off on top: 60 s first, doubling to 15 minutes,
/// until a send succeeds.
public struct RateLedger: Sendable, Hashable {
    /// One slot of spending.
    struct Slot: Sendable, Hashable {
        var end: Date
        var cost: Int
    }

    /// The answer for the next send.
    public enum Decision: Sendable, Hashable {
        /// Within every limit now.
        case go
        /// Not before `until`; `limit` names what holds it (`perMinute`, `backoff`, …).
        case wait(until: Date, limit: String)
        /// Larger than a whole window: it can never go (`limit` names the window).
        case never(limit: String)
    }

    /// The first back-off, and the longest.
    public static let firstBackoff: TimeInterval = 60
    public static let longestBackoff: TimeInterval = 900

    /// Each window's slots, oldest first, by the window's name.
    private var slots: [String: [Slot]] = [:]
    /// While backed off: until when, and the length of the back-off that set it.
    public private(set) var backoffUntil: Date?
    private var backoffLength: TimeInterval = 0

    public init() {}

    /// How long a window's slot is: a hundredth of the window, at most a minute.
    static func slotLength(window: TimeInterval) -> TimeInterval {
        min(60, window / 100)
    }

    /// Whether a send of `cost` may go at `now` under `limits`.
    ///
    /// Everything recorded counts, times reserved for later included, so a new send queues
    /// behind the sends that wait. With `onlyUntilNow`, spending reserved for later than `now`
    /// is left out: a send whose reserved turn came checks only that the window ending now has
    /// room — the check that keeps every window within the limit, whatever moved meanwhile.
    public func decide(cost: Int, now: Date, limits: RateLimits, onlyUntilNow: Bool = false) -> Decision {
        var latest: (Date, String)?
        if let backoffUntil, backoffUntil > now { latest = (backoffUntil, "backoff") }
        for window in limits.windows {
            guard cost <= window.limit else { return .never(limit: window.name) }
            let start = now.addingTimeInterval(-window.length)
            let present = now.addingTimeInterval(Self.slotLength(window: window.length))
            // A slot ending at the window's start left it (a microsecond's tolerance absorbs the
            // rounding of date arithmetic, which could otherwise keep it in).
            let live = (slots[window.name] ?? []).filter {
                $0.end.timeIntervalSince(start) > 1e-6 && (!onlyUntilNow || $0.end <= present)
            }
            var spent = live.reduce(0) { $0 + $1.cost }
            guard spent + cost > window.limit else { continue }
            // Wait until enough of the oldest spending leaves the window.
            var until = now
            for slot in live {
                spent -= slot.cost
                until = slot.end.addingTimeInterval(window.length)
                if spent + cost <= window.limit { break }
            }
            if latest.map({ until > $0.0 }) ?? true { latest = (until, window.name) }
        }
        if let (until, limit) = latest { return .wait(until: until, limit: limit) }
        return .go
    }

    /// When a send of `cost` may go, at `now` or later, under `limits` and any back-off: `nil`
    /// when it never can (``Decision/never(limit:)``), with the limit that holds it until then.
    ///
    /// Spending already reserved for later counts, so sends scheduled one after another keep
    /// their order: the first in line gets the earliest time.
    public func schedule(cost: Int, now: Date, limits: RateLimits, onlyUntilNow: Bool = false) -> (at: Date, limit: String?)? {
        var at = now
        var holding: String?
        // Each wait moves past what held the send; another window may hold it at the new time,
        // so decide again (every window can push it at most once or twice).
        for _ in 0..<64 {
            switch decide(cost: cost, now: at, limits: limits, onlyUntilNow: onlyUntilNow) {
            case .go: return (at, holding)
            case .never: return nil
            case .wait(let until, let limit):
                at = until > at ? until : at.addingTimeInterval(0.001)
                holding = limit
            }
        }
        // Not settled: after every recorded spend has left its window, which always has room.
        let last = slots.values.compactMap(\.last?.end).max() ?? at
        return (max(at, last.addingTimeInterval(86_400)), holding)
    }

    /// Records a send of `cost` at `at` — now, or a time reserved for a send that waits — and
    /// forgets what no window can see any more at `now`. Every window counts it, set or not, so
    /// a limit added later sees what was spent before.
    public mutating func spend(cost: Int, at: Date, now: Date) {
        for window in RateLimits.everyWindow.windows {
            let end = Self.slotEnd(of: at, window: window.length)
            var kept = slots[window.name] ?? []
            kept.removeFirst(kept.prefix { $0.end.addingTimeInterval(window.length) <= now }.count)
            // Oldest first: a reservation can sit later than a send that goes now.
            let position = kept.lastIndex { $0.end <= end }
            if let position, kept[position].end == end {
                kept[position].cost += cost
            } else {
                kept.insert(Slot(end: end, cost: cost), at: position.map { $0 + 1 } ?? 0)
            }
            slots[window.name] = kept
        }
    }

    /// Takes back a spend of `cost` recorded at `at` (the send is recorded again at another time:
    /// when the server answered, or when a waiting send finally goes).
    public mutating func unspend(cost: Int, at: Date) {
        for window in RateLimits.everyWindow.windows {
            let end = Self.slotEnd(of: at, window: window.length)
            guard var kept = slots[window.name], let index = kept.firstIndex(where: { $0.end == end }) else { continue }
            kept[index].cost -= cost
            if kept[index].cost <= 0 { kept.remove(at: index) }
            slots[window.name] = kept
        }
    }

    /// The end of the slot that holds a spend at `at`.
    static func slotEnd(of at: Date, window: TimeInterval) -> Date {
        let length = slotLength(window: window)
        return Date(timeIntervalSinceReferenceDate: ((at.timeIntervalSinceReferenceDate / length).rounded(.down) + 1) * length)
    }

    /// Records a send of `cost` that goes at `now`.
    public mutating func spend(cost: Int, now: Date) {
        spend(cost: cost, at: now, now: now)
    }

    /// Backs off until `until` (a back-off stored before a restart), unless already later.
    public mutating func backOff(until: Date) {
        if backoffUntil.map({ $0 < until }) ?? true { backoffUntil = until }
    }

    /// The provider said to slow down: back off from `now`, twice as long as last time (60 s to
    /// 15 minutes). While a back-off holds, another such reply changes nothing: it answers a send
    /// that was already under way when the first came, not a new attempt.
    public mutating func throttled(now: Date) {
        if let backoffUntil, backoffUntil > now { return }
        backoffLength = min(Self.longestBackoff, backoffLength == 0 ? Self.firstBackoff : backoffLength * 2)
        backoffUntil = now.addingTimeInterval(backoffLength)
    }

    /// A send succeeded: the back-off starts again from 60 s next time.
    public mutating func succeeded() {
        backoffLength = 0
        backoffUntil = nil
    }

    /// Slots kept, all windows together (at most about 100 per window, 1,440 for a day).
    var slotCount: Int { slots.values.reduce(0) { $0 + $1.count } }
}
