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
    /// The workspace's sending domains: their active DKIM keys sign. `nil` signs nothing.
    let domains: DomainService?
    private let transport: any MailTransport
    let fetcher: any ResourceFetcher
    let identity: MessageIdentity
    let attachmentLimit: Int
    /// Recipients and attachments per message (`serve --max-recipients`, `--max-attachments`).
    let emailLimits: EmailLimits
    private let metrics: NodeMetrics
    /// Holds sends to their credential's limits; `nil` holds nothing (`posthorn send`).
    let rateGate: RateGate?
    /// Where a workspace's sending cap is read, at every send (a change through the CLI holds at once).
    let workspaces: (any WorkspaceStore)?
    /// The workspace's suppression list; `nil` suppresses nothing (`posthorn send`).
    let suppressions: SuppressionService?
    /// Where sent messages are remembered for bounce matching; `nil` remembers none.
    let sentMessages: (any SentMessageStore)?
    public let descriptor: NodeDescriptor

    /// Creates the node. `identity` supplies Message-IDs, dates and boundaries (tests inject a
    /// deterministic one).
    public init(
        credentials: CredentialService, domains: DomainService? = nil, transport: any MailTransport, fetcher: any ResourceFetcher,
        identity: MessageIdentity = .system, attachmentLimit: Int = SendSMTPEmailNode.defaultAttachmentLimit,
        emailLimits: EmailLimits = EmailLimits(), metrics: NodeMetrics = NodeMetrics(), rateGate: RateGate? = nil,
        workspaces: (any WorkspaceStore)? = nil, suppressions: SuppressionService? = nil,
        sentMessages: (any SentMessageStore)? = nil
    ) {
        self.sentMessages = sentMessages
        self.suppressions = suppressions
        self.workspaces = workspaces
        self.rateGate = rateGate
        self.emailLimits = emailLimits
        self.descriptor = Self.nodeDescriptor(limits: emailLimits)
        self.metrics = metrics
        self.credentials = credentials
        self.domains = domains
        self.transport = transport
        self.fetcher = fetcher
        self.identity = identity
        self.attachmentLimit = attachmentLimit
    }

    /// Runs the step in an order that keeps every refusal ahead of the network: the parameters and
    /// the message without its attachments' bytes are checked, and the credential is loaded and
    /// checked again (a row edited in the store cannot bring back port 25); only then are URL
    /// attachments fetched, the complete message checked, and the message sent.
    public func execute(_ context: NodeContext) async throws(NodeError) -> JSONValue {
        let parameters = try SendParameters(context.parameters)
        let account = try await loadCredential(parameters.credentialID, workspaceID: context.workspaceID)
        var request = try Self.withDefaultSender(parameters.request, credential: account.credential)
        request.attachments = parameters.attachments.map(\.standIn)
        let checked = try validate(request)
        let suppressed = try await suppressedRecipients(of: checked, in: context.workspaceID, ignoring: parameters.ignoreSuppression)
        let counted = try await admit(
            recipients: checked.envelope.recipients.count - suppressed.count, credential: account.credential, context: context)

        request.attachments = try await gatherAttachments(parameters.attachments)
        let validated = try validate(request)
        let output = try await deliver(
            validated, account: account, signing: SigningRequest(domain: parameters.dkimDomain, workspaceID: context.workspaceID),
            allowPartialDelivery: parameters.allowPartialDelivery, suppressed: suppressed, rateKey: counted ? Self.rateKey(context) : nil,
            logger: context.logger)
        await remember(output, context: context)
        return output
    }

    /// Validates, composes and sends `request` with the workspace's credential: the node's whole
    /// send path, also used by `posthorn send --credential`.
    public func send(
        _ request: EmailRequest, credentialID: String, workspaceID: String, dkimDomain: String = "", allowPartialDelivery: Bool,
        logger: Logger
    ) async throws(NodeError) -> JSONValue {
        let account = try await loadCredential(credentialID, workspaceID: workspaceID)
        let validated = try validate(Self.withDefaultSender(request, credential: account.credential))
        return try await deliver(
            validated, account: account, signing: SigningRequest(domain: dkimDomain, workspaceID: workspaceID),
            allowPartialDelivery: allowPartialDelivery, logger: logger)
    }

    // MARK: - Steps

    /// A stored credential and the connection settings it gives, checked again at load.
    struct LoadedCredential {
        var credential: SMTPCredential
        var configuration: SMTPConfiguration
    }

    /// The workspace's credential (another workspace's is "not found") and its configuration,
    /// validated again; `ECREDENTIAL`.
    func loadCredential(_ id: String, workspaceID: String) async throws(NodeError) -> LoadedCredential {
        do {
            let credential = try await credentials.credentialByID(id, in: workspaceID)
            return LoadedCredential(credential: credential, configuration: try credentials.configuration(for: credential))
        } catch let error as WorkspaceError {
            throw NodeError(code: "ECREDENTIAL", message: "credential: \(error.description)", disposition: .permanent)
        } catch {
            throw NodeError(code: "ECREDENTIAL", message: "credential: The credential could not be loaded", disposition: .transient)
        }
    }

    /// A From left empty falls back to the credential's login when that is an address.
    static func withDefaultSender(_ request: EmailRequest, credential: SMTPCredential) throws(NodeError) -> EmailRequest {
        guard request.from.isEmpty else { return request }
        guard let username = credential.username, username.contains("@") else {
            throw NodeError(
                code: "EMESSAGE", message: "from: From is required (the credential's username is not an email address)",
                disposition: .permanent)
        }
        var request = request
        request.from = username
        return request
    }

    /// The spec's message rules (MIME's, shared with `posthorn send`); `EMESSAGE` naming the field.
    func validate(_ request: EmailRequest) throws(NodeError) -> ValidatedEmail {
        do {
            return try request.validated(limits: emailLimits)
        } catch {
            var details: [String: JSONValue] = ["field": .string(error.field), "rule": .string(error.rule.rawValue)]
            if let hint = error.hint { details["hint"] = .string(hint) }
            throw NodeError(code: "EMESSAGE", message: error.description, disposition: .permanent, details: .object(details))
        }
    }

    /// Composes and sends; a partly refused envelope fails unless `allowPartialDelivery`.
    private func deliver(
        _ validated: ValidatedEmail, account: LoadedCredential, signing: SigningRequest, allowPartialDelivery: Bool,
        suppressed: [String] = [], rateKey: String? = nil, logger: Logger
    ) async throws(NodeError) -> JSONValue {
        var (message, signatures) = try await signed(MessageComposer(identity: identity).compose(validated), from: validated, signing)
        if !suppressed.isEmpty {
            // The headers stay as written; only the envelope leaves the suppressed addresses out.
            message = message.sending(onlyTo: message.envelope.recipients.filter { !suppressed.contains($0) })
        }
        if account.credential.host.lowercased().hasSuffix(".postmarkapp.com") {
            // Postmark hands X-PM-Metadata-* back in its webhooks: how its bounces find the step.
            message = message.prepending("X-PM-Metadata-posthorn-message-id: \(message.messageID)\r\n")
        }
        // RFC 3461: failures and delays reported to the envelope sender, with the headers only
        // and an ENVID that names the message, so even a report that drops them is matched.
        let dsn = account.credential.deliveryNotifications
            ? DSNRequest(notify: ["FAILURE", "DELAY"], returnFullMessage: false, envelopeID: EnvelopeID.make(messageID: message.messageID))
            : nil
        let result: SMTPSendResult
        do {
            result = try await transport.send(message, key: account.credential.poolKey, configuration: account.configuration, dsn: dsn)
        } catch {
            if let waiting = await settleRate(error, credential: account.credential, rateKey: rateKey) {
                metrics.smtpSend(outcome: "throttled")
                throw waiting
            }
            let failure = Self.nodeError(error)
            metrics.smtpSend(outcome: NodeMetrics.outcome(of: failure))
            throw failure
        }
        _ = await settleRate(nil, credential: account.credential, rateKey: rateKey)
        metrics.smtpSend(outcome: result.outcome.rejected.isEmpty ? "2xx" : "2xx_partial")
        let output = Self.output(result, signatures: signatures, suppressed: suppressed)
        if !result.outcome.rejected.isEmpty && !allowPartialDelivery {
            throw NodeError(
                code: "EENVELOPE",
                message: "\(result.outcome.rejected.count) of \(result.envelope.recipients.count) recipients were refused; the others received the message (set allowPartialDelivery to accept this)",
                disposition: .permanent, details: output)
        }
        logger.debug("smtp.send.done", metadata: ["smtp.accepted": "\(result.outcome.accepted.count)"])
        return output
    }
}
