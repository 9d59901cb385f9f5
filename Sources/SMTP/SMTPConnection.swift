public import Egress
import Foundation
public import Logging
public import MIME
public import NIOCore
public import NIOPosix
import NIOSSL
public import SMTPCore

/// One open, authenticated SMTP session. Send any number of messages through it, one at a time.
///
/// Opened by ``connect(configuration:egress:eventLoopGroup:logger:)``: the host is vetted by the
/// egress guard (resolved once, every answer classified, the connection pinned to the vetted
/// address), TLS is negotiated as the configuration requires, and the client authenticates.
public final class SMTPConnection: Sendable {
    private let channel: any Channel
    /// Whatever must live exactly as long as this session: the pool's opened settings of its key.
    private let owner: (any AnyObject & Sendable)?
    /// What the server announced after TLS and before authentication.
    public let capabilities: SMTPCapabilities
    /// `TLSv1.3`, or `nil` on a plaintext session.
    public let tlsVersion: String?
    /// How long each opening phase took.
    public let openingTimings: SMTPTimings

    private init(channel: any Channel, session: SMTPSessionInfo, connectDuration: Duration, owner: (any AnyObject & Sendable)?) {
        self.channel = channel
        self.owner = owner
        self.capabilities = session.capabilities
        self.tlsVersion = session.tlsVersion
        self.openingTimings = SMTPTimings(
            connect: connectDuration, tls: session.timings.tls,
            auth: session.timings.auth - session.timings.tls)
    }

    /// Whether the TCP connection is still open.
    public var isActive: Bool { channel.isActive }

    /// Completes when the connection has closed, for whatever reason.
    var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    /// Opens a session.
    ///
    /// - Throws: ``SMTPError``: `EPOLICY` or `EDNS` from the egress guard, `ECONNECTION`,
    ///   `ETIMEDOUT`, `ETLS`, `EAUTH`, `EPROTOCOL`.
    public static func connect(
        configuration: SMTPConfiguration,
        egress: EgressGuard,
        dialer: SMTPDialer = .network,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) async throws(SMTPError) -> SMTPConnection {
        try await connect(configuration: configuration, egress: egress, dialer: dialer, eventLoopGroup: eventLoopGroup,
                          logger: logger, owner: nil)
    }

