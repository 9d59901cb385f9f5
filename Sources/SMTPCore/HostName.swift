import Egress
import Foundation

/// Host name and EHLO identifier rules.
enum HostName {
    /// An RFC 1123 host name (LDH labels, at most 63 octets each, 253 in all) or a canonical IP literal.
    static func isValidHost(_ host: String) -> Bool {
        IPAddress(host) != nil || isValidDomain(host)
    }

    static func isValidDomain(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
        } && !(labels.last?.allSatisfy(\.isNumber) ?? false)
    }

    /// RFC 5321 section 4.1.4: the EHLO argument is a domain or an address literal
    /// (`[192.0.2.1]`, `[IPv6:2001:db8::1]`).
    static func isValidClientIdentifier(_ identifier: String) -> Bool {
        if identifier.hasPrefix("[") && identifier.hasSuffix("]") {
            let inner = identifier.dropFirst().dropLast()
            if inner.lowercased().hasPrefix("ipv6:") {
                guard let address = IPAddress(String(inner.dropFirst(5))), case .v6 = address else { return false }
                return true
            }
            guard let address = IPAddress(String(inner)), case .v4 = address else { return false }
            return true
        }
        return isValidDomain(identifier)
    }

    /// The machine's fully qualified name when it is a valid domain with a dot, else the
    /// address-literal form of loopback, which every server accepts.
    static func defaultClientIdentifier() -> String {
        let name = ProcessInfo.processInfo.hostName
        return name.contains(".") && isValidDomain(name) ? name : "[127.0.0.1]"
    }
}
