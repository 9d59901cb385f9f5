import Foundation

extension Date {
    /// `2025-03-09T07:30:00.123Z`: ISO 8601 (RFC 3339) in UTC with exactly three fractional digits.
    ///
    /// Computed with integer civil-date arithmetic rather than a formatter, since it runs for every
    /// run. The time is rounded to the microsecond first (a `Date` is a binary `Double`, so `.123`
    /// may be stored as `.12299999…`) and then truncated to the millisecond.
    var iso8601MillisecondsUTC: String {
        let microseconds = Int64((timeIntervalSince1970 * 1_000_000).rounded())
        let milliseconds = microseconds.floorDivided(by: 1000)
        let days = milliseconds.floorDivided(by: 86_400_000)
        let millisecondOfDay = milliseconds - days * 86_400_000
        let date = CivilDate(daysSinceEpoch: days)
        let secondOfDay = millisecondOfDay / 1000
        var text = ""
        text.reserveCapacity(24)
        text.append(Self.padded(date.year, width: 4))
        text.append("-")
        text.append(Self.padded(Int64(date.month), width: 2))
        text.append("-")
        text.append(Self.padded(Int64(date.day), width: 2))
        text.append("T")
        text.append(Self.padded(secondOfDay / 3600, width: 2))
        text.append(":")
        text.append(Self.padded(secondOfDay % 3600 / 60, width: 2))
        text.append(":")
        text.append(Self.padded(secondOfDay % 60, width: 2))
        text.append(".")
        text.append(Self.padded(millisecondOfDay % 1000, width: 3))
        text.append("Z")
        return text
    }

    private static func padded(_ value: Int64, width: Int) -> String {
        let digits = String(value.magnitude)
        let padding = String(repeating: "0", count: max(0, width - digits.count))
        return (value < 0 ? "-" : "") + padding + digits
    }
}
