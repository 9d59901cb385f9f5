public import NIOCore
public import Secrets

/// A client command (RFC 5321 section 4.1 and extensions). AUTH payloads are ``Secret``s, so a
/// command can be logged through ``redactedDescription`` without revealing them.
public enum SMTPCommand: Sendable {
    case ehlo(String)
    case helo(String)
    case startTLS
    /// `AUTH mechanism [initial-response]`; the response is already base64.
    case auth(mechanism: String, initialResponse: Secret?)
    /// A line answering a 334 challenge; already base64 (or `*` to cancel).
    case authResponse(Secret)
    case mailFrom(String, parameters: [String])
    case rcptTo(String, parameters: [String])
    case data
    /// The end-of-data marker alone, to close a DATA phase the server opened after refusing the
    /// envelope (RFC 2920 section 3.1).
    case endOfData
    case rset
    case noop
    case quit

    /// The command line with its CRLF.
    public func write(into buffer: inout ByteBuffer) {
        switch self {
        case .ehlo(let name): buffer.writeString("EHLO \(name)\r\n")
        case .helo(let name): buffer.writeString("HELO \(name)\r\n")
        case .startTLS: buffer.writeString("STARTTLS\r\n")
        case .auth(let mechanism, let response):
            buffer.writeString("AUTH \(mechanism)")
            if let response {
                buffer.writeString(" ")
                _ = response.withRevealedValue { buffer.writeString($0.isEmpty ? "=" : $0) }
            }
            buffer.writeString("\r\n")
        case .authResponse(let response):
            _ = response.withRevealedValue { buffer.writeString($0) }
            buffer.writeString("\r\n")
        case .mailFrom(let address, let parameters):
            buffer.writeString("MAIL FROM:<\(address)>")
            for parameter in parameters { buffer.writeString(" \(parameter)") }
            buffer.writeString("\r\n")
        case .rcptTo(let address, let parameters):
            buffer.writeString("RCPT TO:<\(address)>")
            for parameter in parameters { buffer.writeString(" \(parameter)") }
            buffer.writeString("\r\n")
        case .data: buffer.writeString("DATA\r\n")
        case .endOfData: buffer.writeString(".\r\n")
        case .rset: buffer.writeString("RSET\r\n")
        case .noop: buffer.writeString("NOOP\r\n")
        case .quit: buffer.writeString("QUIT\r\n")
        }
    }

    /// The command as a transcript line, with every AUTH payload shown as `<redacted>`.
    public var redactedDescription: String {
        switch self {
        case .ehlo(let name): "EHLO \(name)"
        case .helo(let name): "HELO \(name)"
        case .startTLS: "STARTTLS"
        case .auth(let mechanism, let response): response == nil ? "AUTH \(mechanism)" : "AUTH \(mechanism) <redacted>"
        case .authResponse: "<redacted>"
        case .mailFrom(let address, let parameters): (["MAIL FROM:<\(address)>"] + parameters).joined(separator: " ")
        case .rcptTo(let address, let parameters): (["RCPT TO:<\(address)>"] + parameters).joined(separator: " ")
        case .data: "DATA"
        case .endOfData: "."
        case .rset: "RSET"
        case .noop: "NOOP"
        case .quit: "QUIT"
        }
    }
}
