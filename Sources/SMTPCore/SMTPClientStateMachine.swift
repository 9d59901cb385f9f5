import Secrets

// MARK: - The SMTP client dialogue as a pure state machine
//
// Events go in (`replyReceived`, `tlsEstablished`, `connectionClosed`, …), an `Action` comes out,
// and the driver (a NIO channel handler) only performs it. No I/O, no clocks, no randomness here,
// so every path is tested as a transcript. The shape follows postgres-nio's
// ConnectionStateMachine; the protocol follows RFC 5321, 3207 (STARTTLS), 4954 (AUTH),
// 2920 (PIPELINING), 1870 (SIZE), 6531 (SMTPUTF8) and 3461 (DSN).

/// How the connection is protected (the credential's "Security" choice).
public enum SMTPSecurity: String, Sendable, Hashable, CaseIterable {
    /// TLS from the first byte (port 465).
    case implicitTLS = "implicit-tls"
    /// Plain TCP upgraded with STARTTLS, which is required: a server that does not offer it, or
    /// refuses it, fails the connection before any credential or message is sent (port 587).
    case startTLS = "starttls"
    /// No encryption at all; only when explicitly chosen, for legacy relays.
    case plaintext
}

/// What one message transaction needs from the envelope.
public struct SMTPTransaction: Sendable, Hashable {
    /// The reverse path.
    public var mailFrom: String
    /// The recipients, each sent as one `RCPT TO`.
    public var recipients: [String]
    /// The message size in octets, declared with `SIZE=` and checked against the server's limit.
    public var size: Int?
    /// Whether an address needs SMTPUTF8 (the message then also carries UTF-8 headers).
    public var requiresSMTPUTF8: Bool
    /// Delivery status notification request (RFC 3461), used when the server offers DSN.
    public var dsn: DSNRequest?

    /// Creates a transaction.
    public init(mailFrom: String, recipients: [String], size: Int? = nil, requiresSMTPUTF8: Bool = false, dsn: DSNRequest? = nil) {
        self.mailFrom = mailFrom
        self.recipients = recipients
        self.size = size
        self.requiresSMTPUTF8 = requiresSMTPUTF8
        self.dsn = dsn
    }
}

/// RFC 3461 parameters.
public struct DSNRequest: Sendable, Hashable {
    /// `NOTIFY=` values: `SUCCESS`, `FAILURE`, `DELAY`, or `NEVER` alone.
    public var notify: [String]
    /// `RET=FULL` or `RET=HDRS`.
    public var returnFullMessage: Bool
    /// `ENVID=`, xtext-encoded by the caller; usually the Message-ID.
    public var envelopeID: String?

    /// Creates a request.
    public init(notify: [String] = ["FAILURE"], returnFullMessage: Bool = false, envelopeID: String? = nil) {
        self.notify = notify
        self.returnFullMessage = returnFullMessage
        self.envelopeID = envelopeID
    }
}

/// The server's verdict on one transaction.
public struct SMTPTransactionOutcome: Sendable, Hashable {
    /// Recipients the server accepted.
    public var accepted: [String]
    /// Recipients the server refused, with its replies.
    public var rejected: [RecipientRejection]
    /// The reply to the final dot.
    public var response: SMTPReply

    /// Creates an outcome.
    public init(accepted: [String], rejected: [RecipientRejection], response: SMTPReply) {
        self.accepted = accepted
        self.rejected = rejected
        self.response = response
    }
}

/// Which timeout guards the reply the client now waits for (RFC 5321 section 4.5.3.2).
public enum SMTPWaitPhase: Sendable, Hashable {
    case greeting
    case command
    case dataInitiation
    case finalReply
}

public struct SMTPClientStateMachine: Sendable {
    /// What the session needs to know up front.
    public struct Configuration: Sendable {
        public var security: SMTPSecurity
        /// The EHLO/HELO name.
        public var clientIdentifier: String
        public var credentials: SMTPCredentials?

        public init(security: SMTPSecurity, clientIdentifier: String, credentials: SMTPCredentials?) {
            self.security = security
            self.clientIdentifier = clientIdentifier
            self.credentials = credentials
        }
    }

