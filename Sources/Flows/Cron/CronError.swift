/// Why a cron expression was refused. Every message names the field and quotes the offending text.
public enum CronError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong with one item of a field.
    public enum Problem: Sendable, Hashable {
        /// Neither a number nor, for month and day-of-week, a known name.
        case notAValue
        /// A number outside the field's bounds.
        case outOfRange
        /// A range whose start is after its end (`5-2`, `FRI-MON`); ranges do not wrap.
        case reversedRange
        /// A step of zero (`*/0`).
        case zeroStep
        /// A step after a single value (`5/15`): implementations disagree on its meaning, so write
        /// `5-59/15` or `*/15`.
        case stepWithoutRange
        /// An empty list item (`1,,2`, a trailing comma).
        case emptyItem
        /// Anything else: several `/`, a `-` without an end, unsupported syntax (`L`, `W`, `#`, `?`).
        case malformed
    }

    /// The expression is empty or only white space.
    case empty
    /// An `@` shorthand other than `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`,
    /// `@midnight` and `@hourly` (`@reboot` has no meaning for a server-side schedule).
    case unknownMacro(String)
    /// Not exactly five fields; carries the number found.
    case wrongFieldCount(Int)
    /// A field with a bad item; `text` is that item.
    case invalidField(CronField, text: String, problem: Problem)
    /// Day-of-month restricted, day-of-week `*`, and no selected month has any selected day
    /// (`0 0 30 2 *`): the schedule could never fire. Carries the two fields.
    case neverFires(dayOfMonth: String, month: String)

    /// A one-line message naming the field and quoting the text.
    public var description: String {
        switch self {
        case .empty:
            return "empty cron expression"
        case .unknownMacro(let macro):
            return "unknown cron shorthand \"\(macro)\"; expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly"
        case .wrongFieldCount(let count):
            return "expected 5 cron fields (minute hour day-of-month month day-of-week), found \(count)"
        case .invalidField(let field, let text, let problem):
            return "\(field) field: \"\(text)\" " + Self.explain(problem, field: field)
        case .neverFires(let dayOfMonth, let month):
            return "day-of-month \"\(dayOfMonth)\" never occurs in month \"\(month)\", so the schedule never fires"
        }
    }

    private static func explain(_ problem: Problem, field: CronField) -> String {
        let bounds = "\(field.bounds.lowerBound)-\(field.bounds.upperBound)"
        switch problem {
        case .notAValue:
            let names = field.names
            return names.isEmpty
                ? "is not a number"
                : "is not a number or a name (\(names.first!)-\(names.last!))"
        case .outOfRange:
            return "is out of range \(bounds)"
        case .reversedRange:
            return "is a range whose start is after its end"
        case .zeroStep:
            return "has a step of 0"
        case .stepWithoutRange:
            return "has a step after a single value; write a range such as \"5-59/15\" or \"*/15\""
        case .emptyItem:
            return "has an empty list item"
        case .malformed:
            return "is not a value, a range or a step (supported: *, 5, 1-5, */15, 1-30/5, lists with commas)"
        }
    }
}
