public import Foundation

/// A five-field cron schedule in a time zone: `minute hour day-of-month month day-of-week`.
///
/// ## Syntax
///
/// Each field is `*`, a value, a range `1-5`, or a step over either (`*/15`, `1-30/5`), and lists of
/// those joined with commas. Months and weekdays accept three-letter English names in any case
/// (`JAN`, `mon-fri`); day-of-week 0 and 7 are both Sunday. `@yearly` (`@annually`), `@monthly`,
/// `@weekly`, `@daily` (`@midnight`) and `@hourly` stand for `0 0 1 1 *`, `0 0 1 * *`,
/// `0 0 * * 0`, `0 0 * * *` and `0 * * * *`.
///
/// Day-of-month and day-of-week follow Vixie cron: when both are restricted, a day matches if
/// *either* does (`0 0 1 * MON` fires on the 1st and on every Monday); otherwise both must. As in
/// Vixie cron, a field counts as unrestricted when it starts with `*`, so `*/2` in day-of-month
/// still combines with day-of-week by "and".
///
/// ## Time zones and daylight saving
///
/// The fields describe local wall-clock times in ``timeZone``; each matching wall time fires at
/// most once:
///
/// - A wall time that does not exist (spring forward) fires at the instant it would have had
///   under the offset in force before the change, i.e. as far after the change as it was after
///   the gap's start: in America/New_York on 2025-03-09, `30 2 * * *` fires at 03:30 EDT
///   (07:30 UTC). This is what cronie does. If a real wall time maps to the same instant (03:30
///   also matches `30 * * * *`), that instant fires once.
/// - A wall time that occurs twice (fall back) fires at its first occurrence only: in New York on
///   2025-11-02, `30 1 * * *` fires at 01:30 EDT (05:30 UTC) and not again at 01:30 EST. This holds
///   for every field, so `*/30 * * * *` is silent for the repeated hour (05:30 UTC is followed by
///   07:00 UTC).
///
/// ``nextFire(after:)`` is strictly after its argument, so a scheduler that always asks for the
/// fire after the last one it ran cannot fire one due time twice.
public struct CronSchedule: Sendable, Hashable {
    /// The expression as given, trimmed.
    public let expression: String
    /// The zone the fields are read in.
    public let timeZone: TimeZone

    let minutes: CronValueSet
    let hours: CronValueSet
    let daysOfMonth: CronValueSet
    let months: CronValueSet
    /// 0 = Sunday … 6 = Saturday (7 is folded into 0 when parsed).
    let daysOfWeek: CronValueSet
    /// Day-of-month did not start with `*`.
    let dayOfMonthRestricted: Bool
    /// Day-of-week did not start with `*`.
    let dayOfWeekRestricted: Bool

    /// Parses `expression`; see the type's documentation for the syntax.
    ///
    /// - Throws: a ``CronError`` naming the field and the text it could not read.
    public init(parsing expression: String, timeZone: TimeZone) throws(CronError) {
        let fields = try CronExpressionParser.parse(expression)
        self.expression = fields.expression
        self.timeZone = timeZone
        minutes = fields.minutes
        hours = fields.hours
        daysOfMonth = fields.daysOfMonth
        months = fields.months
        daysOfWeek = fields.daysOfWeek
        dayOfMonthRestricted = fields.dayOfMonthRestricted
        dayOfWeekRestricted = fields.dayOfWeekRestricted
    }
}

extension CronSchedule {
    /// A cron trigger's expression and time zone as a flow or a preview gives them: the schedule,
    /// or what is wrong, each naming `field.expression` or `field.timeZone` (both can be wrong).
    public static func checked(expression: String?, timeZone zoneName: String, field: String) -> (schedule: CronSchedule?, problems: [FlowValidationError]) {
        var problems: [FlowValidationError] = []
        let zone = TimeZone(identifier: zoneName)
        if zone == nil {
            problems.append(FlowValidationError(field: "\(field).timeZone", message: "Unknown time zone \(zoneName)"))
        }
        guard let expression else {
            problems.append(FlowValidationError(field: "\(field).expression", message: "A cron trigger needs an expression"))
            return (nil, problems)
        }
        do {
            let schedule = try CronSchedule(parsing: expression, timeZone: zone ?? TimeZone(identifier: "UTC")!)
            return (zone == nil ? nil : schedule, problems)
        } catch {
            problems.append(FlowValidationError(field: "\(field).expression", message: "\(error)"))
            return (nil, problems)
        }
    }
}

extension CronSchedule: CustomStringConvertible {
    /// `0 9 * * MON-FRI (Europe/Berlin)`.
    public var description: String {
        "\(expression) (\(timeZone.identifier))"
    }
}
