public import Foundation

/// One execution of a flow: persisted before the trigger is acknowledged, and always ending in a
/// visible terminal state.
public struct Run: Sendable, Hashable, Identifiable {
    public var id: String
    public var workspaceID: String
    public var flowID: String
    /// What started it: the webhook request, the schedule, or a person.
    public var trigger: TriggerPayload
    /// One record per step reached so far, in order.
    public var steps: [StepRecord]
    public var createdAt: Date
    /// Status, times, lease and final error: changed only through ``handle(_:now:)``.
    public private(set) var lifecycle: RunLifecycle

    /// A new queued run.
    public init(id: String, workspaceID: String, flowID: String, trigger: TriggerPayload, createdAt: Date) {
        self.init(
            id: id, workspaceID: workspaceID, flowID: flowID, trigger: trigger, steps: [], createdAt: createdAt,
            lifecycle: RunLifecycle(createdAt: createdAt))
    }

    /// A run as storage kept it.
    public init(
        id: String, workspaceID: String, flowID: String, trigger: TriggerPayload, steps: [StepRecord], createdAt: Date,
        lifecycle: RunLifecycle
    ) {
        self.id = id
        self.workspaceID = workspaceID
        self.flowID = flowID
        self.trigger = trigger
        self.steps = steps
        self.createdAt = createdAt
        self.lifecycle = lifecycle
    }

    /// Feeds the run's lifecycle machine (see ``RunLifecycle``).
    @discardableResult
    public mutating func handle(_ event: RunLifecycle.Event, now: Date) -> RunLifecycle.Action {
        lifecycle.handle(event, now: now)
    }

    /// Drops the details of the run's error (what remains when the history cannot be stored).
    mutating func clearErrorDetails() { lifecycle.clearErrorDetails() }

    public var status: RunStatus { lifecycle.status }
    /// Why the run failed, is ambiguous, or was cancelled.
    public var error: RunError? { lifecycle.error }
    public var startedAt: Date? { lifecycle.startedAt }
    public var finishedAt: Date? { lifecycle.finishedAt }
    /// A queued run is not claimed before this (backoff between attempts); a waiting run resumes
    /// then.
    public var notBefore: Date { lifecycle.notBefore }
    /// Until when a `waiting` run waits; `nil` otherwise.
    public var waitingUntil: Date? { status == .waiting ? notBefore : nil }
    /// Why a `waiting` run waits (its waiting step's words: the limit, or the provider's back-off).
    public var waitingReason: String? {
        status == .waiting ? steps.last { $0.status == .waiting }?.error?.message : nil
    }
    /// The worker holding it while running, and until when (crash recovery takes over after).
    public var leaseOwner: String? { lifecycle.leaseOwner }
    public var leaseExpiresAt: Date? { lifecycle.leaseExpiresAt }

    /// Whether the run has ended.
    public var isFinished: Bool { status.isTerminal }
}

/// Where a run is in its life.
public enum RunStatus: String, Sendable, Hashable, CaseIterable, Codable {
    case queued
    /// Held by its credential's rate limit (or the provider's back-off): it holds no worker and
    /// resumes at its reserved time (``Run/notBefore``); the waiting step's record says why.
    case waiting
    case running
    case succeeded
    case failed
    /// A step reported that its effect may or may not have happened (a connection dropped after an
    /// email's final dot), or a crash interrupted a step that is not safe to repeat.
    case ambiguous
    /// A person cancelled it: before it started, while it waited for a retry, or at the boundary
    /// after the step that was running (whose outcome, an email sent, stays recorded).
    case cancelled

    /// Queued or waiting: a worker may claim it once it is due.
    public var isPending: Bool { self == .queued || self == .waiting }

