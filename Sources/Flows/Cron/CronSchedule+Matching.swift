// MARK: - Matching wall times

extension CronSchedule {
    /// The first wall time (seconds since 1970-01-01 read as local time, on a whole minute) at or
    /// after `start` that the fields match, searching up to the end of `yearLimit`.
    ///
    /// Each step either returns or moves the cursor to the start of the next month, day or hour
    /// that can match, so the loop runs a few times per answer, not once per minute.
    func nextMatchingWall(atOrAfter start: Int64, yearLimit: Int64) -> Int64? {
        let startDay = start.floorDivided(by: 86_400)
        let secondOfDay = Int(start - startDay * 86_400)
        let startDate = CivilDate(daysSinceEpoch: startDay)
        var year = startDate.year
        var month = startDate.month
        var day = startDate.day
        var hour = secondOfDay / 3_600
        var minute = (secondOfDay % 3_600 + 59) / 60 // round a part minute up
        while year <= yearLimit {
            guard let matchingMonth = months.next(atOrAfter: month) else {
                (year, month, day, hour, minute) = (year + 1, 1, 1, 0, 0)
                continue
            }
            if matchingMonth != month {
                (month, day, hour, minute) = (matchingMonth, 1, 0, 0)
            }
            guard let matchingDay = nextMatchingDay(year: year, month: month, from: day) else {
                (month, day, hour, minute) = (month + 1, 1, 0, 0)
                continue
            }
            if matchingDay != day {
                (day, hour, minute) = (matchingDay, 0, 0)
            }
            guard let matchingHour = hours.next(atOrAfter: hour) else {
                (day, hour, minute) = (day + 1, 0, 0)
                continue
            }
            if matchingHour != hour {
                (hour, minute) = (matchingHour, 0)
            }
            guard let matchingMinute = minutes.next(atOrAfter: minute) else {
                (hour, minute) = (hour + 1, 0)
                continue
            }
            let days = CivilDate(year: year, month: month, day: day).daysSinceEpoch
            return days * 86_400 + Int64(hour * 3_600 + matchingMinute * 60)
        }
        return nil
    }

    /// The first day from `day` to the end of the month that the day fields match.
    private func nextMatchingDay(year: Int64, month: Int, from day: Int) -> Int? {
        let length = CivilDate.daysInMonth(year: year, month: month)
        guard day <= length else { return nil }
        var weekday = CivilDate(year: year, month: month, day: day).weekday
        for candidate in day...length {
            if dayMatches(dayOfMonth: candidate, weekday: weekday) { return candidate }
            weekday = weekday == 6 ? 0 : weekday + 1
        }
        return nil
    }

    /// Vixie cron's rule: both day fields restricted → either may match; otherwise both must (an
    /// unrestricted field matches every day anyway).
    func dayMatches(dayOfMonth: Int, weekday: Int) -> Bool {
        let byMonthDay = daysOfMonth.contains(dayOfMonth)
        let byWeekday = daysOfWeek.contains(weekday)
        if dayOfMonthRestricted && dayOfWeekRestricted {
            return byMonthDay || byWeekday
        }
        return byMonthDay && byWeekday
    }
}
