@testable import Bounces
import Crypto
import CryptoExtras
import Foundation
import SwiftASN1
import Testing
import X509

/// Providers' webhook calls: verified with the intake's keys, read into delivery events. (The
/// independent check — payloads signed by Python's `cryptography` against a running server — is
/// `scripts/interop/intake_providers.py`.)
@Suite("Provider events: SendGrid, Mailgun, Postmark and SES over SNS, verified and read")
struct ProviderEventTests {
    static let now = Date(timeIntervalSince1970: 1_796_000_000)

    // MARK: SendGrid

    static func sendGridCall(_ events: String, key: P256.Signing.PrivateKey, at: Date = now) throws -> (body: [UInt8], signature: String, timestamp: String) {
        let timestamp = String(Int(at.timeIntervalSince1970))
        let signature = try key.signature(for: Data(timestamp.utf8) + Data(events.utf8))
        return (Array(events.utf8), signature.derRepresentation.base64EncodedString(), timestamp)
    }

    static let sendGridEvents = """
        [{"email":"gone@example.com","event":"bounce","smtp-id":"<m1@posthorn.example>","status":"5.1.1","reason":"550 5.1.1 no such user","type":"bounce","sg_event_id":"e1"},
         {"email":"ok@example.com","event":"open","smtp-id":"<m1@posthorn.example>"},
         {"email":"spam@example.com","event":"spamreport","smtp-id":"<m1@posthorn.example>"},
         {"email":"slow@example.com","event":"deferred","smtp-id":"<m1@posthorn.example>","response":"451 try later"},
         {"email":"blocked@example.com","event":"bounce","type":"blocked","status":"5.7.1","smtp-id":"<m1@posthorn.example>"}]
        """

    @Test("a SendGrid call signed with the account's key reads to its delivery events; opens are left out")
    func sendGridValid() throws {
        let key = P256.Signing.PrivateKey()
        let call = try Self.sendGridCall(Self.sendGridEvents, key: key)
        let verified = try SendGridEvents.verify(body: call.body, signature: call.signature, timestamp: call.timestamp, key: key.publicKey, now: Self.now)
        #expect(verified.events.map(\.recipient) == ["gone@example.com", "spam@example.com", "slow@example.com", "blocked@example.com"])
        #expect(verified.events.map(\.kind) == [.bounced, .complained, .delayed, .bounced])
        #expect(verified.events.map(\.permanent) == [true, true, false, false])
        #expect(verified.events[0].code == "5.1.1" && verified.events[0].messageID == "<m1@posthorn.example>")
        #expect(try SendGridEvents.publicKey(key.publicKey.derRepresentation.base64EncodedString()).rawRepresentation == key.publicKey.rawRepresentation)
    }

