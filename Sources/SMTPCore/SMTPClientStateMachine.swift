import Secrets

// MARK: - The SMTP client dialogue as a pure state machine
//
// Events go in (a reply, the TLS handshake done, the body written, a request from the caller, a
// close, a timeout), an `Action` comes out, and the driver (a NIO channel handler) only performs it.
// The machine owns everything that decides: the dialogue's state, the requests waiting their turn,
// which of them rides behind a final dot, and what each one is told when the session ends. No I/O,
// no clocks, no randomness here, so every path is tested as a transcript. The shape follows
// postgres-nio's ConnectionStateMachine; the protocol follows RFC 5321, 3207 (STARTTLS), 4954
// (AUTH), 2920 (PIPELINING), 1870 (SIZE), 6531 (SMTPUTF8) and 3461 (DSN).

/// What the session needs to know up front.
public struct SMTPSessionConfiguration: Sendable {
    public var security: SMTPSecurity
    /// The EHLO/HELO name.
    public var clientIdentifier: String
    public var credentials: SMTPCredentials?

    /// Creates a configuration.
    public init(security: SMTPSecurity, clientIdentifier: String, credentials: SMTPCredentials?) {
        self.security = security
        self.clientIdentifier = clientIdentifier
        self.credentials = credentials
    }
}

/// How one request to a session ended.
public enum SMTPRequestResult: Sendable {
    /// The session opened (greeted, TLS as required, authenticated).
    case opened(SMTPCapabilities)
    /// The message was accepted.
    case delivered(SMTPTransactionOutcome)
    /// The idle session answered NOOP.
    case alive
    /// The session said goodbye (or was already gone).
    case quit
    /// The request failed; the error says whether the session survived it.
    case failed(SMTPError)
}

/// The client side of one SMTP session. `Request` is the driver's handle for one request (its
/// promise, its message): the machine keeps it while the request waits or runs and hands it back
/// in the action that ends it.
public struct SMTPClientStateMachine<Request> {
    /// A request and how it ended.
    public struct Completion {
        public var request: Request
        public var result: SMTPRequestResult
    }

    /// What the driver must do next. After performing any action, the driver arms the timeout of
    /// ``waitPhase`` (or none).
    public enum Action {
        /// Nothing; wait for the next event.
        case wait
        /// Write these commands in one flush. `starting` is the request whose envelope they begin
        /// (for its timings).
        case send([SMTPCommand], starting: Request?)
        /// The server said 220 to STARTTLS and nothing followed it: start the TLS handshake and
        /// report ``tlsEstablished()``.
        case startTLS
        /// Stream this request's message, dot-stuffed, then report ``bodyWritten()``.
        case writeBody(Request)
        /// Write the terminator and, in the same write, these commands (the next message's envelope,
        /// chained behind the dot as RFC 2920 section 3.1 allows).
        case endBody(then: [SMTPCommand], starting: Request?)
        /// Tell these requests how they ended, then write the commands (RSET, the next request's
        /// first commands), if any.
        case complete([Completion], then: [SMTPCommand], starting: Request?)
        /// The session is over: tell these requests, write QUIT first when `sendQuit`, and close.
        case close([Completion], sendQuit: Bool)
    }

    private struct Envelope {
        var transaction: SMTPTransaction
        let request: Request
        var pipelined: Bool
        /// Replies received so far: MAIL, each RCPT, DATA.
        var replies = 0
        var mailReply: SMTPReply?
        var accepted: [String] = []
        var rejected: [RecipientRejection] = []
    }

    /// A request waiting its turn.
    private enum Queued {
        case send(SMTPTransaction, Request)
        case liveness(Request)
        case quit(Request)
    }

