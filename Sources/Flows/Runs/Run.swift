public import Foundation

/// One execution of a flow: persisted before the trigger is acknowledged, and always ending in a
/// visible terminal state.
public struct Run: Sendable, Hashable, Identifiable {
    public var id: String
    public var workspaceID: String
    public var flowID: String
    public var status: RunStatus
    /// What started it: the webhook request, the schedule, or a person.
    public var trigger: TriggerPayload
    /// One record per step reached so far, in order.
    public var steps: [StepRecord]
    /// Why the run failed or is ambiguous.
    public var error: RunError?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// A queued run is not claimed before this (backoff between attempts).
    public var notBefore: Date
    /// The worker holding it while running, and until when (crash recovery takes over after).
    public var leaseOwner: String?
    public var leaseExpiresAt: Date?

    /// A new queued run.
    public init(id: String, workspaceID: String, flowID: String, trigger: TriggerPayload, createdAt: Date) {
        self.id = id
        self.workspaceID = workspaceID
        self.flowID = flowID
        self.status = .queued
        self.trigger = trigger
        self.steps = []
        self.error = nil
        self.createdAt = createdAt
        self.notBefore = createdAt
    }

    /// Whether the run has ended.
    public var isFinished: Bool { status.isTerminal }
}

/// Where a run is in its life.
public enum RunStatus: String, Sendable, Hashable, CaseIterable, Codable {
    case queued
    case running
    case succeeded
    case failed
    /// A step reported that its effect may or may not have happened (a connection dropped after an
    /// email's final dot), or a crash interrupted a step that is not safe to repeat.
    case ambiguous

    public var isTerminal: Bool {
        switch self {
        case .queued, .running: false
        case .succeeded, .failed, .ambiguous: true
        }
    }
}

/// The trigger's data, as templates see it (`{{trigger.body…}}`, `{{trigger.headers…}}`,
/// `{{trigger.query…}}`).
public struct TriggerPayload: Sendable, Hashable, Codable {
    /// `webhook`, `cron` or `manual`.
    public var kind: String
    public var body: JSONValue
    /// Lower-cased names. Never includes `Authorization`, `Cookie` or the webhook secret.
    public var headers: [String: String]
    public var query: [String: String]

    public init(kind: String, body: JSONValue = .object([:]), headers: [String: String] = [:], query: [String: String] = [:]) {
        self.kind = kind
        self.body = body
        self.headers = headers
        self.query = query
    }
}

/// What happened at one step.
public struct StepRecord: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable {
        /// Under way (written before a step that is not idempotent starts, for crash recovery).
        case running
        case succeeded
        /// Failed; with `onError: continue` the run went on and ``output`` holds the error.
        case failed
        /// Failed transiently; the run waits (queued) for the next attempt.
        case retrying
        case ambiguous
    }

    public var stepID: String
    public var type: String
    public var status: Status
    /// The parameters as resolved for the last attempt, secret parameters replaced by `<redacted>`.
    public var parameters: JSONValue?
    public var output: JSONValue?
    public var error: RunError?
    public var attempts: Int
    public var startedAt: Date
    public var finishedAt: Date?

    public init(
        stepID: String, type: String, status: Status, parameters: JSONValue?, output: JSONValue?, error: RunError?,
        attempts: Int, startedAt: Date, finishedAt: Date?
    ) {
        self.stepID = stepID
        self.type = type
        self.status = status
        self.parameters = parameters
        self.output = output
        self.error = error
        self.attempts = attempts
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }
}

/// A failure as the run history shows it.
public struct RunError: Sendable, Hashable, Codable {
    public var code: String
    public var message: String
    public var stepID: String?
    public var details: JSONValue?

    public init(code: String, message: String, stepID: String? = nil, details: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.stepID = stepID
        self.details = details
    }
}