    /// What the driver must do next.
    public enum Action: Sendable {
        /// Nothing; wait for the next event.
        case wait
        /// Write these commands in one flush, then wait for replies under `phase`'s timeout.
        case send([SMTPCommand], phase: SMTPWaitPhase)
        /// The server said 220 to STARTTLS: fail if any byte is already buffered, else start the
        /// TLS handshake and report ``SMTPClientStateMachine/tlsEstablished()``.
        case startTLS
        /// The session is open (greeted, TLS as required, authenticated): ready for a transaction.
        case sessionReady(SMTPCapabilities)
        /// Stream the message, dot-stuffed, then the terminator; report ``bodyWritten()``.
        case writeBody
        /// The transaction ended; the session is ready for the next one (or, when a transaction was
        /// chained behind it, now carries that one: its replies come next).
        case transactionCompleted(SMTPTransactionOutcome)
        /// The transaction failed; the session stays usable once the commands (RSET) are answered.
        case transactionFailed(SMTPError, then: [SMTPCommand])
        /// The session failed. Write QUIT first when `sendQuit`, then close the connection.
        case fail(SMTPError, sendQuit: Bool)
        /// The session failed while a transaction was chained behind the one awaiting its final
        /// reply: the first gets `current` (usually ambiguous: its dot was sent), the chained one
        /// `chained` (transient: its data was never sent). Then close the connection.
        case failChained(current: SMTPError, chained: SMTPError)
        /// Close the connection (after QUIT's reply, or a close we asked for).
        case close
    }

    private enum AuthStep: Sendable {
        case awaitingFinal
        case plainAwaitingChallenge
        case loginAwaitingUsernamePrompt
        case loginAwaitingPasswordPrompt
        case cramAwaitingChallenge
        case xoauth2AwaitingFinalAfterError
    }

    private struct Envelope: Sendable {
        var transaction: SMTPTransaction
        var pipelined: Bool
        /// Replies still expected, in order: MAIL, each RCPT, DATA.
        var nextReply: Int = 0
        var mailReply: SMTPReply?
        var accepted: [String] = []
        var rejected: [RecipientRejection] = []

        var recipientCount: Int { transaction.recipients.count }
    }

    private enum State: Sendable {
        case awaitingGreeting
        case ehlo(tlsActive: Bool)
        case helo(tlsActive: Bool)
        case startTLS
        case tlsHandshake
        case authenticating(AuthStep, mechanism: SASLMechanism, capabilities: SMTPCapabilities, tlsActive: Bool)
        case ready(SMTPCapabilities, tlsActive: Bool)
        case envelope(Envelope, SMTPCapabilities, tlsActive: Bool)
        case abortingData(Envelope, SMTPError, SMTPCapabilities, tlsActive: Bool)
        case writingBody(Envelope, SMTPCapabilities, tlsActive: Bool)
        case awaitingFinalReply(Envelope, SMTPCapabilities, tlsActive: Bool)
        /// RFC 2920 section 3.1 chaining: the next transaction's MAIL, RCPTs and DATA were sent
        /// right after this one's final dot; its replies follow the final reply.
        case awaitingFinalReplyThenEnvelope(Envelope, next: Envelope, SMTPCapabilities, tlsActive: Bool)
        case resetting(SMTPCapabilities, tlsActive: Bool)
        case checkingLiveness(SMTPCapabilities, tlsActive: Bool)
        case quitting
        case closed
    }

    private var state: State = .awaitingGreeting
    private let configuration: Configuration
    private let scrubber: SecretScrubber

    /// A machine for a new connection, before the greeting. With implicit TLS the driver
    /// completes the TLS handshake before feeding the greeting.
    public init(configuration: Configuration) {
        self.configuration = configuration
        self.scrubber = SecretScrubber(credentials: configuration.credentials)
    }

    /// The phase the first wait (for the greeting) runs under.
    public var initialPhase: SMTPWaitPhase { .greeting }

    /// Whether the session is idle and open, so a pool may lend it out.
    public var isReady: Bool {
        if case .ready = state { return true }
        return false
    }

    /// Whether a transaction may start now although the previous one still awaits its final reply:
    /// the server offers PIPELINING, the dot was sent, and nothing is chained yet.
    public var canChainTransaction: Bool {
        if case .awaitingFinalReply(_, let capabilities, _) = state { return capabilities.pipelining }
        return false
    }

