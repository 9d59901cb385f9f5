/// A flow definition was refused: the field (`steps[1].parameters.to`) and the rule.
public struct FlowValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

/// A flow that has problems was to be enabled or run: each problem names its field.
public struct FlowProblems: Error, Sendable, Hashable, CustomStringConvertible {
    public var problems: [FlowValidationError]

    public init(problems: [FlowValidationError]) {
        self.problems = problems
    }

    public var description: String { problems.map(\.description).joined(separator: "; ") }
}