    private enum State {
        case greeting
        case ehlo
        case helo
        case startTLS
        case tlsHandshake
        case authenticating(SMTPAuthentication)
        case ready
        case envelope(Envelope)
        /// The server said 354 after refusing the whole envelope; the empty data is being ended.
        case abortingData(Envelope, SMTPError)
        case writingBody(Envelope)
        /// The dot was sent. `chained`: the next message's MAIL, RCPTs and DATA went out right after
        /// it (RFC 2920 section 3.1); their replies follow the final reply.
        case finalReply(Envelope, chained: Envelope?)
        /// RSET after a refused transaction; the refusal is reported once the session is clean again,
        /// so the caller gets a reusable session back.
        case resetting(Completion)
        case checkingLiveness(Request)
        case quitting(Request)
        case closed(SMTPError)
    }

    private var state: State = .greeting
    private var opening: Request?
    private var queue: [Queued] = []
    /// Whether TLS protects the session (from the first byte, or since STARTTLS).
    private var tlsActive: Bool
    /// What the server announced in its last EHLO.
    private var capabilities = SMTPCapabilities()
    private let configuration: SMTPSessionConfiguration
    private let scrubber: SecretScrubber

    /// A machine for a new connection, before the greeting. `opening` is told when the session is
    /// open or failed. With implicit TLS the driver completes the handshake before feeding replies.
    public init(configuration: SMTPSessionConfiguration, opening: Request) {
        self.configuration = configuration
        self.opening = opening
        self.tlsActive = configuration.security == .implicitTLS
        self.scrubber = SecretScrubber(credentials: configuration.credentials)
    }

    /// Whether the session is open, idle, and has nothing queued, so a pool may lend it out.
    public var isReady: Bool {
        if case .ready = state { return queue.isEmpty }
        return false
    }

    /// What the driver now waits for, whose timeout it arms; `nil` when it waits for nothing
    /// (idle or closed).
    public var waitPhase: SMTPWaitPhase? {
        switch state {
        case .greeting: .greeting
        case .tlsHandshake: .tlsHandshake
        case .ehlo, .helo, .startTLS, .authenticating, .resetting, .checkingLiveness, .quitting: .command
        case .envelope(let envelope): envelope.pipelined ? .dataInitiation : .command
        case .writingBody: .dataBlock
        case .abortingData, .finalReply: .finalReply
        case .ready, .closed: nil
        }
    }

    private var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// Removes every secret the session knows from text a server sent, before it is logged or
    /// stored (some servers echo what they received).
    public func scrub(_ text: String) -> String { scrubber.scrub(text) }

    // MARK: Requests

    /// The caller wants this message sent. On an idle session its envelope goes out now; behind a
    /// message under way it waits, and rides behind that message's final dot when the server
    /// offers PIPELINING. A message the server cannot take (size, SMTPUTF8, no recipients) is
    /// refused at once and the session is untouched.
    public mutating func sendRequested(_ transaction: SMTPTransaction, _ request: Request) -> Action {
        switch state {
        case .closed(let error):
            return .complete([Completion(request: request, result: .failed(Self.notSent(error)))], then: [], starting: nil)
        case .quitting:
            return .complete([Completion(request: request, result: .failed(Self.closing))], then: [], starting: nil)
        case .greeting, .ehlo, .helo, .startTLS, .tlsHandshake, .authenticating:
            queue.append(.send(transaction, request))  // checked once the server's limits are known
            return .wait
        case .ready, .envelope, .abortingData, .writingBody, .finalReply, .resetting, .checkingLiveness:
            if queue.contains(where: { if case .quit = $0 { true } else { false } }) {
                return .complete([Completion(request: request, result: .failed(Self.closing))], then: [], starting: nil)
            }
            if let refusal = refusal(of: transaction) {
                return .complete([Completion(request: request, result: .failed(refusal))], then: [], starting: nil)
            }
            guard case .ready = state else {
                queue.append(.send(transaction, request))
                return .wait
            }
            let commands = begin(transaction, request)
            return .send(commands, starting: request)
        }
    }

