import Flows

extension HTTPRequestNode {
    /// The form `GET /api/v1/nodes` shows.
    static let nodeDescriptor = NodeDescriptor(
        type: "http.request",
        label: "HTTP Request",
        summary: "Sends an HTTP request to a public address and returns the response: status, headers and body "
            + "(JSON, text or bytes for a later step).",
        parameters: [
            NodeParameter(
                name: "method", label: "Method", kind: .options, options: HTTPRequestParameters.methods,
                defaultValue: "GET"),
            NodeParameter(
                name: "url", label: "URL", kind: .string, required: true,
                help: "http:// or https:// only. The host is resolved once and must be public (or allowlisted by the "
                    + "operator); redirects are not followed and only 2xx responses are accepted."),
            NodeParameter(
                name: "headers", label: "Headers", kind: .json,
                help: "A list of {\"name\": …, \"value\": …} or an object of names to values. Host, Content-Length, "
                    + "Transfer-Encoding and other connection headers are set by the client."),
            NodeParameter(
                name: "body", label: "Body", kind: .text,
                help: "Sent as is. A JSON object or array is sent as JSON; bytes from an earlier step are sent as they are."),
            NodeParameter(
                name: "responseFormat", label: "Response format", kind: .options,
                options: HTTPResponseFormat.allCases.map(\.rawValue), defaultValue: "auto",
                help: "auto: JSON for JSON types, text for text types, bytes otherwise."),
            NodeParameter(
                name: "maxBytes", label: "Maximum response size (bytes)", kind: .number,
                defaultValue: .integer(Int64(HTTPRequestNode.defaultMaxBytes)),
                help: "A larger response fails the step (ETOOLARGE); the limit is enforced while reading."),
            NodeParameter(
                name: "timeoutSeconds", label: "Timeout (seconds)", kind: .number,
                defaultValue: .integer(Int64(HTTPRequestNode.defaultTimeoutSeconds)),
                help: "For the whole exchange, from connecting to the last byte of the body."),
        ],
        // The answer for a step with unknown parameters. Idempotency depends on the method, so the
        // node answers per step in `isIdempotent(_:)`: GET and HEAD may be re-run, anything else
        // may have had effects (an order placed, a row deleted) and is not.
        isIdempotent: false, defaultOnError: .stop, keywords: ["http", "api", "rest", "fetch", "request", "get", "post", "url"],
        outputs: [
            .init("status", "The response's status code (2xx)."),
            .init("headers", "The response's headers, by lower-cased name (credential-like ones masked in the history)."),
            .init("contentType", "The response's media type."),
            .init("filename", "The file name the response suggests, if any."),
            .init("size", "The body's size in bytes."),
            .init("body", "The body: JSON for JSON types, text for text types, bytes otherwise (an attachment can take them)."),
        ])
}