    /// The timeout the replies now expected run under, or `nil` when none is expected (idle, closed,
    /// or the body is being written).
    public var waitPhase: SMTPWaitPhase? {
        switch state {
        case .awaitingGreeting: .greeting
        case .ehlo, .helo, .startTLS, .authenticating, .resetting, .checkingLiveness, .quitting: .command
        case .envelope(let envelope, _, _): envelope.pipelined ? .dataInitiation : .command
        case .abortingData, .awaitingFinalReply, .awaitingFinalReplyThenEnvelope: .finalReply
        case .tlsHandshake, .ready, .writingBody, .closed: nil
        }
    }

    /// Removes every secret the session knows from text a server sent, before it is logged or
    /// stored (some servers echo what they received).
    public func scrub(_ text: String) -> String { scrubber.scrub(text) }

    // MARK: Events

    /// A complete reply arrived.
    public mutating func replyReceived(_ rawReply: SMTPReply) -> Action {
        let reply = scrubber.scrub(rawReply)
        if reply.code == 421 {
            return serviceClosing(reply)
        }
        switch state {
        case .awaitingGreeting:
            guard reply.code == 220 else {
                return failSession(.connection, reply.isTransientFailure ? .transient : .permanent,
                                   "the server refused the connection", reply: reply, quit: false)
            }
            state = .ehlo(tlsActive: configuration.security == .implicitTLS)
            return .send([.ehlo(configuration.clientIdentifier)], phase: .command)

        case .ehlo(let tlsActive):
            if reply.isPositiveCompletion {
                return afterGreeting(SMTPCapabilities(ehloReply: reply), tlsActive: tlsActive)
            }
            let heloAllowed = configuration.credentials == nil && (configuration.security != .startTLS || tlsActive)
            if reply.isPermanentFailure && heloAllowed {
                state = .helo(tlsActive: tlsActive)
                return .send([.helo(configuration.clientIdentifier)], phase: .command)
            }
            return failSession(.protocol, disposition(of: reply), "the server refused EHLO", reply: reply, quit: true)

        case .helo(let tlsActive):
            guard reply.isPositiveCompletion else {
                return failSession(.protocol, disposition(of: reply), "the server refused HELO", reply: reply, quit: true)
            }
            return afterGreeting(SMTPCapabilities(), tlsActive: tlsActive)

        case .startTLS:
            guard reply.code == 220 else {
                return failSession(.tls, disposition(of: reply), "the server refused STARTTLS; not continuing without encryption",
                                   reply: reply, quit: true)
            }
            state = .tlsHandshake
            return .startTLS

        case .tlsHandshake:
            return failSession(.protocol, .permanent, "the server sent data during the TLS upgrade", reply: nil, quit: false)

        case .authenticating(let step, let mechanism, let capabilities, let tlsActive):
            return authReply(reply, step: step, mechanism: mechanism, capabilities: capabilities, tlsActive: tlsActive)

        case .ready, .closed:
            return failSession(.protocol, .transient, "the server sent an unexpected reply", reply: reply, quit: false)

        case .envelope(var envelope, let capabilities, let tlsActive):
            return envelopeReply(reply, envelope: &envelope, capabilities: capabilities, tlsActive: tlsActive)

        case .abortingData(_, let error, let capabilities, let tlsActive):
            state = .resetting(capabilities, tlsActive: tlsActive)
            return .transactionFailed(error, then: [.rset])

        case .writingBody:
            return failSession(.protocol, .transient, "the server replied before the message was sent", reply: reply, quit: false)

        case .awaitingFinalReply(let envelope, let capabilities, let tlsActive):
            state = .ready(capabilities, tlsActive: tlsActive)
            return finalReply(reply, envelope: envelope)

        case .awaitingFinalReplyThenEnvelope(let envelope, let next, let capabilities, let tlsActive):
            // Whatever the verdict, the server is back in its initial state (RFC 5321 section
            // 4.1.1.4), so the chained MAIL it already read starts a clean transaction.
            state = .envelope(next, capabilities, tlsActive: tlsActive)
            return finalReply(reply, envelope: envelope)

        case .resetting(let capabilities, let tlsActive), .checkingLiveness(let capabilities, let tlsActive):
            guard reply.isPositiveCompletion else {
                return failSession(.protocol, .transient, "the server refused RSET/NOOP", reply: reply, quit: true)
            }
            state = .ready(capabilities, tlsActive: tlsActive)
            return .sessionReady(capabilities)

        case .quitting:
            state = .closed
            return .close
        }
    }