    /// The caller wants an idle session to prove it is alive (before reusing one idle a while).
    public mutating func livenessRequested(_ request: Request) -> Action {
        switch state {
        case .closed(let error):
            return .complete([Completion(request: request, result: .failed(error))], then: [], starting: nil)
        case .quitting:
            return .complete([Completion(request: request, result: .failed(Self.closing))], then: [], starting: nil)
        case .ready where queue.isEmpty:
            state = .checkingLiveness(request)
            return .send([.noop], starting: nil)
        case .greeting, .ehlo, .helo, .startTLS, .tlsHandshake, .authenticating, .ready, .envelope, .abortingData,
            .writingBody, .finalReply, .resetting, .checkingLiveness:
            queue.append(.liveness(request))
            return .wait
        }
    }

    /// The caller wants the session ended politely: QUIT now when idle, after the queued work
    /// otherwise. Requests made after it are refused.
    public mutating func quitRequested(_ request: Request) -> Action {
        switch state {
        case .closed:
            return .close([Completion(request: request, result: .quit)], sendQuit: false)
        case .quitting:
            return .complete([Completion(request: request, result: .quit)], then: [], starting: nil)
        case .ready where queue.isEmpty:
            state = .quitting(request)
            return .send([.quit], starting: nil)
        case .greeting, .ehlo, .helo, .startTLS, .tlsHandshake, .authenticating, .ready, .envelope, .abortingData,
            .writingBody, .finalReply, .resetting, .checkingLiveness:
            queue.append(.quit(request))
            return .wait
        }
    }

    // MARK: Events

    /// A complete reply arrived. `unprocessedBytes`: bytes the driver received after it and has not
    /// decoded yet.
    public mutating func replyReceived(_ rawReply: SMTPReply, unprocessedBytes: Int) -> Action {
        let reply = scrubber.scrub(rawReply)
        if reply.code == 421, !isClosed {
            return serviceClosing(reply)
        }
        switch state {
        case .greeting:
            guard reply.code == 220 else {
                return endSession(.connection, reply.isTransientFailure ? .transient : .permanent,
                                  "the server refused the connection", reply: reply, quit: false)
            }
            state = .ehlo
            return .send([.ehlo(configuration.clientIdentifier)], starting: nil)

        case .ehlo:
            if reply.isPositiveCompletion {
                capabilities = SMTPCapabilities(ehloReply: reply)
                return afterGreeting()
            }
            let heloAllowed = configuration.credentials == nil && (configuration.security != .startTLS || tlsActive)
            if reply.isPermanentFailure && heloAllowed {
                state = .helo
                return .send([.helo(configuration.clientIdentifier)], starting: nil)
            }
            return endSession(.protocol, disposition(of: reply), "the server refused EHLO", reply: reply, quit: true)

        case .helo:
            guard reply.isPositiveCompletion else {
                return endSession(.protocol, disposition(of: reply), "the server refused HELO", reply: reply, quit: true)
            }
            capabilities = SMTPCapabilities()
            return afterGreeting()

        case .startTLS:
            guard reply.code == 220 else {
                return endSession(.tls, disposition(of: reply), "the server refused STARTTLS; not continuing without encryption",
                                  reply: reply, quit: true)
            }
            guard unprocessedBytes == 0 else {
                // Bytes after the 220 were sent in clear text to be read as if they came over TLS:
                // a response injection attempt (CVE-2011-0411 family).
                return endSession(.tls, .permanent, "the server sent data after agreeing to STARTTLS (possible injection)",
                                  reply: nil, quit: false)
            }
            state = .tlsHandshake
            return .startTLS

        case .tlsHandshake:
            return endSession(.protocol, .permanent, "the server sent data during the TLS upgrade", reply: nil, quit: false)

        case .authenticating(var authentication):
            switch authentication.replyReceived(reply) {
            case .send(let command):
                state = .authenticating(authentication)
                return .send([command], starting: nil)
            case .authenticated:
                return sessionOpened()
            case .failed(let message, let reply, let disposition):
                return endSession(.auth, disposition, message, reply: reply, quit: true)
            }

        case .ready:
            return endSession(.protocol, .transient, "the server sent an unexpected reply", reply: reply, quit: false)

        case .envelope(var envelope):
            return envelopeReply(reply, envelope: &envelope)

        case .abortingData(let envelope, let error):
            state = .resetting(Completion(request: envelope.request, result: .failed(error)))
            return .send([.rset], starting: nil)

        case .writingBody:
            return endSession(.protocol, .transient, "the server replied before the message was sent", reply: reply, quit: false)

        case .finalReply(let envelope, let chained):
            let verdict = Completion(request: envelope.request, result: finalVerdict(reply, envelope: envelope))
            if let chained {
                // Whatever the verdict, the server is back in its initial state (RFC 5321 section
                // 4.1.1.4), so the chained MAIL it already read starts a clean transaction.
                state = .envelope(chained)
                return .complete([verdict], then: [], starting: nil)
            }
            state = .ready
            return next(completing: [verdict])

        case .resetting(let completion):
            guard reply.isPositiveCompletion else {
                return endSession(SMTPError(.protocol, .transient, "the server refused RSET", reply: reply), quit: true,
                                  reporting: completion)
            }
            state = .ready
            return next(completing: [completion])

        case .checkingLiveness(let request):
            guard reply.isPositiveCompletion else {
                return endSession(.protocol, .transient, "the server refused NOOP", reply: reply, quit: true)
            }
            state = .ready
            return next(completing: [Completion(request: request, result: .alive)])

        case .quitting(let request):
            state = .closed(Self.closing)
            return .close([Completion(request: request, result: .quit)] + failQueue(Self.closing), sendQuit: false)

        case .closed:
            return .wait  // replies decoded from the same read after the session failed
        }
    }

