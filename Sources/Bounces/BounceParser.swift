import Foundation

/// Reads a bounce message (`message/rfc822` as a provider's intake hands it on, or piped to
/// `posthorn bounce ingest`) into a ``BounceReport``. Hostile input throughout: sizes, fields,
/// parts and nesting are bounded, and whatever does not parse is left out rather than trusted.
public enum BounceParser {
    /// The largest message read: a bounce that returns a big original is cut by its sender long
    /// before this.
    public static let maximumSize = 10 * 1024 * 1024
    /// The most recipients a report yields.
    public static let maximumRecipients = 100
    /// How much of a notice's text the fallback reads.
    static let maximumTextScanned = 256 * 1024

    /// The report in `message`, RFC 3464 first, the notice's text otherwise.
    public static func parse(_ message: [UInt8]) throws(BounceParseError) -> BounceReport {
        guard message.count <= maximumSize else { throw .tooLarge(bytes: message.count) }
        let top = MessagePart(message[...])
        guard !top.fields.isEmpty else { throw .notABounce("there is no header block") }
        var leaves: [(part: MessagePart, type: String)] = []
        collect(top, depth: 0, into: &leaves)

        let originalID = leaves.lazy.compactMap { leaf -> String? in
            guard leaf.type == "message/rfc822" || leaf.type == "text/rfc822-headers" || leaf.type == "message/rfc822-headers"
            else { return nil }
            return messageID(MessagePart(leaf.part.decodedBody[...]).field("message-id"))
        }.first

        if let feedback = leaves.first(where: { $0.type == "message/feedback-report" }) {
            return try feedbackReport(MessagePart(feedback.part.decodedBody.prefix(maximumTextScanned)), leaves: leaves, originalID: originalID)
        }
        if let status = leaves.first(where: { $0.type == "message/delivery-status" || $0.type == "message/global-delivery-status" }) {
            var report = deliveryStatus(MessagePart.text(status.part.decodedBody.prefix(maximumTextScanned)))
            report.messageID = originalID
            if !report.recipients.isEmpty { return report }
        }
        return try textNotice(top, leaves: leaves, originalID: originalID)
    }

    /// Every leaf entity, depth first; a returned message counts as a leaf (its own parts are not
    /// the report's).
    private static func collect(_ part: MessagePart, depth: Int, into leaves: inout [(part: MessagePart, type: String)]) {
        let type = part.contentType.type
        guard type.hasPrefix("multipart/"), depth < MessagePart.maximumDepth else {
            if leaves.count < MessagePart.maximumParts { leaves.append((part, type)) }
            return
        }
        for child in part.parts {
            collect(child, depth: depth + 1, into: &leaves)
        }
    }

    // MARK: - RFC 3464

    /// The per-message group, then one group per recipient, each a block of header-like fields.
    static func deliveryStatus(_ text: String) -> BounceReport {
        let groups = text.replacingOccurrences(of: "\r\n", with: "\n")
            .components(separatedBy: "\n\n")
            .map { MessagePart(Array(($0 + "\n\n").utf8)[...]) }
            .filter { !$0.fields.isEmpty }
        var report = BounceReport(format: .deliveryStatus, recipients: [])
        for group in groups {
            if group.field("final-recipient") == nil && group.field("original-recipient") == nil {
                report.envelopeID = report.envelopeID ?? group.field("original-envelope-id").map { clean($0, limit: 100) }
                report.reportingMTA = report.reportingMTA ?? group.field("reporting-mta").map { clean(typed($0), limit: 255) }
                continue
            }
            guard report.recipients.count < maximumRecipients,
                let address = address(typed(group.field("final-recipient") ?? group.field("original-recipient") ?? ""))
            else { continue }
            let status = group.field("status").flatMap(enhancedCode)
            let action = group.field("action").flatMap { BounceRecipient.Action(rawValue: $0.split(separator: " ").first.map(String.init)?.lowercased() ?? "") }
                .flatMap { $0 == .complained ? nil : $0 }
                ?? status.map(action(for:)) ?? .failed
            report.recipients.append(BounceRecipient(
                address: address, action: action, status: status,
                diagnostic: group.field("diagnostic-code").map { clean(typed($0), limit: 1_000) },
                remoteMTA: group.field("remote-mta").map { clean(typed($0), limit: 255) }))
        }
        return report
    }

