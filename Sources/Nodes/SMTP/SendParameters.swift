import Flows
import Foundation
import MIME
import DKIM

/// The node's rendered parameters, checked and turned into an ``EmailRequest``. The message rules
/// themselves (forbidden characters, reserved headers, limits, addresses) are MIME's, applied by
/// `EmailRequest.validated()`: one implementation for the node and `posthorn send`.
struct SendParameters {
    var credentialID: String
    var request: EmailRequest
    var attachments: [AttachmentSpec]
    var allowPartialDelivery: Bool
    /// Send to suppressed addresses too (a password reset the person asked for).
    var ignoreSuppression: Bool
    /// The sending domain whose keys sign; empty: the From address's domain, when it has keys.
    var dkimDomain: String

    /// Where one attachment's bytes come from.
    struct AttachmentSpec {
        enum Source {
            case url(String)
            case base64(String)
            case buffer([UInt8])
        }

        var field: String
        var source: Source
        var filename: String?
        var contentType: String?
        var contentID: String?

        /// The attachment with everything but its bytes: the message rules check its own fields
        /// (file name, media type, Content-ID) before anything is fetched.
        var standIn: EmailAttachment {
            EmailAttachment(
                filename: filename ?? SendParameters.defaultFilename, content: .bytes([]), contentType: contentType,
                contentID: contentID)
        }
    }

    /// The file name of an attachment when neither the parameter nor the response gives one.
    static let defaultFilename = "attachment"

    init(_ parameters: JSONValue) throws(NodeError) {
        guard case .object(let values) = parameters else { throw Self.invalid("parameters", "Parameters must be an object") }
        func string(_ name: String, required: Bool = false) throws(NodeError) -> String {
            switch values[name] {
            case .string(let text)?:
                if required && text.isEmpty { throw Self.invalid(name, "\(name) is required") }
                return text
            case nil, .null?:
                if required { throw Self.invalid(name, "\(name) is required") }
                return ""
            case .integer(let number)?: return String(number)
            case .number(let number)?: return String(number)
            case .bool(let flag)?: return String(flag)
            case .bytes?, .array?, .object?:
                throw Self.invalid(name, "Must be text")
            }
        }
        credentialID = try string("credential", required: true)
        let bodyFormat = try string("bodyFormat")
        guard let format = bodyFormat.isEmpty ? BodyFormat.text : BodyFormat(rawValue: bodyFormat) else {
            throw Self.invalid("bodyFormat", "Body format must be text or html")
        }
        let priorityText = try string("priority")
        guard let priority = priorityText.isEmpty ? Priority.normal : Priority(rawValue: priorityText) else {
            throw Self.invalid("priority", "Priority must be low, normal or high")
        }
        allowPartialDelivery = try Self.flag(values["allowPartialDelivery"], field: "allowPartialDelivery")
        ignoreSuppression = try Self.flag(values["ignoreSuppression"], field: "ignoreSuppression")
        request = EmailRequest(
            from: try string("from"), to: try string("to", required: true), cc: try string("cc"), bcc: try string("bcc"),
            replyTo: try string("replyTo"), subject: try string("subject"), bodyFormat: format, body: try string("body"),
            htmlBody: try string("htmlBody"), priority: priority, headers: try Self.headers(values["headers"]))
        request.inReplyTo = try string("inReplyTo")
        request.references = try string("references")
        request.listUnsubscribe = try string("listUnsubscribe")
        dkimDomain = try string("dkimDomain").lowercased()
        if !dkimDomain.isEmpty && !DKIMSigner.isValidDomain(dkimDomain) {
            throw Self.invalid("dkimDomain", "DKIM domain must be a domain name such as example.com")
        }
        attachments = try Self.attachments(values["attachments"])
    }

    /// `[{"name", "value"}]`, or an object of name → value.
    static func headers(_ value: JSONValue?) throws(NodeError) -> [CustomHeader] {
        switch value {
        case nil, .null?:
            return []
        case .object(let object)?:
            return object.keys.sorted().map { CustomHeader(name: $0, value: object[$0]?.textValue ?? "") }
        case .array(let entries)?:
            var headers: [CustomHeader] = []
            for (index, entry) in entries.enumerated() {
                guard case .object(let pair) = entry, case .string(let name)? = pair["name"] else {
                    throw invalid("headers[\(index)]", "Each header needs a name and a value")
                }
                let text: String
                switch pair["value"] {
                case .string(let value)?: text = value
                case nil, .null?: text = ""
                case let other?: text = other.textValue
                }
                headers.append(CustomHeader(name: name, value: text))
            }
            return headers
        case .some:
            throw invalid("headers", "Custom headers must be a list of {name, value}")
        }
    }

    static func attachments(_ value: JSONValue?) throws(NodeError) -> [AttachmentSpec] {
        guard let value, value != .null else { return [] }
        guard case .array(let entries) = value else { throw invalid("attachments", "Attachments must be a list") }
        var specs: [AttachmentSpec] = []
        for (index, entry) in entries.enumerated() {
            let field = "attachments[\(index)]"
            guard case .object(let object) = entry else { throw invalid(field, "Each attachment must be an object") }
            func text(_ key: String) throws(NodeError) -> String? {
                switch object[key] {
                case nil, .null?: return nil
                case .string(let value)?: return value.isEmpty ? nil : value
                default: throw invalid("\(field).\(key)", "Must be text")
                }
            }
            let source: AttachmentSpec.Source
            switch try text("source") {
            case "url":
                guard let url = try text("url") else { throw invalid("\(field).url", "A URL attachment needs a url") }
                // The URL's form (http or https, a host, no user info) is checked now, with the
                // other fields; the host is vetted by the egress guard only when it is fetched.
                _ = try FetchTarget(validating: url, field: "\(field).url")
                source = .url(url)
            case "base64":
                guard let content = try text("content") else { throw invalid("\(field).content", "A base64 attachment needs content") }
                source = .base64(content)
            case "buffer":
                switch object["content"] {
                case .bytes(let bytes)?: source = .buffer(bytes)
                case .string(let string)? where !string.isEmpty: source = .buffer(Array(string.utf8))
                default:
                    throw invalid("\(field).content", "A buffer attachment needs bytes from an earlier step, e.g. {{steps.fetch.output.body}}")
                }
            default:
                throw invalid("\(field).source", "Source must be url, base64 or buffer")
            }
            // Only an inline part carries its Content-ID: a contentId left on a row that is no
            // longer inline must not turn the file into an inline image.
            var contentID = try text("contentId")
            if try flag(object["inline"], field: "\(field).inline") {
                guard contentID != nil else { throw invalid("\(field).contentId", "An inline attachment needs a contentId") }
            } else {
                contentID = nil
            }
            specs.append(AttachmentSpec(
                field: field, source: source, filename: try text("filename"), contentType: try text("contentType"),
                contentID: contentID))
        }
        return specs
    }

    /// A boolean parameter: `true`/`false`, or the text a template renders them to; unset is false.
    static func flag(_ value: JSONValue?, field: String) throws(NodeError) -> Bool {
        switch value {
        case .bool(let flag)?: flag
        case .string("true")?: true
        case .string("false")?, .string("")?, .null?, nil: false
        default: throw invalid(field, "Must be true or false")
        }
    }

    static func invalid(_ field: String, _ message: String) -> NodeError {
        NodeError(code: "EMESSAGE", message: "\(field): \(message)", disposition: .permanent)
    }
}
