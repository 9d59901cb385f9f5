import Flows
import Foundation
import Hummingbird

/// Decodes request bodies strictly: malformed JSON is 400; a wrong type or a missing or unknown
/// field is 422 naming the field.
enum JSONBody {
    static func decode<Value: Decodable>(_ type: Value.Type, from request: Request, context: PosthornRequestContext) async throws -> Value {
        try decode(type, from: try await collect(request, context: context))
    }

    /// Decodes `data` as a JSON object of `Value`.
    static func decode<Value: Decodable>(_ type: Value.Type, from data: Data) throws(APIError) -> Value {
        // Our parser first: it enforces the one depth limit (64) for everything we take in, so
        // Foundation's decoder never meets a document deep enough to fail inside it.
        let parsed: JSONValue
        do {
            parsed = try JSONValue(parsing: data)
        } catch {
            throw APIError(.badRequest, code: "invalid_json", "The request body must be a JSON object: \(error)")
        }
        guard case .object = parsed else {
            throw APIError(.badRequest, code: "invalid_json", "The request body must be a JSON object")
        }
        do {
            return try JSONDecoder().decode(Value.self, from: data)
        } catch let error as APIError {
            throw error
        } catch let error as DecodingError {
            throw error.apiError
        } catch {
            throw APIError(.badRequest, code: "invalid_json", "The request body must be a JSON object")
        }
    }

    /// The body, at most the context's upload size (2 MiB); over it, 413 with the API's error
    /// shape rather than Hummingbird's empty one.
    static func collect(_ request: Request, context: PosthornRequestContext) async throws -> Data {
        do {
            return Data(try await request.body.collect(upTo: context.maxUploadSize).readableBytesView)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, code: "body_too_large", "The body is larger than \(context.maxUploadSize / 1024) KiB")
        }
    }

    /// A coding path as the API names fields: `trigger.secret`, `steps[0].id`.
    static func path(_ codingPath: [any CodingKey]) -> String {
        var text = ""
        for key in codingPath {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return text
    }
}

/// The keys of a JSON object, for refusing the ones a type does not know.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension KeyedDecodingContainer {
    /// Throws 422 for the first key (in sorted order) not in `known`: a typo such as `pasword`
    /// must not be ignored. The field is the key's full path (`steps[1].onErorr`).
    static func refuseUnknownKeys(in decoder: any Decoder, known: Set<String>) throws {
        let all = try decoder.container(keyedBy: AnyCodingKey.self)
        if let unknown = all.allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
            throw APIError(
                .unprocessableContent, code: "validation_failed",
                field: JSONBody.path(decoder.codingPath + [AnyCodingKey(stringValue: unknown)]), "Unknown field")
        }
    }

    /// Absent → `nil` (keep the stored value); `null` → `.some(nil)` (clear it); a value → `.some(value)`.
    func decodeNullable<Value: Decodable>(_ type: Value.Type, forKey key: Key) throws -> Value?? {
        guard contains(key) else { return nil }
        if try decodeNil(forKey: key) { return .some(nil) }
        return .some(try decode(Value.self, forKey: key))
    }

    /// Absent → `nil`; `null` is refused because the field cannot be cleared.
    func decodeNonNull<Value: Decodable>(_ type: Value.Type, forKey key: Key) throws -> Value? {
        guard contains(key) else { return nil }
        if try decodeNil(forKey: key) {
            throw APIError(.unprocessableContent, code: "validation_failed", field: JSONBody.path(codingPath + [key]), "Must not be null")
        }
        return try decode(Value.self, forKey: key)
    }
}

extension DecodingError {
    /// 422 naming the field by its full path and the rule broken.
    var apiError: APIError {
        let codingPath: [any CodingKey]
        let rule: String
        switch self {
        case .typeMismatch(let type, let context):
            codingPath = context.codingPath
            rule = "Must be \(Self.jsonName(of: type))"
        case .valueNotFound(_, let context):
            codingPath = context.codingPath
            rule = "Must not be null"
        case .keyNotFound(let key, let context):
            codingPath = context.codingPath + [key]
            rule = "Is required"
        case .dataCorrupted(let context):
            codingPath = context.codingPath
            rule = "Is not valid"
        @unknown default:
            codingPath = []
            rule = "Is not valid"
        }
        let field = JSONBody.path(codingPath)
        return APIError(.unprocessableContent, code: "validation_failed", field: field.isEmpty ? nil : field, rule)
    }

    private static func jsonName(of type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type: "a whole number"
        case is Bool.Type: "true or false"
        case is [Any].Type: "an array"
        case is [String: Any].Type: "an object"
        default: "of another type"
        }
    }
}
