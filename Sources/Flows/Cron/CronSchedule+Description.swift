import Foundation

// MARK: - Plain-language reading

extension CronSchedule {
    /// The schedule in plain English, read from the parsed fields (never from the text, so it
    /// cannot disagree with ``nextFire(after:)``): `every weekday at 08:00, Europe/Madrid`,
    /// `every 15 minutes, UTC`, `on day 1 of the month at 00:00 in January and July, UTC`.
    /// `zoneName` is the zone as the user wrote it (Foundation spells `UTC` as `GMT`).
    public func plainDescription(zoneName: String? = nil) -> String {
        Self.joined(dayAndTime, monthPhrase) + ", \(zoneName ?? timeZone.identifier)"
    }

    // MARK: Parts

    /// The values of a field in order.
    private static func values(_ set: CronValueSet, in field: CronField) -> [Int] {
        field.bounds.filter { set.contains($0) }
    }

    /// Times of day when the schedule fires at few enough of them to list (at most six).
    private var listedTimes: [String]? {
        let minuteValues = Self.values(minutes, in: .minute)
        let hourValues = Self.values(hours, in: .hour)
        guard minuteValues.count * hourValues.count <= 6 else { return nil }
        return hourValues.flatMap { hour in minuteValues.map { Self.clock(hour, $0) } }
    }

    /// `every 15 minutes`, `every hour at minute 5`, `at minutes 0 and 30 from 09:00 to 17:59`.
    private var periodicTime: String {
        let minuteValues = Self.values(minutes, in: .minute)
        let hourValues = Self.values(hours, in: .hour)
        let minutePart: String
        if minuteValues.count == 60 {
            minutePart = "every minute"
        } else if let step = Self.step(of: minuteValues, in: .minute) {
            minutePart = "every \(step) minutes"
        } else if minuteValues.count == 1, hourValues.count == 24 {
            minutePart = minuteValues[0] == 0 ? "every hour, on the hour" : "every hour at minute \(minuteValues[0])"
        } else if minuteValues.count == 1 {
            minutePart = "at minute \(minuteValues[0])"
        } else {
            minutePart = "at minutes \(Self.list(minuteValues.map(String.init)))"
        }
        guard hourValues.count < 24 else { return minutePart }
        if let step = Self.step(of: hourValues, in: .hour) {
            guard minuteValues.count == 1 else { return "\(minutePart), every \(step) hours" }
            return minuteValues[0] == 0 ? "every \(step) hours, on the hour" : "every \(step) hours at minute \(minuteValues[0])"
        }
        if let first = hourValues.first, let last = hourValues.last, last - first + 1 == hourValues.count {
            return "\(minutePart) from \(Self.clock(first, 0)) to \(Self.clock(last, 59))"
        }
        return "\(minutePart) during hours \(Self.list(hourValues.map { Self.clock($0, 0) }))"
    }

    /// The day part and the time part together: `every weekday at 08:00`, `every 5 minutes on
    /// Mondays`.
    private var dayAndTime: String {
        let weekdays = Self.values(daysOfWeek, in: .dayOfWeek).filter { $0 < 7 }
        let days = Self.values(daysOfMonth, in: .dayOfMonth)
        let everyWeekday = weekdays.count == 7
        let everyDay = days.count == 31
        var dayParts: [String] = []
        if !everyDay { dayParts.append(Self.monthDays(days)) }
        if !everyWeekday { dayParts.append(Self.weekdayPhrase(weekdays)) }
        // Vixie cron: both restricted (neither starting with `*`) is "either"; otherwise "both".
        let either = dayOfMonthRestricted && dayOfWeekRestricted
        let dayPhrase = dayParts.isEmpty ? nil : dayParts.joined(separator: either ? " and " : ", only ")

        if let times = listedTimes {
            let at = "at \(Self.list(times))"
            guard let dayPhrase else { return "every day \(at)" }
            if dayParts.count == 1, everyDay, let single = Self.everyPhrase(weekdays) { return "\(single) \(at)" }
            return "\(dayPhrase) \(at)"
        }
        guard let dayPhrase else { return periodicTime }
        return "\(periodicTime), \(dayPhrase)"
    }

    /// `in January and July`, or nothing when every month fires.
    private var monthPhrase: String? {
        let monthValues = Self.values(months, in: .month)
        guard monthValues.count < 12 else { return nil }
        return "in \(Self.list(monthValues.map { Self.monthNames[$0 - 1] }))"
    }

    // MARK: Words

    private static let weekdayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    private static let monthNames = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
    ]

    /// `every weekday`, `every Monday`, `every weekend day` for the one-phrase cases.
    private static func everyPhrase(_ weekdays: [Int]) -> String? {
        switch weekdays {
        case [1, 2, 3, 4, 5]: "every weekday"
        case [0, 6]: "every Saturday and Sunday"
        case let single where single.count == 1: "every \(weekdayNames[single[0]])"
        default: nil
        }
    }

    /// `on weekdays`, `on Monday, Wednesday and Friday`, `from Monday to Thursday`.
    private static func weekdayPhrase(_ weekdays: [Int]) -> String {
        if weekdays == [1, 2, 3, 4, 5] { return "on weekdays" }
        if weekdays == [0, 6] { return "on Saturdays and Sundays" }
        if weekdays.count > 2, let first = weekdays.first, let last = weekdays.last, last - first + 1 == weekdays.count {
            return "from \(weekdayNames[first]) to \(weekdayNames[last])"
        }
        return "on \(list(weekdays.map { weekdayNames[$0] }))"
    }

    /// `on day 1 of the month`, `on days 1 and 15 of the month`, `on every 2nd day of the month`.
    private static func monthDays(_ days: [Int]) -> String {
        if days.count == 1 { return "on day \(days[0]) of the month" }
        if let first = days.first, let last = days.last, last - first + 1 == days.count {
            return "on days \(first) to \(last) of the month"
        }
        return "on days \(list(days.map(String.init))) of the month"
    }

    /// The step of `0, k, 2k, …` covering the whole field, when the values are exactly that.
    private static func step(of values: [Int], in field: CronField) -> Int? {
        let size = field.bounds.upperBound + 1
        guard values.count > 1, values.first == 0 else { return nil }
        let step = values[1]
        guard step > 1, size % step == 0, values == Array(stride(from: 0, to: size, by: step)) else { return nil }
        return step
    }

    /// `08:05`.
    private static func clock(_ hour: Int, _ minute: Int) -> String {
        (hour < 10 ? "0" : "") + String(hour) + ":" + (minute < 10 ? "0" : "") + String(minute)
    }

    /// `a`, `a and b`, `a, b and c`.
    private static func list(_ items: [String]) -> String {
        guard items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " and " + items[items.count - 1]
    }

    private static func joined(_ first: String, _ second: String?) -> String {
        second.map { "\(first) \($0)" } ?? first
    }
}
