import Foundation

// MARK: - The MIME tree
//
//     mixed                      when there are attachments
//     ├── alternative            when there are both text and HTML
//     │   ├── text/plain
//     │   └── related            when there are inline images (around the HTML, else the text)
//     │       ├── text/html
//     │       └── image/png (inline, Content-ID)
//     └── application/pdf (attachment)
//
// Each level exists only when needed, so a plain message is a single text/plain part.

/// Turns a ``ValidatedEmail`` into a ``RenderedMessage``: headers, MIME tree and encodings chosen,
/// bodies not yet encoded (that happens while streaming).
public struct MessageComposer: Sendable {
    private let identity: MessageIdentity

    /// Creates a composer with the given clock and token source.
    public init(identity: MessageIdentity = .system) {
        self.identity = identity
    }

    /// Composes the message. Cheap: large bodies and files are encoded later, chunk by chunk.
    public func compose(_ email: ValidatedEmail) -> RenderedMessage {
        let messageID = email.messageID ?? "<\(identity.token())@\(email.from.domain)>"
        var segments: [RenderedMessage.Segment] = []
        var header = messageHeaders(email, messageID: messageID)
        header += "MIME-Version: 1.0\r\n"
        render(tree(for: email), headerPrefix: header, into: &segments)
        return RenderedMessage(messageID: messageID, envelope: email.envelope, segments: segments)
    }

    // MARK: Message headers

    private func messageHeaders(_ email: ValidatedEmail, messageID: String) -> String {
        var fields: [HeaderField] = [
            HeaderField(name: "Date", value: Self.rfc5322Date(email.date ?? identity.now())),
            .addresses(name: "From", [email.from]),
        ]
        if let replyTo = email.replyTo { fields.append(.addresses(name: "Reply-To", [replyTo])) }
        if !email.to.isEmpty { fields.append(.addresses(name: "To", email.to)) }
        if !email.cc.isEmpty { fields.append(.addresses(name: "Cc", email.cc)) }
        fields.append(.unstructured(name: "Subject", value: email.subject))
        fields.append(HeaderField(name: "Message-ID", value: messageID))
        // One atom per item, so a long thread folds between Message-IDs.
        for (name, items) in [
            ("In-Reply-To", email.inReplyTo), ("References", email.references),
            ("List-Unsubscribe", email.listUnsubscribe.enumerated().map { "<\($1)>" + ($0 < email.listUnsubscribe.count - 1 ? "," : "") }),
        ] where !items.isEmpty {
            var field = HeaderField(name: name)
            for item in items { field.append(item) }
            fields.append(field)
        }
        if !email.listUnsubscribe.isEmpty {
            if email.offersOneClickUnsubscribe {
                fields.append(HeaderField(name: "List-Unsubscribe-Post", value: "List-Unsubscribe=One-Click"))
            }
        }
        let customNames = Set(email.headers.map { $0.name.lowercased() })
        for (name, value) in Self.priorityHeaders(email.priority) where !customNames.contains(name.lowercased()) {
            fields.append(HeaderField(name: name, value: value))
        }
        for header in email.headers {
            fields.append(.unstructured(name: header.name, value: header.value))
        }
        return fields.map { $0.render() }.joined()
    }

    /// The three headers clients read for priority; a custom header of the same name wins.
    static func priorityHeaders(_ priority: Priority) -> [(String, String)] {
        switch priority {
        case .high: [("X-Priority", "1 (Highest)"), ("X-MSMail-Priority", "High"), ("Importance", "High")]
        case .normal: [("X-Priority", "3 (Normal)"), ("X-MSMail-Priority", "Normal"), ("Importance", "Normal")]
        case .low: [("X-Priority", "5 (Lowest)"), ("X-MSMail-Priority", "Low"), ("Importance", "Low")]
        }
    }

    /// RFC 5322 section 3.3 date-time in UTC: `Wed, 25 Nov 2026 10:00:00 +0000`. UTC keeps the
    /// server's time zone private and the output reproducible.
    static func rfc5322Date(_ date: Date) -> String {
        // Integer calendar arithmetic (proleptic Gregorian, UTC) instead of a Calendar per
        // message: this runs for every message composed.
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Days since 0000-03-01 in 400-year eras of 146,097 days, years starting in March so the
        // leap day is the last day of a year.
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let weekday = Int(((days % 7) + 11) % 7)  // 1970-01-01 was a Thursday (4, Sunday 0)
        let names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(names[weekday]), \(day) \(months[Int(month) - 1]) \(year) "
            + "\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) +0000"
    }

    // MARK: Tree

    private indirect enum Node {
        case text(subtype: String, bytes: [UInt8], encoding: TransferEncoding)
        case attachment(EmailAttachment)
        case multipart(subtype: String, parts: [Node])
    }

