import Crypto
import CryptoExtras
public import Foundation
import SwiftASN1
import X509

/// An Amazon SNS HTTP(S) delivery — how Amazon SES publishes bounces, complaints and deliveries.
///
/// SNS signs each message with RSA (PKCS #1 v1.5; SHA-1 for `SignatureVersion` 1, SHA-256 for 2)
/// over a canonical string of its fields, with the certificate at `SigningCertURL`. That URL is
/// attacker-supplied: only an `https` URL on an SNS host (`sns.<region>.amazonaws.com`, path
/// ending `.pem`) is ever fetched — otherwise anyone could sign with their own certificate.
public struct SNSMessage: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case notification = "Notification"
        case subscriptionConfirmation = "SubscriptionConfirmation"
        case unsubscribeConfirmation = "UnsubscribeConfirmation"
    }

    public var kind: Kind
    public var messageID: String
    public var topicARN: String
    public var message: String
    public var subject: String?
    public var timestamp: String
    public var token: String?
    public var subscribeURL: String?
    public var signatureVersion: String
    public var signature: String
    public var signingCertificateURL: URL

    /// How far `Timestamp` may be from now.
    public static let window: Duration = .seconds(3_600)

    /// Reads an SNS delivery's envelope (not yet verified).
    public static func parse(_ body: [UInt8]) throws(IntakeVerificationError) -> SNSMessage {
        let object = try ProviderJSON.object(body)
        func field(_ name: String, limit: Int = 2_048) -> String? { ProviderJSON.string(object[name], limit: limit) }
        guard let type = field("Type"), let kind = Kind(rawValue: type) else { throw .malformed("an SNS message has a Type") }
        guard let messageID = field("MessageId", limit: 100), let topic = field("TopicArn", limit: 300),
            let message = object["Message"] as? String, message.utf8.count <= ProviderJSON.maximumBodySize,
            let timestamp = field("Timestamp", limit: 40)
        else { throw .malformed("an SNS message has MessageId, TopicArn, Message and Timestamp") }
        guard let version = field("SignatureVersion", limit: 4), let signature = field("Signature", limit: 2_048),
            let certificate = field("SigningCertURL").flatMap(URL.init(string:))
        else { throw .badSignature("the SNS message is not signed") }
        return SNSMessage(
            kind: kind, messageID: messageID, topicARN: topic, message: message, subject: field("Subject", limit: 200),
            timestamp: timestamp, token: field("Token", limit: 1_024), subscribeURL: field("SubscribeURL"),
            signatureVersion: version, signature: signature, signingCertificateURL: certificate)
    }

    /// Whether `url` is one SNS would sign with: `https://sns.<region>.amazonaws.com/…pem` (also
    /// the China partition's `amazonaws.com.cn`), no port, no user.
    public static func isSNSURL(_ url: URL, pathSuffix: String? = ".pem") -> Bool {
        guard url.scheme == "https", url.user == nil, url.password == nil, url.port == nil, let host = url.host?.lowercased() else { return false }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        let regional = labels.count >= 4 && labels[0] == "sns" && labels[1].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) && !labels[1].isEmpty
        let suffixOK = host.hasSuffix(".amazonaws.com") || host.hasSuffix(".amazonaws.com.cn")
        guard regional, suffixOK, labels.count == (host.hasSuffix(".cn") ? 5 : 4) else { return false }
        if let pathSuffix { return url.path.hasSuffix(pathSuffix) }
        return true
    }

    /// The string SNS signs: `Name\nvalue\n` for the type's fields in AWS's order.
    public var canonicalString: String {
        var fields: [(String, String?)] = [("Message", message), ("MessageId", messageID)]
        switch kind {
        case .notification:
            fields += [("Subject", subject), ("Timestamp", timestamp), ("TopicArn", topicARN), ("Type", kind.rawValue)]
        case .subscriptionConfirmation, .unsubscribeConfirmation:
            fields += [("SubscribeURL", subscribeURL), ("Timestamp", timestamp), ("Token", token), ("TopicArn", topicARN), ("Type", kind.rawValue)]
        }
        return fields.compactMap { name, value in value.map { "\(name)\n\($0)\n" } }.joined()
    }

    /// Verifies the signature with the signing certificate (PEM) and the timestamp against `now`.
    public func verify(certificatePEM: String, now: Date) throws(IntakeVerificationError) {
        guard Self.isSNSURL(signingCertificateURL) else { throw .badSignature("SigningCertURL is not an SNS certificate URL") }
        guard let certificate = try? Certificate(pemEncoded: certificatePEM), let key = _RSA.Signing.PublicKey(certificate.publicKey) else {
            throw .badSignature("the SNS signing certificate is not an RSA certificate")
        }
        guard let raw = Data(base64Encoded: signature) else { throw .badSignature("the SNS signature is not base64") }
        let signed = _RSA.Signing.RSASignature(rawRepresentation: raw)
        let data = Data(canonicalString.utf8)
        let valid = switch signatureVersion {
        case "1": key.isValidSignature(signed, for: Insecure.SHA1.hash(data: data), padding: .insecurePKCS1v1_5)
        case "2": key.isValidSignature(signed, for: SHA256.hash(data: data), padding: .insecurePKCS1v1_5)
        default: false
        }
        guard valid else { throw .badSignature("the SNS signature does not match") }
        guard let date = Self.date(timestamp), abs(date.timeIntervalSince(now)) <= Double(Self.window.components.seconds) else {
            throw .stale("the SNS timestamp is more than an hour from now")
        }
    }

    /// The SES events of a verified notification.
    public func call() throws(IntakeVerificationError) -> VerifiedProviderCall {
        VerifiedProviderCall(events: try SESNotification.events(Array(message.utf8)), replayKey: "sns:" + messageID, replayWindow: Self.window * 2)
    }

    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}

