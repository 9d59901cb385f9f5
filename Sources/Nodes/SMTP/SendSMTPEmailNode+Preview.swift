public import Flows
import MIME
import Workspaces

extension SendSMTPEmailNode {
    /// The exact message a run would send, composed by the same path and rules, and sent to no
    /// one: the header block as it goes out (Date and Message-ID are this preview's own), the
    /// envelope, the text and HTML bodies, and each attachment's name, type, size and digest (URL
    /// attachments are fetched through the same guard, so a refused URL fails here first). The
    /// credential is loaded, for the default sender and to fail as a run would, but no connection
    /// is made.
    public func preview(_ context: NodeContext) async throws(NodeError) -> JSONValue? {
        let parameters = try SendParameters(context.parameters)
        let account = try await loadCredential(parameters.credentialID, workspaceID: context.workspaceID)
        var request = try Self.withDefaultSender(parameters.request, credential: account.credential)
        request.attachments = parameters.attachments.map(\.standIn)
        _ = try validate(request)
        request.attachments = try await gatherAttachments(parameters.attachments)
        let validated = try validate(request)
        let (message, signatures) = try await signed(
            MessageComposer(identity: identity).compose(validated), from: validated,
            SigningRequest(domain: parameters.dkimDomain, workspaceID: context.workspaceID))

        let headers: String
        let size: Int
        do {
            headers = try Self.headerBlock(of: message)
            size = try message.byteCount()
        } catch {
            throw NodeError(code: "EMESSAGE", message: "The message could not be composed: \(error)", disposition: .permanent)
        }
        let attachments: [JSONValue] = validated.attachments.map { attachment in
            var bytes: [UInt8] = []
            if case .bytes(let content) = attachment.content { bytes = content }
            return .object([
                "filename": .string(attachment.filename),
                "contentType": attachment.contentType.map(JSONValue.string) ?? .null,
                "contentId": attachment.contentID.map(JSONValue.string) ?? .null,
                "content": .bytes(bytes),
            ])
        }
        return .object([
            "messageId": .string(message.messageID),
            "credential": .object(["id": .string(account.credential.id), "name": .string(account.credential.name)]),
            "envelope": .object([
                "mailFrom": .string(message.envelope.mailFrom),
                "recipients": .array(message.envelope.recipients.map(JSONValue.string)),
            ]),
            "headers": .string(headers),
            "subject": .string(validated.subject),
            "text": validated.textBody.map(JSONValue.string) ?? .null,
            "html": validated.htmlBody.map(JSONValue.string) ?? .null,
            "attachments": .array(attachments),
            "size": .integer(Int64(size)),
            "dkim": Self.dkimOutput(signatures),
        ])
    }

    /// The message's header block as it goes out, up to and including the blank line's CRLF.
    static func headerBlock(of message: RenderedMessage) throws -> String {
        var stream = message.makeStream(chunkSize: 16 * 1024)
        var bytes: [UInt8] = []
        let end: [UInt8] = [13, 10, 13, 10]
        while let chunk = try stream.next() {
            bytes += chunk
            if let range = bytes.firstRange(of: end) {
                return String(decoding: bytes[..<range.upperBound], as: UTF8.self)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
