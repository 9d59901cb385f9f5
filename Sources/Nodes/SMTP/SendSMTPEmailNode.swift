public import Flows
import Foundation
public import Logging
public import MIME
import SMTP
import SMTPCore
public import Workspaces

/// `smtp.send`, the Send SMTP Email node: composes the message from its parameters under every
/// rule of the spec (checked before any network I/O), gathers attachments from URLs, base64 and
/// upstream bytes, and sends it through the pool with the workspace's stored credential.
public struct SendSMTPEmailNode: Node {
    /// The total attachment bytes a message may carry by default: 25 MB.
    public static let defaultAttachmentLimit = 25_000_000

    private let credentials: CredentialService
    private let transport: any MailTransport
    let fetcher: any ResourceFetcher
    private let identity: MessageIdentity
    let attachmentLimit: Int

    /// Creates the node. `identity` supplies Message-IDs, dates and boundaries (tests inject a
    /// deterministic one).
    public init(
        credentials: CredentialService, transport: any MailTransport, fetcher: any ResourceFetcher,
        identity: MessageIdentity = .system, attachmentLimit: Int = SendSMTPEmailNode.defaultAttachmentLimit
    ) {
        self.credentials = credentials
        self.transport = transport
        self.fetcher = fetcher
        self.identity = identity
        self.attachmentLimit = attachmentLimit
    }

    public var descriptor: NodeDescriptor { Self.nodeDescriptor }

    public func execute(_ context: NodeContext) async throws(NodeError) -> JSONValue {
        let parameters = try SendParameters(context.parameters)
        var request = parameters.request
        request.attachments = try await gatherAttachments(parameters.attachments)
        return try await send(request, credentialID: parameters.credentialID, workspaceID: context.workspaceID,
                              allowPartialDelivery: parameters.allowPartialDelivery, logger: context.logger)
    }

    /// Validates, composes and sends `request` with the workspace's credential: the node's whole
    /// send path, also used by `posthorn send --credential`.
    public func send(
        _ request: EmailRequest, credentialID: String, workspaceID: String, allowPartialDelivery: Bool, logger: Logger
    ) async throws(NodeError) -> JSONValue {
        var request = request
        let validated: ValidatedEmail
        do {
            // A From left empty falls back to the credential's login when that is an address.
            if request.from.isEmpty {
                request.from = try await defaultSender(credentialID: credentialID, workspaceID: workspaceID)
            }
            validated = try request.validated()
        } catch let error as EmailValidationError {
            throw NodeError(code: "EMESSAGE", message: "\(error.field): \(error.message)", disposition: .permanent)
        } catch let error as NodeError {
            throw error
        } catch {
            throw NodeError(code: "EMESSAGE", message: "The message could not be prepared", disposition: .permanent)
        }
        let stored: SMTPCredential
        let configuration: SMTPConfiguration
        do {
            stored = try await credentials.credentialByID(credentialID, in: workspaceID)
            configuration = try credentials.configuration(for: stored)
        } catch let error as WorkspaceError {
            throw NodeError(code: "ECREDENTIAL", message: "credential: \(error.description)", disposition: .permanent)
        } catch {
            throw NodeError(code: "ECREDENTIAL", message: "credential: The credential could not be loaded", disposition: .transient)
        }
        let message = MessageComposer(identity: identity).compose(validated)
        let result: SMTPSendResult
        do {
            result = try await transport.send(message, key: stored.poolKey, configuration: configuration)
        } catch {
            throw Self.nodeError(error)
        }
        let output = Self.output(result)
        if !result.outcome.rejected.isEmpty && !allowPartialDelivery {
            throw NodeError(
                code: "EENVELOPE",
                message: "\(result.outcome.rejected.count) of \(result.envelope.recipients.count) recipients were refused; the others received the message (set allowPartialDelivery to accept this)",
                disposition: .permanent, details: output)
        }
        logger.debug("smtp.send.done", metadata: ["smtp.accepted": "\(result.outcome.accepted.count)"])
        return output
    }

    private func defaultSender(credentialID: String, workspaceID: String) async throws -> String {
        let stored: SMTPCredential
        do {
            stored = try await credentials.credentialByID(credentialID, in: workspaceID)
        } catch let error as WorkspaceError {
            throw NodeError(code: "ECREDENTIAL", message: "credential: \(error.description)", disposition: .permanent)
        }
        guard let username = stored.username, username.contains("@") else {
            throw EmailValidationError(field: "from", rule: .missingSender, message: "From is required (the credential's username is not an email address)")
        }
        return username
    }
}
