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
    public func decide(cost: Int, now: Date, limits: RateLimits) -> Decision {
        var latest: (Date, String)?
        if let backoffUntil, backoffUntil > now { latest = (backoffUntil, "backoff") }
        for window in limits.windows {
            guard cost <= window.limit else { return .never(limit: window.name) }
            let start = now.addingTimeInterval(-window.length)
            let live = (slots[window.name] ?? []).filter { $0.end > start }
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

    /// Records a send of `cost` at `now` (after ``decide(cost:now:limits:)`` said go), and forgets
    /// what no window can see any more.
    public mutating func spend(cost: Int, now: Date, limits: RateLimits) {
        for window in limits.windows {
            let length = Self.slotLength(window: window.length)
            let end = Date(timeIntervalSinceReferenceDate: ((now.timeIntervalSinceReferenceDate / length).rounded(.down) + 1) * length)
            var kept = slots[window.name] ?? []
            if let last = kept.last, last.end >= end {
                kept[kept.count - 1].cost += cost
            } else {
                kept.append(Slot(end: end, cost: cost))
            }
            kept.removeFirst(kept.prefix { $0.end.addingTimeInterval(window.length) <= now }.count)
            slots[window.name] = kept
        }
    }

    /// The provider said to slow down: back off from `now`, twice as long as last time (60 s to
    /// 15 minutes).
    public mutating func throttled(now: Date) {
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
