import Flows
import Foundation
import Testing

@Suite("Cron in plain language")
struct CronDescriptionTests {
    @Test("common schedules read as a person would say them", arguments: [
        ("0 8 * * MON-FRI", "Europe/Madrid", "every weekday at 08:00, Europe/Madrid"),
        ("*/15 * * * *", "UTC", "every 15 minutes, UTC"),
        ("* * * * *", "UTC", "every minute, UTC"),
        ("0 * * * *", "UTC", "every hour, on the hour, UTC"),
        ("5 * * * *", "UTC", "every hour at minute 5, UTC"),
        ("@daily", "UTC", "every day at 00:00, UTC"),
        ("30 9,17 * * *", "UTC", "every day at 09:30 and 17:30, UTC"),
        ("0 0 1 * *", "UTC", "on day 1 of the month at 00:00, UTC"),
        ("0 0 1 1,7 *", "UTC", "on day 1 of the month at 00:00 in January and July, UTC"),
        ("0 9 * * 1", "UTC", "every Monday at 09:00, UTC"),
        ("0 9 * * 1,3,5", "UTC", "on Monday, Wednesday and Friday at 09:00, UTC"),
        ("0 10 * * 6,0", "UTC", "every Saturday and Sunday at 10:00, UTC"),
        ("*/5 9-17 * * MON-FRI", "UTC", "every 5 minutes from 09:00 to 17:59, on weekdays, UTC"),
        ("0 */2 * * *", "UTC", "every 2 hours, on the hour, UTC"),
        ("0 0 1 * MON", "UTC", "on day 1 of the month and on Monday at 00:00, UTC"),
        ("0,20,40 8-20 * * *", "UTC", "every 20 minutes from 08:00 to 20:59, UTC"),
        ("0,15,45 8-20 * * *", "UTC", "at minutes 0, 15 and 45 from 08:00 to 20:59, UTC"),
        ("0 8 */2 * *", "UTC", "on days 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29 and 31 of the month at 08:00, UTC"),
    ])
    func readings(expression: String, zone: String, reading: String) throws {
        let schedule = try CronSchedule(parsing: expression, timeZone: try #require(TimeZone(identifier: zone)))
        #expect(schedule.plainDescription(zoneName: zone) == reading)
    }

    @Test("a trigger's expression and zone are checked together, each problem naming its field")
    func checked() {
        let both = CronSchedule.checked(expression: "61 * * * *", timeZone: "Mars/Olympus", field: "trigger")
        #expect(both.schedule == nil)
        #expect(both.problems.map(\.field) == ["trigger.timeZone", "trigger.expression"])
        let missing = CronSchedule.checked(expression: nil, timeZone: "UTC", field: "trigger")
        #expect(missing.problems.map(\.message) == ["A cron trigger needs an expression"])
        #expect(CronSchedule.checked(expression: "0 8 * * *", timeZone: "Europe/Madrid", field: "trigger").schedule != nil)
    }
}
