import SMTPCore

/// Quick settings for a common provider, as the spec's "Common providers" table gives them.
public struct CredentialPreset: Sendable, Hashable, Codable {
    /// `gmail`, `microsoft365`, `sendgrid`, `mailgun`, `aws-ses`.
    public var id: String
    public var name: String
    /// The host; for AWS SES it contains `{region}`, to be replaced by one of ``regions``.
    public var host: String
    public var port: Int
    /// `starttls` for all of them.
    public var security: String
    /// A fixed username (SendGrid's literal `apikey`), else `nil`.
    public var username: String?
    public var usernameHint: String
    public var passwordHint: String
    /// Regions to choose from when ``host`` contains `{region}`.
    public var regions: [String]?
    /// The provider's published sending limits, first the one the quick setting fills in (the
    /// others offered beside it); empty where they vary by plan (SendGrid, Mailgun).
    public var limits: [SuggestedLimits] = []

    /// Published limits under a name ("Gmail", "Google Workspace", "SES sandbox").
    public struct SuggestedLimits: Sendable, Hashable, Codable {
        public var name: String
        public var limits: RateLimits
        /// Where the numbers come from, in words.
        public var note: String
    }

    /// Every preset, in the spec's order.
    public static let all: [CredentialPreset] = [
        CredentialPreset(
            id: "gmail", name: "Gmail / Google Workspace", host: "smtp.gmail.com", port: 587,
            security: SMTPSecurity.startTLS.rawValue, username: nil,
            usernameHint: "Your full email address.",
            passwordHint: "An App Password, not your account password. 2FA is required to generate one.",
            limits: [
                SuggestedLimits(
                    name: "Gmail", limits: RateLimits(perDay: 500),
                    note: "Gmail accounts send about 500 messages a day."),
                SuggestedLimits(
                    name: "Google Workspace", limits: RateLimits(perDay: 2_000, counts: .recipients),
                    note: "Google Workspace allows 2,000 messages a day per user; counting recipients keeps both that and its recipient limits."),
            ]),
        CredentialPreset(
            id: "microsoft365", name: "Microsoft 365 / Outlook", host: "smtp.office365.com", port: 587,
            security: SMTPSecurity.startTLS.rawValue, username: nil,
            usernameHint: "The mailbox address, with SMTP AUTH enabled for it.",
            passwordHint: "An App Password or the password of an SMTP-AUTH-enabled mailbox. Microsoft is deprecating basic auth: modern tenants will need OAuth (coming in a later release).",
            limits: [
                SuggestedLimits(
                    name: "Microsoft 365", limits: RateLimits(perMinute: 30, perDay: 10_000, counts: .recipients),
                    note: "Exchange Online allows 30 messages a minute and 10,000 recipients a day per mailbox."),
            ]),
        CredentialPreset(
            id: "sendgrid", name: "SendGrid", host: "smtp.sendgrid.net", port: 587,
            security: SMTPSecurity.startTLS.rawValue, username: "apikey",
            usernameHint: "The literal word apikey.",
            passwordHint: "Your SendGrid API key."),
        CredentialPreset(
            id: "mailgun", name: "Mailgun", host: "smtp.mailgun.org", port: 587,
            security: SMTPSecurity.startTLS.rawValue, username: nil,
            usernameHint: "The domain's SMTP login from the Mailgun dashboard (postmaster@your-domain).",
            passwordHint: "Domain-specific SMTP credentials from the Mailgun dashboard."),
        CredentialPreset(
            id: "aws-ses", name: "AWS SES", host: "email-smtp.{region}.amazonaws.com", port: 587,
            security: SMTPSecurity.startTLS.rawValue, username: nil,
            usernameHint: "The SMTP username generated in the SES console (not your IAM access key).",
            passwordHint: "SMTP credentials generated from the SES console (not your IAM keys).",
            regions: [
                "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2",
                "eu-west-3", "eu-central-1", "eu-north-1", "eu-south-1", "ap-south-1", "ap-northeast-1",
                "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "sa-east-1",
                "me-south-1", "af-south-1", "il-central-1",
            ],
            limits: [
                SuggestedLimits(
                    name: "SES sandbox", limits: RateLimits(perSecond: 1, perDay: 200, counts: .recipients),
                    note: "In the SES sandbox: 200 recipients a day, one a second. Out of it, your account's quotas (SES console) apply."),
            ]),
    ]
}
