import Secrets
import Crypto
public import Foundation

/// Mailgun's webhooks: `{"signature": {"timestamp", "token", "signature"}, "event-data": {…}}`,
/// where `signature` is the hex HMAC-SHA256 of timestamp followed by token under the account's
/// webhook signing key. A token is accepted once.
public enum MailgunEvents {
    /// How far the signed timestamp may be from now.
    public static let window: Duration = .seconds(600)

    /// Verifies and reads one call.
    public static func verify(body: [UInt8], signingKey: String, now: Date) throws(IntakeVerificationError) -> VerifiedProviderCall {
        let object = try ProviderJSON.object(body)
        guard let signature = object["signature"] as? [String: Any],
            let timestamp = ProviderJSON.string(signature["timestamp"], limit: 20),
            let token = ProviderJSON.string(signature["token"], limit: 200),
            let given = ProviderJSON.string(signature["signature"], limit: 200)
        else { throw .badSignature("the Mailgun signature is missing") }
        let expected = HMAC<SHA256>.authenticationCode(for: Data((timestamp + token).utf8), using: SymmetricKey(data: Data(signingKey.utf8)))
        let hex = expected.hexString
        guard ProviderJSON.constantTimeEqual(Array(hex.utf8), Array(given.lowercased().utf8)) else {
            throw .badSignature("the Mailgun signature does not match")
        }
        guard let seconds = Double(timestamp), abs(seconds - now.timeIntervalSince1970) <= Double(window.components.seconds) else {
            throw .stale("the Mailgun timestamp is more than 10 minutes from now")
        }
        return VerifiedProviderCall(events: try events(object), replayKey: "mailgun:" + token, replayWindow: window * 2)
    }

    /// `550` → `5.0.0`: a reply code as the class of an enhanced code; `nil` for anything but a
    /// 2xx, 4xx or 5xx reply (Mailgun's `code` may be anything).
    static func basicCode(_ reply: Int) -> String? {
        guard (200...599).contains(reply), reply / 100 != 3 else { return nil }
        return "\(reply / 100).0.0"
    }

    /// The delivery event of a (verified) call's `event-data` (none for opens, clicks and the like).
    public static func events(_ object: [String: Any]) throws(IntakeVerificationError) -> [DeliveryEvent] {
        guard let data = object["event-data"] as? [String: Any] else { throw .malformed("a Mailgun call has event-data") }
        let message = data["message"] as? [String: Any]
        let headers = message?["headers"] as? [String: Any]
        guard let recipient = ProviderJSON.recipient(data["recipient"]),
            let messageID = ProviderJSON.messageID(headers?["message-id"])
        else { return [] }
        let status = data["delivery-status"] as? [String: Any]
        let code = ProviderJSON.string(status?["enhanced-code"]).flatMap(BounceParser.enhancedCode)
            ?? ProviderJSON.string(status?["code"]).flatMap { Int($0) }.flatMap(Self.basicCode)
        // Mailgun's message often starts with the reply code already: name it once.
        let replyCode = ProviderJSON.string(status?["code"]) ?? ""
        let text = ProviderJSON.string(status?["message"]) ?? ProviderJSON.string(status?["description"]) ?? ""
        let words = (text.hasPrefix(replyCode) ? [text] : [replyCode, text]).filter { !$0.isEmpty }.joined(separator: " ")
        let permanent = ProviderJSON.string(data["severity"]) != "temporary"
        let kind: DeliveryEvent.Kind
        switch ProviderJSON.string(data["event"]) {
        case "failed": kind = permanent ? .bounced : .delayed
        case "delivered": kind = .delivered
        case "complained": kind = .complained
        default: return []
        }
        return [DeliveryEvent(messageID: messageID, recipient: recipient, kind: kind, code: code, diagnostic: words.isEmpty ? nil : words, permanent: permanent)]
    }
}
