/// Which addresses outbound connections (SMTP relays, attachment URLs) may reach: public addresses,
/// plus whatever blocks the operator allowlists for on-premises relays and tests.
///
/// Without an allowlist even loopback is refused, so a workflow cannot make the server talk to
/// itself, its neighbours or a cloud metadata service.
public struct EgressPolicy: Hashable, Sendable {
    /// Blocks the operator opened with `--allow-private-egress CIDR` or
    /// `POSTHORN_ALLOW_PRIVATE_EGRESS`; see ``parseAllowlist(_:)``.
    public var allowlist: [CIDR]

    /// Creates a policy; the default permits public addresses only.
    public init(allowlist: [CIDR] = []) {
        self.allowlist = allowlist
    }

    /// Whether a connection to `address` is allowed: it is public, or inside an allowlisted block.
    public func permits(_ address: IPAddress) -> Bool {
        switch address.addressClass {
        case .public:
            return true
        case .special:
            return allowlist.contains { $0.contains(address) }
        }
    }
}

// MARK: - Allowlist syntax

extension EgressPolicy {
    /// Parses an operator allowlist: comma-separated entries, each a range (`10.0.0.0/8`,
    /// `fd00::/8`) or a single address (`127.0.0.1` meaning `/32`, `::1` meaning `/128`), with
    /// spaces and tabs around entries ignored.
    ///
    /// Text that is blank (an unset-looking environment variable) is the empty allowlist. An empty
    /// entry between commas (`10.0.0.0/8,,::1`, or a trailing comma) is refused: in a setting that
    /// opens private networks, a half-edited value should fail loudly rather than be half-applied.
    /// Ranges follow ``CIDR/init(_:)``: canonical addresses and no host bits beyond the prefix.
    public static func parseAllowlist(_ text: String) throws(CIDR.ParseError) -> [CIDR] {
        guard !trimmingBlanks(Substring(text)).isEmpty else { return [] }
        let entries = text.split(separator: ",", omittingEmptySubsequences: false)
        var ranges: [CIDR] = []
        for (position, rawEntry) in entries.enumerated() {
            let entry = String(trimmingBlanks(rawEntry))
            if entry.isEmpty {
                throw CIDR.ParseError(input: text, reason: "entry \(position + 1) of \(entries.count) is empty")
            }
            if entry.contains("/") {
                ranges.append(try CIDR(entry))
            } else if let address = IPAddress(entry) {
                ranges.append(CIDR(address))
            } else {
                throw CIDR.ParseError(
                    input: entry,
                    reason: "expected an address (127.0.0.1, ::1) or a range (10.0.0.0/8, fd00::/8)"
                )
            }
        }
        return ranges
    }

    private static func trimmingBlanks(_ text: Substring) -> Substring {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = text.firstIndex(where: { !isBlank($0) }),
              let last = text.lastIndex(where: { !isBlank($0) })
        else { return "" }
        return text[first...last]
    }
}