    /// `type; value` → `value`.
    private static func typed(_ value: String) -> String {
        guard let semicolon = value.firstIndex(of: ";") else { return value }
        return String(value[value.index(after: semicolon)...]).trimmingCharacters(in: .whitespaces)
    }

    // MARK: - ARF (RFC 5965)

    /// A complaint: the recipient is `Original-Rcpt-To` — or, as providers often redact it, the
    /// one address of the returned message's `To`. A report naming nobody is not usable.
    static func feedbackReport(
        _ fields: MessagePart, leaves: [(part: MessagePart, type: String)], originalID: String?
    ) throws(BounceParseError) -> BounceReport {
        let original = leaves.first { $0.type == "message/rfc822" || $0.type == "text/rfc822-headers" }
            .map { MessagePart($0.part.decodedBody[...]) }
        var recipients = fields.fields(named: "original-rcpt-to").compactMap { address(typed($0)) }
        if recipients.isEmpty, let to = original?.field("to") {
            let named = addresses(in: to)
            if named.count == 1 { recipients = named }
        }
        guard !recipients.isEmpty else { throw .notABounce("the complaint names no recipient") }
        let kind = fields.field("feedback-type").map { clean($0, limit: 40) } ?? "abuse"
        return BounceReport(
            format: .feedbackReport, messageID: originalID, reportingMTA: fields.field("reporting-mta").map { clean(typed($0), limit: 255) },
            recipients: recipients.prefix(maximumRecipients).map {
                BounceRecipient(address: $0, action: .complained, status: nil, diagnostic: "Feedback-Type: \(kind)")
            })
    }

    // MARK: - Notices without a status part

    private static let noticeWords = [
        "undeliver", "delivery status", "delivery failure", "failure notice", "returned mail", "delivery has failed",
        "not delivered", "couldn't be delivered", "could not be delivered", "delivery incomplete", "delayed", "mail delivery failed",
    ]
    private static let delayWords = ["delayed", "will retry", "will continue trying", "temporarily", "has not yet been delivered"]

    /// A notice that only says it in words: its sender or subject must say it is one, and the text
    /// must name a recipient. The status is the first code in the text.
    static func textNotice(
        _ top: MessagePart, leaves: [(part: MessagePart, type: String)], originalID: String?
    ) throws(BounceParseError) -> BounceReport {
        let from = (top.field("from") ?? "").lowercased()
        let subject = (top.field("subject") ?? "").lowercased()
        let fromDaemon = from.contains("mailer-daemon") || from.contains("postmaster") || from.contains("mail delivery")
        guard fromDaemon || noticeWords.contains(where: subject.contains) else {
            throw .notABounce("neither a delivery status part nor a notice from a mail system")
        }
        var text = ""
        for leaf in leaves where leaf.type == "text/plain" || leaf.type == "text/html" {
            text += MessagePart.text(leaf.part.decodedBody.prefix(maximumTextScanned - text.utf8.count)) + "\n"
            if text.utf8.count >= maximumTextScanned { break }
        }
        let own = Set([top.field("from"), top.field("to"), top.field("return-path"), top.field("delivered-to")]
            .compactMap { $0 }.flatMap { addresses(in: $0) })
        // Message ids look like addresses: the quoted original's id lines are not recipients.
        let idFields = ["message-id:", "references:", "in-reply-to:", "x-original-message-id:"]
        let scanned = text.components(separatedBy: "\n").filter { line in
            let lower = line.trimmingCharacters(in: .whitespaces).lowercased()
            return !idFields.contains(where: lower.hasPrefix)
        }.joined(separator: "\n")
        var found: [String] = []
        for candidate in addresses(in: scanned) where !own.contains(candidate) && !found.contains(candidate) {
            let local = candidate.split(separator: "@").first.map { $0.lowercased() } ?? ""
            if local == "mailer-daemon" || local == "postmaster" { continue }
            found.append(candidate)
            if found.count == maximumRecipients { break }
        }
        guard !found.isEmpty else { throw .notABounce("the notice names no recipient") }
        let lower = text.lowercased()
        let (status, line) = firstCode(in: text)
        let delayed = status.map { $0.hasPrefix("4.") } ?? delayWords.contains(where: lower.contains)
        let recipients = found.map { address in
            BounceRecipient(address: address, action: delayed ? .delayed : .failed, status: status, diagnostic: line.map { clean($0, limit: 1_000) })
        }
        let quotedID = text.components(separatedBy: "\n").lazy.compactMap { line -> String? in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.lowercased().hasPrefix("message-id:") else { return nil }
            return messageID(String(trimmed.dropFirst("message-id:".count)))
        }.first
        return BounceReport(format: .text, messageID: originalID ?? quotedID, recipients: recipients)
    }

