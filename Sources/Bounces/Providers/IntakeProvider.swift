import Foundation

/// Where a bounce intake's events come from: the last path component of
/// `/hooks/deliverability/{intakeId}/{provider}`.
public enum IntakeProvider: String, Sendable, Hashable, CaseIterable {
    /// A bounce message as it arrived by mail (`message/rfc822`): nothing to verify beyond the
    /// intake id.
    case raw
    /// Amazon SES notifications delivered by Amazon SNS (signed with an SNS certificate).
    case ses
    /// SendGrid's signed event webhook (ECDSA P-256).
    case sendgrid
    /// Mailgun's webhooks (HMAC-SHA256 with the account's signing key).
    case mailgun
    /// Postmark's webhooks (HTTP basic authentication).
    case postmark
}

/// Why a provider's call was refused. Descriptions name the rule, never a key or a signature.
public enum IntakeVerificationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Missing, malformed or wrong signature or credentials.
    case badSignature(String)
    /// The signed time is too far from now (a replay of an old call, or a badly wrong clock).
    case stale(String)
    /// The call is well signed but its body is not what the provider sends.
    case malformed(String)

    public var description: String {
        switch self {
        case .badSignature(let why): "Signature refused: \(why)"
        case .stale(let why): "Signature refused: \(why)"
        case .malformed(let why): "Not a provider event: \(why)"
        }
    }
}

/// What a verified provider call carries: the events, and the ids that make a replay of it
/// recognisable (each accepted once within ``replayWindow``).
public struct VerifiedProviderCall: Sendable, Hashable {
    public var events: [DeliveryEvent]
    /// Unique per call for the provider (a signature, a token, a notification id).
    public var replayKey: String
    /// How long the call's signature stays acceptable, so how long its replay key must be kept.
    public var replayWindow: Duration

    public init(events: [DeliveryEvent], replayKey: String, replayWindow: Duration) {
        self.events = events
        self.replayKey = replayKey
        self.replayWindow = replayWindow
    }
}

enum ProviderJSON {
    /// The largest provider call read: SendGrid batches events.
    static let maximumBodySize = 5 * 1024 * 1024
    /// The most events one call yields.
    static let maximumEvents = 1_000

    static func object(_ body: [UInt8]) throws(IntakeVerificationError) -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw .malformed("the body is not a JSON object")
        }
        return object
    }

    static func string(_ value: Any?, limit: Int = 1_000) -> String? {
        switch value {
        case let text as String: String(text.prefix(limit))
        case let number as NSNumber: number.stringValue
        default: nil
        }
    }

    /// An address as a provider names a recipient: `local@domain`, at most 320 bytes, no spaces
    /// or controls; `nil` otherwise.
    static func recipient(_ value: Any?) -> String? {
        guard let text = string(value, limit: 321)?.trimmingCharacters(in: .whitespaces), text.utf8.count <= 320,
            let at = text.lastIndex(of: "@"), at != text.startIndex, text.index(after: at) != text.endIndex,
            !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F || $0 == "<" || $0 == ">" })
        else { return nil }
        return text
    }

    /// `<id@host>` from a Message-ID with or without its angle brackets.
    static func messageID(_ value: Any?) -> String? {
        guard var text = string(value, limit: 998)?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        if !text.hasPrefix("<") { text = "<" + text + ">" }
        guard text.hasSuffix(">"), text.contains("@"), !text.dropFirst().dropLast().contains(where: { $0 == "<" || $0 == ">" || $0.isWhitespace })
        else { return nil }
        return text
    }

    /// Compares two byte strings in time that depends only on their lengths.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
