public import Foundation
public import Logging

/// A step type: what a UI needs to draw its form, and what it does when a run reaches it.
///
/// Nodes are plugins: the engine knows nothing about email; the SMTP node registers itself like
/// any other. A node that needs a port (the credential vault, the SMTP pool) receives it when it is
/// constructed and scopes every use to ``NodeContext/workspaceID``.
public protocol Node: Sendable {
    /// The type name, form and behaviour facts.
    var descriptor: NodeDescriptor { get }
    /// Runs the step with its parameters already resolved. Throw ``NodeError``: its disposition
    /// decides between retrying (transient), failing (permanent) and never retrying (ambiguous).
    func execute(_ context: NodeContext) async throws(NodeError) -> JSONValue

    /// Whether running this step twice with these (rendered) parameters is harmless: decides the
    /// checkpoint before the step and whether a resumed run may run it again. Defaults to
    /// ``NodeDescriptor/isIdempotent``; an HTTP node answers per method.
    func isIdempotent(_ parameters: JSONValue) -> Bool

    /// The parameters and output as the run history keeps them. The default replaces parameters
    /// marked ``NodeParameter/isSecret``; a node whose values nest secrets (an `Authorization`
    /// header) masks those too.
    func forHistory(parameters: JSONValue, output: JSONValue?) -> (parameters: JSONValue, output: JSONValue?)

    /// The node's own rules that can be checked before a run, on parameters as written (values
    /// holding `{{…}}` are checked when the step runs): a reserved header name, a literal address
    /// that does not parse. Each problem names its field below `field` (`steps[0].parameters`).
    /// None by default.
    func problems(in parameters: [String: JSONValue], field: String) -> [FlowValidationError]

    /// What the step would do with these rendered parameters, without doing it and without any
    /// effect outside (an email step composes the exact message and sends nothing): `nil` for a
    /// node that has nothing to show beyond its parameters (the default). Throws what a run would
    /// fail with.
    func preview(_ context: NodeContext) async throws(NodeError) -> JSONValue?
}

extension Node {
    public func isIdempotent(_ parameters: JSONValue) -> Bool { descriptor.isIdempotent }

    public func problems(in parameters: [String: JSONValue], field: String) -> [FlowValidationError] { [] }

    public func preview(_ context: NodeContext) async throws(NodeError) -> JSONValue? { nil }

    public func forHistory(parameters: JSONValue, output: JSONValue?) -> (parameters: JSONValue, output: JSONValue?) {
        let secrets = Set(descriptor.parameters.filter(\.isSecret).map(\.name))
        guard !secrets.isEmpty, case .object(var object) = parameters else { return (parameters, output) }
        for name in secrets where object[name] != nil { object[name] = .string("<redacted>") }
        return (.object(object), output)
    }
}

/// What a node's step receives.
public struct NodeContext: Sendable {
    /// The step's parameters with every `{{…}}` rendered: a JSON object.
    public var parameters: JSONValue
    /// Outputs of the steps before this one, by step id.
    public var stepOutputs: [String: JSONValue]
    public var workspaceID: String
    public var flowID: String
    public var runID: String
    public var stepID: String
    /// 1 on the first attempt.
    public var attempt: Int
    /// Carries `posthorn.run.id` and `posthorn.step.id` metadata.
    public var logger: Logger

    public init(
        parameters: JSONValue, stepOutputs: [String: JSONValue], workspaceID: String, flowID: String, runID: String,
        stepID: String, attempt: Int, logger: Logger
    ) {
        self.parameters = parameters
        self.stepOutputs = stepOutputs
        self.workspaceID = workspaceID
        self.flowID = flowID
        self.runID = runID
        self.stepID = stepID
        self.attempt = attempt
        self.logger = logger
    }

    /// The parameter `name` as a string, if present and a string.
    public func string(_ name: String) -> String? {
        if case .object(let object) = parameters, case .string(let value)? = object[name] { return value }
        return nil
    }
}

/// A step failed. Safe to store and show: never carries a secret.
public struct NodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Whether trying again can help.
    public enum Disposition: String, Sendable, Hashable, Codable {
        /// Retry with backoff (a 4xx reply, a connection refused).
        case transient
        /// Retrying cannot help (a 5xx reply, invalid input).
        case permanent
        /// The effect may have happened (a drop after the final dot): never retried automatically.
        case ambiguous
        /// Not started: a rate limit holds it until ``NodeError/notBefore``. The run waits
        /// (`waiting`) and the same attempt runs then; it does not count as a failure.
        case waiting
    }

    /// A short machine-readable code (`EAUTH`, `ETEMPLATE`, `EPARAM`).
    public var code: String
    public var message: String
    public var disposition: Disposition
    /// Extra detail for the step record (a server reply, rejected recipients).
    public var details: JSONValue?
    /// For ``Disposition/waiting``: when the step may start.
    public var notBefore: Date?

    public init(code: String, message: String, disposition: Disposition, details: JSONValue? = nil, notBefore: Date? = nil) {
        self.notBefore = notBefore
        self.code = code
        self.message = message
        self.disposition = disposition
        self.details = details
    }

    public var description: String { "\(code): \(message)" }
}
