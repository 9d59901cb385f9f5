/// A template error inside a parameters tree, with the parameter it happened in.
public struct ParameterTemplateError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The parameter's path, e.g. `parameters.to` or `parameters.recipients.0`.
    public let parameterPath: String
    /// What went wrong in that parameter's template.
    public let error: TemplateError

    /// Creates an error.
    public init(parameterPath: String, error: TemplateError) {
        self.parameterPath = parameterPath
        self.error = error
    }

    /// `parameters.to: missing path trigger.body.email`.
    public var description: String {
        "\(parameterPath): \(error)"
    }
}
