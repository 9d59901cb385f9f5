/// Which webhook request headers a run keeps, and which it keeps only as `<redacted>`.
///
/// A flow may read `{{trigger.headers.x-github-event}}`, so headers are kept; but senders put
/// credentials in headers under many names (`X-Api-Key`, `X-Hub-Signature-256`, `X-Shopify-Hmac-Sha256`,
/// `X-Slack-Signature`, a bearer token in a custom header), and the run history is readable by every
/// token of the workspace. So a header is redacted when its name or its value looks like a
/// credential, and the ones that always are (cookies, authorization, our own shared secret) are not
/// kept at all.
enum WebhookHeaderPolicy {
    /// What stands in for a redacted value.
    static let redacted = "<redacted>"

    /// Never kept, not even by name.
    static let dropped: Set<String> = [
        "authorization", "proxy-authorization", "cookie", "set-cookie", "x-webhook-secret",
    ]

    /// A name containing one of these (lower case) marks a credential.
    static let secretNameParts = [
        "token", "secret", "signature", "password", "passwd", "auth", "session", "cookie", "credential",
        "api-key", "apikey", "api_key", "access-key", "access_key", "private", "hmac", "-sig", "_sig", "key",
    ]

    /// Values starting with one of these are credentials whatever the name.
    static let secretValuePrefixes = [
        "bearer ", "basic ", "token ", "digest ", "sk_", "sk-", "rk_", "pk_live", "ghp_", "gho_", "ghs_",
        "github_pat_", "xoxb-", "xoxp-", "xoxa-", "xoxs-", "sg.", "akia", "aiza", "whsec_", "shpat_", "glpat-",
    ]

    /// The value to keep for header `name` (lower case): the value, ``redacted``, or `nil` (drop).
    static func recordedValue(name: String, value: String) -> String? {
        if dropped.contains(name) { return nil }
        if secretNameParts.contains(where: name.contains) || looksLikeCredential(value) { return redacted }
        return value
    }

    /// A bearer-style value, a known token prefix, a JWT, or a long random-looking string (32+
    /// characters of one token alphabet mixing letters and digits, other than a UUID).
    static func looksLikeCredential(_ value: String) -> Bool {
        let lowered = value.lowercased()
        if secretValuePrefixes.contains(where: lowered.hasPrefix) { return true }
        let bytes = Array(value.utf8)
        guard bytes.count >= 32 else { return false }
        let tokenAlphabet = bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="):
                true
            default:
                false
            }
        }
        guard tokenAlphabet else { return false }
        if lowered.hasPrefix("eyj") && bytes.filter({ $0 == UInt8(ascii: ".") }).count == 2 { return true }
        if isUUID(bytes) { return false }
        let hasLetter = bytes.contains { (UInt8(ascii: "A")...UInt8(ascii: "z")).contains($0) && !(91...96).contains($0) }
        let hasDigit = bytes.contains { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        return hasLetter && hasDigit
    }

    /// `8-4-4-4-12` hex digits.
    private static func isUUID(_ bytes: [UInt8]) -> Bool {
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(index) {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
                    || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
                else { return false }
            }
        }
        return true
    }
}
