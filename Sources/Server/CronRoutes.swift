import Flows
import Foundation
import Hummingbird

/// `POST /api/v1/cron/preview`: what a cron trigger would do, from the server's one cron
/// implementation (the studio never parses cron itself): the next fire times and a plain-language
/// reading, or the problem naming `expression` or `timeZone` with the words a saved flow gets.
struct CronRoutes {
    /// The most fire times one preview lists.
    static let maximumCount = 20

    func register(on group: RouterGroup<PosthornRequestContext>) {
        group.post("cron/preview") { request, context in
            _ = try context.requireWorkspace()
            let body = try await JSONBody.decode(CronPreviewBody.self, from: request, context: context)
            return try Self.preview(body, now: Date())
        }
    }

    static func preview(_ body: CronPreviewBody, now: Date) throws -> CronPreviewResponse {
        let zoneName = body.timeZone ?? "UTC"
        guard body.expression.count <= 200 else {
            throw APIError(.unprocessableContent, code: "validation_failed", field: "expression", "A cron expression is at most 200 characters")
        }
        guard zoneName.count <= 100 else {
            throw APIError(.unprocessableContent, code: "validation_failed", field: "timeZone", "A time zone is at most 100 characters")
        }
        let count = body.count ?? 5
        guard (1...maximumCount).contains(count) else {
            throw APIError(.unprocessableContent, code: "validation_failed", field: "count", "Count must be from 1 to \(maximumCount)")
        }
        var after = now
        if let text = body.after {
            guard let parsed = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) ?? Date(text, strategy: .iso8601) else {
                throw APIError(.unprocessableContent, code: "validation_failed", field: "after", "After must be an ISO 8601 date and time")
            }
            after = parsed
        }
        let (schedule, problems) = CronSchedule.checked(expression: body.expression, timeZone: zoneName, field: "")
        guard let schedule else {
            let first = problems.first
            throw APIError(
                .unprocessableContent, code: "validation_failed", field: first.map { String($0.field.drop { $0 == "." }) },
                first?.message ?? "The schedule is not valid")
        }
        var fires: [CronPreviewResponse.Fire] = []
        var cursor = after
        while fires.count < count, let next = schedule.nextFire(after: cursor) {
            fires.append(.init(at: Timestamp.string(next), local: Self.localTime(next, in: schedule.timeZone)))
            cursor = next
        }
        return CronPreviewResponse(
            expression: schedule.expression, timeZone: zoneName, description: schedule.plainDescription(zoneName: zoneName), next: fires)
    }

    /// `2026-03-29T03:30:00+02:00`: the wall time in `zone` with its offset then.
    static func localTime(_ date: Date, in zone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let offset = zone.secondsFromGMT(for: date)
        func two(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
        let sign = offset < 0 ? "-" : "+"
        return String(format: "%04d", parts.year ?? 0) + "-\(two(parts.month))-\(two(parts.day))T\(two(parts.hour)):\(two(parts.minute)):\(two(parts.second))"
            + "\(sign)\(two(abs(offset) / 3600)):\(two(abs(offset) % 3600 / 60))"
    }
}

/// A preview's question.
struct CronPreviewBody: Decodable {
    var expression: String
    var timeZone: String?
    var count: Int?
    var after: String?

    private enum Key: String, CodingKey { case expression, timeZone, count, after }

    init(from decoder: any Decoder) throws {
        try KeyedDecodingContainer<Key>.refuseUnknownKeys(in: decoder, known: ["expression", "timeZone", "count", "after"])
        let container = try decoder.container(keyedBy: Key.self)
        expression = try container.decode(String.self, forKey: .expression)
        timeZone = try container.decodeNonNull(String.self, forKey: .timeZone)
        count = try container.decodeNonNull(Int.self, forKey: .count)
        after = try container.decodeNonNull(String.self, forKey: .after)
    }
}

/// The schedule read back: its reading and its next fires (each in UTC and as the zone's wall time).
struct CronPreviewResponse: ResponseEncodable {
    struct Fire: Encodable {
        var at: String
        var local: String
    }

    var expression: String
    var timeZone: String
    var description: String
    var next: [Fire]
}