/// The SES notification an SNS message carries (`notificationType`, or `eventType` for event
/// publishing): `Bounce`, `Complaint`, `Delivery`, `DeliveryDelay`.
public enum SESNotification {
    public static func events(_ body: [UInt8]) throws(IntakeVerificationError) -> [DeliveryEvent] {
        let object = try ProviderJSON.object(body)
        let type = ProviderJSON.string(object["notificationType"], limit: 40) ?? ProviderJSON.string(object["eventType"], limit: 40) ?? ""
        let mail = object["mail"] as? [String: Any]
        let common = mail?["commonHeaders"] as? [String: Any]
        var messageID = ProviderJSON.messageID(common?["messageId"])
        if messageID == nil, let headers = mail?["headers"] as? [Any] {
            for case let header as [String: Any] in headers.prefix(200) where ProviderJSON.string(header["name"])?.lowercased() == "message-id" {
                messageID = ProviderJSON.messageID(header["value"])
                break
            }
        }
        guard let messageID else { return [] }
        switch type {
        case "Bounce":
            let bounce = object["bounce"] as? [String: Any]
            let permanent = ProviderJSON.string(bounce?["bounceType"]) == "Permanent"
            return recipients(bounce?["bouncedRecipients"]).map { recipient in
                let status = ProviderJSON.string(recipient["status"]).flatMap(BounceParser.enhancedCode)
                return DeliveryEvent(
                    messageID: messageID, recipient: ProviderJSON.recipient(recipient["emailAddress"]) ?? "",
                    kind: permanent ? .bounced : .delayed, code: status,
                    diagnostic: ProviderJSON.string(recipient["diagnosticCode"]), permanent: permanent)
            }.filter { !$0.recipient.isEmpty }
        case "Complaint":
            let complaint = object["complaint"] as? [String: Any]
            let feedback = ProviderJSON.string(complaint?["complaintFeedbackType"], limit: 40)
            return recipients(complaint?["complainedRecipients"]).compactMap { recipient in
                ProviderJSON.recipient(recipient["emailAddress"]).map {
                    DeliveryEvent(messageID: messageID, recipient: $0, kind: .complained, diagnostic: feedback.map { "Feedback-Type: \($0)" })
                }
            }
        case "Delivery":
            let delivery = object["delivery"] as? [String: Any]
            return ((delivery?["recipients"] as? [Any]) ?? []).prefix(ProviderJSON.maximumEvents).compactMap { value in
                ProviderJSON.recipient(value).map {
                    DeliveryEvent(messageID: messageID, recipient: $0, kind: .delivered, diagnostic: ProviderJSON.string(delivery?["smtpResponse"]))
                }
            }
        case "DeliveryDelay":
            let delay = object["deliveryDelay"] as? [String: Any]
            return recipients(delay?["delayedRecipients"]).compactMap { recipient in
                ProviderJSON.recipient(recipient["emailAddress"]).map {
                    DeliveryEvent(
                        messageID: messageID, recipient: $0, kind: .delayed, code: ProviderJSON.string(recipient["status"]).flatMap(BounceParser.enhancedCode),
                        diagnostic: ProviderJSON.string(recipient["diagnosticCode"]), permanent: false)
                }
            }
        default:
            return []
        }
    }

    private static func recipients(_ value: Any?) -> [[String: Any]] {
        ((value as? [Any]) ?? []).prefix(ProviderJSON.maximumEvents).compactMap { $0 as? [String: Any] }
    }
}
