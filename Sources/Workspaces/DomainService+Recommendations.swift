public import DKIM
public import Foundation

/// The SPF and DMARC records Posthorn recommends beside a domain's DKIM keys.
extension DomainService {
    /// A recommended record and why.
    public struct Recommendation: Sendable, Hashable {
        public var record: DNSTXTRecord
        /// The credential the SPF record was written for, when one was named.
        public var credentialID: String?
        public var note: String
    }

    /// The SPF record for sending through `credential`'s server (its provider's `include:` when
    /// Posthorn knows it), and a DMARC record to start with.
    public static func recommendations(
        for domain: SendingDomain, credential: SMTPCredential?
    ) -> (spf: Recommendation, dmarc: Recommendation) {
        let spf: Recommendation
        if let credential, let provider = SPFProvider.of(host: credential.host) {
            spf = Recommendation(
                record: DNSTXTRecord(name: domain.name, value: "v=spf1 \(provider.mechanism) ~all"), credentialID: credential.id,
                note: provider.note + " A domain has one SPF record: if it has one already, add \(provider.mechanism) to it rather than publish a second.")
        } else if let credential {
            spf = Recommendation(
                record: DNSTXTRecord(name: domain.name, value: "v=spf1 a:\(credential.host) ~all"), credentialID: credential.id,
                note: "Allows the addresses of \(credential.host). If your provider publishes an include: for SPF, use that instead. A domain has one SPF record: merge into an existing one.")
        } else {
            spf = Recommendation(
                record: DNSTXTRecord(name: domain.name, value: "v=spf1 mx ~all"), credentialID: nil,
                note: "Pick the credential you send with to see its provider's include:. A domain has one SPF record: merge into an existing one.")
        }
        let dmarc = Recommendation(
            record: DNSTXTRecord(name: "_dmarc.\(domain.name)", value: "v=DMARC1; p=none; rua=mailto:dmarc-reports@\(domain.name); adkim=r; aspf=r"),
            credentialID: nil,
            note: "p=none only reports (to the rua address, which should exist). Once the reports show your mail passing, move to p=quarantine, then p=reject.")
        return (spf, dmarc)
    }

    /// The providers whose SPF include Posthorn knows, by SMTP host.
    struct SPFProvider {
        var mechanism: String
        var note: String

        static func of(host: String) -> SPFProvider? {
            let host = host.lowercased()
            func under(_ suffix: String) -> Bool { host == suffix || host.hasSuffix("." + suffix) }
            if under("gmail.com") || under("google.com") || under("googlemail.com") {
                return SPFProvider(mechanism: "include:_spf.google.com", note: "Google Workspace and Gmail send from the addresses of _spf.google.com.")
            }
            if under("office365.com") || under("outlook.com") {
                return SPFProvider(mechanism: "include:spf.protection.outlook.com", note: "Microsoft 365 sends from the addresses of spf.protection.outlook.com.")
            }
            if under("sendgrid.net") {
                return SPFProvider(mechanism: "include:sendgrid.net", note: "SendGrid checks SPF on its own bounce domain unless you set up domain authentication; this covers your domain too.")
            }
            if under("mailgun.org") {
                return SPFProvider(mechanism: "include:mailgun.org", note: "Mailgun sends from the addresses of mailgun.org.")
            }
            if host.hasPrefix("email-smtp.") && host.hasSuffix(".amazonaws.com") {
                return SPFProvider(mechanism: "include:amazonses.com", note: "Amazon SES: SPF aligns with your domain only with a custom MAIL FROM domain in SES; DKIM alignment alone satisfies DMARC.")
            }
            return nil
        }
    }
}
