import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// The limits that keep slow or idle clients from exhausting the server's connections (slow
/// loris): a request's head must arrive within ``headerTimeout`` (counted from the connection's
/// start or from the head's first byte), its body within ``bodyTimeout`` of its head, a keep-alive
/// connection with no request under way is closed after ``idleTimeout``, and at most
/// ``maximumConnections`` connections are open at once (further ones wait in the kernel's backlog
/// until one closes).
///
/// Without them, 1,100 clients that each send half a request line and then nothing held every
/// connection the process could open for ever, and `/healthz` went unanswered; a body trickled one
/// byte a minute did the same, and also kept SIGTERM from completing.
public struct HTTPConnectionLimits: Sendable, Hashable {
    /// For a request's head (10 s).
    public var headerTimeout: Duration
    /// For a request's body, from its head (60 s: 1 MiB at 17 KiB/s).
    public var bodyTimeout: Duration
    /// A connection with no request under way (60 s).
    public var idleTimeout: Duration
    /// Connections open at once (1,000).
    public var maximumConnections: Int

    /// The defaults: 10 s, 60 s, 60 s, 1,000.
    public init(
        headerTimeout: Duration = .seconds(10), bodyTimeout: Duration = .seconds(60), idleTimeout: Duration = .seconds(60),
        maximumConnections: Int = 1_000
    ) {
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.maximumConnections = maximumConnections
    }

    /// An HTTP/1.1 server that enforces the limits.
    func serverBuilder() -> HTTPServerBuilder {
        let timeouts = RequestTimeouts(head: TimeAmount(headerTimeout), body: TimeAmount(bodyTimeout))
        let configuration = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestBoundaryHandler()], idleTimeout: TimeAmount(idleTimeout))
        return HTTPServerBuilder { responder in
            TimedHTTP1Channel(base: HTTP1Channel(responder: responder, configuration: configuration), timeouts: timeouts)
        }
    }
}

/// How long a request's head and body may take to arrive.
struct RequestTimeouts: Sendable {
    let head: TimeAmount
    let body: TimeAmount
}

/// Hummingbird's HTTP/1.1 channel with ``RequestTimeoutHandler`` in front of the HTTP decoder.
struct TimedHTTP1Channel: ServerChildChannel {
    let base: HTTP1Channel
    let timeouts: RequestTimeouts

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1Channel.Value> {
        do {
            try channel.pipeline.syncOperations.addHandler(RequestTimeoutHandler(timeouts: timeouts), position: .first)
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
/// ``RequestTimeoutHandler`` (which sees bytes) as outbound user events.
enum RequestBoundary: Sendable {
    /// A request's head was parsed.
    case headReceived
    /// A request's body ended (for a request without one, right after its head).
    case requestEnded
}

/// Closes a connection whose request head or body takes too long to arrive.
///
/// The head's deadline runs from the connection's start, and afterwards from the first byte that
/// arrives while no request is being read; the body's from its head to its end. Between requests
/// (a keep-alive connection, a response being written) no deadline runs here: that is the idle
/// timeout's business. Heads and ends are counted, so pipelined requests keep their place.
final class RequestTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let timeouts: RequestTimeouts
    private var heads = 0
    private var ends = 0
    private var deadline: Scheduled<Void>?

    init(timeouts: RequestTimeouts) {
        self.timeouts = timeouts
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(timeouts.head, context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if deadline == nil { arm(timeouts.head, context: context) }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Bytes outside a body begin the next head.
        if heads == ends && deadline == nil { arm(timeouts.head, context: context) }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let boundary = event as? RequestBoundary else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        disarm()
        switch boundary {
        case .headReceived:
            heads += 1
            arm(timeouts.body, context: context)
        case .requestEnded:
            ends += 1
        }
        promise?.succeed()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    private func arm(_ timeout: TimeAmount, context: ChannelHandlerContext) {
        disarm()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            loopBound.value.close(promise: nil)
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}

/// Sees request heads and ends, and tells ``RequestTimeoutHandler``.
final class RequestBoundaryHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: context.triggerUserOutboundEvent(RequestBoundary.headReceived, promise: nil)
        case .body: break
        case .end: context.triggerUserOutboundEvent(RequestBoundary.requestEnded, promise: nil)
        }
        context.fireChannelRead(data)
    }
}
