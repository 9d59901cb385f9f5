public import Foundation
public import MIME
import Crypto

/// Signs composed messages with DKIM (RFC 6376; Ed25519 per RFC 8463): relaxed/relaxed
/// canonicalization, a fixed set of signed headers with From signed once more than it occurs (so
/// no From can be added), `t=`, and the body hash over exactly the bytes that are sent.
///
/// Streaming stays streaming: the body is hashed in a first pass over the message's deterministic
/// renderer, a chunk at a time, and the signed message is the same renderer with the signature
/// fields in front, so a 10 MiB attachment is never held whole.
public struct DKIMSigner: Sendable {
    /// One signing identity: `d=`, `s=` and the key.
    public struct Identity: Sendable {
        public var domain: String
        public var selector: String
        public var key: DKIMKey

        public init(domain: String, selector: String, key: DKIMKey) {
            self.domain = domain
            self.selector = selector
            self.key = key
        }
    }

    /// The headers signed when present, in this order; `from` is signed once more than it occurs.
    public static let signedHeaders = [
        "from", "to", "cc", "reply-to", "subject", "date", "message-id", "mime-version", "content-type",
        "content-transfer-encoding", "in-reply-to", "references", "list-unsubscribe", "list-unsubscribe-post",
        "x-priority", "importance",
    ]

    public var identities: [Identity]

    public init(_ identities: [Identity]) {
        self.identities = identities
    }

    /// `message` with one `DKIM-Signature` field per identity in front (the body hashed once).
    public func sign(_ message: RenderedMessage, at date: Date) throws -> RenderedMessage {
        guard !identities.isEmpty else { return message }
        let (fields, bodyHash) = try Self.read(message)
        let timestamp = Int64(date.timeIntervalSince1970.rounded(.down))
        var signatures = ""
        for identity in identities {
            signatures += try Self.signatureField(identity: identity, fields: fields, bodyHash: bodyHash, timestamp: timestamp)
        }
        return message.prepending(signatures)
    }

    /// A selector as `s=` takes it: dot-separated labels of letters, digits and inner hyphens.
    public static func isValidSelector(_ selector: String) -> Bool {
        isDotSeparatedLabels(selector)
    }

    /// A signing domain (`d=`): two labels or more, each of letters, digits and inner hyphens
    /// (an internationalized domain in its `xn--` form).
    public static func isValidDomain(_ domain: String) -> Bool {
        isDotSeparatedLabels(domain) && domain.contains(".")
    }

    private static func isDotSeparatedLabels(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            (1...63).contains(label.utf8.count) && label.first != "-" && label.last != "-"
                && label.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-") }
        }
    }

    // MARK: - Reading

    /// A header field as the message carries it: the name, and the value after the colon with its
    /// folds.
    struct Field {
        var name: String
        var value: String
    }

    /// The header fields and the base64 SHA-256 of the relaxed body, in one pass over the renderer
    /// (running beside this thread: ``RenderPipe``).
    static func read(_ message: RenderedMessage) throws -> (fields: [Field], bodyHash: String) {
        let stream = RenderPipe(message)
        defer { stream.abandon() }
        var head: [UInt8] = []
        var body = RelaxedCanonicalization.Body()
        var hasher = SHA256()
        var inBody = false
        while let chunk = try stream.next() {
            if inBody {
                body.feed(chunk[...]) { hasher.update(data: $0) }
                continue
            }
            head += chunk
            if let end = head.firstRange(of: [13, 10, 13, 10]) {
                inBody = true
                body.feed(head[end.upperBound...]) { hasher.update(data: $0) }
                head.removeSubrange(end.upperBound - 2..<head.count)
            }
        }
        body.finish { hasher.update(data: $0) }
        let bodyHash = Data(hasher.finalize()).base64EncodedString()
        return (fields(of: String(decoding: head, as: UTF8.self)), bodyHash)
    }

    /// Splits a header block (CRLF line endings) into fields, keeping each value's folds.
    static func fields(of head: String) -> [Field] {
        var fields: [Field] = []
        for line in head.components(separatedBy: "\r\n") where !line.isEmpty {
            if line.first == " " || line.first == "\t", !fields.isEmpty {
                fields[fields.count - 1].value += "\r\n" + line
            } else if let colon = line.firstIndex(of: ":") {
                fields.append(Field(name: String(line[..<colon]), value: String(line[line.index(after: colon)...])))
            }
        }
        return fields
    }

    // MARK: - Signing

    /// The `DKIM-Signature` field, folded, ending in CRLF.
    static func signatureField(identity: Identity, fields: [Field], bodyHash: String, timestamp: Int64) throws -> String {
        var names: [String] = []
        for name in signedHeaders {
            let count = fields.filter { $0.name.lowercased() == name }.count
            names += Array(repeating: name, count: name == "from" ? count + 1 : count)
        }
        // Signed bottom-up: the n-th occurrence of a name in h= is its n-th instance from the end.
        var data: [UInt8] = []
        var used: [String: Int] = [:]
        for name in names {
            let instances = fields.filter { $0.name.lowercased() == name }
            let index = used[name, default: 0]
            used[name] = index + 1
            guard index < instances.count else { continue }  // over-signed: a null string
            let field = instances[instances.count - 1 - index]
            data += RelaxedCanonicalization.header(name: field.name, value: field.value)
        }
        let tags = "v=1; a=\(identity.key.algorithm.rawValue); c=relaxed/relaxed; d=\(identity.domain); s=\(identity.selector);\r\n"
            + "\tt=\(timestamp); h=\(names.joined(separator: ":"));\r\n\tbh=\(bodyHash);\r\n\tb="
        data += RelaxedCanonicalization.header(name: "DKIM-Signature", value: " " + tags, terminated: false)
        let signature = try identity.key.sign(data).base64EncodedString()
        return "DKIM-Signature: " + tags + fold(signature) + "\r\n"
    }

    /// The signature in lines of at most 76 characters (whitespace in `b=` is ignored).
    private static func fold(_ text: String) -> String {
        var lines: [Substring] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            lines.append(rest.prefix(76))
            rest = rest.dropFirst(76)
        }
        return lines.joined(separator: "\r\n\t")
    }
}
