import Flows
import MIME
import Foundation

/// A URL the fetcher is willing to try: absolute `http:` or `https:`, a host, no user info.
///
/// The host is read exactly as AsyncHTTPClient reads it (Foundation's `URL.host`, IPv6 brackets
/// trimmed), because it is the key of the `dnsOverride` entry that pins the connection: if the two
/// readings differed, the override would silently not apply and the client would resolve the name
/// again, reopening the rebinding gap the egress guard closes.
struct FetchTarget: Hashable, Sendable {
    enum Scheme: String, Hashable, Sendable {
        case http, https

        var defaultPort: Int {
            switch self {
            case .http: 80
            case .https: 443
            }
        }
    }

    var scheme: Scheme
    /// The host as the client sees it: a name, or an IP literal without brackets.
    var host: String
    var port: Int
    /// Whether ``host`` is an IPv6 literal (written in brackets in the URL).
    var hostIsIPv6Literal: Bool
    /// The last segment of the path, percent-decoded and without path separators; `nil` for a path
    /// that is empty or ends in `/`.
    var lastPathSegment: String?

    /// `host:port` for log lines and messages: never the path or the query, which may hold tokens.
    var authority: String {
        hostIsIPv6Literal ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Checks `text`; every refusal is `EURL` naming `field` and the rule, never quoting the URL
    /// (its query may carry a token).
    init(validating text: String, field: String) throws(NodeError) {
        func refuse(_ rule: String) -> NodeError {
            NodeError(code: FetchErrorCode.invalidURL, message: "\(field): \(rule)", disposition: .permanent)
        }
        guard !text.isEmpty else { throw refuse("a URL is required") }
        guard let url = URL(string: text) else { throw refuse("is not a valid URL") }
        guard let rawScheme = url.scheme, !rawScheme.isEmpty else {
            throw refuse("must be an absolute URL starting with http:// or https://")
        }
        guard let scheme = Scheme(rawValue: rawScheme.lowercased()) else {
            throw refuse("only http and https URLs can be fetched, not \(Self.quotedScheme(rawScheme))")
        }
        // `URL.user` misses an empty user info (`http://@host/`), so look at the authority too.
        guard url.user == nil, url.password == nil, !Self.authorityHasUserInfo(text) else {
            throw refuse("must not carry a user name or password; send credentials in a header instead")
        }
        guard var host = url.host, !host.isEmpty else { throw refuse("has no host") }
        var isIPv6 = false
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
            isIPv6 = true
        } else if host.contains(":") {
            isIPv6 = true
        }
        guard !host.isEmpty, Self.isPlainHost(host, ipv6: isIPv6) else {
            throw refuse("the host has characters a host name cannot have")
        }
        let port = url.port ?? scheme.defaultPort
        guard (1...65_535).contains(port) else { throw refuse("the port must be between 1 and 65535") }

        self.scheme = scheme
        self.host = host
        self.port = port
        self.hostIsIPv6Literal = isIPv6
        self.lastPathSegment = Self.lastSegment(ofPath: url.path(percentEncoded: true))
    }

    // MARK: - Rules

    /// Letters, digits, `-`, `.` and `_` for a name (IDNs arrive as punycode); hex digits, `:` and
    /// `.` for an IPv6 literal. No `%`: a zone id or a percent-encoded host is read differently by
    /// different parsers.
    static func isPlainHost(_ host: String, ipv6: Bool) -> Bool {
        host.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
                 UInt8(ascii: "A")...UInt8(ascii: "F"), UInt8(ascii: "."):
                return true
            case UInt8(ascii: ":"):
                return ipv6
            case UInt8(ascii: "g")...UInt8(ascii: "z"), UInt8(ascii: "G")...UInt8(ascii: "Z"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"):
                return !ipv6
            default:
                return false
            }
        }
    }

    /// Whether the authority (between `//` and the next `/`, `?` or `#`) holds an `@`.
    static func authorityHasUserInfo(_ text: String) -> Bool {
        guard let start = text.range(of: "//")?.upperBound else { return false }
        let authority = text[start...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return authority.contains("@")
    }

    static func lastSegment(ofPath path: String) -> String? {
        guard let last = path.split(separator: "/", omittingEmptySubsequences: false).last, !last.isEmpty else {
            return nil
        }
        let decoded = String(last).removingPercentEncoding ?? String(last)
        return FilenameSanitizer.sanitize(decoded)
    }

    /// A scheme for an error message: URL schemes are letters, digits, `+`, `-` and `.`, but the
    /// text came from a workflow, so anything else is dropped and the length capped.
    static func quotedScheme(_ scheme: String) -> String {
        let kept = scheme.unicodeScalars.filter { $0.isASCII && ($0.properties.isAlphabetic || "0123456789+-.".unicodeScalars.contains($0)) }
        return "\"" + String(String.UnicodeScalarView(kept.prefix(20))) + ":\""
    }
}
