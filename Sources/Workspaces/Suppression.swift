public import Foundation

/// An address a workspace no longer sends to: it hard-bounced, complained, or a person added it.
/// Later sends leave it out of the envelope (see the Send SMTP Email node's `ignoreSuppression`).
public struct Suppression: Sendable, Hashable {
    /// Why the address is suppressed.
    public enum Reason: String, Sendable, Hashable, Codable, CaseIterable {
        /// A hard bounce (5.1.x bad mailbox, 5.2.1 disabled).
        case bounce
        /// The recipient reported the mail as spam.
        case complaint
        /// Added by hand (API, CLI, web app).
        case manual
    }

    public var workspaceID: String
    /// The address as an SMTP envelope carries it, the domain lower-cased (`Ada@example.com`).
    public var address: String
    public var reason: Reason
    /// What happened, in a few words (the bounce's status and diagnostic, or a person's note).
    public var detail: String?
    public var createdAt: Date

    public init(workspaceID: String, address: String, reason: Reason, detail: String?, createdAt: Date) {
        self.workspaceID = workspaceID
        self.address = address
        self.reason = reason
        self.detail = detail
        self.createdAt = createdAt
    }

    /// The form in which an address is kept and compared: trimmed, the domain lower-cased, the
    /// local part as given (it may be case-sensitive, RFC 5321 §2.4) — and compared
    /// case-insensitively as well, since providers treat it so (see ``key(of:)``).
    public static func normalized(_ address: String) -> String {
        let trimmed = address.trimmingCharacters(in: .whitespaces)
        guard let at = trimmed.lastIndex(of: "@") else { return trimmed }
        return String(trimmed[..<at]) + "@" + trimmed[trimmed.index(after: at)...].lowercased()
    }

    /// The key an address is matched by: all of it lower-cased, so `Ada@Example.com` and
    /// `ada@example.com` are one mailbox (as every large provider treats them).
    public static func key(of address: String) -> String { normalized(address).lowercased() }
}
