import Flows
import Foundation

/// The `http.request` parameters, checked before any network I/O. Every refusal is `EPARAM`,
/// permanent, with a message that starts with the parameter's name.
struct HTTPRequestParameters: Sendable {
    static let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]

    var method: String
    var url: String
    var headers: [(name: String, value: String)]
    var body: [UInt8]?
    var responseFormat: HTTPResponseFormat
    var maxBytes: Int
    var timeout: Duration

    /// What the fetcher is asked to do.
    var fetchRequest: FetchRequest {
        FetchRequest(method: method, url: url, headers: headers, body: body, byteLimit: maxBytes, timeout: timeout)
    }

    init(_ parameters: JSONValue, limits: HTTPRequestNode.Limits) throws(NodeError) {
        guard case .object(let members) = parameters else {
            throw Self.invalid("parameters", "must be an object")
        }
        /// A parameter counts as unset when absent, `null`, or an empty string (a template that
        /// rendered to nothing).
        func given(_ name: String) -> JSONValue? {
            switch members[name] {
            case nil, .null?, .string("")?: nil
            case let value?: value
            }
        }

        switch given("method") {
        case nil:
            method = "GET"
        case .string(let text)? where Self.methods.contains(text.uppercased()):
            method = text.uppercased()
        default:
            throw Self.invalid("method", "must be one of GET, POST, PUT, PATCH, DELETE or HEAD")
        }

        switch given("url") {
        case nil:
            throw Self.invalid("url", "is required")
        case .string(let url)?:
            self.url = url
        default:
            throw Self.invalid("url", "must be text")
        }

        var headers = try Self.headers(given("headers"))

        let (body, defaultContentType) = try Self.body(given("body"))
        if body != nil, method == "HEAD" {
            throw Self.invalid("body", "a HEAD request cannot have a body")
        }
        if let defaultContentType, !headers.contains(where: { $0.name.lowercased() == "content-type" }) {
            headers.append((name: "Content-Type", value: defaultContentType))
        }
        self.headers = headers
        self.body = body

        switch given("responseFormat") {
        case nil:
            responseFormat = .auto
        case .string(let text)? where HTTPResponseFormat(rawValue: text.lowercased()) != nil:
            responseFormat = HTTPResponseFormat(rawValue: text.lowercased())!
        default:
            throw Self.invalid("responseFormat", "must be one of auto, json, text or binary")
        }

        if let value = given("maxBytes") {
            guard let bytes = Self.number(value), bytes.rounded() == bytes, bytes >= 1, bytes <= Double(limits.maximumBytes) else {
                throw Self.invalid("maxBytes", "must be a whole number of bytes from 1 to \(limits.maximumBytes)")
            }
            maxBytes = Int(bytes)
        } else {
            maxBytes = HTTPRequestNode.defaultMaxBytes
        }

        if let value = given("timeoutSeconds") {
            guard let seconds = Self.number(value), seconds > 0, seconds <= Double(limits.maximumTimeoutSeconds) else {
                throw Self.invalid(
                    "timeoutSeconds", "must be a number of seconds greater than 0 and at most \(limits.maximumTimeoutSeconds)")
            }
            timeout = .milliseconds(max(1, Int64((seconds * 1000).rounded())))
        } else {
            timeout = .seconds(HTTPRequestNode.defaultTimeoutSeconds)
        }
    }

    // MARK: - Headers

    /// A list of `{name, value}` objects, or an object of names to values (sorted by name, so the
    /// order on the wire is stable); JSON text holding either is accepted too, since a template
    /// may render a whole value into a string.
    static func headers(_ value: JSONValue?) throws(NodeError) -> [(name: String, value: String)] {
        let shapeRule = "must be a list of {\"name\": …, \"value\": …} or an object of names to values"
        var pairs: [(field: String, name: String, value: JSONValue?)] = []
        switch value {
        case nil:
            return []
        case .string(let text)?:
            guard let parsed = try? JSONValue(parsing: text), parsed.isObjectOrArray else {
                throw invalid("headers", shapeRule)
            }
            return try headers(parsed)
        case .object(let members)?:
            pairs = members.keys.sorted().map { (field: "headers.\($0)", name: $0, value: members[$0]) }
        case .array(let entries)?:
            for (index, entry) in entries.enumerated() {
                guard case .object(let fields) = entry, case .string(let name)? = fields["name"] else {
                    throw invalid("headers[\(index)]", "needs a \"name\" and a \"value\"")
                }
                pairs.append((field: "headers[\(index)]", name: name, value: fields["value"]))
            }
        default:
            throw invalid("headers", shapeRule)
        }

        var headers: [(name: String, value: String)] = []
        for pair in pairs {
            guard FetchRequest.isToken(pair.name) else {
                throw invalid(pair.field, "is not a valid HTTP header name")
            }
            guard !FetchRequest.reservedHeaderNames.contains(pair.name.lowercased()) else {
                throw invalid(pair.field, "\(pair.name) is set by the HTTP client and cannot be set here")
            }
            let text: String
            switch pair.value {
            case .string(let string)?:
                text = string
            case .integer?, .number?, .bool?:
                text = pair.value!.textValue
            case nil, .null?, .array?, .object?, .bytes?:
                throw invalid(pair.field, "the value must be text")
            }
            guard FetchRequest.isFieldValue(text) else {
                throw invalid(pair.field, "the value must not contain line breaks or control characters")
            }
            headers.append((name: pair.name, value: text))
        }
        return headers
    }

    // MARK: - Body

    /// The bytes to send and the `Content-Type` to add when the headers name none: JSON for an
    /// object or array (or text that is one), UTF-8 text otherwise, octet-stream for bytes.
    static func body(_ value: JSONValue?) throws(NodeError) -> (bytes: [UInt8]?, contentType: String?) {
        switch value {
        case nil:
            return (nil, nil)
        case .object?, .array?:
            return (Array(value!.compactJSON.utf8), "application/json")
        case .string(let text)?:
            let looksLikeJSON = (try? JSONValue(parsing: text))?.isObjectOrArray ?? false
            return (Array(text.utf8), looksLikeJSON ? "application/json" : "text/plain; charset=utf-8")
        case .bytes(let bytes)?:
            return (bytes, "application/octet-stream")
        case .integer?, .number?, .bool?:
            return (Array(value!.textValue.utf8), "text/plain; charset=utf-8")
        case .null?:
            return (nil, nil)
        }
    }

    // MARK: - Helpers

    /// A number, or text holding one (a rendered template).
    static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .integer(let integer): Double(integer)
        case .number(let number): number.isFinite ? number : nil
        case .string(let text): Double(text.trimmingCharacters(in: .whitespaces)).flatMap { $0.isFinite ? $0 : nil }
        case .null, .bool, .array, .object, .bytes: nil
        }
    }

    static func invalid(_ field: String, _ rule: String) -> NodeError {
        NodeError(code: "EPARAM", message: "\(field): \(rule)", disposition: .permanent)
    }
}

extension JSONValue {
    fileprivate var isObjectOrArray: Bool {
        switch self {
        case .object, .array: true
        case .null, .bool, .integer, .number, .string, .bytes: false
        }
    }
}
