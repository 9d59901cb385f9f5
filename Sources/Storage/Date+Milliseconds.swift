import Foundation

extension Date {
    /// The date from a `BIGINT` column: whole milliseconds since 1970-01-01T00:00:00Z.
    init(millisecondsSince1970 milliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// The date as a `BIGINT` column stores it, rounded to the nearest millisecond.
    ///
    /// Integers rather than an engine's timestamp type, so SQLite (which has none) and PostgreSQL
    /// store, compare and sort the same value. Sub-millisecond precision is dropped. Rounding to
    /// nearest, not truncating, makes the round trip exact for a date built from whole milliseconds
    /// (`Date(timeIntervalSince1970: 1_700_000_000.123)`): the product lands within an ulp of the
    /// integer, and `Double(ms) / 1000` is correctly rounded, so it rebuilds the same double.
    ///
    /// Saturating: a date outside what an `Int64` of milliseconds holds (`.distantFuture` is not,
    /// but arithmetic on input could be) clamps to the nearest end instead of trapping.
    var millisecondsSince1970: Int64 {
        let milliseconds = (timeIntervalSince1970 * 1000).rounded()
        guard milliseconds.isFinite else { return milliseconds > 0 ? .max : .min }
        return Int64(exactly: milliseconds) ?? (milliseconds > 0 ? .max : .min)
    }
}
