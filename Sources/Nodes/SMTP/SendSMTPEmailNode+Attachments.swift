import Flows
import Foundation
import MIME

extension SendSMTPEmailNode {
    /// Turns the attachment parameters into attachments, in two passes so that whatever can fail
    /// without the network fails before the first fetch:
    ///
    /// 1. base64 is decoded strictly and buffers are taken as they are, counting towards the cap;
    /// 2. URLs are fetched in order through the guarded fetcher, each within what is left of the cap.
    ///
    /// A URL that answers 204 or 205, or with an empty body, is `EEMPTY`: an empty file is never
    /// what the flow meant to send.
    func gatherAttachments(_ specs: [SendParameters.AttachmentSpec]) async throws(NodeError) -> [EmailAttachment] {
        var contents: [[UInt8]?] = []
        var total = 0
        for spec in specs {
            switch spec.source {
            case .base64(let text):
                guard let data = Data(base64Encoded: text) else {
                    throw SendParameters.invalid("\(spec.field).content", "Content is not valid base64")
                }
                contents.append(Array(data))
            case .buffer(let buffer):
                contents.append(buffer)
            case .url:
                contents.append(nil)
                continue
            }
            total += contents.last??.count ?? 0
            try checkTotal(total, field: spec.field)
        }

        var attachments: [EmailAttachment] = []
        for (spec, content) in zip(specs, contents) {
            var attachment = spec.standIn
            if let content {
                attachment.content = .bytes(content)
            } else if case .url(let url) = spec.source {
                let field = "\(spec.field).url"
                let fetched = try await fetcher.fetch(FetchRequest(url: url, byteLimit: max(attachmentLimit - total, 0)), field: field)
                guard fetched.status != 204, fetched.status != 205, !fetched.body.isEmpty else {
                    throw NodeError(
                        code: FetchErrorCode.empty, message: "\(field): the server returned no content",
                        disposition: .permanent, details: .object(["status": .integer(Int64(fetched.status))]))
                }
                total += fetched.body.count
                try checkTotal(total, field: spec.field)
                attachment.content = .bytes(fetched.body)
                attachment.filename = spec.filename ?? fetched.filename ?? SendParameters.defaultFilename
                attachment.contentType = spec.contentType ?? fetched.contentType
            }
            attachments.append(attachment)
        }
        return attachments
    }

    private func checkTotal(_ total: Int, field: String) throws(NodeError) {
        guard total <= attachmentLimit else {
            throw NodeError(
                code: FetchErrorCode.tooLarge, message: "\(field): attachments exceed \(attachmentLimit) bytes in all",
                disposition: .permanent, details: .object(["limit": .integer(Int64(attachmentLimit))]))
        }
    }
}