    /// A TLS handshake finished. After STARTTLS, everything learnt before it is forgotten
    /// (RFC 3207 section 4.2) and EHLO is sent again; with implicit TLS the greeting is next.
    public mutating func tlsEstablished() -> Action {
        guard case .tlsHandshake = state else { return .wait }
        tlsActive = true
        capabilities = SMTPCapabilities()
        state = .ehlo
        return .send([.ehlo(configuration.clientIdentifier)], starting: nil)
    }

    /// The message and its dot-stuffing were written; the terminator is next. The next queued
    /// message's envelope rides in the same write when the server offers PIPELINING.
    public mutating func bodyWritten() -> Action {
        guard case .writingBody(let envelope) = state else { preconditionFailure("body written outside the DATA phase") }
        guard capabilities.pipelining, case .send(let transaction, let request) = queue.first else {
            state = .finalReply(envelope, chained: nil)
            return .endBody(then: [], starting: nil)
        }
        queue.removeFirst()
        let chained = Envelope(transaction: transaction, request: request, pipelined: true)
        state = .finalReply(envelope, chained: chained)
        return .endBody(then: envelopeCommands(transaction), starting: request)
    }

    /// The message could not be read while it was being written: nothing was accepted, and DATA
    /// cannot be ended cleanly, so the session ends.
    public mutating func bodyFailed() -> Action {
        guard case .writingBody(let envelope) = state else { preconditionFailure("body failed outside the DATA phase") }
        let unreadable = SMTPError(.message, .permanent, "the message could not be read while sending")
        return endSession(SMTPError(.message, .permanent, "the session ended while sending"), quit: false,
                          reporting: Completion(request: envelope.request, result: .failed(unreadable)))
    }

    /// The connection closed (by the server, the network or us).
    public mutating func connectionClosed() -> Action {
        endSession(SMTPError(.connection, .transient, "the server closed the connection"), quit: false, atDot: Self.closedAfterDot)
    }

    /// The timeout of the current wait expired.
    public mutating func timedOut() -> Action {
        endSession(SMTPError(.timeout, .transient, "the server did not answer in time"), quit: false, atDot: Self.finalReplyTimedOut)
    }

