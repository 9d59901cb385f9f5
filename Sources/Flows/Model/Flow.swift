public import Foundation

/// A flow: a trigger and the steps it runs, in order, passing data forward through templates.
public struct Flow: Sendable, Hashable, Identifiable {
    public var id: String
    public var workspaceID: String
    public var name: String
    public var trigger: FlowTrigger
    public var steps: [FlowStep]
    /// A disabled flow keeps its definition but its webhook answers 404 and its schedule is idle.
    public var enabled: Bool
    public var retry: RetryPolicy
    public var createdAt: Date
    public var updatedAt: Date
    /// 1 when created, one more with each save: a save made from an older version is refused
    /// (``FlowStoreError/versionConflict``), so two editors cannot overwrite each other unseen.
    public var version: Int
    /// A trigger body to try the flow with (the studio's test body, its variables' suggestions and
    /// previews), or `nil`. Never used by a real run.
    public var sampleBody: JSONValue?

    /// Creates a flow value; ``FlowDefinition/checked(registry:)`` is what checks one.
    public init(
        id: String, workspaceID: String, name: String, trigger: FlowTrigger, steps: [FlowStep], enabled: Bool,
        retry: RetryPolicy, createdAt: Date, updatedAt: Date, version: Int = 1, sampleBody: JSONValue? = nil
    ) {
        self.version = version
        self.sampleBody = sampleBody
        self.id = id
        self.workspaceID = workspaceID
        self.name = name
        self.trigger = trigger
        self.steps = steps
        self.enabled = enabled
        self.retry = retry
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The webhook id, when the flow starts from a webhook.
    public var webhookID: String? {
        if case .webhook(let webhook) = trigger { return webhook.id }
        return nil
    }
}

/// What starts a flow.
public enum FlowTrigger: Sendable, Hashable {
    /// `POST /hooks/{id}` with a JSON or form body.
    case webhook(WebhookTrigger)
    /// A five-field cron schedule in a time zone.
    case cron(CronTrigger)
    /// Only `POST /api/v1/flows/{id}/runs` (or `posthorn flow run`).
    case manual
    /// A delivery event of the workspace's own mail: a bounce or a complaint recorded on a step.
    case email(EmailEvent)

    /// `webhook`, `cron`, `manual`, `email.bounced` or `email.complained`.
    public var kind: String {
        switch self {
        case .webhook: "webhook"
        case .cron: "cron"
        case .manual: "manual"
        case .email(let event): event.rawValue
        }
    }
}

/// What happened to a message the workspace sent, as a trigger: the run gets the original run,
/// step, recipient and reason in `trigger.body`. Mail sent by a run these start never starts
/// another (a bouncing bounce notification cannot loop).
public enum EmailEvent: String, Sendable, Hashable, CaseIterable {
    /// A recipient's server gave up on the message (a delivery status notification or a
    /// provider's bounce event).
    case bounced = "email.bounced"
    /// A recipient marked the message as spam (a provider's complaint event or an ARF report).
    case complained = "email.complained"

    /// Whether a run started by `kind` is one of these (its mail starts no further event runs).
    public static func isEventKind(_ kind: String) -> Bool { EmailEvent(rawValue: kind) != nil }
}

/// A webhook trigger: the server-assigned, unguessable id and an optional shared secret.
public struct WebhookTrigger: Sendable, Hashable {
    /// 26 random base32 characters (130 bits): the URL is the capability.
    public var id: String
    /// SHA-256 (hex) of the shared secret callers must send in `X-Webhook-Secret`; never the secret.
    public var secretHash: String?

    public init(id: String, secretHash: String?) {
        self.id = id
        self.secretHash = secretHash
    }
}

/// A schedule trigger.
public struct CronTrigger: Sendable, Hashable {
    /// Five fields (`*/5 9-17 * * MON-FRI`) or `@daily`-style macros.
    public var expression: String
    /// An IANA zone name (`Europe/Berlin`); `UTC` by default.
    public var timeZone: String

    public init(expression: String, timeZone: String) {
        self.expression = expression
        self.timeZone = timeZone
    }
}

/// One step: a node type, its parameters (strings may hold `{{…}}` templates) and what a failure does.
public struct FlowStep: Sendable, Hashable {
    /// Unique within the flow; later steps refer to its output as `{{steps.<id>.output…}}`.
    public var id: String
    /// A registered node type, e.g. `debug.echo`.
    public var type: String
    /// A JSON object.
    public var parameters: JSONValue
    public var onError: OnError

    public init(id: String, type: String, parameters: JSONValue, onError: OnError = .stop) {
        self.id = id
        self.type = type
        self.parameters = parameters
        self.onError = onError
    }

    /// `stop` fails the run; `continue` records the error as the step's output and goes on.
    public enum OnError: String, Sendable, Hashable, CaseIterable {
        case stop
        case `continue`
    }
}

/// How a step that failed transiently is retried: exponential backoff with jitter, up to
/// ``maxAttempts`` attempts in all.
public struct RetryPolicy: Sendable, Hashable {
    public var maxAttempts: Int
    public var initialDelay: Duration
    public var maxDelay: Duration

    /// Three attempts, 1 s then 2 s (each jittered), capped at 60 s.
    public init(maxAttempts: Int = 3, initialDelay: Duration = .seconds(1), maxDelay: Duration = .seconds(60)) {
        self.maxAttempts = maxAttempts
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
    }

    /// The delay before attempt `attempt + 1` after `attempt` failed: `initial × 2^(attempt−1)`
    /// capped at the maximum, scaled by `jitter` in [0.5, 1] ("equal jitter", so retries of many
    /// runs spread out but never come sooner than half the nominal delay).
    public func delay(afterAttempt attempt: Int, jitter: Double) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let nominal = min(initialDelay * (1 << exponent), maxDelay)
        return nominal * min(max(jitter, 0.5), 1.0)
    }
}
