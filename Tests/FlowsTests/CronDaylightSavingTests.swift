import Foundation
import Testing
import Flows

/// 2025 changes: New York springs forward 2025-03-09 02:00 EST → 03:00 EDT (07:00 UTC) and falls
/// back 2025-11-02 02:00 EDT → 01:00 EST (06:00 UTC); Berlin springs forward 2025-03-30 02:00 CET
/// → 03:00 CEST (01:00 UTC) and falls back 2025-10-26 03:00 CEST → 02:00 CET (01:00 UTC).
@Suite("Cron across daylight-saving changes")
struct CronDaylightSavingTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var zone: String
        var expression: String
        var after: String
        var expected: [String]
        var testDescription: String { "\(expression) in \(zone) after \(after)" }

        init(_ zone: String, _ expression: String, after: String, _ expected: String...) {
            self.zone = zone
            self.expression = expression
            self.after = after
            self.expected = expected
        }
    }

    static let cases: [Case] = [
        // New York, spring forward: 02:xx does not exist and fires an hour later, once.
        .init("America/New_York", "30 2 * * *", after: "2025-03-07T12:00",
              "2025-03-08T07:30:00Z", "2025-03-09T07:30:00Z", "2025-03-10T06:30:00Z"),
        .init("America/New_York", "0 2 * * *", after: "2025-03-09T00:00", "2025-03-09T07:00:00Z", "2025-03-10T06:00:00Z"),
        .init("America/New_York", "30 2 * * *", after: "2025-03-09T07:10", "2025-03-09T07:30:00Z"),
        .init("America/New_York", "*/30 * * * *", after: "2025-03-09T06:15",
              "2025-03-09T06:30:00Z", "2025-03-09T07:00:00Z", "2025-03-09T07:30:00Z", "2025-03-09T08:00:00Z"),
        .init("America/New_York", "0 * * * *", after: "2025-03-09T05:30",
              "2025-03-09T06:00:00Z", "2025-03-09T07:00:00Z", "2025-03-09T08:00:00Z"),
        .init("America/New_York", "5,55 2,3 * * *", after: "2025-03-09T07:00",
              "2025-03-09T07:05:00Z", "2025-03-09T07:55:00Z", "2025-03-10T06:05:00Z"),
        .init("America/New_York", "5,55 2,3 * * *", after: "2025-03-09T07:06", "2025-03-09T07:55:00Z"),
        // New York, fall back: 01:xx happens twice and fires at the first (EDT) occurrence only.
        .init("America/New_York", "30 1 * * *", after: "2025-11-01T12:00",
              "2025-11-02T05:30:00Z", "2025-11-03T06:30:00Z"),
        .init("America/New_York", "30 1 * * *", after: "2025-11-02T06:10", "2025-11-03T06:30:00Z"),
        .init("America/New_York", "*/30 * * * *", after: "2025-11-02T04:45",
              "2025-11-02T05:00:00Z", "2025-11-02T05:30:00Z", "2025-11-02T07:00:00Z", "2025-11-02T07:30:00Z"),
        .init("America/New_York", "0 * * * *", after: "2025-11-02T04:30",
              "2025-11-02T05:00:00Z", "2025-11-02T07:00:00Z", "2025-11-02T08:00:00Z"),
        .init("America/New_York", "0 9 * * *", after: "2025-03-08T00:00", "2025-03-08T14:00:00Z", "2025-03-09T13:00:00Z"),
        // Berlin, spring forward.
        .init("Europe/Berlin", "30 2 * * *", after: "2025-03-29T12:00",
              "2025-03-30T01:30:00Z", "2025-03-31T00:30:00Z"),
        .init("Europe/Berlin", "0,30 * * * *", after: "2025-03-30T00:15",
              "2025-03-30T00:30:00Z", "2025-03-30T01:00:00Z", "2025-03-30T01:30:00Z", "2025-03-30T02:00:00Z"),
        // Berlin, fall back: 02:xx happens twice.
        .init("Europe/Berlin", "30 2 * * *", after: "2025-10-25T12:00",
              "2025-10-26T00:30:00Z", "2025-10-27T01:30:00Z"),
        .init("Europe/Berlin", "0,30 * * * *", after: "2025-10-25T23:45",
              "2025-10-26T00:00:00Z", "2025-10-26T00:30:00Z", "2025-10-26T02:00:00Z", "2025-10-26T02:30:00Z"),
        .init("Europe/Berlin", "0 9 * * *", after: "2025-03-29T00:00", "2025-03-29T08:00:00Z", "2025-03-30T07:00:00Z"),
    ]

    @Test("fires across spring forward and fall back, asserted in UTC", arguments: cases)
    func transitions(_ testCase: Case) throws {
        let zone = try #require(TimeZone(identifier: testCase.zone))
        let schedule = try CronSchedule(parsing: testCase.expression, timeZone: zone)
        let start = try CronFixtures.instant(testCase.after)
        #expect(CronFixtures.fires(schedule, after: start, count: testCase.expected.count) == testCase.expected)
    }

    @Test(
        "1000 consecutive fires are strictly increasing and land on matching minutes",
        arguments: ["*/7 * * * *", "30 2 * * *", "0 */5 * * *", "*/20 1-3 * * *", "45 1,2 * * SUN"]
    )
    func consecutiveFires(_ expression: String) throws {
        for zone in [CronFixtures.newYork, CronFixtures.berlin] {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            let schedule = try CronSchedule(parsing: expression, timeZone: zone)
            var previous = try CronFixtures.instant("2025-01-01T00:00")
            for _ in 0..<1000 {
                let next = try #require(schedule.nextFire(after: previous))
                #expect(next > previous, "\(expression) in \(zone.identifier)")
                // A skipped wall time moves by whole hours in these zones, so minutes still match.
                let minute = calendar.component(.minute, from: next)
                let fieldMinutes: Set<Int> = switch expression {
                case "*/7 * * * *": Set(stride(from: 0, through: 59, by: 7))
                case "30 2 * * *": [30]
                case "*/20 1-3 * * *": [0, 20, 40]
                case "45 1,2 * * SUN": [45]
                default: [0]
                }
                #expect(fieldMinutes.contains(minute), "\(expression): \(CronFixtures.text(next))")
                previous = next
            }
        }
    }

    @Test("the same schedule text in different zones fires at different instants")
    func zonesDiffer() throws {
        let start = try CronFixtures.instant("2025-07-01T00:00")
        let newYork = try CronSchedule(parsing: "0 9 * * *", timeZone: CronFixtures.newYork)
        let berlin = try CronSchedule(parsing: "0 9 * * *", timeZone: CronFixtures.berlin)
        #expect(newYork != berlin)
        #expect(CronFixtures.text(newYork.nextFire(after: start)) == "2025-07-01T13:00:00Z")
        #expect(CronFixtures.text(berlin.nextFire(after: start)) == "2025-07-01T07:00:00Z")
    }
}