    /// A transport error (TCP, TLS, an undecodable reply); the driver already classified it.
    public mutating func errorCaught(_ error: SMTPError) -> Action {
        var atDot = error
        if atDot.disposition == .transient { atDot.disposition = .ambiguous }
        return endSession(error, quit: false, atDot: atDot)
    }

    // MARK: Opening

    private mutating func afterGreeting() -> Action {
        if configuration.security == .startTLS && !tlsActive {
            guard capabilities.startTLS else {
                return endSession(.tls, .permanent, "the server does not offer STARTTLS; not continuing without encryption",
                                  reply: nil, quit: true)
            }
            state = .startTLS
            return .send([.startTLS], starting: nil)
        }
        guard let credentials = configuration.credentials else { return sessionOpened() }
        guard let (authentication, command) = SMTPAuthentication.start(credentials: credentials, offered: capabilities.authMechanisms) else {
            let offered = capabilities.authMechanisms.sorted().joined(separator: ", ")
            return endSession(.auth, .permanent,
                              offered.isEmpty ? "the server offers no authentication, but credentials are set"
                                  : "the server offers no supported authentication mechanism (offered: \(offered))",
                              reply: nil, quit: true)
        }
        state = .authenticating(authentication)
        return .send([command], starting: nil)
    }

    /// Greeted, TLS as required, authenticated: the opener is told, messages queued meanwhile are
    /// checked against the server's limits, and the first queued request starts.
    private mutating func sessionOpened() -> Action {
        state = .ready
        var completions: [Completion] = []
        if let opening {
            completions.append(Completion(request: opening, result: .opened(capabilities)))
            self.opening = nil
        }
        var kept: [Queued] = []
        for queued in queue {
            if case .send(let transaction, let request) = queued, let refusal = refusal(of: transaction) {
                completions.append(Completion(request: request, result: .failed(refusal)))
            } else {
                kept.append(queued)
            }
        }
        queue = kept
        return next(completing: completions)
    }

    // MARK: Transactions

    /// The session is ready: report `completions` and start the first queued request, if any.
    private mutating func next(completing completions: [Completion]) -> Action {
        guard !queue.isEmpty else { return .complete(completions, then: [], starting: nil) }
        switch queue.removeFirst() {
        case .send(let transaction, let request):
            return .complete(completions, then: begin(transaction, request), starting: request)
        case .liveness(let request):
            state = .checkingLiveness(request)
            return .complete(completions, then: [.noop], starting: nil)
        case .quit(let request):
            state = .quitting(request)
            return .complete(completions, then: [.quit], starting: nil)
        }
    }

    /// Why the server cannot take this message, known before any command is sent.
    private func refusal(of transaction: SMTPTransaction) -> SMTPError? {
        if transaction.recipients.isEmpty {
            return SMTPError(.envelope, .permanent, "no recipients")
        }
        if transaction.requiresSMTPUTF8 && !capabilities.smtpUTF8 {
            return SMTPError(.envelope, .permanent, "an address has a non-ASCII local part and the server does not offer SMTPUTF8")
        }
        if let limit = capabilities.maximumSize, let size = transaction.size, size > limit {
            return SMTPError(.message, .permanent, "the message is \(size) bytes; the server accepts at most \(limit)")
        }
        return nil
    }

    /// Starts a transaction on the ready session; returns its first commands.
    private mutating func begin(_ transaction: SMTPTransaction, _ request: Request) -> [SMTPCommand] {
        let envelope = Envelope(transaction: transaction, request: request, pipelined: capabilities.pipelining)
        state = .envelope(envelope)
        // RFC 2920: MAIL, every RCPT and DATA in one flight; DATA is the last command of the group.
        return envelope.pipelined ? envelopeCommands(transaction) : [mailCommand(transaction)]
    }

    private func envelopeCommands(_ transaction: SMTPTransaction) -> [SMTPCommand] {
        [mailCommand(transaction)] + transaction.recipients.map { .rcptTo($0, parameters: rcptParameters(transaction)) } + [.data]
    }

