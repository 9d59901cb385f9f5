import Foundation
@testable import MIME
import Testing

/// The Date header is computed with integer calendar arithmetic; Foundation's Gregorian calendar is
/// the reference it must agree with, across leap days, centuries and the epoch.
@Suite("Date header")
struct DateHeaderTests {
    static func reference(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 0)
        formatter.dateFormat = "EEE, d MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }

    @Test("known dates", arguments: [
        (0.0, "Thu, 1 Jan 1970 00:00:00 +0000"),
        (951_782_400.0, "Tue, 29 Feb 2000 00:00:00 +0000"),
        (1_795_600_800.0, "Wed, 25 Nov 2026 10:00:00 +0000"),
        (-1.0, "Wed, 31 Dec 1969 23:59:59 +0000"),
        (4_107_542_399.0, "Sun, 28 Feb 2100 23:59:59 +0000"),
        (4_107_542_400.0, "Mon, 1 Mar 2100 00:00:00 +0000"),
    ])
    func known(_ seconds: Double, _ expected: String) {
        #expect(MessageComposer.rfc5322Date(Date(timeIntervalSince1970: seconds)) == expected)
    }

    @Test("agrees with Foundation's calendar on 20,000 instants from 1900 to 2400")
    func agreesWithFoundation() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let date = Date(timeIntervalSince1970: Double(Int64.random(in: -2_208_988_800...13_574_563_200, using: &generator)))
            #expect(MessageComposer.rfc5322Date(date) == Self.reference(date), "\(date.timeIntervalSince1970)")
        }
    }
}
