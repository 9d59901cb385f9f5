import Flows
import Foundation

/// How `http.request` turns a response body into the step output's `body`.
enum HTTPResponseFormat: String, Sendable, Hashable, CaseIterable {
    /// JSON for JSON media types, text for text types, bytes for everything else (and for a
    /// response without a `Content-Type`).
    case auto
    /// Parsed JSON; an empty body is `null`.
    case json
    /// A string, decoded as UTF-8 (or ISO-8859-1 when the `charset` says so).
    case text
    /// ``JSONValue/bytes(_:)``, untouched.
    case binary

    /// The output `body`; `EDECODE` (permanent) when the body is not what the format promises.
    /// A mislabelled response fails rather than changing the output's shape under later steps.
    func body(of resource: FetchedResource) throws(NodeError) -> JSONValue {
        switch resolved(for: resource.contentType) {
        case .json:
            guard !resource.body.isEmpty else { return .null }
            do {
                return try JSONValue(parsing: Data(resource.body))
            } catch {
                throw Self.undecodable("the response is not valid JSON (\(error))")
            }
        case .text:
            let charset = Self.charset(of: resource.headers["content-type"])
            if charset == "iso-8859-1" || charset == "latin1" {
                return .string(String(String.UnicodeScalarView(resource.body.map { Unicode.Scalar($0) })))
            }
            guard let text = String(validating: resource.body, as: UTF8.self) else {
                throw Self.undecodable("the response is not valid UTF-8 text")
            }
            return .string(text)
        case .binary, .auto:
            return .bytes(resource.body)
        }
    }

    /// The concrete format: ``auto`` becomes one of the others by media type.
    func resolved(for mediaType: String?) -> HTTPResponseFormat {
        guard self == .auto else { return self }
        guard let mediaType else { return .binary }
        if mediaType == "application/json" || mediaType == "text/json" || mediaType.hasSuffix("+json") {
            return .json
        }
        if mediaType.hasPrefix("text/") || mediaType.hasSuffix("+xml") || Self.textMediaTypes.contains(mediaType) {
            return .text
        }
        return .binary
    }

    static let textMediaTypes: Set<String> = [
        "application/xml", "application/javascript", "application/ecmascript", "application/x-www-form-urlencoded",
        "application/yaml", "application/x-yaml", "application/graphql", "application/x-ndjson",
    ]

    /// The lower-cased `charset` parameter of a `Content-Type` value, quotes removed.
    static func charset(of contentType: String?) -> String? {
        guard let contentType else { return nil }
        for parameter in contentType.split(separator: ";").dropFirst() {
            let parts = parameter.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces).lowercased() == "charset" else { continue }
            return parts[1].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                .lowercased()
        }
        return nil
    }

    private static func undecodable(_ reason: String) -> NodeError {
        NodeError(
            code: "EDECODE", message: "responseFormat: \(reason); set Response format to text or binary",
            disposition: .permanent)
    }
}
