import Foundation
import Testing
import Flows

@Suite("JSON values")
struct JSONValueTests {
    // MARK: - Round trips

    @Test("parsed documents print back as canonical compact JSON", arguments: [
        (#"{"n": 3}"#, #"{"n":3}"#),
        ("3", "3"),
        ("-17", "-17"),
        ("3.0", "3"),
        ("2.5", "2.5"),
        ("-0.0", "0"),
        ("1e3", "1000"),
        ("1E-2", "0.01"),
        ("0.1", "0.1"),
        ("1e20", "1e+20"),
        ("9007199254740993", "9007199254740993"),
        ("9223372036854775807", "9223372036854775807"),
        ("-9223372036854775808", "-9223372036854775808"),
        ("9223372036854775808", "9.223372036854776e+18"),
        (" [ true , false , null ] ", "[true,false,null]"),
        (#"{"b":1,"a":[{}],"c":{"z":"","y":{}}}"#, #"{"a":[{}],"b":1,"c":{"y":{},"z":""}}"#),
        (#"{"a":1,"a":2}"#, #"{"a":2}"#),
        (#""a\"b\\c\/d\n\t\u00e9\ud83d\ude00""#, #""a\"b\\c/d\n\té😀""#),
        (#""\u0001\b\f\r""#, #""\u0001\b\f\r""#),
        ("\u{FEFF}[1]", "[1]"),
        ("\"Grüße 👋🏽\"", "\"Grüße 👋🏽\""),
    ])
    func roundTrip(_ text: String, _ canonical: String) throws {
        let value = try JSONValue(parsing: text)
        #expect(value.compactJSON == canonical)
        #expect(try JSONValue(parsing: canonical) == value)
        #expect(try JSONValue(parsing: Data(text.utf8)) == value)
    }

    @Test("integers that fit Int64 parse exactly; others become doubles", arguments: [
        ("3", JSONValue.integer(3)),
        ("9007199254740993", .integer(9_007_199_254_740_993)),
        ("-9223372036854775808", .integer(.min)),
        ("3.5", .number(3.5)),
        ("1e2", .number(100)),
        ("18446744073709551616", .number(18_446_744_073_709_551_616)),
    ])
    func numberCases(_ text: String, _ expected: JSONValue) throws {
        let value = try JSONValue(parsing: text)
        #expect(value == expected)
        switch (value, expected) {
        case (.integer, .integer), (.number, .number): break
        default: Issue.record("\(text) parsed as \(value), expected the case of \(expected)")
        }
    }

    @Test("Codable round trip keeps integers integral")
    func codable() throws {
        let value: JSONValue = ["n": .number(3), "id": 9_007_199_254_740_993, "r": 0.25, "s": "x", "z": .null, "a": [true]]
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = try encoder.encode(value)
        #expect(String(decoding: data, as: UTF8.self) == #"{"a":[true],"id":9007199254740993,"n":3,"r":0.25,"s":"x","z":null}"#)
        #expect(try JSONDecoder().decode(JSONValue.self, from: data) == value)
        #expect(try JSONValue(parsing: data) == value)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(#"{"n": 3}"#.utf8)).compactJSON == #"{"n":3}"#)
    }

    // MARK: - Equality

    @Test("an integer equals the double with the same value, and hashes alike")
    func integerNumberEquality() {
        #expect(JSONValue.integer(3) == .number(3))
        #expect(JSONValue.number(3) == .integer(3))
        #expect(Set<JSONValue>([.integer(3), .number(3), .integer(0), .number(-0.0)]).count == 2)
        #expect(JSONValue.integer(3) != .number(3.5))
        #expect(JSONValue.integer(9_007_199_254_740_993) != .number(9_007_199_254_740_992))
        #expect(JSONValue.integer(1) != .bool(true))
        #expect(JSONValue.string("1") != .integer(1))
        #expect(JSONValue.object(["a": 1]) == ["a": .number(1)])
    }

    // MARK: - Text

    static let texts: [(JSONValue, String)] = [
        (JSONValue.string("plain \"text\""), "plain \"text\""),
        (.integer(3), "3"),
        (.integer(-42), "-42"),
        (.number(3), "3"),
        (.number(-1e15), "-1000000000000000"),
        (.number(2.5), "2.5"),
        (.number(0.1), "0.1"),
        (.number(1e-7), "1e-07"),
        (.number(1e20), "1e+20"),
        (.bool(true), "true"),
        (.bool(false), "false"),
        (.null, "null"),
        ([1, "a", .null], #"[1,"a",null]"#),
        (["b": ["y": 1, "x": 2], "a": "é"], #"{"a":"é","b":{"x":2,"y":1}}"#),
        (.array([]), "[]"),
        (.object([:]), "{}"),
    ]

    @Test("textValue: how a value reads inside a template", arguments: texts)
    func textValue(_ value: JSONValue, _ text: String) {
        #expect(value.textValue == text)
    }

    // MARK: - Paths

    static let document: JSONValue = [
        "items": [["email": "a@x.io"], ["email": "b@x.io"]],
        "counts": ["0": "zero"],
        "name": "Ada",
    ]

    static let pathCases: [([JSONPathComponent], JSONValue?)] = [
        ([JSONPathComponent.key("items"), .index(1), .key("email")], "b@x.io"),
        ([.key("items"), .index(0)], ["email": "a@x.io"]),
        ([.key("counts"), .index(0)], "zero"),
        ([], document),
        ([.key("items"), .index(2), .key("email")], nil),
        ([.key("items"), .key("0")], nil),
        ([.key("name"), .key("first")], nil),
        ([.key("name"), .index(0)], nil),
        ([.key("missing")], nil),
    ]

    @Test("paths walk objects and arrays; any wrong step is nil", arguments: pathCases)
    func paths(_ path: [JSONPathComponent], _ expected: JSONValue?) {
        #expect(Self.document[path: path] == expected)
    }

    // MARK: - Malformed input

    @Test("malformed documents are refused with the reason and byte offset", arguments: [
        ("", JSONParseError.Reason.unexpectedEnd, 0),
        ("   ", .unexpectedEnd, 3),
        ("01", .invalidNumber, 0),
        ("-", .invalidNumber, 0),
        ("1.", .invalidNumber, 0),
        ("1e", .invalidNumber, 0),
        ("[1,]", .unexpectedCharacter(UInt8(ascii: "]")), 3),
        (#"{"a" 1}"#, .unexpectedCharacter(UInt8(ascii: "1")), 5),
        (#"{a:1}"#, .unexpectedCharacter(UInt8(ascii: "a")), 1),
        (#""abc"#, .unexpectedEnd, 4),
        (#""\x""#, .invalidEscape, 1),
        (#""\u12""#, .invalidUnicodeEscape, 1),
        (#""\ud800""#, .invalidUnicodeEscape, 1),
        (#""\udc00""#, .invalidUnicodeEscape, 1),
        ("\"a\u{01}\"", .controlCharacterInString, 2),
        ("1e400", .numberOutOfRange, 0),
        ("[1] x", .trailingCharacters, 4),
        ("tru", .unexpectedEnd, 3),
        ("nul!", .unexpectedCharacter(UInt8(ascii: "!")), 3),
        ("NaN", .unexpectedCharacter(UInt8(ascii: "N")), 0),
        ("[1 2]", .unexpectedCharacter(UInt8(ascii: "2")), 3),
    ])
    func malformed(_ text: String, _ reason: JSONParseError.Reason, _ offset: Int) {
        #expect(throws: JSONParseError(reason, offset: offset)) {
            try JSONValue(parsing: text)
        }
    }

    @Test("invalid UTF-8 inside a string is refused")
    func invalidUTF8() {
        #expect(throws: JSONParseError(.invalidUTF8, offset: 0)) {
            try JSONValue(parsing: Data([0x22, 0x61, 0xFF, 0x22]))
        }
    }

    @Test("nesting is capped at 64 levels, the one depth limit for everything parsed and stored")
    func nesting() throws {
        let deepest = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try JSONValue(parsing: deepest) }
        let tooDeep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONParseError(.nestingTooDeep(limit: 64), offset: 64)) {
            try JSONValue(parsing: tooDeep)
        }
    }

    @Test("parse errors never quote the input")
    func errorsDoNotEchoInput() {
        do {
            _ = try JSONValue(parsing: #"{"password": "hunter2""#)
            Issue.record("should not parse")
        } catch {
            #expect(error.description == "invalid JSON at byte 22: unexpected end of input")
            #expect(!error.description.contains("hunter2"))
        }
    }
}
