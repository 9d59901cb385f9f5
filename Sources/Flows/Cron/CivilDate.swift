/// A proleptic-Gregorian calendar date with no time zone, and the integer arithmetic that maps it
/// to and from days since 1970-01-01.
///
/// The conversions count in 400-year eras (146 097 days each) with years starting on 1 March, so
/// the leap day falls at the end of a year and needs no special case; this is the scheme of
/// H. Hinnant's "chrono-Compatible Low-Level Date Algorithms". Cron arithmetic runs on these
/// values, not on `Calendar`, so a schedule can skip whole months or years in a few integer steps.
struct CivilDate: Hashable, Sendable {
    var year: Int64
    /// 1–12.
    var month: Int
    /// 1–31.
    var day: Int

    init(year: Int64, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The date `days` days after 1970-01-01 (negative: before).
    init(daysSinceEpoch days: Int64) {
        let shifted = days + 719_468 // days from 0000-03-01 to 1970-01-01
        let era = shifted.floorDivided(by: 146_097)
        let dayOfEra = shifted - era * 146_097 // 0...146_096
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365 // 0...399
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100) // 0...365, from 1 March
        let marchMonth = (5 * dayOfYear + 2) / 153 // 0 = March ... 11 = February
        day = Int(dayOfYear - (153 * marchMonth + 2) / 5 + 1)
        month = Int(marchMonth < 10 ? marchMonth + 3 : marchMonth - 9)
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// Days from 1970-01-01 to this date.
    var daysSinceEpoch: Int64 {
        let marchYear = month <= 2 ? year - 1 : year
        let era = marchYear.floorDivided(by: 400)
        let yearOfEra = marchYear - era * 400
        let marchMonth = Int64(month > 2 ? month - 3 : month + 9)
        let dayOfYear = (153 * marchMonth + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// 0 = Sunday … 6 = Saturday, as cron counts. 1970-01-01 was a Thursday.
    var weekday: Int {
        Int((daysSinceEpoch + 4).floorModulo(7))
    }

    static func isLeapYear(_ year: Int64) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    static func daysInMonth(year: Int64, month: Int) -> Int {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

extension Int64 {
    /// Division rounding toward negative infinity, so times before 1970 land on the right day.
    func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }

    /// The remainder matching ``floorDivided(by:)``: always in `0..<divisor` for a positive divisor.
    func floorModulo(_ divisor: Int64) -> Int64 {
        self - floorDivided(by: divisor) * divisor
    }
}