    /// ``connect(configuration:egress:dialer:eventLoopGroup:logger:)`` for a session that keeps
    /// `owner` alive for as long as it exists.
    static func connect(
        configuration: SMTPConfiguration, egress: EgressGuard, dialer: SMTPDialer, eventLoopGroup: any EventLoopGroup,
        logger: Logger, owner: (any AnyObject & Sendable)?
    ) async throws(SMTPError) -> SMTPConnection {
        var logger = logger
        logger[metadataKey: "smtp.host"] = "\(configuration.host)"
        let clock = ContinuousClock()
        let started = clock.now

        let pinned: PinnedHost
        do {
            pinned = try await egress.vet(host: configuration.host)
        } catch {
            throw SMTPError(error.isPolicyRefusal ? .policy : .dns, error.isPolicyRefusal ? .permanent : .transient, error.description)
        }
        logger.debug("smtp.connect", metadata: ["smtp.address": "\(pinned.address)", "smtp.port": "\(configuration.port)"])

        let tls = try TLSSettings(configuration)
        let address: SocketAddress
        do {
            address = try SocketAddress(ipAddress: pinned.address.description, port: configuration.port)
        } catch {
            throw SMTPError(.connection, .permanent, "the resolved address cannot be used")
        }
        let eventLoop = eventLoopGroup.next()
        let sessionPromise = eventLoop.makePromise(of: SMTPSessionInfo.self)
        let machineConfiguration = SMTPSessionConfiguration(
            security: configuration.security, clientIdentifier: configuration.clientIdentifier,
            credentials: configuration.credentials)
        let timeouts = configuration.timeouts
        let security = configuration.security
        let handlerLogger = logger
        let bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(TimeAmount(timeouts.connect))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if security == .implicitTLS, let context = tls.context {
                        try sync.addHandler(NIOSSLClientHandler(context: context, serverHostname: tls.serverHostname))
                    }
                    try sync.addHandler(SMTPChannelHandler(
                        configuration: machineConfiguration, timeouts: timeouts,
                        tlsUpgrade: security == .startTLS ? tls.context.map { ($0, tls.serverHostname) } : nil,
                        sessionPromise: sessionPromise, logger: handlerLogger))
                }
            }
        let channel: any Channel
        do {
            channel = try await dialer.dial(address, bootstrap)
        } catch {
            sessionPromise.fail(error)
            throw SMTPError.transport(error)
        }
        let connected = clock.now - started
        do {
            // Cancelled (a stopping server), the session is abandoned at once rather than after the
            // greeting, EHLO, STARTTLS and AUTH timeouts of a server that stalls.
            let session = try await withTaskCancellationHandler {
                try await sessionPromise.futureResult.get()
            } onCancel: {
                sessionPromise.fail(CancellationError())
                channel.close(promise: nil)
            }
            return SMTPConnection(channel: channel, session: session, connectDuration: connected, owner: owner)
        } catch {
            channel.close(promise: nil)
            throw SMTPError.transport(error)
        }
    }

    /// Sends one message: the envelope (pipelined when the server allows), then the body streamed
    /// from the composer, dot-stuffed, a chunk at a time.
    public func send(_ message: RenderedMessage, transaction: SMTPTransaction) async throws(SMTPError) -> SMTPTransactionOutcome {
        try await deliver(SMTPMessageBody(message), transaction: transaction, onEventLoop: { _ in }).outcome
    }

    /// Sends one message and reports how long its envelope and data took. `onEventLoop` runs on
    /// the connection's event loop as soon as the server's verdict is in, before the caller
    /// resumes: the pool takes the session back there, so the next message can have it without
    /// waiting for this caller's thread.
    func deliver(
        _ body: SMTPMessageBody, transaction: SMTPTransaction,
        onEventLoop settled: @escaping @Sendable (Result<SMTPDelivery, any Error>) -> Void
    ) async throws(SMTPError) -> SMTPDelivery {
        guard case .readingFiles(let fileStream) = body else {
            do {
                return try await request(settled: settled) { SMTPRequest.send(transaction, body, $0) }
            } catch {
                throw SMTPError.transport(error)
            }
        }
        // This task reads the files, a few chunks ahead of the socket; the event loop only writes.
        let feed = SMTPBodyFeed()
        let stream = HandedOver(fileStream)
        let result = await withTaskGroup(of: Void.self, returning: Result<SMTPDelivery, any Error>.self) { group in
            group.addTask { await feed.produce(from: stream.value) }
            let result: Result<SMTPDelivery, any Error>
            do {
                result = .success(try await request(settled: settled) { SMTPRequest.send(transaction, .feed(feed), $0) })
            } catch {
                result = .failure(error)
            }
            feed.abandon()
            return result
        }
        do {
            return try result.get()
        } catch {
            throw SMTPError.transport(error)
        }
    }

    /// Sends NOOP and waits for 250.
    public func checkLiveness() async throws(SMTPError) {
        do {
            try await request(settled: { _ in }) { SMTPRequest.checkLiveness($0) }
        } catch {
            throw SMTPError.transport(error)
        }
    }

    /// Says QUIT, waits at most `quitTimeout` for the server's answer, and closes the connection.
    ///
    /// The wait is short on purpose: closing is what shutdown does, and a server that does not
    /// answer QUIT must not hold a stopping process for a command timeout (5 minutes).
    public func close(quitTimeout: Duration = .seconds(2)) async {
        try? await beginClose(quitTimeout: quitTimeout).get()
    }

    /// ``close(quitTimeout:)`` without a task: QUIT is handed to the session (after whatever it is
    /// carrying), the channel closes on the answer or after `quitTimeout`, and the future completes
    /// once it is closed.
    func beginClose(quitTimeout: Duration = .seconds(2)) -> EventLoopFuture<Void> {
        let channel = self.channel
        let answered = channel.eventLoop.makePromise(of: Void.self)
        let deadline = channel.eventLoop.scheduleTask(in: TimeAmount(quitTimeout)) { channel.close(promise: nil) }
        answered.futureResult.whenComplete { _ in
            deadline.cancel()
            channel.close(promise: nil)
        }
        channel.triggerUserOutboundEvent(SMTPRequest.quit(answered), promise: nil)
        // The handler is gone once the channel closed: nothing would answer.
        channel.closeFuture.whenComplete { _ in answered.succeed() }
        return channel.closeFuture
    }

    /// Hands a request to the channel handler and waits for its answer. If the handler is gone (the
    /// channel closed and its pipeline was torn down), the request fails instead of waiting forever.
    ///
    /// Cancelling the waiting task closes the connection, which fails the request: a stopping
    /// server that gives up on a send (or a QUIT) does not wait out the SMTP timeouts. A message
    /// interrupted after its final dot is then reported ambiguous, as any drop there is.
    private func request<Value: Sendable>(
        settled: @escaping @Sendable (Result<Value, any Error>) -> Void, _ make: (EventLoopPromise<Value>) -> SMTPRequest
    ) async throws -> Value {
        let answer = channel.eventLoop.makePromise(of: Value.self)
        answer.futureResult.whenComplete(settled)
        let delivered = channel.eventLoop.makePromise(of: Void.self)
        delivered.futureResult.whenFailure { answer.fail($0) }
        channel.triggerUserOutboundEvent(make(answer), promise: delivered)
        let channel = self.channel
        return try await withTaskCancellationHandler {
            try await answer.futureResult.get()
        } onCancel: {
            channel.close(promise: nil)
        }
    }
}

