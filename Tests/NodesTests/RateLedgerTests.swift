@testable import Workspaces
import Foundation
import Testing

@Suite("Rate gate: sliding windows on an injected clock")
struct RateLedgerTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// Sends `costs` in order as fast as the ledger allows, moving the clock to each wait's end;
    /// returns each send's time.
    static func drive(_ costs: [Int], limits: RateLimits, ledger: inout RateLedger, from: Date = start) -> [Date] {
        var now = from
        var times: [Date] = []
        for cost in costs {
            while true {
                switch ledger.decide(cost: cost, now: now, limits: limits) {
                case .go:
                    ledger.spend(cost: cost, now: now)
                    times.append(now)
                case .wait(let until, _):
                    #expect(until > now, "a wait ends in the future")
                    now = until
                    continue
                case .never(let limit):
                    Issue.record("a send of \(cost) can never go (\(limit))")
                    return times
                }
                break
            }
        }
        return times
    }

    /// The most spent in any window of `length` (each send's cost at its time).
    static func busiest(_ times: [Date], costs: [Int], length: TimeInterval) -> Int {
        var most = 0
        var low = 0
        var sum = 0
        for high in times.indices {
            sum += costs[high]
            while times[high].timeIntervalSince(times[low]) >= length {
                sum -= costs[low]
                low += 1
            }
            most = max(most, sum)
        }
        return most
    }

    @Test("1,000 sends against 10 a minute all go, in order, never more than 10 in any minute, in about 100 minutes")
    func thousandSends() {
        var ledger = RateLedger()
        let limits = RateLimits(perMinute: 10)
        let costs = [Int](repeating: 1, count: 1_000)
        let times = Self.drive(costs, limits: limits, ledger: &ledger)
        #expect(times.count == 1_000)
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(Self.busiest(times, costs: costs, length: 60) <= 10)
        let minutes = (times.last ?? Self.start).timeIntervalSince(Self.start) / 60
        #expect(minutes >= 99 && minutes <= 99 * 1.02, "\(minutes) minutes")
    }

    @Test("2 a second: never more than 2 in any second, whatever the pace asked for")
    func perSecond() {
        var ledger = RateLedger()
        let limits = RateLimits(perSecond: 2, perMinute: 100)
        let costs = [Int](repeating: 1, count: 300)
        let times = Self.drive(costs, limits: limits, ledger: &ledger)
        #expect(times.count == 300)
        #expect(Self.busiest(times, costs: costs, length: 1) <= 2)
        #expect(Self.busiest(times, costs: costs, length: 60) <= 100)
    }

    @Test("counting recipients: a message's cost is its recipients; one larger than a whole window never goes")
    func recipients() {
        var ledger = RateLedger()
        let limits = RateLimits(perHour: 50, counts: .recipients)
        let costs = [10, 25, 5, 30, 1, 49]
        let times = Self.drive(costs, limits: limits, ledger: &ledger)
        #expect(times.count == costs.count)
        #expect(Self.busiest(times, costs: costs, length: 3_600) <= 50)
        #expect(ledger.decide(cost: 51, now: Self.start, limits: limits) == .never(limit: "perHour"))
        #expect(RateLedger().decide(cost: 501, now: Self.start, limits: RateLimits(perDay: 500)) == .never(limit: "perDay"))
    }

    @Test("a wait names the window that holds it")
    func waitNamesLimit() {
        var ledger = RateLedger()
        let limits = RateLimits(perSecond: 5, perDay: 3)
        for _ in 0..<3 { ledger.spend(cost: 1, now: Self.start) }
        guard case .wait(let until, let limit) = ledger.decide(cost: 1, now: Self.start.addingTimeInterval(2), limits: limits) else {
            Issue.record("expected a wait")
            return
        }
        #expect(limit == "perDay")
        #expect(until.timeIntervalSince(Self.start) >= 86_400 && until.timeIntervalSince(Self.start) <= 86_400 + 60)
    }

    @Test("a throttling reply backs off 60 s, then twice as long, at most 15 minutes; a success resets it")
    func backoff() {
        var ledger = RateLedger()
        let limits = RateLimits(perSecond: 100)
        var now = Self.start
        var lengths: [TimeInterval] = []
        for _ in 0..<6 {
            ledger.throttled(now: now)
            guard case .wait(let until, let limit) = ledger.decide(cost: 1, now: now, limits: limits), limit == "backoff" else {
                Issue.record("expected a back-off")
                return
            }
            lengths.append(until.timeIntervalSince(now))
            now = until
        }
        #expect(lengths == [60, 120, 240, 480, 900, 900])
        #expect(ledger.decide(cost: 1, now: now, limits: limits) == .go)
        ledger.succeeded()
        ledger.throttled(now: now)
        #expect(ledger.decide(cost: 1, now: now, limits: limits) == .wait(until: now.addingTimeInterval(60), limit: "backoff"))
    }

    @Test("a second throttling reply while the back-off holds (a send already under way) does not double it")
    func throttledDuringBackoff() {
        var ledger = RateLedger()
        ledger.throttled(now: Self.start)
        ledger.throttled(now: Self.start.addingTimeInterval(0.2))
        #expect(ledger.backoffUntil == Self.start.addingTimeInterval(60))
        ledger.throttled(now: Self.start.addingTimeInterval(60))
        #expect(ledger.backoffUntil == Self.start.addingTimeInterval(180))
    }

    @Test("memory stays bounded: 100,000 sends over a day keep at most a few hundred slots per window (every window counts, set or not)")
    func bounded() {
        var ledger = RateLedger()
        var now = Self.start
        for _ in 0..<100_000 {
            ledger.spend(cost: 1, now: now)
            now = now.addingTimeInterval(0.8)
        }
        #expect(ledger.slotCount <= 101 + 101 + 101 + 1_441, "\(ledger.slotCount) slots")
    }

    @Test("limits are whole numbers from 1 to 10,000,000, the field named")
    func validation() {
        #expect(throws: RateLimits.Problem(field: "perMinute", message: "Must be a whole number from 1 to 10000000")) {
            try RateLimits(perMinute: 0).validated()
        }
        #expect(throws: RateLimits.Problem.self) { try RateLimits(perDay: 10_000_001).validated() }
        #expect(RateLimits().isEmpty && !RateLimits(perHour: 1).isEmpty)
    }
}
