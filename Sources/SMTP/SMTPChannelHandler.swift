import Logging
import NIOCore
import NIOSSL
import NIOTLS
import MIME
import SMTPCore

// MARK: - The driver
//
// Decodes replies, feeds every event to `SMTPClientStateMachine`, and performs the actions it
// returns. It decides nothing: which request runs, which rides behind a final dot, what each is
// told when the session ends, and whether bytes arrived before the TLS upgrade are the machine's
// calls. What the driver keeps is I/O: the decoder's buffer, the message being written, the timer.

/// What the async API asks of the connection, sent as a user outbound event.
///
/// `@unchecked Sendable`: a message stream is handed over to the event loop with the request and
/// used only there from then on; the sender keeps no copy.
enum SMTPRequest: @unchecked Sendable {
    /// Send one message: the envelope, then (after 354) the body, which the handler dot-stuffs and
    /// writes itself as the socket accepts it — one hop onto the event loop per message instead of
    /// one per chunk.
    case send(SMTPTransaction, SMTPMessageBody, EventLoopPromise<SMTPDelivery>)
    case checkLiveness(EventLoopPromise<Void>)
    case quit(EventLoopPromise<Void>)
}

/// One message's outcome and how long its two phases took.
struct SMTPDelivery: Sendable {
    var outcome: SMTPTransactionOutcome
    /// From the first envelope command to the 354.
    var envelope: Duration
    /// From the 354 to the reply to the final dot.
    var data: Duration
}

/// What the session learnt while opening.
struct SMTPSessionInfo: Sendable {
    var capabilities: SMTPCapabilities
    var tlsVersion: String?
    var timings: SMTPSessionTimings
}

/// Milestones of opening a session, measured from the moment the TCP connection was up.
struct SMTPSessionTimings: Sendable {
    var tls: Duration = .zero
    var auth: Duration = .zero
}

/// The driver's handle for one request, kept by the machine while the request waits or runs.
enum SMTPRequestHandle {
    case open(EventLoopPromise<SMTPSessionInfo>)
    case send(SMTPMessageSend)
    case liveness(EventLoopPromise<Void>)
    case quit(EventLoopPromise<Void>)
}

/// A message's bytes as the handler writes them after 354 (CRLF line endings, not yet dot-stuffed).
enum SMTPMessageBody {
    /// Rendered once by the sending task, dot-stuffed and terminated: the handler writes it (and the
    /// next envelope chained behind it) in one write and does no work on it.
    case rendered(ByteBuffer)
    /// Encoded from memory a chunk at a time on the event loop (a large message without files).
    case stream(MessageStream)
    /// A message that reads files: ``SMTPConnection`` turns it into a ``feed(_:)`` read by the
    /// sending task. The handler never sees it.
    case readingFiles(MessageStream)
    /// Chunks the sending task reads ahead, a few at a time.
    case feed(SMTPBodyFeed)

    /// What the handler gets from ``next(whenReady:)``.
    enum Pull {
        case chunk([UInt8])
        /// The whole message, already dot-stuffed, terminator included.
        case terminated(ByteBuffer)
        case end
        /// Not read yet: `whenReady` runs once it is.
        case pending
    }

    /// Messages up to this size are rendered once into memory by the caller: the size declared with
    /// `SIZE=` and the bytes sent come from one rendering, and nothing is read on the event loop.
    static let renderedLimit = 256 * 1024

    /// The message as a stream (read by the sending task when it reads files).
    init(_ message: RenderedMessage) {
        self = message.readsFiles ? .readingFiles(message.makeStream()) : .stream(message.makeStream())
    }

    /// The body to send and its exact size for `SIZE=`: a small message rendered once (by the
    /// calling task, off the event loop), a large one streamed and counted without rendering.
    static func prepare(_ message: RenderedMessage) -> (body: SMTPMessageBody, size: Int?) {
        if !message.readsFiles, let (bytes, size) = try? stuffed(message) { return (.rendered(bytes), size) }
        return (SMTPMessageBody(message), (try? message.byteCount()) ?? nil)
    }

