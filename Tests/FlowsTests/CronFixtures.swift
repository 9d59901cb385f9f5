import Foundation
import Flows

/// Instants and zones for the cron tests.
enum CronFixtures {
    static let utc = TimeZone(identifier: "UTC")!
    static let newYork = TimeZone(identifier: "America/New_York")!
    static let berlin = TimeZone(identifier: "Europe/Berlin")!
    /// Daylight saving of 30 minutes: 2025-04-06 02:00 → 01:30, 2025-10-05 02:00 → 02:30.
    static let lordHowe = TimeZone(identifier: "Australia/Lord_Howe")!

    /// `2025-03-09T07:30:00Z`, or `2025-03-09T07:30` meaning the same, as a date.
    static func instant(_ text: String) throws -> Date {
        try Date.ISO8601FormatStyle().parse(text.hasSuffix("Z") ? text : text + ":00Z")
    }

    /// A date as `2025-03-09T07:30:00Z`, for readable comparisons.
    static func text(_ date: Date?) -> String {
        date.map { $0.formatted(Date.ISO8601FormatStyle()) } ?? "nil"
    }

    /// The first `count` fires after `start`, as text.
    static func fires(_ schedule: CronSchedule, after start: Date, count: Int) -> [String] {
        var fires: [String] = []
        var cursor = start
        for _ in 0..<count {
            guard let next = schedule.nextFire(after: cursor) else { break }
            fires.append(text(next))
            cursor = next
        }
        return fires
    }
}
