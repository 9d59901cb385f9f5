/// One of the five fields of a cron expression.
public enum CronField: Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// 0–59.
    case minute
    /// 0–23.
    case hour
    /// 1–31.
    case dayOfMonth
    /// 1–12 or `JAN`–`DEC`.
    case month
    /// 0–7 (0 and 7 are Sunday) or `SUN`–`SAT`.
    case dayOfWeek

    /// The field's name as error messages spell it: `minute`, `hour`, `day-of-month`, `month`,
    /// `day-of-week`.
    public var description: String {
        switch self {
        case .minute: "minute"
        case .hour: "hour"
        case .dayOfMonth: "day-of-month"
        case .month: "month"
        case .dayOfWeek: "day-of-week"
        }
    }

    /// The values a field accepts as written (day-of-week includes 7).
    public var bounds: ClosedRange<Int> {
        switch self {
        case .minute: 0...59
        case .hour: 0...23
        case .dayOfMonth: 1...31
        case .month: 1...12
        case .dayOfWeek: 0...7
        }
    }

    /// Three-letter names the field accepts, case-insensitively, in value order from
    /// ``namesStart``; empty for numeric-only fields.
    var names: [String] {
        switch self {
        case .minute, .hour, .dayOfMonth: []
        case .month: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
        case .dayOfWeek: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
        }
    }

    /// The value of the first name.
    var namesStart: Int {
        switch self {
        case .minute, .hour, .dayOfMonth, .dayOfWeek: 0
        case .month: 1
        }
    }
}