    /// The message dot-stuffed and terminated, with its size before stuffing (what `SIZE=` declares,
    /// RFC 1870 section 3); `nil` once it passes ``renderedLimit``.
    private static func stuffed(_ message: RenderedMessage) throws -> (ByteBuffer, Int)? {
        var stream = message.makeStream()
        var stuffer = DotStuffer()
        var buffer = ByteBuffer()
        var size = 0
        while let chunk = try stream.next() {
            size += chunk.count
            if size > renderedLimit { return nil }
            if buffer.capacity == 0 { buffer.reserveCapacity(chunk.count + chunk.count / 32 + 64) }
            stuffer.stuff(chunk, into: &buffer)
        }
        stuffer.finish(into: &buffer)
        return (buffer, size)
    }

    /// The next bytes, on the event loop.
    ///
    /// - Throws: when the message cannot be read (an attachment file went away).
    mutating func next(whenReady: @escaping @Sendable () -> Void) throws -> Pull {
        switch self {
        case .rendered(let bytes):
            guard bytes.readableBytes > 0 else { return .end }
            self = .rendered(ByteBuffer())
            return .terminated(bytes)
        case .stream(var stream):
            let chunk = try stream.next()
            self = .stream(stream)
            return chunk.map { .chunk($0) } ?? .end
        case .readingFiles:
            preconditionFailure("a message that reads files reaches the event loop only as a feed")
        case .feed(let feed):
            switch feed.next(whenReady: whenReady) {
            case .chunk(let chunk): return .chunk(chunk)
            case .end: return .end
            case .pending: return .pending
            case .failed: throw SMTPBodyFeed.Unreadable()
            }
        }
    }
}

/// A message on its way: what to write after 354 and when each phase began. Lives on the event loop.
final class SMTPMessageSend {
    var body: SMTPMessageBody
    let promise: EventLoopPromise<SMTPDelivery>
    var envelopeStarted = NIODeadline.now()
    var bodyStarted = NIODeadline.now()

    init(body: SMTPMessageBody, promise: EventLoopPromise<SMTPDelivery>) {
        self.body = body
        self.promise = promise
    }
}

