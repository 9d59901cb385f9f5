/// Reads the text of a cron expression into value sets; ``CronSchedule`` keeps the result.
enum CronExpressionParser {
    /// The parsed fields.
    struct Fields {
        var expression: String
        var minutes: CronValueSet
        var hours: CronValueSet
        var daysOfMonth: CronValueSet
        var months: CronValueSet
        var daysOfWeek: CronValueSet
        var dayOfMonthRestricted: Bool
        var dayOfWeekRestricted: Bool
    }

    /// The `@` shorthands and the five fields each stands for.
    static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *",
        "@annually": "0 0 1 1 *",
        "@monthly": "0 0 1 * *",
        "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *",
        "@midnight": "0 0 * * *",
        "@hourly": "0 * * * *",
    ]

    static func parse(_ expression: String) throws(CronError) -> Fields {
        let trimmed = expression.trimmingCronWhitespace()
        guard !trimmed.isEmpty else { throw .empty }
        var text = trimmed
        if trimmed.hasPrefix("@") {
            guard let expansion = macros[trimmed.lowercased()] else { throw .unknownMacro(trimmed) }
            text = expansion
        }
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard parts.count == 5 else { throw .wrongFieldCount(parts.count) }
        var daysOfWeek = try parseField(parts[4], .dayOfWeek)
        if daysOfWeek.contains(7) {
            daysOfWeek.insert(0)
        }
        var sundayFolded = CronValueSet()
        for day in 0...6 where daysOfWeek.contains(day) {
            sundayFolded.insert(day)
        }
        let fields = Fields(
            expression: trimmed,
            minutes: try parseField(parts[0], .minute),
            hours: try parseField(parts[1], .hour),
            daysOfMonth: try parseField(parts[2], .dayOfMonth),
            months: try parseField(parts[3], .month),
            daysOfWeek: sundayFolded,
            dayOfMonthRestricted: !parts[2].hasPrefix("*"),
            dayOfWeekRestricted: !parts[4].hasPrefix("*")
        )
        try checkSatisfiable(fields, dayOfMonthText: parts[2], monthText: parts[3])
        return fields
    }

    // MARK: - Fields

    /// Parses `item(,item)*` where item is `(*|value|value-value)(/step)?`.
    static func parseField(_ text: Substring, _ field: CronField) throws(CronError) -> CronValueSet {
        var set = CronValueSet()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw .invalidField(field, text: String(text), problem: .emptyItem) }
            let invalid = { (problem: CronError.Problem) in
                CronError.invalidField(field, text: String(item), problem: problem)
            }
            let stepParts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard stepParts.count <= 2 else { throw invalid(.malformed) }
            let base = stepParts[0]
            var range: ClosedRange<Int>
            var isSingleValue = false
            if base == "*" {
                range = field.bounds
            } else {
                let ends = base.split(separator: "-", omittingEmptySubsequences: false)
                switch ends.count {
                case 1:
                    let value = try value(ends[0], field, item: item)
                    range = value...value
                    isSingleValue = true
                case 2:
                    let low = try value(ends[0], field, item: item)
                    let high = try value(ends[1], field, item: item)
                    guard low <= high else { throw invalid(.reversedRange) }
                    range = low...high
                default:
                    throw invalid(.malformed)
                }
            }
            var step = 1
            if stepParts.count == 2 {
                guard !isSingleValue else { throw invalid(.stepWithoutRange) }
                let stepText = stepParts[1]
                guard !stepText.isEmpty, stepText.utf8.allSatisfy(isDigit), let parsed = Int(stepText) else {
                    throw invalid(.malformed)
                }
                guard parsed > 0 else { throw invalid(.zeroStep) }
                step = parsed
            }
            for value in stride(from: range.lowerBound, through: range.upperBound, by: step) {
                set.insert(value)
            }
        }
        return set
    }

    /// A number within the field's bounds, or a name the field knows.
    private static func value(_ text: Substring, _ field: CronField, item: Substring) throws(CronError) -> Int {
        if !text.isEmpty, text.utf8.allSatisfy(isDigit) {
            guard let number = Int(text), field.bounds.contains(number) else {
                throw .invalidField(field, text: String(item), problem: .outOfRange)
            }
            return number
        }
        if let index = field.names.firstIndex(of: text.uppercased()) {
            return field.namesStart + index
        }
        throw .invalidField(field, text: String(item), problem: isUnsupportedSyntax(text) ? .malformed : .notAValue)
    }

    /// Empty text, or Quartz-style extensions: `L`, `15W`, `5L`, `5#3`, `?`.
    private static func isUnsupportedSyntax(_ text: Substring) -> Bool {
        guard let last = text.last else { return true }
        if text.contains("#") || text.contains("?") { return true }
        return (last == "L" || last == "W") && text.dropLast().utf8.allSatisfy(isDigit)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    // MARK: - Satisfiability

    /// With day-of-week unrestricted, only day-of-month picks days; refuse combinations like
    /// February 30 that no year has. (Restricted day-of-week always matches some day.)
    private static func checkSatisfiable(_ fields: Fields, dayOfMonthText: Substring, monthText: Substring) throws(CronError) {
        guard !fields.dayOfWeekRestricted || !fields.dayOfMonthRestricted else { return }
        guard let firstDay = fields.daysOfMonth.first else { return }
        // A leap year's month lengths: the longest each month ever is.
        let fits = (1...12).contains { month in
            fields.months.contains(month) && firstDay <= CivilDate.daysInMonth(year: 2000, month: month)
        }
        guard fits else {
            throw .neverFires(dayOfMonth: String(dayOfMonthText), month: String(monthText))
        }
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and line breaks.
    func trimmingCronWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }
}