/// Opens the TCP connection to a vetted address. Tests inject one that records where a connection
/// would have gone and dials nothing.
public struct SMTPDialer: Sendable {
    let dial: @Sendable (SocketAddress, ClientBootstrap) async throws -> any Channel

    /// Creates a dialer from a function that connects `bootstrap` to the address.
    public init(_ dial: @escaping @Sendable (_ address: SocketAddress, _ bootstrap: ClientBootstrap) async throws -> any Channel) {
        self.dial = dial
    }

    /// Connects over the network.
    public static let network = SMTPDialer { address, bootstrap in
        try await bootstrap.connect(to: address).get()
    }
}

/// How long each phase of a send took.
public struct SMTPTimings: Sendable, Hashable {
    public var connect: Duration = .zero
    public var tls: Duration = .zero
    public var auth: Duration = .zero
    public var envelope: Duration = .zero
    public var data: Duration = .zero

    /// Creates timings; every phase defaults to zero.
    public init(
        connect: Duration = .zero, tls: Duration = .zero, auth: Duration = .zero, envelope: Duration = .zero,
        data: Duration = .zero
    ) {
        self.connect = connect
        self.tls = tls
        self.auth = auth
        self.envelope = envelope
        self.data = data
    }
}

// MARK: - TLS settings

/// The NIOSSL context a configuration asks for.
struct TLSSettings: Sendable {
    let context: NIOSSLContext?
    /// SNI and certificate name: the configured host name; `nil` for an IP literal host.
    let serverHostname: String?

    init(_ configuration: SMTPConfiguration) throws(SMTPError) {
        serverHostname = IPAddress(configuration.host) == nil ? configuration.host : nil
        guard configuration.security != .plaintext else {
            context = nil
            return
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        // NIOSSL's client default allows TLS 1.0: set the floor explicitly.
        tls.minimumTLSVersion = configuration.minimumTLSVersion == .tls13 ? .tlsv13 : .tlsv12
        tls.maximumTLSVersion = .tlsv13
        tls.certificateVerification = configuration.acceptUnverifiedCertificates ? .none : .fullVerification
        if let pem = configuration.additionalTrustedCertificatesPEM {
            do {
                tls.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)))]
            } catch {
                throw SMTPError(.tls, .permanent, "the CA certificate is not valid PEM")
            }
        }
        do {
            context = try NIOSSLContext(configuration: tls)
        } catch {
            throw SMTPError(.tls, .permanent, "TLS could not be set up")
        }
    }
}

/// A value moved whole to another task; the sender never touches it again (a message stream read
/// by the task that prefetches its file chunks).
private struct HandedOver<Value>: @unchecked Sendable {
    let value: Value

    init(_ value: Value) {
        self.value = value
    }
}
