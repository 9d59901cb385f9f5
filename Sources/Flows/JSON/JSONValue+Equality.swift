// MARK: - Equality

extension JSONValue: Hashable {
    /// Structural equality, with ``integer(_:)`` and ``number(_:)`` equal when they denote the same
    /// number: `3` parsed from text equals `.number(3)` built in code. ``bytes(_:)`` compares byte
    /// by byte and never equals another case, not even its own summary.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null):
            true
        case let (.bool(left), .bool(right)):
            left == right
        case let (.integer(left), .integer(right)):
            left == right
        case let (.number(left), .number(right)):
            left == right
        case let (.integer(integer), .number(number)), let (.number(number), .integer(integer)):
            Int64(exactly: number) == integer
        case let (.string(left), .string(right)):
            left == right
        case let (.array(left), .array(right)):
            left == right
        case let (.object(left), .object(right)):
            left == right
        case let (.bytes(left), .bytes(right)):
            left == right
        case (.null, _), (.bool, _), (.integer, _), (.number, _), (.string, _), (.array, _), (.object, _), (.bytes, _):
            false
        }
    }

    /// Hashes consistently with ``==(_:_:)``: an integer that a `Double` holds exactly hashes as
    /// that `Double`, so `.integer(3)` and `.number(3)` land in the same bucket.
    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null:
            hasher.combine(0)
        case .bool(let value):
            hasher.combine(1)
            hasher.combine(value)
        case .integer(let value):
            if let exact = Double(exactly: value) {
                hasher.combine(2)
                hasher.combine(exact)
            } else {
                hasher.combine(3)
                hasher.combine(value)
            }
        case .number(let value):
            hasher.combine(2)
            hasher.combine(value)
        case .string(let value):
            hasher.combine(4)
            hasher.combine(value)
        case .array(let value):
            hasher.combine(5)
            hasher.combine(value)
        case .object(let value):
            hasher.combine(6)
            hasher.combine(value)
        case .bytes(let value):
            hasher.combine(7)
            hasher.combine(value)
        }
    }
}
