import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// The limits that keep slow or idle clients from exhausting the server's connections (slow
/// loris): a request's head must arrive within ``headerTimeout`` of its first byte, a keep-alive
/// connection with no request under way is closed after ``idleTimeout``, and at most
/// ``maximumConnections`` connections are open at once (further ones wait in the kernel's backlog
/// until one closes).
///
/// Without the first two, 1,100 clients that each send half a request line and then nothing held
/// every connection the process could open for ever, and `/healthz` went unanswered.
public struct HTTPConnectionLimits: Sendable, Hashable {
    /// From the first byte of a request to the end of its head (10 s).
    public var headerTimeout: Duration
    /// A connection with no request under way (60 s).
    public var idleTimeout: Duration
    /// Connections open at once (1,000).
    public var maximumConnections: Int

    /// The defaults: 10 s, 60 s, 1,000.
    public init(headerTimeout: Duration = .seconds(10), idleTimeout: Duration = .seconds(60), maximumConnections: Int = 1_000) {
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
        self.maximumConnections = maximumConnections
    }

    /// An HTTP/1.1 server that enforces the limits.
    func serverBuilder() -> HTTPServerBuilder {
        let headerTimeout = TimeAmount(headerTimeout)
        let configuration = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestBoundaryHandler()], idleTimeout: TimeAmount(idleTimeout))
        return HTTPServerBuilder { responder in
            HeadTimedHTTP1Channel(base: HTTP1Channel(responder: responder, configuration: configuration), headerTimeout: headerTimeout)
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        self = .nanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}

/// Hummingbird's HTTP/1.1 channel with ``HeadReadTimeoutHandler`` in front of the HTTP decoder.
struct HeadTimedHTTP1Channel: ServerChildChannel {
    let base: HTTP1Channel
    let headerTimeout: TimeAmount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1Channel.Value> {
        do {
            try channel.pipeline.syncOperations.addHandler(HeadReadTimeoutHandler(timeout: headerTimeout), position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return base.setup(channel: channel, logger: logger)
    }

    func handle(value: HTTP1Channel.Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Where a request is, told by ``RequestBoundaryHandler`` (which sees HTTP parts) to
/// ``HeadReadTimeoutHandler`` (which sees bytes) as outbound user events.
enum RequestBoundary: Sendable {
    /// A request's head was parsed.
    case headReceived
    /// The response to a request was written to its end.
    case responseComplete
}

/// Closes a connection whose request head takes longer than the timeout to arrive, counted from the
/// first byte of the request: a connection that is merely idle between requests is the idle
/// timeout's business, and one reading a long body is the body limits'.
final class HeadReadTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        /// Between requests: no byte of the next one yet.
        case idle
        /// Bytes of a head are arriving; the connection closes at the deadline.
        case readingHead(Scheduled<Void>)
        /// The head arrived; the request and its response are under way.
        case inRequest
    }

    private let timeout: TimeAmount
    private var state = State.idle

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .idle = state {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            state = .readingHead(context.eventLoop.scheduleTask(in: timeout) {
                loopBound.value.close(promise: nil)
            })
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let boundary = event as? RequestBoundary else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        switch (boundary, state) {
        case (.headReceived, .readingHead(let deadline)):
            deadline.cancel()
            state = .inRequest
        case (.headReceived, .idle), (.headReceived, .inRequest):
            // A pipelined head parsed from bytes that arrived during the previous request.
            state = .inRequest
        case (.responseComplete, .readingHead):
            // The next request's bytes are already arriving; its deadline stands.
            break
        case (.responseComplete, .idle), (.responseComplete, .inRequest):
            state = .idle
        }
        promise?.succeed()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if case .readingHead(let deadline) = state { deadline.cancel() }
        state = .idle
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .readingHead(let deadline) = state { deadline.cancel() }
        state = .idle
        context.fireChannelInactive()
    }
}

/// Sees request heads and response ends, and tells ``HeadReadTimeoutHandler``.
final class RequestBoundaryHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            context.triggerUserOutboundEvent(RequestBoundary.headReceived, promise: nil)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let isEnd: Bool
        if case .end = unwrapOutboundIn(data) { isEnd = true } else { isEnd = false }
        context.write(data, promise: promise)
        if isEnd { context.triggerUserOutboundEvent(RequestBoundary.responseComplete, promise: nil) }
    }
}