    /// The first enhanced status code (`5.1.1`) in the text, else one made from a three-digit reply
    /// code (`550` → `5.0.0`), and the line it is on.
    private static func firstCode(in text: String) -> (String?, String?) {
        var fallback: (String, String)?
        for line in text.components(separatedBy: "\n") {
            for word in line.split(whereSeparator: { $0 == " " || $0 == "-" || $0 == "(" || $0 == ")" || $0 == "'" || $0 == "\"" || $0 == ";" || $0 == "," }) {
                if let code = enhancedCode(String(word)) { return (code, line.trimmingCharacters(in: .whitespaces)) }
                if fallback == nil, word.count == 3, let number = Int(word), (400...599).contains(number) {
                    fallback = ("\(number / 100).0.0", line.trimmingCharacters(in: .whitespaces))
                }
            }
        }
        return (fallback?.0, fallback?.1)
    }

    // MARK: - Pieces

    /// The enhanced status code at the start of `text`: `class.subject.detail` (RFC 3463), class 2,
    /// 4 or 5, then 1–3 digits twice; `nil` when there is none.
    public static func enhancedCode(_ text: String) -> String? {
        let token = text.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init) ?? ""
        let parts = token.trimmingCharacters(in: CharacterSet(charactersIn: ".:")).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, ["2", "4", "5"].contains(parts[0]),
            parts[1...].allSatisfy({ (1...3).contains($0.count) && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) })
        else { return nil }
        return parts.joined(separator: ".")
    }

    private static func action(for status: String) -> BounceRecipient.Action {
        switch status.first {
        case "2": .delivered
        case "4": .delayed
        default: .failed
        }
    }

    /// One address: `local@domain`, no spaces or controls, at most 320 bytes; the domain lowercased.
    static func address(_ text: String) -> String? {
        var value = text.trimmingCharacters(in: .whitespaces)
        if value.hasPrefix("<"), value.hasSuffix(">") { value = String(value.dropFirst().dropLast()) }
        guard value.utf8.count <= 320, let at = value.lastIndex(of: "@"), at != value.startIndex,
            value.index(after: at) != value.endIndex,
            !value.unicodeScalars.contains(where: { $0.value <= 0x20 || $0 == "<" || $0 == ">" || $0 == "," || $0 == "\"" || $0.value == 0x7F })
        else { return nil }
        let domain = value[value.index(after: at)...]
        guard domain.contains("."), !domain.hasPrefix("."), !domain.hasSuffix(".") else { return nil }
        return value[..<at] + "@" + domain.lowercased()
    }

    /// The addresses a header value or a text holds, in order.
    static func addresses(in text: String) -> [String] {
        text.split(whereSeparator: { $0.isWhitespace || $0 == "<" || $0 == ">" || $0 == "," || $0 == ";" || $0 == "(" || $0 == ")" || $0 == "\"" || $0 == "'" || $0 == "[" || $0 == "]" })
            .lazy.map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: ".:")) }
            .filter { $0.contains("@") && !$0.lowercased().hasPrefix("mailto:") }
            .compactMap(address)
    }

    /// `<id@host>` from a Message-ID field's value; `nil` unless it has that shape.
    static func messageID(_ value: String?) -> String? {
        guard let value else { return nil }
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard let open = trimmed.firstIndex(of: "<"), let close = trimmed[open...].firstIndex(of: ">") else { return nil }
        let id = String(trimmed[open...close])
        guard id.utf8.count <= 998, id.contains("@"), !id.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else { return nil }
        return id
    }

    /// Controls and runs of whitespace made single spaces, cut at `limit` characters.
    private static func clean(_ text: String, limit: Int) -> String {
        let scalars = text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : Character($0) }
        let collapsed = String(scalars).split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return collapsed.count > limit ? String(collapsed.prefix(limit)) + "…" : collapsed
    }
}
