// MARK: - Codable

extension JSONValue: Codable {
    /// Decodes any JSON value from a single-value container, trying `null`, `Bool`, `Int64`,
    /// `Double`, `String`, array and object in that order.
    ///
    /// Never produces ``bytes(_:)``: an encoded binary summary decodes as the ordinary object it
    /// is, for which ``isBinarySummary`` is `true`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
        }
    }

    /// Encodes the value; a whole ``number(_:)`` below 2⁵³ is encoded as an integer so it is
    /// written `3`, not `3.0`, whatever the encoder's habits. ``bytes(_:)`` is encoded as its
    /// summary, `{"$binary": {"size": N, "sha256": "…"}}`: the run history and the API show what
    /// the data was, never the data.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null:
            try container.encodeNil()
        case .bool(let value):
            try container.encode(value)
        case .integer(let value):
            try container.encode(value)
        case .number(let value):
            if let integer = Self.exactInteger(value) {
                try container.encode(integer)
            } else {
                try container.encode(value)
            }
        case .string(let value):
            try container.encode(value)
        case .array(let value):
            try container.encode(value)
        case .object(let value):
            try container.encode(value)
        case .bytes(let bytes):
            try container.encode(Self.binarySummary(of: bytes))
        }
    }
}
