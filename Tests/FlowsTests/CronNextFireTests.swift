import Foundation
import Testing
import Flows

@Suite("Cron next fire")
struct CronNextFireTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var expression: String
        var after: String
        var expected: [String]
        var testDescription: String { "\(expression) after \(after)" }

        init(_ expression: String, after: String, _ expected: String...) {
            self.expression = expression
            self.after = after
            self.expected = expected
        }
    }

    static let common: [Case] = [
        .init("* * * * *", after: "2025-01-01T00:00", "2025-01-01T00:01:00Z", "2025-01-01T00:02:00Z"),
        .init("* * * * *", after: "2025-01-01T00:00:30Z", "2025-01-01T00:01:00Z"),
        .init("* * * * *", after: "2025-12-31T23:59", "2026-01-01T00:00:00Z"),
        .init("*/15 * * * *", after: "2025-01-01T10:07", "2025-01-01T10:15:00Z", "2025-01-01T10:30:00Z", "2025-01-01T10:45:00Z", "2025-01-01T11:00:00Z"),
        .init("0 * * * *", after: "2025-01-01T10:00", "2025-01-01T11:00:00Z"),
        .init("1-30/5 * * * *", after: "2025-01-01T10:26", "2025-01-01T11:01:00Z", "2025-01-01T11:06:00Z"),
        .init("0 9 * * MON-FRI", after: "2025-01-03T09:00", "2025-01-06T09:00:00Z", "2025-01-07T09:00:00Z"),
        .init("0 9-17/4 * * *", after: "2025-01-01T12:00", "2025-01-01T13:00:00Z", "2025-01-01T17:00:00Z", "2025-01-02T09:00:00Z"),
        .init("30 8 1 * *", after: "2025-01-31T12:00", "2025-02-01T08:30:00Z", "2025-03-01T08:30:00Z"),
        .init("0 0 31 * *", after: "2025-01-31T00:00", "2025-03-31T00:00:00Z", "2025-05-31T00:00:00Z", "2025-07-31T00:00:00Z", "2025-08-31T00:00:00Z"),
        .init("0 0 30 * *", after: "2025-01-30T00:00", "2025-03-30T00:00:00Z"),
        .init("0 0 29 2 *", after: "2025-01-01T00:00", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"),
        .init("0 0 29 2 *", after: "2096-03-01T00:00", "2104-02-29T00:00:00Z"),
        .init("0 0 29 2 *", after: "2000-01-01T00:00", "2000-02-29T00:00:00Z", "2004-02-29T00:00:00Z"),
        .init("59 23 31 12 *", after: "2025-06-01T00:00", "2025-12-31T23:59:00Z", "2026-12-31T23:59:00Z"),
        .init("0 12 * JUN *", after: "2025-06-30T12:00", "2026-06-01T12:00:00Z"),
        .init("0 0 * * 7", after: "2025-01-01T00:00", "2025-01-05T00:00:00Z", "2025-01-12T00:00:00Z"),
        .init("@hourly", after: "2025-01-01T10:59:59Z", "2025-01-01T11:00:00Z"),
        .init("@daily", after: "2025-01-01T00:00", "2025-01-02T00:00:00Z"),
        .init("@weekly", after: "2025-01-01T00:00", "2025-01-05T00:00:00Z"),
        .init("@monthly", after: "2025-01-01T00:00", "2025-02-01T00:00:00Z"),
        .init("@yearly", after: "2025-01-01T00:00", "2026-01-01T00:00:00Z"),
        // Vixie: both day fields restricted → either matches.
        .init("0 0 13 * FRI", after: "2025-01-01T00:00", "2025-01-03T00:00:00Z", "2025-01-10T00:00:00Z", "2025-01-13T00:00:00Z", "2025-01-17T00:00:00Z", "2025-01-24T00:00:00Z"),
        .init("0 0 1 * MON", after: "2025-01-25T00:00", "2025-01-27T00:00:00Z", "2025-02-01T00:00:00Z", "2025-02-03T00:00:00Z"),
        .init("0 0 30 2 MON", after: "2025-02-20T00:00", "2025-02-24T00:00:00Z", "2026-02-02T00:00:00Z"),
        // A field starting with `*` counts as unrestricted, so the day fields combine by "and".
        .init("0 0 */2 * FRI", after: "2025-01-01T00:00", "2025-01-03T00:00:00Z", "2025-01-17T00:00:00Z", "2025-01-31T00:00:00Z", "2025-02-07T00:00:00Z", "2025-02-21T00:00:00Z"),
        .init("0 0 1 * *", after: "2025-01-01T00:00", "2025-02-01T00:00:00Z"),
        .init("0 0 * * 1", after: "2025-01-01T00:00", "2025-01-06T00:00:00Z"),
    ]

    @Test("next fires of common expressions, in UTC", arguments: common)
    func commonExpressions(_ testCase: Case) throws {
        let schedule = try CronSchedule(parsing: testCase.expression, timeZone: CronFixtures.utc)
        let start = try CronFixtures.instant(testCase.after)
        #expect(CronFixtures.fires(schedule, after: start, count: testCase.expected.count) == testCase.expected)
    }

    @Test("nextFire is strictly after its argument", arguments: ["* * * * *", "0 0 * * *", "*/7 3 * * 1-5", "0 0 29 2 *"])
    func strictlyAfter(_ expression: String) throws {
        for zone in [CronFixtures.utc, CronFixtures.newYork, CronFixtures.berlin] {
            let schedule = try CronSchedule(parsing: expression, timeZone: zone)
            let fire = try #require(schedule.nextFire(after: try CronFixtures.instant("2025-01-01T00:00")))
            let next = try #require(schedule.nextFire(after: fire))
            #expect(next > fire)
            #expect(schedule.nextFire(after: fire.addingTimeInterval(-0.001)) == fire)
            #expect(schedule.nextFire(after: fire.addingTimeInterval(-60)) == fire)
        }
    }

    @Test("there is no fire after the year 9999")
    func endOfTime() throws {
        let schedule = try CronSchedule(parsing: "0 0 1 1 *", timeZone: CronFixtures.utc)
        #expect(schedule.nextFire(after: try CronFixtures.instant("9999-06-01T00:00")) == nil)
        #expect(schedule.nextFire(after: .distantFuture).map(CronFixtures.text) == "4002-01-01T00:00:00Z")
        #expect(schedule.nextFire(after: Date(timeIntervalSince1970: .infinity)) == nil)
    }

    // MARK: - An independent model

    /// Expressions with a predicate written directly from the cron rules:
    /// (minute, hour, day, month, weekday) → fires.
    static let modelled: [(String, @Sendable (Int, Int, Int, Int, Int) -> Bool)] = [
        ("*/7 9-17 * * 1-5", { m, h, _, _, w in m % 7 == 0 && (9...17).contains(h) && (1...5).contains(w) }),
        ("0,30 */3 1-10,20 * *", { m, h, d, _, _ in [0, 30].contains(m) && h % 3 == 0 && ((1...10).contains(d) || d == 20) }),
        ("15 12 1,15 * MON", { m, h, d, _, w in m == 15 && h == 12 && ([1, 15].contains(d) || w == 1) }),
        ("5 4 */2 * FRI", { m, h, d, _, w in m == 5 && h == 4 && d % 2 == 1 && w == 5 }),
        ("0 0 * FEB,MAR sat,sun", { m, h, _, mo, w in m == 0 && h == 0 && [2, 3].contains(mo) && [0, 6].contains(w) }),
        ("*/20 1-3 * * *", { m, h, _, _, _ in m % 20 == 0 && (1...3).contains(h) }),
        ("30 2 * * *", { m, h, _, _, _ in m == 30 && h == 2 }),
        ("0 * 29-31 * *", { m, _, d, _, _ in m == 0 && d >= 29 }),
    ]

    /// The fires a brute-force scan finds: every local wall minute in the window that the predicate
    /// accepts, turned into an instant by Foundation's `Calendar` (which puts a skipped time after
    /// the gap and a repeated time at its first occurrence), sorted, without repeats.
    static func modelFires(
        _ predicate: (Int, Int, Int, Int, Int) -> Bool, zone: TimeZone, fromDay: DateComponents, days: Int
    ) -> [Date] {
        var utcCalendar = Calendar(identifier: .gregorian)
        utcCalendar.timeZone = CronFixtures.utc
        var localCalendar = Calendar(identifier: .gregorian)
        localCalendar.timeZone = zone
        let firstDay = utcCalendar.date(from: fromDay)!
        var fires = Set<Date>()
        for minuteIndex in 0..<(days * 1_440) {
            let wall = utcCalendar.dateComponents(
                [.year, .month, .day, .hour, .minute, .weekday], from: firstDay.addingTimeInterval(Double(minuteIndex) * 60)
            )
            guard predicate(wall.minute!, wall.hour!, wall.day!, wall.month!, wall.weekday! - 1) else { continue }
            let local = DateComponents(year: wall.year, month: wall.month, day: wall.day, hour: wall.hour, minute: wall.minute)
            fires.insert(localCalendar.date(from: local)!)
        }
        return fires.sorted()
    }

    @Test(
        "nextFire agrees with a minute-by-minute model across both DST changes, including 30-minute ones",
        arguments: [CronFixtures.utc, CronFixtures.newYork, CronFixtures.berlin, CronFixtures.lordHowe]
    )
    func agreesWithModel(_ zone: TimeZone) throws {
        for (expression, predicate) in Self.modelled {
            let schedule = try CronSchedule(parsing: expression, timeZone: zone)
            // Each window spans one change in every zone tested (spring or autumn, by hemisphere).
            for (month, day) in [(3, 1), (9, 25)] {
                let expected = Self.modelFires(predicate, zone: zone, fromDay: DateComponents(year: 2025, month: month, day: day), days: 45)
                guard let first = expected.first else { continue }
                // Stay a day clear of the window's edges, where the model is incomplete.
                let window = expected.filter { $0.timeIntervalSince(first) < 43 * 86_400 }
                let actual = CronFixtures.fires(schedule, after: first.addingTimeInterval(-1), count: window.count)
                #expect(actual == window.map(CronFixtures.text), "\(expression) in \(zone.identifier) from \(month)/\(day)")
            }
        }
    }
}