    private func tree(for email: ValidatedEmail) -> Node {
        func textNode(_ subtype: String, _ text: String) -> Node {
            let bytes = Self.normalizedLineEndings(text)
            return .text(subtype: subtype, bytes: bytes, encoding: TransferEncoding.choose(forText: bytes))
        }
        let inline = email.attachments.filter(\.isInline).map(Node.attachment)
        let files = email.attachments.filter { !$0.isInline }.map(Node.attachment)
        var html = email.htmlBody.map { textNode("html", $0) }
        var text = email.textBody.map { textNode("plain", $0) }
        if !inline.isEmpty {
            if let body = html {
                html = .multipart(subtype: "related", parts: [body] + inline)
            } else {
                text = .multipart(subtype: "related", parts: [text ?? textNode("plain", "")] + inline)
            }
        }
        var body: Node
        switch (text, html) {
        case (let text?, let html?): body = .multipart(subtype: "alternative", parts: [text, html])
        case (let text?, nil): body = text
        case (nil, let html?): body = html
        case (nil, nil): body = textNode("plain", "")
        }
        if !files.isEmpty { body = .multipart(subtype: "mixed", parts: [body] + files) }
        return body
    }

    // MARK: Rendering

    /// Emits `node` with `headerPrefix` (the message headers, for the root) before its own content
    /// headers. A multipart's parts are each followed by the CRLF that belongs to the next
    /// delimiter (RFC 2046 section 5.1.1), so no part body gains a line break it did not have.
    private func render(_ node: Node, headerPrefix: String, into segments: inout [RenderedMessage.Segment]) {
        switch node {
        case .text(let subtype, let bytes, let encoding):
            var contentType = HeaderField(name: "Content-Type", value: "text/\(subtype)")
            contentType.appendParameter("charset", "utf-8")
            segments.append(.literal(headerPrefix + contentType.render()
                + "Content-Transfer-Encoding: \(encoding.rawValue)\r\n\r\n"))
            segments.append(.encoded(.memory(bytes), encoding))
        case .attachment(let attachment):
            let type = attachment.contentType ?? ContentTypes.forFilename(attachment.filename)
            var contentType = HeaderField(name: "Content-Type", value: type)
            contentType.appendParameter("name", attachment.filename)
            var disposition = HeaderField(name: "Content-Disposition", value: attachment.isInline ? "inline" : "attachment")
            disposition.appendParameter("filename", attachment.filename)
            var headers = headerPrefix + contentType.render() + "Content-Transfer-Encoding: base64\r\n"
            if let contentID = attachment.contentID { headers += "Content-ID: <\(contentID)>\r\n" }
            segments.append(.literal(headers + disposition.render() + "\r\n"))
            switch attachment.content {
            case .bytes(let bytes): segments.append(.encoded(.memory(bytes), .base64))
            case .file(let path): segments.append(.encoded(.file(path), .base64))
            }
        case .multipart(let subtype, let parts):
            let boundary = "=_" + identity.token()
            var contentType = HeaderField(name: "Content-Type", value: "multipart/\(subtype)")
            contentType.appendParameter("boundary", boundary)
            segments.append(.literal(headerPrefix + contentType.render() + "\r\n"))
            for part in parts {
                segments.append(.literal("--\(boundary)\r\n"))
                render(part, headerPrefix: "", into: &segments)
                segments.append(.literal("\r\n"))
            }
            segments.append(.literal("--\(boundary)--"))
        }
    }

    /// UTF-8 with every line ending (CRLF, lone CR, lone LF) as CRLF.
    static func normalizedLineEndings(_ text: String) -> [UInt8] {
        var text = text
        return text.withUTF8 { input in
            // At most one byte added per input byte (a lone CR or LF becomes CRLF). Runs without
            // CR or LF, and well-formed CRLF pairs, are copied in one go.
            [UInt8](unsafeUninitializedCapacity: input.count * 2) { output, count in
                guard let source = input.baseAddress, let target = output.baseAddress else { return }
                var index = 0
                var runStart = 0
                func copyRun(upTo end: Int) {
                    (target + count).update(from: source + runStart, count: end - runStart)
                    count += end - runStart
                }
                while index < input.count {
                    let byte = input[index]
                    if byte == 0x0D, index + 1 < input.count, input[index + 1] == 0x0A {
                        index += 2
                    } else if byte == 0x0D || byte == 0x0A {
                        copyRun(upTo: index)
                        target[count] = 0x0D
                        target[count + 1] = 0x0A
                        count += 2
                        index += 1
                        runStart = index
                    } else if input.count - index >= 8,
                        !containsLineBreak(UnsafeRawPointer(source).loadUnaligned(fromByteOffset: index, as: UInt64.self))
                    {
                        index += 8
                    } else {
                        index += 1
                    }
                }
                copyRun(upTo: index)
            }
        }
    }
}

/// Whether any of the eight bytes in `word` is CR or LF (SWAR: a zero byte after XOR with each).
@inline(__always)
func containsLineBreak(_ word: UInt64) -> Bool {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    @inline(__always) func hasZeroByte(_ value: UInt64) -> Bool { (value &- ones) & ~value & highs != 0 }
    return hasZeroByte(word ^ (ones &* 0x0D)) || hasZeroByte(word ^ (ones &* 0x0A))
}
