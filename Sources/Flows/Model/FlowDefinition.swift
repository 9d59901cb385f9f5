import Foundation

/// A flow as a client submits it (`POST`/`PUT /api/v1/flows…`, `posthorn flow create -f`), before
/// any rule is checked.
public struct FlowDefinition: Sendable {
    public var name: String
    public var trigger: Trigger
    public var steps: [Step]
    public var enabled: Bool
    public var retry: RetryPolicy
    /// A trigger body to try the flow with: a JSON object of at most ``maximumSampleBodyBytes``.
    public var sampleBody: JSONValue?

    /// The trigger as submitted: `type` is `webhook`, `cron`, `manual`, `email.bounced` or
    /// `email.complained`.
    public struct Trigger: Sendable {
        public var type: String
        /// Cron: the expression.
        public var expression: String?
        /// Cron: an IANA zone, `UTC` when absent.
        public var timeZone: String?
        /// Webhook: an optional shared secret callers send in `X-Webhook-Secret`.
        public var secret: String?
        /// Webhook, on replace: drop the stored secret (an absent ``secret`` keeps it).
        public var removeSecret: Bool

        public init(type: String, expression: String? = nil, timeZone: String? = nil, secret: String? = nil, removeSecret: Bool = false) {
            self.removeSecret = removeSecret
            self.type = type
            self.expression = expression
            self.timeZone = timeZone
            self.secret = secret
        }
    }

    /// A step as submitted.
    public struct Step: Sendable {
        public var id: String
        public var type: String
        public var parameters: JSONValue
        public var onError: String?

        public init(id: String, type: String, parameters: JSONValue, onError: String? = nil) {
            self.id = id
            self.type = type
            self.parameters = parameters
            self.onError = onError
        }
    }

    public init(
        name: String, trigger: Trigger, steps: [Step], enabled: Bool = true, retry: RetryPolicy = RetryPolicy(),
        sampleBody: JSONValue? = nil
    ) {
        self.sampleBody = sampleBody
        self.name = name
        self.trigger = trigger
        self.steps = steps
        self.enabled = enabled
        self.retry = retry
    }
}

/// A definition that passed the rules a stored flow must keep (``FlowDefinition/checked(registry:)``),
/// with what still keeps it from running: its ``problems``, empty when every rule passed.
public struct ValidatedFlowDefinition: Sendable {
    public var name: String
    public var trigger: ValidatedTrigger
    public var steps: [FlowStep]
    public var enabled: Bool
    public var retry: RetryPolicy
    public var sampleBody: JSONValue?
    /// What a draft still lacks (a required parameter, a template that does not parse, a cron
    /// expression that does not): each names its field. An enabled flow has none.
    public var problems: [FlowValidationError]

    /// The trigger after its rules: the webhook secret is still plain here, to be hashed on save.
    public enum ValidatedTrigger: Sendable {
        case webhook(secret: String?, removeSecret: Bool)
        case cron(CronTrigger)
        case manual
        case email(EmailEvent)
    }
}

extension FlowDefinition {
    /// A stored flow as a definition, to check it again: a webhook keeps its stored secret (the
    /// definition carries none).
    public init(_ flow: Flow) {
        let trigger: Trigger = switch flow.trigger {
        case .webhook: Trigger(type: "webhook")
        case .cron(let cron): Trigger(type: "cron", expression: cron.expression, timeZone: cron.timeZone)
        case .manual: Trigger(type: "manual")
        case .email(let event): Trigger(type: event.rawValue)
        }
        self.init(
            name: flow.name, trigger: trigger,
            steps: flow.steps.map { Step(id: $0.id, type: $0.type, parameters: $0.parameters, onError: $0.onError.rawValue) },
            enabled: flow.enabled, retry: flow.retry, sampleBody: flow.sampleBody)
    }

    /// The most steps a flow may have.
    public static let maximumSteps = 100
    /// The largest sample body, as compact JSON: 64 KiB.
    public static let maximumSampleBodyBytes = 65_536

    /// Checks every rule and names the field that breaks one: the name, the trigger (a cron
    /// expression and zone that parse, a secret of 16–256 characters), each step (an id that is a
    /// plain identifier and unique, a registered node type, parameters the node declares with the
    /// right kinds, required ones present, the node's own static rules, templates that parse and
    /// refer only to earlier steps). Throws the first broken rule, problem or not.
    public func validated(registry: NodeRegistry) throws(FlowValidationError) -> ValidatedFlowDefinition {
        let checked = try checked(registry: registry)
        if let first = checked.problems.first { throw first }
        return checked
    }

