public import Foundation

/// The values a run's templates can read: the trigger, the outputs of the steps so far, the run id
/// and the time.
public struct TemplateScope: Sendable {
    /// The trigger's parsed body.
    public let triggerBody: JSONValue
    /// The trigger's headers, keyed by lowercased name (see ``init(triggerBody:triggerHeaders:triggerQuery:stepOutputs:runID:now:)``).
    public let triggerHeaders: [String: String]
    /// The trigger's query parameters, keyed by name as sent.
    public let triggerQuery: [String: String]
    /// Outputs of the steps that have run, keyed by step id; the executor adds each step's output
    /// before rendering the next step.
    public var stepOutputs: [String: JSONValue]
    /// The run's id.
    public let runID: String
    /// The time `{{now}}` renders.
    public let now: Date
    /// `now` formatted once, since every step of a run shares it.
    let nowText: String

    /// Creates a scope.
    ///
    /// Header names are lowercased (ASCII) so `{{trigger.headers.X-Signature}}` and
    /// `{{trigger.headers.x-signature}}` read the same header. If two names differ only in case,
    /// their values are joined with `", "` in the order of the names as given (sorted), the way
    /// HTTP combines repeated fields (RFC 9110 §5.3), so the result does not depend on dictionary
    /// order.
    public init(
        triggerBody: JSONValue,
        triggerHeaders: [String: String],
        triggerQuery: [String: String],
        stepOutputs: [String: JSONValue],
        runID: String,
        now: Date
    ) {
        self.triggerBody = triggerBody
        self.triggerHeaders = Self.normalisedHeaders(triggerHeaders)
        self.triggerQuery = triggerQuery
        self.stepOutputs = stepOutputs
        self.runID = runID
        self.now = now
        self.nowText = now.iso8601MillisecondsUTC
    }

    private static func normalisedHeaders(_ headers: [String: String]) -> [String: String] {
        var normalised: [String: String] = [:]
        normalised.reserveCapacity(headers.count)
        var collision = false
        for (name, value) in headers {
            if normalised.updateValue(value, forKey: name.asciiLowercased()) != nil {
                collision = true
            }
        }
        guard collision else { return normalised }
        normalised.removeAll(keepingCapacity: true)
        for name in headers.keys.sorted() {
            let key = name.asciiLowercased()
            if let existing = normalised[key] {
                normalised[key] = existing + ", " + headers[name]!
            } else {
                normalised[key] = headers[name]!
            }
        }
        return normalised
    }
}