    /// The TLS handshake after STARTTLS finished. Everything learnt before it is forgotten
    /// (RFC 3207 section 4.2) and EHLO is sent again.
    public mutating func tlsEstablished() -> Action {
        guard case .tlsHandshake = state else { preconditionFailure("TLS established outside a STARTTLS upgrade") }
        state = .ehlo(tlsActive: true)
        return .send([.ehlo(configuration.clientIdentifier)], phase: .command)
    }

    /// Bytes were already buffered when the server's 220 to STARTTLS arrived: a response
    /// injection attempt (CVE-2011-0411 family). Fatal.
    public mutating func bytesBufferedBeforeTLS() -> Action {
        failSession(.tls, .permanent, "the server sent data after agreeing to STARTTLS (possible injection)", reply: nil, quit: false)
    }

    /// Begins a transaction on a ready session, or chains it behind the one awaiting its final
    /// reply (see ``canChainTransaction``). A refusal before any command is sent
    /// (`transactionFailed` with no commands) concerns only this transaction.
    public mutating func startTransaction(_ transaction: SMTPTransaction) -> Action {
        let capabilities: SMTPCapabilities
        let tlsActive: Bool
        var current: Envelope?
        switch state {
        case .ready(let readyCapabilities, let readyTLS):
            capabilities = readyCapabilities
            tlsActive = readyTLS
        case .awaitingFinalReply(let envelope, let readyCapabilities, let readyTLS) where readyCapabilities.pipelining:
            capabilities = readyCapabilities
            tlsActive = readyTLS
            current = envelope
        default:
            preconditionFailure("a transaction needs a ready session or a chainable one")
        }
        if transaction.requiresSMTPUTF8 && !capabilities.smtpUTF8 {
            return .transactionFailed(SMTPError(
                .envelope, .permanent,
                "an address has a non-ASCII local part and the server does not offer SMTPUTF8"), then: [])
        }
        if let limit = capabilities.maximumSize, let size = transaction.size, size > limit {
            return .transactionFailed(SMTPError(
                .message, .permanent, "the message is \(size) bytes; the server accepts at most \(limit)"), then: [])
        }
        guard !transaction.recipients.isEmpty else {
            return .transactionFailed(SMTPError(.envelope, .permanent, "no recipients"), then: [])
        }
        var mailParameters: [String] = []
        if let size = transaction.size, capabilities.supports("SIZE") { mailParameters.append("SIZE=\(size)") }
        if transaction.requiresSMTPUTF8 {
            mailParameters.append("SMTPUTF8")
            if capabilities.eightBitMIME { mailParameters.append("BODY=8BITMIME") }
        }
        var rcptParameters: [String] = []
        if let dsn = transaction.dsn, capabilities.dsn {
            mailParameters.append(dsn.returnFullMessage ? "RET=FULL" : "RET=HDRS")
            if let id = dsn.envelopeID { mailParameters.append("ENVID=\(id)") }
            rcptParameters.append("NOTIFY=\(dsn.notify.joined(separator: ","))")
        }
        let envelope = Envelope(transaction: transaction, pipelined: capabilities.pipelining)
        let mail = SMTPCommand.mailFrom(transaction.mailFrom, parameters: mailParameters)
        guard envelope.pipelined else {
            state = .envelope(envelope, capabilities, tlsActive: tlsActive)
            return .send([mail], phase: .command)
        }
        // RFC 2920: MAIL, every RCPT and DATA in one flight; DATA is the last command of the group.
        let commands = [mail] + transaction.recipients.map { SMTPCommand.rcptTo($0, parameters: rcptParameters) } + [.data]
        if let current {
            state = .awaitingFinalReplyThenEnvelope(current, next: envelope, capabilities, tlsActive: tlsActive)
            return .send(commands, phase: .finalReply)
        }
        state = .envelope(envelope, capabilities, tlsActive: tlsActive)
        return .send(commands, phase: .dataInitiation)
    }

    /// The message was written and its terminator is being written: the next reply is the final one.
    public mutating func bodyWritten() -> Action {
        guard case .writingBody(let envelope, let capabilities, let tlsActive) = state else {
            preconditionFailure("body written outside the DATA phase")
        }
        state = .awaitingFinalReply(envelope, capabilities, tlsActive: tlsActive)
        return .wait
    }

