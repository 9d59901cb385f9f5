public import Foundation

/// How fast a sender may go: messages (or recipients) per second, minute, hour and day, each
/// optional. A provider counts one way or the other (SES and Google Workspace count recipients),
/// so the unit is the sender's choice.
public struct RateLimits: Sendable, Hashable, Codable {
    /// What one send costs against the limits.
    public enum Unit: String, Sendable, Hashable, Codable, CaseIterable {
        case messages, recipients
    }

    public var perSecond: Int?
    public var perMinute: Int?
    public var perHour: Int?
    public var perDay: Int?
    public var counts: Unit

    /// The largest limit accepted.
    public static let maximum = 10_000_000

    public init(perSecond: Int? = nil, perMinute: Int? = nil, perHour: Int? = nil, perDay: Int? = nil, counts: Unit = .messages) {
        self.perSecond = perSecond
        self.perMinute = perMinute
        self.perHour = perHour
        self.perDay = perDay
        self.counts = counts
    }

    /// A broken rule: the field and the words.
    public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        public var field: String
        public var message: String
        public var description: String { "limits.\(field): \(message)" }
    }

    /// Each limit given is a whole number from 1 to ``maximum``.
    public func validated() throws(Problem) -> RateLimits {
        for (field, value) in [("perSecond", perSecond), ("perMinute", perMinute), ("perHour", perHour), ("perDay", perDay)] {
            if let value, !(1...Self.maximum).contains(value) {
                throw Problem(field: field, message: "Must be a whole number from 1 to \(Self.maximum)")
            }
        }
        return self
    }

    /// Limits as a credential or a workspace stores them: each a whole number from 1 to 10,000,000
    /// (``WorkspaceError`` naming `limits.perMinute` …); none set is no limits (`nil`).
    public static func checked(_ limits: RateLimits?) throws(WorkspaceError) -> RateLimits? {
        guard let limits, !limits.isEmpty else { return nil }
        do {
            return try limits.validated()
        } catch {
            throw WorkspaceError.invalid("limits.\(error.field)", error.message)
        }
    }

    /// The windows these limits make: (name, length, limit), shortest first.
    var windows: [(name: String, length: TimeInterval, limit: Int)] {
        [("perSecond", 1, perSecond), ("perMinute", 60, perMinute), ("perHour", 3_600, perHour), ("perDay", 86_400, perDay)]
            .compactMap { name, length, limit in limit.map { (name, length, $0) } }
    }

    /// Every window at the largest limit: what the ledger counts spending in.
    static let everyWindow = RateLimits(perSecond: maximum, perMinute: maximum, perHour: maximum, perDay: maximum)

    /// Whether any limit is set.
    public var isEmpty: Bool { windows.isEmpty }
}
