public import Foundation

/// Postmark's webhooks, authenticated with HTTP basic credentials set on the webhook's URL. The
/// message is named by the `posthorn-message-id` metadata Posthorn adds to mail it sends through
/// Postmark (`X-PM-Metadata-posthorn-message-id`).
public enum PostmarkEvents {
    /// How long a record id is remembered against replays.
    public static let window: Duration = .seconds(86_400)

    /// Verifies the `Authorization` header against the configured credentials and reads the call.
    public static func verify(
        body: [UInt8], authorization: String?, username: String, password: String
    ) throws(IntakeVerificationError) -> VerifiedProviderCall {
        guard let authorization, authorization.lowercased().hasPrefix("basic "),
            let decoded = Data(base64Encoded: String(authorization.dropFirst(6)).trimmingCharacters(in: .whitespaces))
        else { throw .badSignature("Postmark calls carry basic authentication") }
        let expected = Array((username + ":" + password).utf8)
        guard ProviderJSON.constantTimeEqual(Array(decoded), expected) else {
            throw .badSignature("the basic authentication does not match")
        }
        let object = try ProviderJSON.object(body)
        let record = ProviderJSON.string(object["RecordType"], limit: 40) ?? ""
        let id = ProviderJSON.string(object["ID"], limit: 100) ?? ProviderJSON.string(object["MessageID"], limit: 100) ?? ""
        guard !record.isEmpty, !id.isEmpty else { throw .malformed("a Postmark call has RecordType and ID") }
        return VerifiedProviderCall(events: events(object, record: record), replayKey: "postmark:\(record):\(id)", replayWindow: window)
    }

    /// The delivery events of a (verified) call of type `record`.
    public static func events(_ object: [String: Any], record: String) -> [DeliveryEvent] {
        let metadata = object["Metadata"] as? [String: Any]
        guard let messageID = ProviderJSON.messageID(metadata?["posthorn-message-id"]),
            let recipient = ProviderJSON.recipient(object["Email"]) ?? ProviderJSON.recipient(object["Recipient"])
        else { return [] }
        let details = ProviderJSON.string(object["Details"]) ?? ProviderJSON.string(object["Description"])
        let code = details.flatMap(firstCode)
        switch record {
        case "Bounce":
            let type = ProviderJSON.string(object["Type"], limit: 40) ?? ""
            // Postmark's hard types: the mailbox or domain is gone, or the recipient unsubscribed.
            let hard = ["HardBounce", "BadEmailAddress", "ManuallyDeactivated", "Unsubscribe", "AddressChange", "DnsError"].contains(type)
            let kind: DeliveryEvent.Kind = ["SoftBounce", "Transient", "AutoResponder", "OpenRelayTest"].contains(type) ? .delayed : .bounced
            return [DeliveryEvent(messageID: messageID, recipient: recipient, kind: kind, code: code, diagnostic: details, permanent: hard)]
        case "SpamComplaint":
            return [DeliveryEvent(messageID: messageID, recipient: recipient, kind: .complained, diagnostic: details)]
        case "Delivery":
            return [DeliveryEvent(messageID: messageID, recipient: recipient, kind: .delivered, diagnostic: details)]
        default:
            return []
        }
    }

    private static func firstCode(_ text: String) -> String? {
        text.split(whereSeparator: { $0 == " " || $0 == "(" || $0 == ")" || $0 == "," || $0 == ";" }).lazy
            .compactMap { BounceParser.enhancedCode(String($0)) }.first
    }
}