    /// Checks the rules a stored flow must keep — throwing the first broken one — and collects
    /// the rest as ``ValidatedFlowDefinition/problems``: what a draft (a disabled flow) may still
    /// lack. Kept: the name, the trigger's type and its webhook secret, step ids, node types,
    /// `onError`, parameters being an object, the retry policy. Problems: no steps, parameters
    /// (missing, unknown, of the wrong kind, breaking the node's static rules), templates (that do
    /// not parse or refer to a step not earlier), a cron expression or time zone.
    public func checked(registry: NodeRegistry) throws(FlowValidationError) -> ValidatedFlowDefinition {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed == name, name.count <= 200,
            !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw FlowValidationError(field: "name", message: "Name must be 1 to 200 characters, without control characters or surrounding spaces")
        }
        var problems: [FlowValidationError] = []
        let validatedTrigger = try validateTrigger(problems: &problems)
        guard steps.count <= Self.maximumSteps else {
            throw FlowValidationError(field: "steps", message: "A flow needs 1 to \(Self.maximumSteps) steps")
        }
        if steps.isEmpty {
            problems.append(FlowValidationError(field: "steps", message: "A flow needs 1 to \(Self.maximumSteps) steps"))
        }
        guard (1...10).contains(retry.maxAttempts), retry.initialDelay >= .milliseconds(10),
            retry.maxDelay >= retry.initialDelay, retry.maxDelay <= .seconds(3600)
        else {
            throw FlowValidationError(field: "retry", message: "Retry needs 1–10 attempts and delays from 10 ms up to 1 hour, the maximum not below the initial")
        }
        var seen: [String] = []
        var validatedSteps: [FlowStep] = []
        for (index, step) in steps.enumerated() {
            let field = "steps[\(index)]"
            guard Self.isIdentifier(step.id) else {
                throw FlowValidationError(field: "\(field).id", message: "Step id must start with a letter and hold only letters, digits and _ (at most 64)")
            }
            guard !seen.contains(step.id) else {
                throw FlowValidationError(field: "\(field).id", message: "Step id \(step.id) is used twice")
            }
            guard let node = registry.node(type: step.type) else {
                throw FlowValidationError(field: "\(field).type", message: "Unknown node type \(step.type)")
            }
            let onError: FlowStep.OnError
            if let text = step.onError {
                guard let value = FlowStep.OnError(rawValue: text) else {
                    throw FlowValidationError(field: "\(field).onError", message: "onError must be stop or continue")
                }
                onError = value
            } else {
                onError = node.descriptor.defaultOnError
            }
            guard case .object(let values) = step.parameters else {
                throw FlowValidationError(field: "\(field).parameters", message: "Parameters must be a JSON object")
            }
            problems += Self.parameterProblems(values, of: node.descriptor, field: "\(field).parameters")
            problems += node.problems(in: values, field: "\(field).parameters")
            do {
                let template = try ParameterTemplate(parsing: step.parameters, name: "\(field).parameters")
                for reference in template.references {
                    if let referenced = reference.stepID, !seen.contains(referenced) {
                        problems.append(FlowValidationError(
                            field: "\(field).parameters",
                            message: "{{\(reference)}} refers to step \(referenced), which does not come earlier in the flow"))
                    }
                }
            } catch {
                problems.append(FlowValidationError(field: error.parameterPath, message: "\(error.error)"))
            }
            seen.append(step.id)
            validatedSteps.append(FlowStep(id: step.id, type: step.type, parameters: step.parameters, onError: onError))
        }
        if let sampleBody {
            guard case .object = sampleBody, sampleBody.compactJSON.utf8.count <= Self.maximumSampleBodyBytes else {
                throw FlowValidationError(
                    field: "sampleBody", message: "A sample body is a JSON object of at most \(Self.maximumSampleBodyBytes / 1024) KiB")
            }
        }
        return ValidatedFlowDefinition(
            name: name, trigger: validatedTrigger, steps: validatedSteps, enabled: enabled, retry: retry,
            sampleBody: sampleBody, problems: problems)
    }

    private func validateTrigger(problems: inout [FlowValidationError]) throws(FlowValidationError) -> ValidatedFlowDefinition.ValidatedTrigger {
        switch trigger.type {
        case "webhook":
            guard trigger.expression == nil, trigger.timeZone == nil else {
                throw FlowValidationError(field: "trigger", message: "A webhook trigger takes only an optional secret")
            }
            if let secret = trigger.secret {
                guard (16...256).contains(secret.count), !secret.contains(where: { $0.isWhitespace || $0.isNewline }) else {
                    throw FlowValidationError(field: "trigger.secret", message: "Secret must be 16 to 256 characters without spaces")
                }
            }
            return .webhook(secret: trigger.secret, removeSecret: trigger.removeSecret && trigger.secret == nil)
        case "cron":
            guard trigger.secret == nil else {
                throw FlowValidationError(field: "trigger.secret", message: "Only a webhook trigger takes a secret")
            }
            let expression = trigger.expression ?? ""
            let zoneName = trigger.timeZone ?? "UTC"
            guard expression.count <= 200, zoneName.count <= 100 else {
                throw FlowValidationError(field: "trigger", message: "A cron expression is at most 200 characters, a time zone 100")
            }
            problems += CronSchedule.checked(expression: trigger.expression, timeZone: zoneName, field: "trigger").problems
            return .cron(CronTrigger(expression: expression, timeZone: zoneName))
        case "manual":
            guard trigger.expression == nil, trigger.timeZone == nil, trigger.secret == nil else {
                throw FlowValidationError(field: "trigger", message: "A manual trigger takes no settings")
            }
            return .manual
        case let type:
            guard let event = EmailEvent(rawValue: type) else {
                throw FlowValidationError(
                    field: "trigger.type", message: "Trigger type must be webhook, cron, manual, email.bounced or email.complained")
            }
            guard trigger.expression == nil, trigger.timeZone == nil, trigger.secret == nil else {
                throw FlowValidationError(field: "trigger", message: "An \(type) trigger takes no settings")
            }
            return .email(event)
        }
    }

    /// The parameters against the node's form: no undeclared names (unless the node takes any),
    /// required ones present, each value of its kind or a template. Every problem, in order.
    static func parameterProblems(_ values: [String: JSONValue], of descriptor: NodeDescriptor, field: String) -> [FlowValidationError] {
        var problems: [FlowValidationError] = []
        let declared = Set(descriptor.parameters.map(\.name))
        if !descriptor.acceptsOtherParameters {
            for unknown in values.keys.sorted() where !declared.contains(unknown) {
                problems.append(FlowValidationError(field: "\(field).\(unknown)", message: "Unknown parameter for \(descriptor.type)"))
            }
        }
        for parameter in descriptor.parameters {
            let path = "\(field).\(parameter.name)"
            guard let value = values[parameter.name], value != .null else {
                if parameter.required && parameter.defaultValue == nil {
                    problems.append(FlowValidationError(field: path, message: "\(parameter.label) is required"))
                }
                continue
            }
            if parameter.required, case .string(let text) = value, text.isEmpty {
                problems.append(FlowValidationError(field: path, message: "\(parameter.label) is required"))
                continue
            }
            do {
                try check(value, against: parameter, field: path)
            } catch {
                problems.append(error)
            }
        }
        return problems
    }

    /// One value against its declared kind; a string with a placeholder is accepted for any kind
    /// (its rendered value is checked when the step runs).
    static func check(_ value: JSONValue, against parameter: NodeParameter, field: String) throws(FlowValidationError) {
        if case .string(let text) = value, text.contains("{{") { return }
        switch (parameter.kind, value) {
        case (.string, .string), (.text, .string), (.credential, .string), (.json, _),
            (.number, .integer), (.number, .number), (.boolean, .bool):
            return
        case (.options, .string(let choice)):
            guard let options = parameter.options, options.contains(choice) else {
                throw FlowValidationError(field: field, message: "Must be one of \((parameter.options ?? []).joined(separator: ", "))")
            }
        case (.string, _), (.text, _), (.credential, _), (.options, _):
            throw FlowValidationError(field: field, message: "Must be a string")
        case (.number, _):
            throw FlowValidationError(field: field, message: "Must be a number")
        case (.boolean, _):
            throw FlowValidationError(field: field, message: "Must be true or false")
        }
    }

    static func isIdentifier(_ id: String) -> Bool {
        guard let first = id.unicodeScalars.first, id.unicodeScalars.count <= 64,
            ("a"..."z").contains(first) || ("A"..."Z").contains(first)
        else { return false }
        return id.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_"
        }
    }
}
