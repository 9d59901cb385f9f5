import Foundation

/// How `TEXT` columns holding JSON (a run's trigger, steps and error; a flow's definition) are
/// written and read.
///
/// Written with sorted keys, so a value always stores as the same text. Dates inside the documents
/// are whole milliseconds since 1970, like the `BIGINT` columns, so a date survives the round trip
/// exactly and the text means the same to any other reader. Reading is tolerant of what another
/// version may have written: unknown keys are ignored, absent optional keys read as `nil`, and a
/// date may also be a fractional number of milliseconds.
enum StoredJSON {
    /// The text for `value`.
    static func text(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.millisecondsSince1970)
        }
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// The value `text` holds.
    static func value<Value: Decodable>(_ type: Value.Type, from text: String) throws -> Value {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            if let milliseconds = try? container.decode(Int64.self) {
                return Date(millisecondsSince1970: milliseconds)
            }
            return Date(timeIntervalSince1970: try container.decode(Double.self) / 1000)
        }
        return try decoder.decode(Value.self, from: Data(text.utf8))
    }
}

extension StoredRow {
    /// A `NOT NULL` `TEXT` column holding a JSON document of `Value`.
    func json<Value: Decodable>(_ column: String, as type: Value.Type = Value.self) throws(StorageError) -> Value {
        let text = try value(column, as: String.self)
        do {
            return try StoredJSON.value(Value.self, from: text)
        } catch {
            throw invalid(column)
        }
    }

    /// A nullable `TEXT` column holding a JSON document of `Value`.
    func optionalJSON<Value: Decodable>(_ column: String, as type: Value.Type = Value.self) throws(StorageError) -> Value? {
        guard let text = try optional(column, as: String.self) else { return nil }
        do {
            return try StoredJSON.value(Value.self, from: text)
        } catch {
            throw invalid(column)
        }
    }
}
