public import Flows
public import Foundation
import Hummingbird

/// A flow as a client submits it (`POST` and `PUT /api/v1/flows…`, `posthorn flow create -f`).
///
/// Decoding checks shape only: the JSON types, required keys, and that no key is unknown (a typo
/// such as `onErorr` must not silently fall back to a default). The flow's rules are
/// ``FlowDefinition/validated(registry:)``'s. Every refusal names its field the way validation
/// does, `steps[1].parameters`, so a client can point at the same place whichever check failed.
///
/// `PUT` takes the same body and replaces the whole definition: an absent `enabled` is `true`
/// again and an absent `retry` is the default policy. An absent webhook `secret` keeps the stored
/// one (the service's rule), so a client that never saw the secret can still edit the steps;
/// `"secret": null` removes it.
public struct FlowBody: Decodable, Sendable {
    /// The definition, not yet validated.
    public var definition: FlowDefinition
    /// `PUT`: the version the change was made from (409 `version_conflict` when the flow was
    /// saved since); absent, the change applies to the latest.
    public var version: Int?

    private enum Key: String, CodingKey, CaseIterable {
        case name, trigger, steps, enabled, retry, version, sampleBody
    }

    public init(from decoder: any Decoder) throws {
        try KeyedDecodingContainer<Key>.refuseUnknownKeys(in: decoder, known: Set(Key.allCases.map(\.rawValue)))
        let container = try decoder.container(keyedBy: Key.self)
        let name = try container.decode(String.self, forKey: .name)
        let trigger = try container.decode(TriggerBody.self, forKey: .trigger)
        let steps = try container.decode([StepBody].self, forKey: .steps)
        let enabled = try container.decodeNonNull(Bool.self, forKey: .enabled) ?? true
        let retry = try container.decodeNonNull(RetryBody.self, forKey: .retry)
        definition = FlowDefinition(
            name: name, trigger: trigger.trigger, steps: steps.map(\.step), enabled: enabled,
            retry: retry?.policy ?? RetryPolicy(), sampleBody: try container.decodeNullable(JSONValue.self, forKey: .sampleBody) ?? nil)
        version = try container.decodeNonNull(Int.self, forKey: .version)
    }

    /// Decodes a flow document: malformed JSON or anything but an object is 400; a wrong type, a
    /// missing or an unknown key is 422 naming the field.
    public static func definition(from data: Data) throws(APIError) -> FlowDefinition {
        try JSONBody.decode(FlowBody.self, from: data).definition
    }

    /// Reads and decodes a request's body (capped at the context's upload size).
    static func body(from request: Request, context: PosthornRequestContext) async throws -> FlowBody {
        try JSONBody.decode(FlowBody.self, from: try await JSONBody.collect(request, context: context))
    }
}

/// `"trigger": {"type", "expression", "timeZone", "secret"}`.
struct TriggerBody: Decodable {
    var trigger: FlowDefinition.Trigger

    private enum Key: String, CodingKey, CaseIterable {
        case type, expression, timeZone, secret
    }

    init(from decoder: any Decoder) throws {
        try KeyedDecodingContainer<Key>.refuseUnknownKeys(in: decoder, known: Set(Key.allCases.map(\.rawValue)))
        let container = try decoder.container(keyedBy: Key.self)
        // `"secret": null` removes a stored secret; an absent key keeps it.
        let removeSecret = try container.contains(.secret) && container.decodeNil(forKey: .secret)
        trigger = FlowDefinition.Trigger(
            type: try container.decode(String.self, forKey: .type),
            expression: try container.decodeNonNull(String.self, forKey: .expression),
            timeZone: try container.decodeNonNull(String.self, forKey: .timeZone),
            secret: removeSecret ? nil : try container.decodeNonNull(String.self, forKey: .secret),
            removeSecret: removeSecret)
    }
}

/// One of `"steps": [{"id", "type", "parameters", "onError"}]`; absent parameters are `{}`.
struct StepBody: Decodable {
    var step: FlowDefinition.Step

    private enum Key: String, CodingKey, CaseIterable {
        case id, type, parameters, onError
    }

    init(from decoder: any Decoder) throws {
        try KeyedDecodingContainer<Key>.refuseUnknownKeys(in: decoder, known: Set(Key.allCases.map(\.rawValue)))
        let container = try decoder.container(keyedBy: Key.self)
        step = FlowDefinition.Step(
            id: try container.decode(String.self, forKey: .id),
            type: try container.decode(String.self, forKey: .type),
            parameters: try container.decodeNonNull(JSONValue.self, forKey: .parameters) ?? .object([:]),
            onError: try container.decodeNonNull(String.self, forKey: .onError))
    }
}

/// `"retry": {"maxAttempts", "initialDelayMs", "maxDelayMs"}`; each absent value is the default's.
struct RetryBody: Decodable {
    var policy: RetryPolicy

    private enum Key: String, CodingKey, CaseIterable {
        case maxAttempts, initialDelayMs, maxDelayMs
    }

