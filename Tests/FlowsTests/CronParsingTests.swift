import Foundation
import Testing
import Flows

@Suite("Cron parsing")
struct CronParsingTests {
    @Test("valid expressions parse", arguments: [
        "* * * * *", "*/15 * * * *", "0 9-17 * * MON-FRI", "0 0 1,15 * *", "1-30/5 * * * *",
        "0 0 * jan,Jul *", "0 0 * * 7", "0 0 * * 0-7", "0 0 * * sun", "5,10-20/3,59 0-23/6 1-31 1-12 0-6",
        "  0 0 * * *  ", "0\t0 * *  *", "0 0 29 2 *", "0 0 31 * *", "59 23 31 12 6", "0 0 30 2 MON",
        "@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually", "@DAILY",
        "*/60 * * * *", "0-59/59 * * * *",
    ])
    func valid(_ expression: String) throws {
        let schedule = try CronSchedule(parsing: expression, timeZone: CronFixtures.utc)
        #expect(schedule.nextFire(after: Date(timeIntervalSince1970: 0)) != nil)
    }

    @Test("invalid expressions are refused, naming the field and the text", arguments: [
        ("", CronError.empty),
        ("   ", .empty),
        ("* * * *", .wrongFieldCount(4)),
        ("* * * * * *", .wrongFieldCount(6)),
        ("@reboot", .unknownMacro("@reboot")),
        ("@every 5m", .unknownMacro("@every 5m")),
        ("60 * * * *", .invalidField(.minute, text: "60", problem: .outOfRange)),
        ("5,61 * * * *", .invalidField(.minute, text: "61", problem: .outOfRange)),
        ("* 24 * * *", .invalidField(.hour, text: "24", problem: .outOfRange)),
        ("* * 0 * *", .invalidField(.dayOfMonth, text: "0", problem: .outOfRange)),
        ("* * 32 * *", .invalidField(.dayOfMonth, text: "32", problem: .outOfRange)),
        ("* * * 13 *", .invalidField(.month, text: "13", problem: .outOfRange)),
        ("* * * 0 *", .invalidField(.month, text: "0", problem: .outOfRange)),
        ("* * * * 8", .invalidField(.dayOfWeek, text: "8", problem: .outOfRange)),
        ("* * * * 99999999999999999999", .invalidField(.dayOfWeek, text: "99999999999999999999", problem: .outOfRange)),
        ("x * * * *", .invalidField(.minute, text: "x", problem: .notAValue)),
        ("* * * FOO *", .invalidField(.month, text: "FOO", problem: .notAValue)),
        ("* * * * MONDAY", .invalidField(.dayOfWeek, text: "MONDAY", problem: .notAValue)),
        ("* * MON * *", .invalidField(.dayOfMonth, text: "MON", problem: .notAValue)),
        ("5-2 * * * *", .invalidField(.minute, text: "5-2", problem: .reversedRange)),
        ("* * * * FRI-MON", .invalidField(.dayOfWeek, text: "FRI-MON", problem: .reversedRange)),
        ("*/0 * * * *", .invalidField(.minute, text: "*/0", problem: .zeroStep)),
        ("5/15 * * * *", .invalidField(.minute, text: "5/15", problem: .stepWithoutRange)),
        ("1,,2 * * * *", .invalidField(.minute, text: "1,,2", problem: .emptyItem)),
        ("* 1, * * *", .invalidField(.hour, text: "1,", problem: .emptyItem)),
        ("*/a * * * *", .invalidField(.minute, text: "*/a", problem: .malformed)),
        ("*/ * * * *", .invalidField(.minute, text: "*/", problem: .malformed)),
        ("1-2-3 * * * *", .invalidField(.minute, text: "1-2-3", problem: .malformed)),
        ("1-5/2/3 * * * *", .invalidField(.minute, text: "1-5/2/3", problem: .malformed)),
        ("-5 * * * *", .invalidField(.minute, text: "-5", problem: .malformed)),
        ("* * L * *", .invalidField(.dayOfMonth, text: "L", problem: .malformed)),
        ("* * 15W * *", .invalidField(.dayOfMonth, text: "15W", problem: .malformed)),
        ("* * * * 5#3", .invalidField(.dayOfWeek, text: "5#3", problem: .malformed)),
        ("* * ? * *", .invalidField(.dayOfMonth, text: "?", problem: .malformed)),
        ("0 0 30 2 *", .neverFires(dayOfMonth: "30", month: "2")),
        ("0 0 31 4,6,9,11 *", .neverFires(dayOfMonth: "31", month: "4,6,9,11")),
        ("0 0 31 FEB *", .neverFires(dayOfMonth: "31", month: "FEB")),
    ])
    func invalid(_ expression: String, _ error: CronError) {
        #expect(throws: error) { try CronSchedule(parsing: expression, timeZone: CronFixtures.utc) }
    }

    @Test("error messages name the field and quote the text", arguments: [
        ("60 * * * *", #"minute field: "60" is out of range 0-59"#),
        ("* * * * 8", #"day-of-week field: "8" is out of range 0-7"#),
        ("* * * FOO *", #"month field: "FOO" is not a number or a name (JAN-DEC)"#),
        ("x * * * *", #"minute field: "x" is not a number"#),
        ("5/15 * * * *", #"minute field: "5/15" has a step after a single value; write a range such as "5-59/15" or "*/15""#),
        ("* * * *", "expected 5 cron fields (minute hour day-of-month month day-of-week), found 4"),
        ("0 0 30 2 *", #"day-of-month "30" never occurs in month "2", so the schedule never fires"#),
    ])
    func messages(_ expression: String, _ message: String) {
        do {
            _ = try CronSchedule(parsing: expression, timeZone: CronFixtures.utc)
            Issue.record("\(expression) should not parse")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test("shorthands mean their five-field expansions", arguments: [
        ("@hourly", "0 * * * *"), ("@daily", "0 0 * * *"), ("@midnight", "0 0 * * *"),
        ("@weekly", "0 0 * * 0"), ("@monthly", "0 0 1 * *"), ("@yearly", "0 0 1 1 *"), ("@annually", "0 0 1 1 *"),
    ])
    func macros(_ macro: String, _ expansion: String) throws {
        let shorthand = try CronSchedule(parsing: macro, timeZone: CronFixtures.berlin)
        let longhand = try CronSchedule(parsing: expansion, timeZone: CronFixtures.berlin)
        let start = try CronFixtures.instant("2025-02-17T13:45:12Z")
        #expect(CronFixtures.fires(shorthand, after: start, count: 5) == CronFixtures.fires(longhand, after: start, count: 5))
        #expect(shorthand.expression == macro)
    }

    @Test("0 and 7 are both Sunday, names equal numbers")
    func sundays() throws {
        let start = try CronFixtures.instant("2025-01-01T00:00")
        let expected = CronFixtures.fires(try CronSchedule(parsing: "0 0 * * 0", timeZone: CronFixtures.utc), after: start, count: 10)
        for expression in ["0 0 * * 7", "0 0 * * SUN", "0 0 * * sun", "0 0 * * 0,7", "0 0 * * 7-7"] {
            let schedule = try CronSchedule(parsing: expression, timeZone: CronFixtures.utc)
            #expect(CronFixtures.fires(schedule, after: start, count: 10) == expected, "\(expression)")
        }
        #expect(expected.first == "2025-01-05T00:00:00Z")
    }

    @Test("description shows the expression and the zone")
    func description() throws {
        #expect(try CronSchedule(parsing: " 0 9 * * MON-FRI ", timeZone: CronFixtures.berlin).description == "0 9 * * MON-FRI (Europe/Berlin)")
    }
}