final class SMTPChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    typealias Machine = SMTPClientStateMachine<SMTPRequestHandle>

    /// The message being written after 354: its chunks, dot-stuffed as they go. The last stuffed
    /// chunk is held back so the terminator (and a chained envelope) joins it in one write.
    private struct BodyWriter {
        let send: SMTPMessageSend
        var stuffer = DotStuffer()
        var held: ByteBuffer?
        /// The held bytes end with the terminator already (a message stuffed by the sending task).
        var terminated = false
    }

    private var machine: Machine
    private let replies = NIOSingleStepByteToMessageProcessor(SMTPReplyDecoder())
    private var body: BodyWriter?
    /// When the current wait times out; `nil` when nothing is awaited.
    private var deadline: NIODeadline?
    /// The scheduled check and when it runs. Replies move `deadline` later without touching it:
    /// a pipelined message gets four replies, and cancelling and scheduling a task for each one
    /// cost more than the rest of the reply's handling.
    private var timer: (task: Scheduled<Void>, at: NIODeadline)?
    private let timeouts: SMTPTimeouts
    private let tlsUpgrade: (context: NIOSSLContext, serverHostname: String?)?
    private var logger: Logger
    private var activeSince: NIODeadline?
    private var timings = SMTPSessionTimings()
    private var tlsVersion: String?

    init(
        configuration: SMTPSessionConfiguration,
        timeouts: SMTPTimeouts,
        tlsUpgrade: (context: NIOSSLContext, serverHostname: String?)?,
        sessionPromise: EventLoopPromise<SMTPSessionInfo>,
        logger: Logger
    ) {
        self.machine = Machine(configuration: configuration, opening: .open(sessionPromise))
        self.timeouts = timeouts
        self.tlsUpgrade = tlsUpgrade
        self.logger = logger
    }

    // MARK: Inbound

    func channelActive(context: ChannelHandlerContext) {
        activeSince = .now()
        arm(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            try replies.process(buffer: unwrapInboundIn(data)) { reply in
                if logger.logLevel <= .trace {
                    logger.trace("smtp.reply", metadata: ["smtp.line": "S: \(machine.scrub(reply.description))"])
                }
                // Each reply restarts the clock of the wait it belongs to.
                run(machine.replyReceived(reply, unprocessedBytes: replies.unprocessedBytes), context: context)
            }
        } catch {
            run(machine.errorCaught(SMTPError(.protocol, .permanent, "\(error)")), context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? TLSUserEvent, case .handshakeCompleted = event else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        tlsVersion = try? context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self).tlsVersion?.displayName
        timings.tls = elapsed()
        logger.debug("smtp.tls.established", metadata: ["smtp.tls.version": "\(tlsVersion ?? "?")"])
        run(machine.tlsEstablished(), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimeout()
        run(machine.connectionClosed(), context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let mapped = SMTPError.transport(error)
        logger.debug("smtp.error", metadata: ["smtp.error": "\(mapped)"])
        run(machine.errorCaught(mapped), context: context)
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, body != nil { writeBody(context: context) }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Outbound

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let request = event as? SMTPRequest else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        promise?.succeed()
        switch request {
        case .send(let transaction, let body, let promise):
            run(machine.sendRequested(transaction, .send(SMTPMessageSend(body: body, promise: promise))), context: context)
        case .checkLiveness(let promise):
            run(machine.livenessRequested(.liveness(promise)), context: context)
        case .quit(let promise):
            run(machine.quitRequested(.quit(promise)), context: context)
        }
    }

    // MARK: Actions

    private func run(_ action: Machine.Action, context: ChannelHandlerContext) {
        switch action {
        case .wait:
            break
        case .send(let commands, let starting):
            var buffer = context.channel.allocator.buffer(capacity: 64 * commands.count)
            write(commands, startingFor: starting, into: &buffer)
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        case .startTLS:
            guard let tlsUpgrade else { preconditionFailure("STARTTLS without a TLS context") }
            do {
                let handler = try NIOSSLClientHandler(context: tlsUpgrade.context, serverHostname: tlsUpgrade.serverHostname)
                try context.pipeline.syncOperations.addHandler(handler, position: .first)
            } catch {
                run(machine.errorCaught(SMTPError.transport(error)), context: context)
                return
            }
        case .writeBody(let request):
            guard case .send(let send) = request else { preconditionFailure("a body for a request that is not a message") }
            send.bodyStarted = .now()
            body = BodyWriter(send: send)
            writeBody(context: context)
            return  // writeBody arms the data-block timer itself
        case .endBody(let commands, let starting):
            guard var writer = body else { preconditionFailure("a terminator without a body") }
            body = nil
            var buffer = writer.held ?? context.channel.allocator.buffer(capacity: 5 + 64 * commands.count)
            if !writer.terminated { writer.stuffer.finish(into: &buffer) }
            write(commands, startingFor: starting, into: &buffer)
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        case .complete(let completions, let commands, let starting):
            // The next commands leave before the callers hear back, so the server is busy meanwhile.
            if !commands.isEmpty {
                var buffer = context.channel.allocator.buffer(capacity: 64 * commands.count)
                write(commands, startingFor: starting, into: &buffer)
                context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            }
            for completion in completions { complete(completion) }
        case .close(let completions, let sendQuit):
            body = nil
            cancelTimeout()
            for completion in completions { complete(completion) }
            if sendQuit {
                var buffer = context.channel.allocator.buffer(capacity: 8)
                write([.quit], startingFor: nil, into: &buffer)
                context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            } else {
                context.close(promise: nil)
            }
            return
        }
        arm(context: context)
    }

    private func write(_ commands: [SMTPCommand], startingFor request: SMTPRequestHandle?, into buffer: inout ByteBuffer) {
        if case .send(let send) = request { send.envelopeStarted = .now() }
        for command in commands {
            command.write(into: &buffer)
            if logger.logLevel <= .trace {
                logger.trace("smtp.command", metadata: ["smtp.line": "C: \(command.redactedDescription)"])
            }
        }
    }

    private func complete(_ completion: Machine.Completion) {
        switch (completion.request, completion.result) {
        case (.open(let promise), .opened(let capabilities)):
            timings.auth = elapsed()
            logger.debug("smtp.session.ready", metadata: ["smtp.capabilities": "\(capabilities.summary.joined(separator: ", "))"])
            promise.succeed(SMTPSessionInfo(capabilities: capabilities, tlsVersion: tlsVersion, timings: timings))
        case (.send(let send), .delivered(let outcome)):
            let now = NIODeadline.now()
            send.promise.succeed(SMTPDelivery(
                outcome: outcome, envelope: Duration(send.bodyStarted - send.envelopeStarted), data: Duration(now - send.bodyStarted)))
        case (.liveness(let promise), .alive), (.quit(let promise), .quit):
            promise.succeed()
        case (.open(let promise), .failed(let error)):
            logger.debug("smtp.session.failed", metadata: ["smtp.error": "\(error)"])
            promise.fail(error)
        case (.send(let send), .failed(let error)):
            send.promise.fail(error)
        case (.liveness(let promise), .failed(let error)):
            promise.fail(error)
        case (.open, _), (.send, _), (.liveness, _), (.quit, _):
            preconditionFailure("a request ended with another request's result")
        }
    }

    // MARK: Body

    /// Writes message chunks while the socket takes them, then asks the machine what follows the
    /// terminator. Resumed by `channelWritabilityChanged`, so a 10 MiB attachment is never queued
    /// in memory whole.
    private func writeBody(context: ChannelHandlerContext) {
        guard var writer = body else { return }
        let loop = context.eventLoop
        let resume = NIOLoopBound((self, context), eventLoop: loop)
        while context.channel.isWritable {
            let pull: SMTPMessageBody.Pull
            do {
                pull = try writer.send.body.next {
                    loop.execute { resume.value.0.writeBody(context: resume.value.1) }
                }
            } catch {
                body = nil
                run(machine.bodyFailed(), context: context)
                return
            }
            switch pull {
            case .end:
                body = writer
                run(machine.bodyWritten(), context: context)
                return
            case .pending:
                body = writer
                context.flush()
                return
            case .terminated(let bytes):
                writer.held = bytes
                writer.terminated = true
            case .chunk(let chunk):
                if let held = writer.held { context.write(wrapOutboundOut(held), promise: nil) }
                var buffer = context.channel.allocator.buffer(capacity: chunk.count + chunk.count / 32 + 64)
                writer.stuffer.stuff(chunk, into: &buffer)
                writer.held = buffer
            }
        }
        body = writer
        context.flush()
        arm(context: context)
    }

    // MARK: Timeouts

    /// Arms the timeout of what the machine now waits for, from now.
    private func arm(context: ChannelHandlerContext) {
        guard let phase = machine.waitPhase else {
            deadline = nil
            return
        }
        let due = context.eventLoop.now + TimeAmount(timeouts.timeout(for: phase))
        deadline = due
        if let timer, timer.at <= due { return }
        schedule(at: due, context: context)
    }

    private func schedule(at due: NIODeadline, context: ChannelHandlerContext) {
        timer?.task.cancel()
        let task = context.eventLoop.assumeIsolated().scheduleTask(deadline: due) { [self] in
            self.timer = nil
            guard let deadline = self.deadline else { return }
            guard deadline <= context.eventLoop.now else {
                self.schedule(at: deadline, context: context)
                return
            }
            self.deadline = nil
            self.logger.debug("smtp.timeout")
            self.run(self.machine.timedOut(), context: context)
        }
        timer = (task, due)
    }

    private func cancelTimeout() {
        timer?.task.cancel()
        timer = nil
        deadline = nil
    }

    private func elapsed() -> Duration {
        guard let activeSince else { return .zero }
        return Duration(NIODeadline.now() - activeSince)
    }
}

extension TLSVersion {
    /// `TLSv1.3`, as users see it in mail headers.
    var displayName: String {
        switch self {
        case .tlsv1: "TLSv1"
        case .tlsv11: "TLSv1.1"
        case .tlsv12: "TLSv1.2"
        case .tlsv13: "TLSv1.3"
        }
    }
}