    @Test("SendGrid: another key, a changed body, a missing header or a stale timestamp is refused")
    func sendGridRefused() throws {
        let key = P256.Signing.PrivateKey()
        let call = try Self.sendGridCall(Self.sendGridEvents, key: key)
        let other = try Self.sendGridCall(Self.sendGridEvents, key: P256.Signing.PrivateKey())
        #expect(throws: IntakeVerificationError.self) {
            try SendGridEvents.verify(body: other.body, signature: other.signature, timestamp: other.timestamp, key: key.publicKey, now: Self.now)
        }
        #expect(throws: IntakeVerificationError.self) {
            try SendGridEvents.verify(body: call.body + Array(" ".utf8), signature: call.signature, timestamp: call.timestamp, key: key.publicKey, now: Self.now)
        }
        #expect(throws: IntakeVerificationError.self) {
            try SendGridEvents.verify(body: call.body, signature: nil, timestamp: call.timestamp, key: key.publicKey, now: Self.now)
        }
        let stale = try Self.sendGridCall(Self.sendGridEvents, key: key, at: Self.now - 1_200)
        #expect(throws: IntakeVerificationError.stale("the SendGrid timestamp is more than 10 minutes from now")) {
            try SendGridEvents.verify(body: stale.body, signature: stale.signature, timestamp: stale.timestamp, key: key.publicKey, now: Self.now)
        }
        #expect(throws: IntakeVerificationError.self) { try SendGridEvents.publicKey("not a key") }
    }

    // MARK: Mailgun

    static func mailgunBody(key: String, timestamp: Date = now, token: String = "t0k3n", event: String = "failed", severity: String = "permanent") -> [UInt8] {
        let stamp = String(Int(timestamp.timeIntervalSince1970))
        let mac = HMAC<SHA256>.authenticationCode(for: Data((stamp + token).utf8), using: SymmetricKey(data: Data(key.utf8)))
        let hex = mac.map { String(format: "%02x", $0) }.joined()
        return Array("""
            {"signature":{"timestamp":"\(stamp)","token":"\(token)","signature":"\(hex)"},
             "event-data":{"event":"\(event)","severity":"\(severity)","recipient":"gone@example.com",
               "message":{"headers":{"message-id":"m2@posthorn.example"}},
               "delivery-status":{"code":550,"enhanced-code":"5.1.1","message":"no such user"}}}
            """.utf8)
    }

    @Test("Mailgun: the HMAC of timestamp and token under the signing key; the token is the replay key; temporary failures are delays")
    func mailgun() throws {
        let verified = try MailgunEvents.verify(body: Self.mailgunBody(key: "key-1"), signingKey: "key-1", now: Self.now)
        #expect(verified.events == [DeliveryEvent(messageID: "<m2@posthorn.example>", recipient: "gone@example.com", kind: .bounced, code: "5.1.1", diagnostic: "550 no such user")])
        #expect(verified.replayKey == "mailgun:t0k3n")
        let temporary = try MailgunEvents.verify(body: Self.mailgunBody(key: "key-1", severity: "temporary"), signingKey: "key-1", now: Self.now)
        #expect(temporary.events.map(\.kind) == [.delayed] && temporary.events.map(\.permanent) == [false])
        #expect(throws: IntakeVerificationError.self) { try MailgunEvents.verify(body: Self.mailgunBody(key: "key-2"), signingKey: "key-1", now: Self.now) }
        #expect(throws: IntakeVerificationError.self) {
            try MailgunEvents.verify(body: Self.mailgunBody(key: "key-1", timestamp: Self.now - 3_600), signingKey: "key-1", now: Self.now)
        }
    }

    @Test("Mailgun's reply code becomes a basic status only for 2xx, 4xx and 5xx (the fuzzer found 1xx read as 1.0.0)", arguments: [
        (550, "5.0.0"), (421, "4.0.0"), (250, "2.0.0"), (150, nil), (354, nil), (999, nil), (-5, nil),
    ] as [(Int, String?)])
    func mailgunReplyCodes(_ reply: Int, _ expected: String?) {
        #expect(MailgunEvents.basicCode(reply) == expected)
    }

    // MARK: Postmark

    @Test("Postmark: basic authentication; a hard bounce by the posthorn-message-id metadata; a soft bounce is a delay")
    func postmark() throws {
        let body = Array(#"{"RecordType":"Bounce","ID":42,"Type":"HardBounce","Email":"gone@example.com","Details":"smtp;550 5.1.1 unknown","Metadata":{"posthorn-message-id":"<m3@posthorn.example>"}}"#.utf8)
        let auth = "Basic " + Data("hook:s3cret".utf8).base64EncodedString()
        let verified = try PostmarkEvents.verify(body: body, authorization: auth, username: "hook", password: "s3cret")
        #expect(verified.events == [DeliveryEvent(messageID: "<m3@posthorn.example>", recipient: "gone@example.com", kind: .bounced, code: "5.1.1", diagnostic: "smtp;550 5.1.1 unknown")])
        #expect(verified.replayKey == "postmark:Bounce:42")
        #expect(throws: IntakeVerificationError.self) { try PostmarkEvents.verify(body: body, authorization: auth, username: "hook", password: "other") }
        #expect(throws: IntakeVerificationError.self) { try PostmarkEvents.verify(body: body, authorization: nil, username: "hook", password: "s3cret") }
        let soft = Array(#"{"RecordType":"Bounce","ID":43,"Type":"SoftBounce","Email":"full@example.com","Metadata":{"posthorn-message-id":"<m3@posthorn.example>"}}"#.utf8)
        #expect(try PostmarkEvents.verify(body: soft, authorization: auth, username: "hook", password: "s3cret").events.map(\.kind) == [.delayed])
    }

    // MARK: SES over SNS

    struct SNSSigner {
        let key = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
        var certificatePEM: String {
            get throws {
                let name = try DistinguishedName { CommonName("sns.us-east-1.amazonaws.com") }
                let certificate = try Certificate(
                    version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(key.publicKey),
                    notValidBefore: now - 86_400, notValidAfter: now + 86_400, issuer: name, subject: name,
                    signatureAlgorithm: .sha256WithRSAEncryption, extensions: Certificate.Extensions(),
                    issuerPrivateKey: Certificate.PrivateKey(key))
                return try certificate.serializeAsPEM().pemString
            }
        }

        func sign(_ message: inout SNSMessage, version: String = "1") throws {
            message.signatureVersion = version
            let data = Data(message.canonicalString.utf8)
            let signature = version == "1"
                ? try key.signature(for: Insecure.SHA1.hash(data: data), padding: .insecurePKCS1v1_5)
                : try key.signature(for: SHA256.hash(data: data), padding: .insecurePKCS1v1_5)
            message.signature = signature.rawRepresentation.base64EncodedString()
        }
    }

    static func sesBounce() -> SNSMessage {
        let inner = #"{"notificationType":"Bounce","mail":{"messageId":"0100-ses","commonHeaders":{"messageId":"<m4@posthorn.example>"}},"bounce":{"bounceType":"Permanent","bouncedRecipients":[{"emailAddress":"gone@example.com","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown","action":"failed"}]}}"#
        return SNSMessage(
            kind: .notification, messageID: "sns-1", topicARN: "arn:aws:sns:us-east-1:123456789012:bounces", message: inner, subject: nil,
            timestamp: "2026-11-30T00:53:20.000Z", token: nil, subscribeURL: nil, signatureVersion: "1", signature: "",
            signingCertificateURL: URL(string: "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem")!)
    }

    @Test("SES over SNS: signature versions 1 (SHA-1) and 2 (SHA-256) verified with the certificate; the bounce read from the notification", arguments: ["1", "2"])
    func snsValid(version: String) throws {
        let signer = SNSSigner()
        var message = Self.sesBounce()
        try signer.sign(&message, version: version)
        try message.verify(certificatePEM: try signer.certificatePEM, now: Self.now)
        let call = try message.call()
        #expect(call.events == [DeliveryEvent(messageID: "<m4@posthorn.example>", recipient: "gone@example.com", kind: .bounced, code: "5.1.1", diagnostic: "smtp; 550 5.1.1 user unknown")])
        #expect(call.replayKey == "sns:sns-1")
    }

    @Test("SNS: another key, a changed message, a certificate URL off SNS, a stale timestamp are refused")
    func snsRefused() throws {
        let signer = SNSSigner()
        let pem = try signer.certificatePEM
        var forged = Self.sesBounce()
        try SNSSigner().sign(&forged)
        #expect(throws: IntakeVerificationError.self) { try forged.verify(certificatePEM: pem, now: Self.now) }
        var changed = Self.sesBounce()
        try signer.sign(&changed)
        changed.message = changed.message.replacingOccurrences(of: "gone@", with: "someone@")
        #expect(throws: IntakeVerificationError.self) { try changed.verify(certificatePEM: pem, now: Self.now) }
        var offHost = Self.sesBounce()
        offHost.signingCertificateURL = URL(string: "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem")!
        try signer.sign(&offHost)
        #expect(throws: IntakeVerificationError.badSignature("SigningCertURL is not an SNS certificate URL")) { try offHost.verify(certificatePEM: pem, now: Self.now) }
        var stale = Self.sesBounce()
        try signer.sign(&stale)
        #expect(throws: IntakeVerificationError.self) { try stale.verify(certificatePEM: pem, now: Self.now + 7_200) }
    }

    @Test("only https SNS hosts count as SNS URLs", arguments: [
        ("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem", true),
        ("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem", true),
        ("http://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem", false),
        ("https://sns.us-east-1.amazonaws.com.evil.example/a.pem", false),
        ("https://evil.example/sns.us-east-1.amazonaws.com/a.pem", false),
        ("https://s3.us-east-1.amazonaws.com/a.pem", false),
        ("https://sns.us-east-1.amazonaws.com:8443/a.pem", false),
        ("https://user@sns.us-east-1.amazonaws.com/a.pem", false),
        ("https://sns.us-east-1.amazonaws.com/a.txt", false),
    ])
    func snsURLs(_ url: String, _ expected: Bool) {
        #expect(SNSMessage.isSNSURL(URL(string: url)!) == expected)
    }

    @Test("SES complaints and deliveries read too; a message without a Message-ID yields nothing")
    func sesKinds() throws {
        let complaint = #"{"notificationType":"Complaint","mail":{"headers":[{"name":"Message-ID","value":"<m5@posthorn.example>"}]},"complaint":{"complainedRecipients":[{"emailAddress":"annoyed@example.com"}],"complaintFeedbackType":"abuse"}}"#
        #expect(try SESNotification.events(Array(complaint.utf8)) == [DeliveryEvent(messageID: "<m5@posthorn.example>", recipient: "annoyed@example.com", kind: .complained, diagnostic: "Feedback-Type: abuse")])
        let nameless = #"{"notificationType":"Bounce","mail":{},"bounce":{"bounceType":"Permanent","bouncedRecipients":[{"emailAddress":"x@example.com"}]}}"#
        #expect(try SESNotification.events(Array(nameless.utf8)).isEmpty)
    }
}
