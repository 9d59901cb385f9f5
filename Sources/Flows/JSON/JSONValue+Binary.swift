import Crypto

// MARK: - Binary summaries
//
// Bytes live only in memory, inside one execution of a run. Everything that leaves memory (the
// run history, the API, a log line, a template's text) sees a summary instead:
//
//     {"$binary": {"size": 1234, "sha256": "9f86d0…"}}
//
// The size and digest let a person check that the right file went through without the history
// holding (or an API response leaking) the file itself.

extension JSONValue {
    /// The key of the single member of a binary summary object.
    static let binarySummaryKey = "$binary"

    /// The summary that stands for `bytes` outside memory: `{"$binary": {"size": N, "sha256": hex}}`,
    /// the digest in lowercase hex.
    static func binarySummary(of bytes: [UInt8]) -> JSONValue {
        .object([
            binarySummaryKey: .object([
                "size": .integer(Int64(bytes.count)),
                "sha256": .string(lowercaseHex(SHA256.hash(data: bytes))),
            ]),
        ])
    }

    /// Whether this is the summary that ``bytes(_:)`` encodes as: an object whose only member is
    /// `$binary`, holding exactly a non-negative whole `size` and a 64-digit lowercase hex `sha256`.
    ///
    /// Such an object is what remains of binary data after the run history was written and read
    /// back; the data itself is gone. `false` for ``bytes(_:)`` itself.
    public var isBinarySummary: Bool {
        guard case .object(let members) = self, members.count == 1,
              case .object(let summary)? = members[Self.binarySummaryKey], summary.count == 2,
              let size = summary["size"], Self.isSize(size),
              case .string(let digest)? = summary["sha256"]
        else { return false }
        return digest.utf8.count == 64 && digest.utf8.allSatisfy(Self.isLowercaseHexDigit)
    }

    /// Whether a binary summary appears anywhere in the value (the value itself, or any depth of
    /// its arrays and objects): some binary data it held did not survive storage.
    var containsBinarySummary: Bool {
        switch self {
        case .null, .bool, .integer, .number, .string, .bytes:
            false
        case .array(let elements):
            elements.contains { $0.containsBinarySummary }
        case .object(let members):
            isBinarySummary || members.values.contains { $0.containsBinarySummary }
        }
    }

    private static func isSize(_ value: JSONValue) -> Bool {
        switch value {
        case .integer(let size): size >= 0
        case .number(let size): size >= 0 && exactInteger(size) != nil
        case .null, .bool, .string, .array, .object, .bytes: false
        }
    }

    private static func isLowercaseHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }

    private static func lowercaseHex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in digest {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }
}
