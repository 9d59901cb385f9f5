import Foundation

/// Checks a decoded JSON value against a JSON Schema (2020-12, the dialect of OpenAPI 3.1), for the
/// keywords Posthorn's document uses: `type` (one or a list, `null` included), `properties`,
/// `required`, `additionalProperties`, `items`, `enum`, `const`, `oneOf`, `anyOf`, `allOf`, `not`,
/// `minimum`, `maximum`, `minLength`, `maxLength`, `pattern` and local `$ref`s. Annotations
/// (`description`, `format`, `examples`, `writeOnly`, `discriminator`) are ignored, as a validator
/// must.
struct JSONSchemaValidator {
    /// The whole document, for `$ref`s.
    let root: [String: Any]

    /// The problems of `value` against `schema`, each naming the JSON path; empty when it is valid.
    func problems(_ value: Any, schema: Any, path: String = "$") -> [String] {
        guard let schema = schema as? [String: Any] else { return schema as? Bool == false ? ["\(path): no value is allowed"] : [] }
        if let reference = schema["$ref"] as? String {
            guard let target = resolve(reference) else { return ["\(path): unresolved $ref \(reference)"] }
            return problems(value, schema: target, path: path)
        }
        var found: [String] = []
        if let types = (schema["type"] as? [String]) ?? (schema["type"] as? String).map({ [$0] }),
            !types.contains(where: { Self.hasType(value, $0) })
        {
            return ["\(path): \(Self.describe(value)) is not of type \(types.joined(separator: " or "))"]
        }
        if let options = schema["enum"] as? [Any], !options.contains(where: { Self.equal($0, value) }) {
            found.append("\(path): \(Self.describe(value)) is not one of the enum's values")
        }
        if let constant = schema["const"], !Self.equal(constant, value) {
            found.append("\(path): \(Self.describe(value)) is not the constant")
        }
        if let number = Self.number(value) {
            if let minimum = schema["minimum"].flatMap(Self.number), number < minimum { found.append("\(path): below \(minimum)") }
            if let maximum = schema["maximum"].flatMap(Self.number), number > maximum { found.append("\(path): above \(maximum)") }
        }
        if let text = value as? String {
            let length = text.unicodeScalars.count
            if let minimum = schema["minLength"] as? Int, length < minimum { found.append("\(path): shorter than \(minimum)") }
            if let maximum = schema["maxLength"] as? Int, length > maximum { found.append("\(path): longer than \(maximum)") }
            if let pattern = schema["pattern"] as? String, text.range(of: pattern, options: .regularExpression) == nil {
                found.append("\(path): \"\(text.prefix(60))\" does not match \(pattern)")
            }
        }
        if let object = value as? [String: Any] {
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for name in schema["required"] as? [String] ?? [] where object[name] == nil {
                found.append("\(path): the required member \(name) is missing")
            }
            for (name, member) in object {
                if let memberSchema = properties[name] {
                    found += problems(member, schema: memberSchema, path: "\(path).\(name)")
                } else if let additional = schema["additionalProperties"] {
                    if additional as? Bool == false {
                        found.append("\(path): member \(name) is not in the schema")
                    } else if additional is [String: Any] {
                        found += problems(member, schema: additional, path: "\(path).\(name)")
                    }
                }
            }
        }
        if let array = value as? [Any], !(value is [String: Any]), let items = schema["items"] {
            for (index, element) in array.enumerated() { found += problems(element, schema: items, path: "\(path)[\(index)]") }
        }
        for sub in schema["allOf"] as? [Any] ?? [] { found += problems(value, schema: sub, path: path) }
        if let options = schema["anyOf"] as? [Any], !options.contains(where: { problems(value, schema: $0, path: path).isEmpty }) {
            found.append("\(path): matches none of anyOf")
        }
        if let options = schema["oneOf"] as? [Any] {
            let matching = options.filter { problems(value, schema: $0, path: path).isEmpty }.count
            if matching != 1 { found.append("\(path): matches \(matching) of oneOf's \(options.count) schemas, not exactly one") }
        }
        if let negated = schema["not"], problems(value, schema: negated, path: path).isEmpty {
            found.append("\(path): matches the schema under not")
        }
        return found
    }

    /// `#/components/schemas/Name` → that schema.
    func resolve(_ reference: String) -> Any? {
        guard reference.hasPrefix("#/") else { return nil }
        var node: Any = root
        for part in reference.dropFirst(2).split(separator: "/") {
            let key = part.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard let next = (node as? [String: Any])?[key] else { return nil }
            node = next
        }
        return node
    }

    // MARK: JSON types as Foundation decodes them

    static func hasType(_ value: Any, _ type: String) -> Bool {
        switch type {
        case "null": return value is NSNull
        case "boolean": return isBool(value)
        case "integer": return !isBool(value) && number(value).map { $0 == $0.rounded() } == true
        case "number": return !isBool(value) && number(value) != nil
        case "string": return value is String
        case "array": return value is [Any] && !(value is [String: Any])
        case "object": return value is [String: Any]
        default: return false
        }
    }

    /// JSONSerialization gives booleans as NSNumbers of C type `char` (`c`), numbers as others.
    static func isBool(_ value: Any) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) == "c"
    }

    static func number(_ value: Any) -> Double? {
        guard !isBool(value), !(value is String) else { return nil }
        return (value as? NSNumber)?.doubleValue
    }

    static func equal(_ a: Any, _ b: Any) -> Bool {
        if a is NSNull || b is NSNull { return a is NSNull && b is NSNull }
        if isBool(a) != isBool(b) { return false }
        if let x = a as? String, let y = b as? String { return x == y }
        if let x = number(a), let y = number(b) { return x == y }
        if isBool(a), let x = a as? Bool, let y = b as? Bool { return x == y }
        return false
    }

    static func describe(_ value: Any) -> String {
        if value is NSNull { return "null" }
        if isBool(value) { return "a boolean" }
        if value is String { return "a string" }
        if value is [String: Any] { return "an object" }
        if value is [Any] { return "an array" }
        return "a number"
    }
}
