import Flows

extension FetchRequest {
    /// The methods the fetcher sends.
    static let supportedMethods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]

    /// Headers the fetcher (or the HTTP client under it) owns. Letting a workflow set them would let
    /// it change the message framing (`Content-Length`, `Transfer-Encoding`: request smuggling
    /// through a proxy), the connection (`Connection`, `Upgrade`, `TE`, `Keep-Alive`) or the
    /// virtual host the pinned connection asks for (`Host`).
    static let reservedHeaderNames: Set<String> = [
        "host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "trailer", "keep-alive",
        "proxy-connection", "expect",
    ]

    /// Whether a failure after the request may have reached the server can be retried: only for
    /// the safe methods (RFC 9110 section 9.2.1), `GET` and `HEAD`, which change nothing. `PUT` and
    /// `DELETE` are idempotent in the RFC's sense, but a workflow step that wrote something and then
    /// lost the answer is still a step whose effect is unknown; it ends `ambiguous` so a person
    /// decides, like a `POST` or a `PATCH`.
    var isSafeMethod: Bool { Self.isSafeMethod(method) }

    /// Whether `method` is `GET` or `HEAD`, in any case.
    static func isSafeMethod(_ method: String) -> Bool {
        let upper = method.uppercased()
        return upper == "GET" || upper == "HEAD"
    }

    /// Checks the method, the headers, the limit and the timeout; `EREQUEST` naming `field`.
    /// Header values are never quoted back: they often carry tokens.
    func validate(field: String) throws(NodeError) {
        func refuse(_ rule: String) -> NodeError {
            NodeError(code: FetchErrorCode.invalidRequest, message: "\(field): \(rule)", disposition: .permanent)
        }
        guard Self.supportedMethods.contains(method) else {
            throw refuse("the method must be one of GET, POST, PUT, PATCH, DELETE or HEAD")
        }
        for (position, header) in headers.enumerated() {
            guard Self.isToken(header.name) else {
                throw refuse("header \(position + 1) has a name that is not a valid HTTP header name")
            }
            guard !Self.reservedHeaderNames.contains(header.name.lowercased()) else {
                throw refuse("header \"\(header.name)\" is set by the HTTP client and cannot be overridden")
            }
            guard Self.isFieldValue(header.value) else {
                throw refuse("the value of header \"\(header.name)\" contains a line break or a control character")
            }
        }
        guard byteLimit >= 0 else { throw refuse("the byte limit must not be negative") }
        guard timeout > .zero else { throw refuse("the timeout must be positive") }
    }

    /// RFC 9110 section 5.6.2 `token`: the only characters a field name may have.
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            default:
                return "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
    }

    /// RFC 9110 section 5.5: visible characters, spaces, tabs and non-ASCII bytes; no CR, LF, NUL
    /// or other control character, which would end the header early and start a forged one.
    static func isFieldValue(_ text: String) -> Bool {
        text.utf8.allSatisfy { byte in byte == 0x09 || (byte >= 0x20 && byte != 0x7F) }
    }
}
