public import Flows

// MARK: - What the run history keeps

extension HTTPRequestNode {
    /// What replaces a sensitive header value in the run history.
    static let redacted: JSONValue = "<redacted>"

    /// Header names whose values are credentials whatever the API: lower-cased.
    static let sensitiveHeaderNames: Set<String> = [
        "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token",
    ]

    /// Whether a header's value is a credential: a name in ``sensitiveHeaderNames``, or one that
    /// says so (`X-Vault-Token`, `X-Client-Secret`, `X-Password`), case-insensitively. A challenge
    /// such as `WWW-Authenticate` names a scheme, not a secret, and is kept.
    static func isSensitiveHeader(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return sensitiveHeaderNames.contains(lowered)
            || ["token", "secret", "password", "api-key", "apikey"].contains { lowered.contains($0) }
    }

    /// The step as the run history keeps it: values of sensitive request headers in the parameters
    /// and of sensitive response headers in the output become `"<redacted>"`. A bearer token typed
    /// into a step, or a session cookie a server set, would otherwise sit in every run record.
    public func forHistory(parameters: JSONValue, output: JSONValue?) -> (parameters: JSONValue, output: JSONValue?) {
        var parameters = parameters
        if case .object(var members) = parameters, let headers = members["headers"] {
            members["headers"] = Self.redactingHeaders(headers)
            parameters = .object(members)
        }
        var output = output
        if case .object(var members)? = output, let headers = members["headers"] {
            members["headers"] = Self.redactingHeaders(headers)
            output = .object(members)
        }
        return (parameters, output)
    }

    /// `headers` in any shape the parameter accepts (a list of `{name, value}`, an object of names
    /// to values, JSON text holding either) with sensitive values replaced. Text that is not such
    /// JSON is replaced whole: the step failed on it, and it may still hold a token.
    static func redactingHeaders(_ headers: JSONValue) -> JSONValue {
        switch headers {
        case .object(let members):
            return .object(Dictionary(uniqueKeysWithValues: members.map { name, value in
                (name, isSensitiveHeader(name) ? redacted : value)
            }))
        case .array(let entries):
            return .array(entries.map { entry in
                guard case .object(var fields) = entry, case .string(let name)? = fields["name"], isSensitiveHeader(name),
                      fields["value"] != nil
                else { return entry }
                fields["value"] = redacted
                return .object(fields)
            })
        case .string(let text):
            guard !text.isEmpty else { return headers }
            guard let parsed = try? JSONValue(parsing: text) else { return redacted }
            switch parsed {
            case .object, .array: return .string(redactingHeaders(parsed).compactJSON)
            case .null, .bool, .integer, .number, .string, .bytes: return redacted
            }
        case .null, .bool, .integer, .number, .bytes:
            return headers
        }
    }
}