    init(from decoder: any Decoder) throws {
        try KeyedDecodingContainer<Key>.refuseUnknownKeys(in: decoder, known: Set(Key.allCases.map(\.rawValue)))
        let container = try decoder.container(keyedBy: Key.self)
        let defaults = RetryPolicy()
        policy = RetryPolicy(
            maxAttempts: try container.decodeNonNull(Int.self, forKey: .maxAttempts) ?? defaults.maxAttempts,
            initialDelay: try container.decodeNonNull(Int.self, forKey: .initialDelayMs).map { .milliseconds($0) }
                ?? defaults.initialDelay,
            maxDelay: try container.decodeNonNull(Int.self, forKey: .maxDelayMs).map { .milliseconds($0) }
                ?? defaults.maxDelay)
    }
}

// MARK: - Responses

/// A flow as the API shows it: the webhook's id and relative URL and whether it has a secret,
/// never the secret or its hash.
struct FlowResponse: ResponseEncodable {
    var id: String
    var name: String
    var enabled: Bool
    var version: Int
    var trigger: TriggerResponse
    var steps: [StepResponse]
    var retry: RetryResponse
    /// What keeps a draft from running; empty for a flow that can run.
    var problems: [APIError.Problem]
    /// The list's newest run (`.some(nil)`: none yet); absent outside the list.
    var lastRun: RunBrief??
    var sampleBody: JSONValue?
    var createdAt: String
    var updatedAt: String

    init(_ flow: Flow, problems: [FlowValidationError] = [], lastRun: RunBrief?? = nil) {
        id = flow.id
        name = flow.name
        enabled = flow.enabled
        version = flow.version
        trigger = TriggerResponse(flow.trigger)
        steps = flow.steps.map(StepResponse.init)
        retry = RetryResponse(flow.retry)
        self.problems = problems.map { APIError.Problem(field: $0.field, message: $0.message) }
        self.lastRun = lastRun
        sampleBody = flow.sampleBody
        createdAt = Timestamp.string(flow.createdAt)
        updatedAt = Timestamp.string(flow.updatedAt)
    }

    private enum CodingKeys: String, CodingKey {
        case id, name, enabled, version, trigger, steps, retry, problems, lastRun, sampleBody, createdAt, updatedAt
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(enabled, forKey: .enabled)
        try container.encode(version, forKey: .version)
        try container.encode(trigger, forKey: .trigger)
        try container.encode(steps, forKey: .steps)
        try container.encode(retry, forKey: .retry)
        try container.encode(problems, forKey: .problems)
        if let lastRun { try container.encode(lastRun.map(LastRunResponse.init), forKey: .lastRun) }
        try container.encode(sampleBody, forKey: .sampleBody)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}

/// A flow's newest run, as the flows list shows it.
struct LastRunResponse: Encodable {
    var id: String
    var status: String
    var createdAt: String
    @ExplicitNull var finishedAt: String?

    init(_ run: RunBrief) {
        id = run.id
        status = run.status.rawValue
        createdAt = Timestamp.string(run.createdAt)
        finishedAt = run.finishedAt.map(Timestamp.string)
    }
}

/// The trigger with the keys of its type only: `webhookId`, `url` and `hasSecret` for a webhook,
/// `expression` and `timeZone` for a schedule, nothing more for a manual trigger.
struct TriggerResponse: Encodable {
    var type: String
    var webhookId: String?
    /// Relative (`/hooks/<id>`): the server does not know the address clients reach it by.
    var url: String?
    var hasSecret: Bool?
    var expression: String?
    var timeZone: String?

    init(_ trigger: FlowTrigger) {
        type = trigger.kind
        switch trigger {
        case .webhook(let webhook):
            webhookId = webhook.id
            url = "/hooks/\(webhook.id)"
            hasSecret = webhook.secretHash != nil
        case .cron(let cron):
            expression = cron.expression
            timeZone = cron.timeZone
        case .manual, .email:
            break
        }
    }
}

struct StepResponse: Encodable {
    var id: String
    var type: String
    var parameters: JSONValue
    var onError: String

    init(_ step: FlowStep) {
        id = step.id
        type = step.type
        parameters = step.parameters
        onError = step.onError.rawValue
    }
}

struct RetryResponse: Encodable {
    var maxAttempts: Int
    var initialDelayMs: Int64
    var maxDelayMs: Int64

    init(_ policy: RetryPolicy) {
        maxAttempts = policy.maxAttempts
        initialDelayMs = policy.initialDelay.wholeMilliseconds
        maxDelayMs = policy.maxDelay.wholeMilliseconds
    }
}

struct FlowListResponse: ResponseEncodable {
    var flows: [FlowResponse]
}

extension JSONRendering {
    /// A flow as `GET /api/v1/flows/{id}` shows it.
    public static func flow(_ flow: Flow) -> String {
        prettyJSON(FlowResponse(flow))
    }

    /// `{"flows": […]}`, as `GET /api/v1/flows` shows them.
    public static func flows(_ flows: [Flow]) -> String {
        prettyJSON(FlowListResponse(flows: flows.map { FlowResponse($0) }))
    }

    /// The CLI's form: keys sorted, indented, slashes unescaped (the same shapes as the API).
    static func prettyJSON(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        return String(decoding: (try? encoder.encode(value)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