    /// Asks an idle session to prove it is alive (before reusing a connection idle for a while).
    public mutating func checkLiveness() -> Action {
        guard case .ready(let capabilities, let tlsActive) = state else { preconditionFailure("liveness check on a busy session") }
        state = .checkingLiveness(capabilities, tlsActive: tlsActive)
        return .send([.noop], phase: .command)
    }

    /// Ends the session politely.
    public mutating func quit() -> Action {
        switch state {
        case .closed, .quitting:
            return .wait
        case .ready:
            state = .quitting
            return .send([.quit], phase: .command)
        default:
            state = .closed
            return .close
        }
    }

    /// The connection closed (by the server, the network or us).
    public mutating func connectionClosed() -> Action {
        let previous = state
        state = .closed
        switch previous {
        case .quitting, .closed:
            return .wait
        case .awaitingFinalReply:
            return .fail(Self.closedAfterDot, sendQuit: false)
        case .awaitingFinalReplyThenEnvelope:
            return .failChained(current: Self.closedAfterDot, chained: Self.notSent(SMTPError(.connection, .transient, "the server closed the connection")))
        default:
            return .fail(SMTPError(.connection, .transient, "the server closed the connection"), sendQuit: false)
        }
    }

    /// The timeout of the current wait expired.
    public mutating func timedOut() -> Action {
        let previous = state
        state = .closed
        switch previous {
        case .awaitingFinalReply:
            return .fail(Self.finalReplyTimedOut, sendQuit: false)
        case .awaitingFinalReplyThenEnvelope:
            return .failChained(current: Self.finalReplyTimedOut, chained: Self.notSent(SMTPError(.timeout, .transient, "the server did not answer in time")))
        case .quitting, .closed:
            return .close
        default:
            return .fail(SMTPError(.timeout, .transient, "the server did not answer in time"), sendQuit: false)
        }
    }

    /// A transport error (TCP, TLS) from the driver; it already classified it.
    public mutating func errorCaught(_ error: SMTPError) -> Action {
        let previous = state
        state = .closed
        switch previous {
        case .awaitingFinalReply where error.disposition == .transient:
            var ambiguous = error
            ambiguous.disposition = .ambiguous
            return .fail(ambiguous, sendQuit: false)
        case .awaitingFinalReplyThenEnvelope:
            var current = error
            if current.disposition == .transient { current.disposition = .ambiguous }
            return .failChained(current: current, chained: Self.notSent(error))
        default:
            return .fail(error, sendQuit: false)
        }
    }

    // MARK: Handshake

    private mutating func afterGreeting(_ capabilities: SMTPCapabilities, tlsActive: Bool) -> Action {
        if configuration.security == .startTLS && !tlsActive {
            guard capabilities.startTLS else {
                return failSession(.tls, .permanent, "the server does not offer STARTTLS; not continuing without encryption",
                                   reply: nil, quit: true)
            }
            state = .startTLS
            return .send([.startTLS], phase: .command)
        }
        guard let credentials = configuration.credentials else {
            state = .ready(capabilities, tlsActive: tlsActive)
            return .sessionReady(capabilities)
        }
        guard let mechanism = SASLMechanism.preferred(for: credentials, offered: capabilities.authMechanisms) else {
            let offered = capabilities.authMechanisms.sorted().joined(separator: ", ")
            return failSession(.auth, .permanent,
                               offered.isEmpty ? "the server offers no authentication, but credentials are set"
                                   : "the server offers no supported authentication mechanism (offered: \(offered))",
                               reply: nil, quit: true)
        }
        let command: SMTPCommand
        let step: AuthStep
        switch (mechanism, credentials) {
        case (.plain, .password(let username, let password)):
            command = .auth(mechanism: "PLAIN", initialResponse: SASLPayload.plain(username: username, password: password))
            step = .plainAwaitingChallenge
        case (.login, .password):
            command = .auth(mechanism: "LOGIN", initialResponse: nil)
            step = .loginAwaitingUsernamePrompt
        case (.cramMD5, .password):
            command = .auth(mechanism: "CRAM-MD5", initialResponse: nil)
            step = .cramAwaitingChallenge
        case (.xoauth2, .oauth2(let username, let token)):
            command = .auth(mechanism: "XOAUTH2", initialResponse: SASLPayload.xoauth2(username: username, token: token))
            step = .awaitingFinal
        case (.plain, .oauth2), (.login, .oauth2), (.cramMD5, .oauth2), (.xoauth2, .password):
            preconditionFailure("SASLMechanism.preferred returned a mechanism for the wrong credential kind")
        }
        state = .authenticating(step, mechanism: mechanism, capabilities: capabilities, tlsActive: tlsActive)
        return .send([command], phase: .command)
    }

