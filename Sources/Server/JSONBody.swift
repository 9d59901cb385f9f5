import Foundation
import Hummingbird

/// Decodes request bodies strictly: malformed JSON is 400; a wrong type or a missing or unknown
/// field is 422 naming the field.
enum JSONBody {
    static func decode<Value: Decodable>(_ type: Value.Type, from request: Request, context: PosthornRequestContext) async throws -> Value {
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        let data = Data(buffer.readableBytesView)
        guard (try? JSONSerialization.jsonObject(with: data)) is [String: Any] else {
            throw APIError(.badRequest, code: "invalid_json", "The request body must be a JSON object")
        }
        do {
            return try JSONDecoder().decode(Value.self, from: data)
        } catch let error as APIError {
            throw error
        } catch let error as DecodingError {
            throw APIError(.unprocessableContent, code: "validation_failed", field: error.fieldName, error.ruleDescription)
        }
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
    /// Throws 422 for the first key not in `known`: a typo such as `pasword` must not be ignored.
    static func refuseUnknownKeys(in decoder: any Decoder, known: Set<String>) throws {
        let all = try decoder.container(keyedBy: AnyCodingKey.self)
        if let unknown = all.allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
            throw APIError(.unprocessableContent, code: "validation_failed", field: unknown, "Unknown field")
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
            throw APIError(.unprocessableContent, code: "validation_failed", field: key.stringValue, "Must not be null")
        }
        return try decode(Value.self, forKey: key)
    }
}

extension DecodingError {
    var fieldName: String? {
        let path: [any CodingKey] = switch self {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context): context.codingPath
        case .keyNotFound(let key, let context): context.codingPath + [key]
        @unknown default: []
        }
        return path.isEmpty ? nil : path.map(\.stringValue).joined(separator: ".")
    }

    var ruleDescription: String {
        switch self {
        case .typeMismatch(let type, _): "Must be \(Self.jsonName(of: type))"
        case .valueNotFound: "Must not be null"
        case .keyNotFound: "Is required"
        case .dataCorrupted: "Is not valid"
        @unknown default: "Is not valid"
        }
    }

    private static func jsonName(of type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type: "a whole number"
        case is Bool.Type: "true or false"
        default: "of another type"
        }
    }
}