    public var isTerminal: Bool {
        switch self {
        case .queued, .waiting, .running: false
        case .succeeded, .failed, .ambiguous, .cancelled: true
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
        /// Not started: a rate limit holds it; the run waits (`waiting`) and this attempt runs at
        /// its reserved time. ``error`` says which limit, and until when.
        case waiting
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
    /// Whether running the step again is harmless, decided with the real parameters when it
    /// started: crash recovery re-runs a repeatable step and ends the run ambiguous otherwise.
    /// (Records written before this existed were checkpointed only when not repeatable.)
    public var isRepeatable: Bool
    public var startedAt: Date
    public var finishedAt: Date?
    /// What became of an email the step sent, per recipient, as bounce reports told (latest per
    /// address); empty until one arrives.
    public var delivery: [Delivery] = []

    /// One recipient's delivery, from a bounce report or delivery notification.
    public struct Delivery: Sendable, Hashable, Codable {
        /// `bounced`, `delayed`, `delivered` or `complained`.
        public var status: String
        public var recipient: String
        /// The enhanced status code (`5.1.1`).
        public var code: String?
        public var diagnostic: String?
        public var at: Date

        /// `stored` with `recorded` over it: one entry per address (compared without case), the
        /// recorded one winning, ordered by time then address.
        public static func merged(_ stored: [Delivery], with recorded: [Delivery]) -> [Delivery] {
            var byKey: [String: Delivery] = [:]
            for delivery in stored + recorded { byKey[delivery.recipient.lowercased()] = delivery }
            return byKey.values.sorted { ($0.at, $0.recipient.lowercased()) < ($1.at, $1.recipient.lowercased()) }
        }

        public init(status: String, recipient: String, code: String?, diagnostic: String?, at: Date) {
            self.status = status
            self.recipient = recipient
            self.code = code
            self.diagnostic = diagnostic
            self.at = at
        }
    }

    public init(
        stepID: String, type: String, status: Status, parameters: JSONValue?, output: JSONValue?, error: RunError?,
        attempts: Int, isRepeatable: Bool = false, startedAt: Date, finishedAt: Date?
    ) {
        self.isRepeatable = isRepeatable
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

    private enum CodingKeys: String, CodingKey {
        case stepID, type, status, parameters, output, error, attempts, startedAt, finishedAt, delivery
        case isRepeatable = "repeatable"
    }

    /// Encodes a record; `repeatable` only when it is `true`, so a finished history stays as compact
    /// as before it existed.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(stepID, forKey: .stepID)
        try container.encode(type, forKey: .type)
        try container.encode(status, forKey: .status)
        try container.encodeIfPresent(parameters, forKey: .parameters)
        try container.encodeIfPresent(output, forKey: .output)
        try container.encodeIfPresent(error, forKey: .error)
        try container.encode(attempts, forKey: .attempts)
        if isRepeatable { try container.encode(isRepeatable, forKey: .isRepeatable) }
        try container.encode(startedAt, forKey: .startedAt)
        try container.encodeIfPresent(finishedAt, forKey: .finishedAt)
        if !delivery.isEmpty { try container.encode(delivery, forKey: .delivery) }
    }

    /// Decodes a record; `repeatable` is absent from records written before it existed, and when
    /// it is `false`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        stepID = try container.decode(String.self, forKey: .stepID)
        type = try container.decode(String.self, forKey: .type)
        status = try container.decode(Status.self, forKey: .status)
        parameters = try container.decodeIfPresent(JSONValue.self, forKey: .parameters)
        output = try container.decodeIfPresent(JSONValue.self, forKey: .output)
        error = try container.decodeIfPresent(RunError.self, forKey: .error)
        attempts = try container.decode(Int.self, forKey: .attempts)
        isRepeatable = try container.decodeIfPresent(Bool.self, forKey: .isRepeatable) ?? false
        startedAt = try container.decode(Date.self, forKey: .startedAt)
        finishedAt = try container.decodeIfPresent(Date.self, forKey: .finishedAt)
        delivery = try container.decodeIfPresent([Delivery].self, forKey: .delivery) ?? []
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