    private mutating func authReply(
        _ reply: SMTPReply, step: AuthStep, mechanism: SASLMechanism, capabilities: SMTPCapabilities, tlsActive: Bool
    ) -> Action {
        if reply.code == 235 {
            state = .ready(capabilities, tlsActive: tlsActive)
            return .sessionReady(capabilities)
        }
        guard reply.code == 334, let credentials = configuration.credentials else {
            return failSession(.auth, disposition(of: reply), "authentication failed", reply: reply, quit: true)
        }
        func next(_ step: AuthStep, _ response: Secret) -> Action {
            state = .authenticating(step, mechanism: mechanism, capabilities: capabilities, tlsActive: tlsActive)
            return .send([.authResponse(response)], phase: .command)
        }
        switch (step, credentials) {
        case (.plainAwaitingChallenge, .password(let username, let password)):
            // A server that ignored the initial response asks again with an empty challenge.
            return next(.awaitingFinal, SASLPayload.plain(username: username, password: password))
        case (.loginAwaitingUsernamePrompt, .password(let username, _)):
            return next(.loginAwaitingPasswordPrompt, Secret(SASLPayload.base64(username)))
        case (.loginAwaitingPasswordPrompt, .password(_, let password)):
            return next(.awaitingFinal, password.withRevealedValue { Secret(SASLPayload.base64($0)) })
        case (.cramAwaitingChallenge, .password(let username, let password)):
            guard let challenge = SASLPayload.decodeBase64(reply.lines[0]) else {
                return failSession(.auth, .permanent, "the server sent an invalid CRAM-MD5 challenge", reply: reply, quit: true)
            }
            return next(.awaitingFinal, SASLPayload.cramMD5(username: username, password: password, challenge: challenge))
        case (.awaitingFinal, .oauth2):
            // XOAUTH2 reports failure as a 334 with a JSON error; an empty line asks for the final 5xx.
            return next(.xoauth2AwaitingFinalAfterError, Secret(""))
        case (.awaitingFinal, .password), (.xoauth2AwaitingFinalAfterError, _), (.plainAwaitingChallenge, .oauth2),
            (.loginAwaitingUsernamePrompt, .oauth2), (.loginAwaitingPasswordPrompt, .oauth2), (.cramAwaitingChallenge, .oauth2):
            return failSession(.auth, .permanent, "authentication failed: unexpected challenge", reply: reply, quit: true)
        }
    }

    // MARK: Transaction

    private mutating func envelopeReply(
        _ reply: SMTPReply, envelope: inout Envelope, capabilities: SMTPCapabilities, tlsActive: Bool
    ) -> Action {
        let index = envelope.nextReply
        envelope.nextReply += 1
        let dataIndex = envelope.recipientCount + 1

        if index == 0 {
            envelope.mailReply = reply
            if !envelope.pipelined {
                guard reply.isPositiveCompletion else {
                    state = .resetting(capabilities, tlsActive: tlsActive)
                    return .transactionFailed(SMTPError(.envelope, disposition(of: reply), "the server refused the sender", reply: reply),
                                              then: [.rset])
                }
                state = .envelope(envelope, capabilities, tlsActive: tlsActive)
                return .send([.rcptTo(envelope.transaction.recipients[0], parameters: rcptParameters(envelope, capabilities))],
                             phase: .command)
            }
            state = .envelope(envelope, capabilities, tlsActive: tlsActive)
            return .wait
        }

        if index < dataIndex {
            let address = envelope.transaction.recipients[index - 1]
            if reply.isPositiveCompletion {
                envelope.accepted.append(address)
            } else {
                envelope.rejected.append(RecipientRejection(address: address, reply: reply))
            }
            state = .envelope(envelope, capabilities, tlsActive: tlsActive)
            if envelope.pipelined { return .wait }
            if index < envelope.recipientCount {
                return .send([.rcptTo(envelope.transaction.recipients[index], parameters: rcptParameters(envelope, capabilities))],
                             phase: .command)
            }
            guard !envelope.accepted.isEmpty else {
                state = .resetting(capabilities, tlsActive: tlsActive)
                return .transactionFailed(allRejected(envelope), then: [.rset])
            }
            return .send([.data], phase: .dataInitiation)
        }

        // The reply to DATA.
        let envelopeError: SMTPError? =
            if let mail = envelope.mailReply, !mail.isPositiveCompletion {
                SMTPError(.envelope, disposition(of: mail), "the server refused the sender", reply: mail,
                          rejectedRecipients: envelope.rejected)
            } else if envelope.accepted.isEmpty {
                allRejected(envelope)
            } else {
                nil
            }
        if reply.code == 354 {
            if let envelopeError {
                // RFC 2920 section 3.1: a server may still say 354 after refusing everything; end
                // the (empty) data at once and report the envelope error.
                state = .abortingData(envelope, envelopeError, capabilities, tlsActive: tlsActive)
                return .send([.endOfData], phase: .finalReply)
            }
            state = .writingBody(envelope, capabilities, tlsActive: tlsActive)
            return .writeBody
        }
        state = .resetting(capabilities, tlsActive: tlsActive)
        return .transactionFailed(
            envelopeError ?? SMTPError(.envelope, disposition(of: reply), "the server refused DATA", reply: reply,
                                       rejectedRecipients: envelope.rejected),
            then: [.rset])
    }

