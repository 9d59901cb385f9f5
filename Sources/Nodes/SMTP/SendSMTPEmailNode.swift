public import Flows
import Foundation
public import Logging
public import MIME
import SMTP
import SMTPCore
import Secrets
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
    /// Access tokens of OAuth credentials; `nil` where OAuth is not set up (their sends fail).
    let oauth: OAuthService?
    public let descriptor: NodeDescriptor

    /// Creates the node. `identity` supplies Message-IDs, dates and boundaries (tests inject a
    /// deterministic one).
    public init(
        credentials: CredentialService, domains: DomainService? = nil, transport: any MailTransport, fetcher: any ResourceFetcher,
        identity: MessageIdentity = .system, attachmentLimit: Int = SendSMTPEmailNode.defaultAttachmentLimit,
        emailLimits: EmailLimits = EmailLimits(), metrics: NodeMetrics = NodeMetrics(), rateGate: RateGate? = nil,
        workspaces: (any WorkspaceStore)? = nil, suppressions: SuppressionService? = nil,
        sentMessages: (any SentMessageStore)? = nil, oauth: OAuthService? = nil
    ) {
        self.oauth = oauth
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
        /// An OAuth credential's access token in ``configuration``.
        var accessToken: Secret?
    }

    /// The workspace's credential (another workspace's is "not found") and its configuration,
    /// validated again; `ECREDENTIAL`.
    func loadCredential(_ id: String, workspaceID: String) async throws(NodeError) -> LoadedCredential {
        do {
            let credential = try await credentials.credentialByID(id, in: workspaceID)
            guard credential.oauth != nil else {
                return LoadedCredential(credential: credential, configuration: try credentials.configuration(for: credential))
            }
            let token = try await accessToken(for: credential)
            return LoadedCredential(
                credential: credential, configuration: try credentials.configuration(for: credential, accessToken: token), accessToken: token)
        } catch let error as NodeError {
            throw error
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
            result = try await transmit(message, account: account, dsn: dsn)
        } catch {
            let failure = await failure(of: error, account: account, rateKey: rateKey)
            metrics.smtpSend(outcome: failure.outcome)
            throw failure.error
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

    /// The step's error for a failed transmission, and its outcome for the metric: a refusal
    /// that only says "too fast" waits for the credential's rate instead.
    private func failure(of error: TransmitFailure, account: LoadedCredential, rateKey: String?) async -> (error: NodeError, outcome: String) {
        switch error {
        case .token(let error):
            let failure = Self.nodeError(error)
            return (failure, NodeMetrics.outcome(of: failure))
        case .smtp(let error):
            if let waiting = await settleRate(error, credential: account.credential, rateKey: rateKey) {
                return (waiting, "throttled")
            }
            let failure = Self.nodeError(error, oauth: account.credential.oauth != nil)
            return (failure, NodeMetrics.outcome(of: failure))
        }
    }

    /// Why ``transmit(_:account:dsn:)`` failed: the server, or renewing a refused access token.
    enum TransmitFailure: Error {
        case smtp(SMTPError)
        case token(OAuthTokenError)
    }

    /// Sends on the pool. An OAuth credential whose token the server refused (the XOAUTH2 error
    /// challenge, answered and ended by the client) gets one new token and one more try on a new
    /// session; a refusal then is the step's EAUTH, and a refused renewal the token's error.
    private func transmit(_ message: RenderedMessage, account: LoadedCredential, dsn: DSNRequest?) async throws(TransmitFailure) -> SMTPSendResult {
        do {
            return try await transport.send(message, key: account.credential.poolKey, configuration: account.configuration, dsn: dsn)
        } catch where error.code == .auth && account.accessToken != nil && oauth != nil {
            guard let oauth, let used = account.accessToken else { throw .smtp(error) }
            await oauth.invalidate(used, of: account.credential.id)
            let token: Secret
            do {
                token = try await oauth.accessToken(for: account.credential)
            } catch {
                throw .token(error)
            }
            do {
                let configuration = try credentials.configuration(for: account.credential, accessToken: token)
                return try await transport.send(message, key: account.credential.poolKey, configuration: configuration, dsn: dsn)
            } catch let error as SMTPError {
                throw .smtp(error)
            } catch {
                throw .smtp(SMTPError(.auth, .permanent, "the credential's settings could not be used: \(error)"))
            }
        } catch {
            throw .smtp(error)
        }
    }
}
