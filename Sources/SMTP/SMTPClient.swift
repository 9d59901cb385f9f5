public import Egress
public import Logging
public import MIME
public import NIOCore
public import NIOPosix
public import SMTPCore

/// Sends composed messages through one SMTP server configuration: connect, authenticate, deliver,
/// QUIT. (The pool, which keeps sessions warm between sends, builds on ``SMTPConnection``.)
public struct SMTPClient: Sendable {
    private let egress: EgressGuard
    private let dialer: SMTPDialer
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger

    /// Creates a client that connects only where `egress` allows.
    public init(
        egress: EgressGuard, dialer: SMTPDialer = .network,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) {
        self.egress = egress
        self.dialer = dialer
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// Delivers `message` to its envelope's recipients.
    ///
    /// Partial rejection is not an error: the result lists the refused recipients. Everything else
    /// throws an ``SMTPError`` whose disposition says whether a retry can help, and which is
    /// `ambiguous` when the connection failed after the final dot.
    public func send(
        _ message: RenderedMessage, using configuration: SMTPConfiguration, dsn: DSNRequest? = nil
    ) async throws(SMTPError) -> SMTPSendResult {
        let connection = try await SMTPConnection.connect(
            configuration: configuration, egress: egress, dialer: dialer, eventLoopGroup: eventLoopGroup, logger: logger)
        let (body, size) = SMTPMessageBody.prepare(message)
        let transaction = SMTPTransaction(
            mailFrom: message.envelope.mailFrom, recipients: message.envelope.recipients, size: size,
            requiresSMTPUTF8: message.envelope.requiresSMTPUTF8, dsn: dsn)
        do throws(SMTPError) {
            let delivery = try await connection.deliver(body, transaction: transaction, onEventLoop: { _ in })
            let (outcome, envelope, data) = (delivery.outcome, delivery.envelope, delivery.data)
            await connection.close()
            var timings = connection.openingTimings
            timings.envelope = envelope
            timings.data = data
            return SMTPSendResult(
                messageID: message.messageID, envelope: message.envelope, outcome: outcome,
                size: size, tlsVersion: connection.tlsVersion, timings: timings)
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Connects, negotiates TLS, greets and authenticates without sending mail: the credential
    /// form's "Test connection".
    public func testConnection(using configuration: SMTPConfiguration) async throws(SMTPError) -> SMTPConnectionReport {
        let connection = try await SMTPConnection.connect(
            configuration: configuration, egress: egress, dialer: dialer, eventLoopGroup: eventLoopGroup, logger: logger)
        await connection.close()
        return SMTPConnectionReport(
            tlsVersion: connection.tlsVersion, capabilities: connection.capabilities.summary,
            timings: connection.openingTimings)
    }
}

/// What "Test connection" found.
public struct SMTPConnectionReport: Sendable, Hashable {
    /// `TLSv1.3`, or `nil` for plaintext.
    public var tlsVersion: String?
    /// The EHLO keywords after TLS.
    public var capabilities: [String]
    public var timings: SMTPTimings
}

/// The result of one delivered message: the step output a flow sees.
public struct SMTPSendResult: Sendable, Hashable {
    /// `<id@domain>`.
    public var messageID: String
    /// Sender and every recipient, as sent.
    public var envelope: Envelope
    /// Accepted and rejected recipients and the final reply.
    public var outcome: SMTPTransactionOutcome
    /// The message size in octets (before dot-stuffing).
    public var size: Int?
    public var tlsVersion: String?
    public var timings: SMTPTimings

    /// Creates a result (transports other than the pool, and tests).
    public init(
        messageID: String, envelope: Envelope, outcome: SMTPTransactionOutcome, size: Int?, tlsVersion: String?,
        timings: SMTPTimings = SMTPTimings()
    ) {
        self.messageID = messageID
        self.envelope = envelope
        self.outcome = outcome
        self.size = size
        self.tlsVersion = tlsVersion
        self.timings = timings
    }

    /// Whether every recipient was accepted.
    public var isCompleteDelivery: Bool { outcome.rejected.isEmpty && !outcome.accepted.isEmpty }
}