    private func mailCommand(_ transaction: SMTPTransaction) -> SMTPCommand {
        var parameters: [String] = []
        if let size = transaction.size, capabilities.supports("SIZE") { parameters.append("SIZE=\(size)") }
        if transaction.requiresSMTPUTF8 {
            parameters.append("SMTPUTF8")
            if capabilities.eightBitMIME { parameters.append("BODY=8BITMIME") }
        }
        if let dsn = transaction.dsn, capabilities.dsn {
            parameters.append(dsn.returnFullMessage ? "RET=FULL" : "RET=HDRS")
            if let id = dsn.envelopeID { parameters.append("ENVID=\(id)") }
        }
        return .mailFrom(transaction.mailFrom, parameters: parameters)
    }

    private func rcptParameters(_ transaction: SMTPTransaction) -> [String] {
        guard let dsn = transaction.dsn, capabilities.dsn else { return [] }
        return ["NOTIFY=\(dsn.notify.joined(separator: ","))"]
    }

    private mutating func envelopeReply(_ reply: SMTPReply, envelope: inout Envelope) -> Action {
        let index = envelope.replies
        envelope.replies += 1
        let recipients = envelope.transaction.recipients

        if index == 0 {
            envelope.mailReply = reply
            if envelope.pipelined {
                state = .envelope(envelope)
                return .wait
            }
            guard reply.isPositiveCompletion else {
                return refused(envelope, SMTPError(.envelope, disposition(of: reply), "the server refused the sender", reply: reply))
            }
            state = .envelope(envelope)
            return .send([.rcptTo(recipients[0], parameters: rcptParameters(envelope.transaction))], starting: nil)
        }

        if index <= recipients.count {
            let address = recipients[index - 1]
            if reply.isPositiveCompletion {
                envelope.accepted.append(address)
            } else {
                envelope.rejected.append(RecipientRejection(address: address, reply: reply))
            }
            state = .envelope(envelope)
            if envelope.pipelined { return .wait }
            if index < recipients.count {
                return .send([.rcptTo(recipients[index], parameters: rcptParameters(envelope.transaction))], starting: nil)
            }
            guard !envelope.accepted.isEmpty else { return refused(envelope, allRejected(envelope)) }
            return .send([.data], starting: nil)
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
                state = .abortingData(envelope, envelopeError)
                return .send([.endOfData], starting: nil)
            }
            state = .writingBody(envelope)
            return .writeBody(envelope.request)
        }
        return refused(envelope, envelopeError ?? SMTPError(
            .envelope, disposition(of: reply), "the server refused DATA", reply: reply, rejectedRecipients: envelope.rejected))
    }

    /// The envelope was refused: RSET, and the refusal is reported once the server answers it.
    private mutating func refused(_ envelope: Envelope, _ error: SMTPError) -> Action {
        state = .resetting(Completion(request: envelope.request, result: .failed(error)))
        return .send([.rset], starting: nil)
    }

    /// The verdict on a message from the reply to its final dot.
    private func finalVerdict(_ reply: SMTPReply, envelope: Envelope) -> SMTPRequestResult {
        if reply.isPositiveCompletion {
            return .delivered(SMTPTransactionOutcome(accepted: envelope.accepted, rejected: envelope.rejected, response: reply))
        }
        return .failed(SMTPError(.message, disposition(of: reply), "the server refused the message", reply: reply,
                                 rejectedRecipients: envelope.rejected))
    }

    private func allRejected(_ envelope: Envelope) -> SMTPError {
        let transient = envelope.rejected.allSatisfy { (400..<500).contains($0.code) }
        return SMTPError(.envelope, transient ? .transient : .permanent, "the server refused every recipient",
                         rejectedRecipients: envelope.rejected)
    }

    // MARK: Ending

    private mutating func serviceClosing(_ reply: SMTPReply) -> Action {
        let error: SMTPError =
            if case .authenticating = state {
                SMTPError(.auth, .transient, "the server closed the session during authentication", reply: reply)
            } else {
                SMTPError(.connection, .transient, "the server is closing the session", reply: reply)
            }
        // 421 instead of a reply to the final dot: the server says it did not take the message.
        let refused = SMTPError(.message, .transient, "the server closed the session before accepting the message", reply: reply)
        return endSession(error, quit: false, atDot: refused)
    }

    private mutating func endSession(
        _ code: SMTPError.Code, _ disposition: SMTPError.Disposition, _ message: String, reply: SMTPReply?, quit: Bool
    ) -> Action {
        endSession(SMTPError(code, disposition, message, reply: reply), quit: quit)
    }

    /// Ends the session with `error` and tells every request in it: the opener and a liveness check
    /// get `error`; the message whose dot was sent gets `atDot` (usually ambiguous: it may have been
    /// delivered); a message chained behind it or still queued gets ``notSent(_:)`` (its data never
    /// left, so another session may carry it); a refusal awaiting its RSET keeps its own error.
    private mutating func endSession(
        _ error: SMTPError, quit: Bool, atDot: SMTPError? = nil, reporting reported: Completion? = nil
    ) -> Action {
        var completions: [Completion] = []
        if let opening {
            completions.append(Completion(request: opening, result: .failed(error)))
            self.opening = nil
        }
        if let reported { completions.append(reported) }
        switch state {
        case .greeting, .ehlo, .helo, .startTLS, .tlsHandshake, .authenticating, .ready:
            break
        case .envelope(let envelope), .abortingData(let envelope, _):
            completions.append(Completion(request: envelope.request, result: .failed(error)))
        case .writingBody(let envelope):
            if reported == nil { completions.append(Completion(request: envelope.request, result: .failed(error))) }
        case .finalReply(let envelope, let chained):
            completions.append(Completion(request: envelope.request, result: .failed(atDot ?? error)))
            if let chained { completions.append(Completion(request: chained.request, result: .failed(Self.notSent(error)))) }
        case .resetting(let completion):
            if reported == nil { completions.append(completion) }
        case .checkingLiveness(let request):
            completions.append(Completion(request: request, result: .failed(error)))
        case .quitting(let request):
            completions.append(Completion(request: request, result: .quit))
        case .closed:
            return .wait
        }
        state = .closed(error)
        return .close(completions + failQueue(error), sendQuit: quit)
    }

    private mutating func failQueue(_ error: SMTPError) -> [Completion] {
        defer { queue.removeAll() }
        return queue.map { queued in
            switch queued {
            case .send(_, let request): Completion(request: request, result: .failed(Self.notSent(error)))
            case .liveness(let request): Completion(request: request, result: .failed(error))
            case .quit(let request): Completion(request: request, result: .quit)
            }
        }
    }

    private static var closedAfterDot: SMTPError {
        SMTPError(.connection, .ambiguous,
                  "the connection closed after the message was sent, before the server confirmed it; it may have been delivered")
    }

    private static var finalReplyTimedOut: SMTPError {
        SMTPError(.timeout, .ambiguous, "no reply to the end of the message in time; it may have been delivered")
    }

    private static var closing: SMTPError {
        SMTPError(.connection, .transient, "the session is closing")
    }

    /// A message's share of a session failure when its data was never sent: never ambiguous, so a
    /// retry on another session is safe. The one place this wording exists.
    static func notSent(_ error: SMTPError) -> SMTPError {
        var error = error
        error.disposition = .transient
        if !error.message.hasPrefix(notSentPrefix) { error.message = notSentPrefix + error.message }
        return error
    }

    private static var notSentPrefix: String { "the session ended before this message was sent: " }

    private func disposition(of reply: SMTPReply) -> SMTPError.Disposition {
        reply.isTransientFailure ? .transient : .permanent
    }
}
