import Flows
import Foundation
import SQLKit

/// How a ``Flows/Flow`` maps onto a `flows` row.
///
/// The trigger is spread over columns (`trigger_kind` plus the webhook's or the schedule's
/// fields), so the webhook lookup is an indexed column; the steps and the retry policy are the
/// JSON document in `definition` (``FlowDefinitionDocument``). Reading is strict about the trigger:
/// an unknown kind or a missing field of a known one is ``StorageError/invalidValue(table:column:rowID:)``.
struct FlowColumns {
    /// Every column, for `SELECT`; decoding goes by name.
    static let all: SQLQueryString = """
        id, workspace_id, name, trigger_kind, webhook_id, webhook_secret_hash, cron_expression, cron_time_zone, \
        definition, enabled, created_at, updated_at, version
        """

    /// Every column but `id` and `workspace_id` (which identify the row), each with its bound value.
    let contents: [(column: String, value: any Encodable & Sendable)]

    /// The column values of `flow`; throws only if the definition cannot be encoded.
    init(_ flow: Flow) throws {
        var webhookID: String?
        var webhookSecretHash: String?
        var cronExpression: String?
        var cronTimeZone: String?
        switch flow.trigger {
        case .webhook(let webhook):
            webhookID = webhook.id
            webhookSecretHash = webhook.secretHash
        case .cron(let cron):
            cronExpression = cron.expression
            cronTimeZone = cron.timeZone
        case .manual, .email:
            break
        }
        contents = [
            ("name", flow.name),
            ("trigger_kind", flow.trigger.kind),
            ("webhook_id", webhookID),
            ("webhook_secret_hash", webhookSecretHash),
            ("cron_expression", cronExpression),
            ("cron_time_zone", cronTimeZone),
            ("definition", try StoredJSON.text(FlowDefinitionDocument(steps: flow.steps, retry: flow.retry, sampleBody: flow.sampleBody))),
            ("enabled", flow.enabled),
            ("created_at", flow.createdAt.millisecondsSince1970),
            ("updated_at", flow.updatedAt.millisecondsSince1970),
            ("version", Int64(flow.version)),
        ]
    }

    // MARK: - Statement fragments

    /// `"name", "trigger_kind", …` in ``contents`` order, for an `INSERT` column list.
    var columnList: SQLQueryString {
        contents.map { "\(ident: $0.column)" as SQLQueryString }.joined(separator: ", ")
    }

    /// The bound values in ``contents`` order, for an `INSERT` value list.
    var valueList: SQLQueryString {
        "\(binds: contents.map(\.value))"
    }

    /// `"name" = ?, …`, for an `UPDATE`.
    var assignments: SQLQueryString {
        contents.map { "\(ident: $0.column) = \(bind: $0.value)" as SQLQueryString }.joined(separator: ", ")
    }

    // MARK: - Reading

    /// The flow a `SELECT` of ``all`` returned.
    static func flow(from row: any SQLRow) throws(StorageError) -> Flow {
        let stored = StoredRow(row, table: "flows")
        let trigger: FlowTrigger
        switch try stored.value("trigger_kind", as: String.self) {
        case "webhook":
            guard let id = try stored.optional("webhook_id", as: String.self) else { throw stored.invalid("webhook_id") }
            trigger = .webhook(WebhookTrigger(id: id, secretHash: try stored.optional("webhook_secret_hash")))
        case "cron":
            guard let expression = try stored.optional("cron_expression", as: String.self) else {
                throw stored.invalid("cron_expression")
            }
            guard let timeZone = try stored.optional("cron_time_zone", as: String.self) else {
                throw stored.invalid("cron_time_zone")
            }
            trigger = .cron(CronTrigger(expression: expression, timeZone: timeZone))
        case "manual":
            trigger = .manual
        case let kind:
            guard let event = EmailEvent(rawValue: kind) else { throw stored.invalid("trigger_kind") }
            trigger = .email(event)
        }
        let definition = try stored.json("definition", as: FlowDefinitionDocument.self)
        return Flow(
            id: try stored.value("id"),
            workspaceID: try stored.value("workspace_id"),
            name: try stored.value("name"),
            trigger: trigger,
            steps: definition.steps,
            enabled: try stored.value("enabled"),
            retry: definition.retry,
            createdAt: try stored.date("created_at"),
            updatedAt: try stored.date("updated_at"),
            version: Int(try stored.value("version", as: Int64.self)),
            sampleBody: definition.sampleBody
        )
    }
}