    /// The verdict on a message from the reply to its final dot.
    private func finalReply(_ reply: SMTPReply, envelope: Envelope) -> Action {
        if reply.isPositiveCompletion {
            return .transactionCompleted(SMTPTransactionOutcome(
                accepted: envelope.accepted, rejected: envelope.rejected, response: reply))
        }
        return .transactionFailed(SMTPError(
            .message, disposition(of: reply), "the server refused the message", reply: reply,
            rejectedRecipients: envelope.rejected), then: [])
    }

    private func rcptParameters(_ envelope: Envelope, _ capabilities: SMTPCapabilities) -> [String] {
        guard let dsn = envelope.transaction.dsn, capabilities.dsn else { return [] }
        return ["NOTIFY=\(dsn.notify.joined(separator: ","))"]
    }

    private func allRejected(_ envelope: Envelope) -> SMTPError {
        let transient = envelope.rejected.allSatisfy { (400..<500).contains($0.code) }
        return SMTPError(.envelope, transient ? .transient : .permanent, "the server refused every recipient",
                         rejectedRecipients: envelope.rejected)
    }

    // MARK: Failures

    private mutating func serviceClosing(_ reply: SMTPReply) -> Action {
        let previous = state
        state = .closed
        let refused = SMTPError(.message, .transient, "the server closed the session before accepting the message", reply: reply)
        switch previous {
        case .awaitingFinalReply:
            // 421 instead of a reply to the final dot: the server says it did not take the message.
            return .fail(refused, sendQuit: false)
        case .awaitingFinalReplyThenEnvelope:
            return .failChained(current: refused, chained: Self.notSent(refused))
        default:
            break
        }
        if case .authenticating = previous {
            return .fail(SMTPError(.auth, .transient, "the server closed the session during authentication", reply: reply),
                         sendQuit: false)
        }
        return .fail(SMTPError(.connection, .transient, "the server is closing the session", reply: reply), sendQuit: false)
    }

    private mutating func failSession(
        _ code: SMTPError.Code, _ disposition: SMTPError.Disposition, _ message: String, reply: SMTPReply?, quit: Bool
    ) -> Action {
        state = quit ? .quitting : .closed
        return .fail(SMTPError(code, disposition, message, reply: reply), sendQuit: quit)
    }

    private static let closedAfterDot = SMTPError(
        .connection, .ambiguous,
        "the connection closed after the message was sent, before the server confirmed it; it may have been delivered")

    private static let finalReplyTimedOut = SMTPError(
        .timeout, .ambiguous, "no reply to the end of the message in time; it may have been delivered")

    /// A chained transaction's share of a session failure: its data was never sent, so it is
    /// never ambiguous and a retry on another session is safe.
    private static func notSent(_ error: SMTPError) -> SMTPError {
        var error = error
        error.disposition = .transient
        error.message = "the session ended before this message was sent: " + error.message
        return error
    }

    private func disposition(of reply: SMTPReply) -> SMTPError.Disposition {
        reply.isTransientFailure ? .transient : .permanent
    }
}
