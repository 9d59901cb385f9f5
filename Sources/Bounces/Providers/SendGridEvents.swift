public import Crypto
public import Foundation

/// SendGrid's signed event webhook: a JSON array of events, signed with ECDSA P-256 over the
/// timestamp header followed by the raw body (`X-Twilio-Email-Event-Webhook-Signature`,
/// `…-Timestamp`). The verification key is the account's public key (base64 DER, as SendGrid's
/// settings page shows it).
public enum SendGridEvents {
    /// How far the signed timestamp may be from now.
    public static let window: Duration = .seconds(600)

    /// Checks a verification key as SendGrid shows it; throws `malformed` naming the rule.
    public static func publicKey(_ base64: String) throws(IntakeVerificationError) -> P256.Signing.PublicKey {
        let compact = base64.filter { !$0.isWhitespace }
        guard let der = Data(base64Encoded: compact), let key = try? P256.Signing.PublicKey(derRepresentation: der) else {
            throw .malformed("a verification key is the base64 of an ECDSA P-256 public key (SubjectPublicKeyInfo)")
        }
        return key
    }

    /// Verifies and reads one call.
    public static func verify(
        body: [UInt8], signature: String?, timestamp: String?, key: P256.Signing.PublicKey, now: Date
    ) throws(IntakeVerificationError) -> VerifiedProviderCall {
        guard let signature, let timestamp else { throw .badSignature("the SendGrid signature headers are missing") }
        guard let der = Data(base64Encoded: signature.trimmingCharacters(in: .whitespaces)),
            let parsed = try? P256.Signing.ECDSASignature(derRepresentation: der)
        else { throw .badSignature("the SendGrid signature is not a base64 DER ECDSA signature") }
        guard key.isValidSignature(parsed, for: Data(timestamp.utf8) + Data(body)) else {
            throw .badSignature("the SendGrid signature does not match")
        }
        guard let seconds = Double(timestamp), abs(seconds - now.timeIntervalSince1970) <= Double(window.components.seconds) else {
            throw .stale("the SendGrid timestamp is more than 10 minutes from now")
        }
        return VerifiedProviderCall(events: try events(body), replayKey: "sendgrid:" + der.base64EncodedString(), replayWindow: window * 2)
    }

    /// The delivery events of a body (an array of SendGrid events); others (opens, clicks) are left out.
    public static func events(_ body: [UInt8]) throws(IntakeVerificationError) -> [DeliveryEvent] {
        guard let array = try? JSONSerialization.jsonObject(with: Data(body)) as? [Any] else {
            throw .malformed("a SendGrid call is a JSON array of events")
        }
        var events: [DeliveryEvent] = []
        for case let event as [String: Any] in array.prefix(ProviderJSON.maximumEvents) {
            guard let recipient = ProviderJSON.recipient(event["email"]),
                let messageID = ProviderJSON.messageID(event["smtp-id"])
            else { continue }
            let status = ProviderJSON.string(event["status"]).flatMap(BounceParser.enhancedCode)
            let reason = ProviderJSON.string(event["reason"]) ?? ProviderJSON.string(event["response"])
            let kind: DeliveryEvent.Kind
            var permanent = true
            switch ProviderJSON.string(event["event"]) {
            case "bounce", "dropped":
                kind = .bounced
                // `type: blocked` (or a 4.x.x status) is a block, not a gone mailbox.
                permanent = ProviderJSON.string(event["type"]) != "blocked" && !(status?.hasPrefix("4.") ?? false)
            case "blocked": kind = .bounced; permanent = false
            case "deferred": kind = .delayed; permanent = false
            case "delivered": kind = .delivered
            case "spamreport": kind = .complained
            default: continue
            }
            events.append(DeliveryEvent(messageID: messageID, recipient: recipient, kind: kind, code: status, diagnostic: reason, permanent: permanent))
        }
        return events
    }
}
