import Flows
import Foundation
import MIME

extension SendSMTPEmailNode {
    /// Turns the attachment parameters into attachments: base64 decoded strictly, buffers taken as
    /// they are, URLs fetched through the guarded fetcher within what is left of the size cap.
    func gatherAttachments(_ specs: [SendParameters.AttachmentSpec]) async throws(NodeError) -> [EmailAttachment] {
        var attachments: [EmailAttachment] = []
        var total = 0
        for spec in specs {
            let bytes: [UInt8]
            var filename = spec.filename
            var contentType = spec.contentType
            switch spec.source {
            case .base64(let text):
                guard let data = Data(base64Encoded: text) else {
                    throw SendParameters.invalid("\(spec.field).content", "Content is not valid base64")
                }
                bytes = Array(data)
            case .buffer(let buffer):
                bytes = buffer
            case .url(let url):
                let fetched = try await fetcher.fetch(
                    FetchRequest(url: url, byteLimit: max(attachmentLimit - total, 0)), field: "\(spec.field).url")
                bytes = fetched.body
                filename = filename ?? fetched.filename
                contentType = contentType ?? fetched.contentType
            }
            total += bytes.count
            guard total <= attachmentLimit else {
                throw NodeError(
                    code: "ETOOLARGE", message: "\(spec.field): attachments exceed \(attachmentLimit) bytes in all",
                    disposition: .permanent)
            }
            attachments.append(EmailAttachment(
                filename: filename ?? "attachment", content: .bytes(bytes), contentType: contentType, contentID: spec.contentID))
        }
        return attachments
    }
}