// MARK: - Definition document

/// The `definition` column: a flow's steps, retry policy and sample body.
///
/// `{"retry": {"initialDelayMs", "maxAttempts", "maxDelayMs"}, "steps": [{"id", "onError",
/// "parameters", "type"}], "sampleBody": {…}}` (`sampleBody` only when there is one). Delays are whole milliseconds (finer precision is dropped). Reading
/// fills what an older writer left out with the engine's defaults: no `retry` is the default
/// policy, no `onError` is `stop`, no `parameters` is an empty object. An unknown `onError` is an
/// error, not a guess.
struct FlowDefinitionDocument: Codable {
    var steps: [FlowStep]
    var retry: RetryPolicy
    var sampleBody: JSONValue?

    init(steps: [FlowStep], retry: RetryPolicy, sampleBody: JSONValue?) {
        self.steps = steps
        self.retry = retry
        self.sampleBody = sampleBody
    }

    private enum CodingKeys: String, CodingKey {
        case steps, retry, sampleBody
    }

    private enum StepKeys: String, CodingKey {
        case id, type, parameters, onError
    }

    private enum RetryKeys: String, CodingKey {
        case maxAttempts, initialDelayMs, maxDelayMs
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        var stepsContainer = try container.nestedUnkeyedContainer(forKey: .steps)
        var steps: [FlowStep] = []
        while !stepsContainer.isAtEnd {
            let step = try stepsContainer.nestedContainer(keyedBy: StepKeys.self)
            let onErrorText = try step.decodeIfPresent(String.self, forKey: .onError) ?? FlowStep.OnError.stop.rawValue
            guard let onError = FlowStep.OnError(rawValue: onErrorText) else {
                throw DecodingError.dataCorruptedError(forKey: .onError, in: step, debugDescription: "unknown onError")
            }
            steps.append(FlowStep(
                id: try step.decode(String.self, forKey: .id),
                type: try step.decode(String.self, forKey: .type),
                parameters: try step.decodeIfPresent(JSONValue.self, forKey: .parameters) ?? .object([:]),
                onError: onError
            ))
        }
        self.steps = steps

        let defaults = RetryPolicy()
        if container.contains(.retry) {
            let retry = try container.nestedContainer(keyedBy: RetryKeys.self, forKey: .retry)
            let initialDelay = try retry.decodeIfPresent(Int64.self, forKey: .initialDelayMs).map { Duration.milliseconds($0) }
            let maxDelay = try retry.decodeIfPresent(Int64.self, forKey: .maxDelayMs).map { Duration.milliseconds($0) }
            self.retry = RetryPolicy(
                maxAttempts: try retry.decodeIfPresent(Int.self, forKey: .maxAttempts) ?? defaults.maxAttempts,
                initialDelay: initialDelay ?? defaults.initialDelay,
                maxDelay: maxDelay ?? defaults.maxDelay
            )
        } else {
            self.retry = defaults
        }
        sampleBody = try container.decodeIfPresent(JSONValue.self, forKey: .sampleBody)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        var stepsContainer = container.nestedUnkeyedContainer(forKey: .steps)
        for step in steps {
            var stepContainer = stepsContainer.nestedContainer(keyedBy: StepKeys.self)
            try stepContainer.encode(step.id, forKey: .id)
            try stepContainer.encode(step.type, forKey: .type)
            try stepContainer.encode(step.parameters, forKey: .parameters)
            try stepContainer.encode(step.onError.rawValue, forKey: .onError)
        }
        var retryContainer = container.nestedContainer(keyedBy: RetryKeys.self, forKey: .retry)
        try retryContainer.encode(retry.maxAttempts, forKey: .maxAttempts)
        try retryContainer.encode(retry.initialDelay.wholeMilliseconds, forKey: .initialDelayMs)
        try retryContainer.encode(retry.maxDelay.wholeMilliseconds, forKey: .maxDelayMs)
        try container.encodeIfPresent(sampleBody, forKey: .sampleBody)
    }
}

