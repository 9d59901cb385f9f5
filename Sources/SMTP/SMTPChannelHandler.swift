import Logging
import NIOCore
import NIOSSL
import NIOTLS
import MIME
import SMTPCore

// MARK: - The driver
//
// Decodes replies, feeds them to `SMTPClientStateMachine`, and performs the actions it returns. It
// decides nothing itself. It keeps its own inbound buffer (rather than a ByteToMessageHandler) so
// that, when the server agrees to STARTTLS, it can see whether any byte arrived after the 220 —
// bytes an attacker injected in clear text to be read as if they came over TLS.

/// What the async API asks of the connection, sent as a user outbound event.
enum SMTPRequest {
    /// Send one message: the envelope, then (after 354) the body, which the handler pulls from the
    /// stream, dot-stuffs and writes itself as the socket accepts it — one hop onto the event loop
    /// per message instead of one per chunk.
    case send(SMTPTransaction, MessageStream, EventLoopPromise<SMTPDelivery>)
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

/// The message being written after 354.
private struct BodyWriter {
    var stream: MessageStream
    var stuffer = DotStuffer()
    let promise: EventLoopPromise<SMTPDelivery>
}

/// A message handed to a session that is still busy with another: it starts when the previous
/// one's final dot is sent (chained in the same flight, when the server offers PIPELINING) or, at
/// the latest, when the previous one ends.
private struct ChainedSend {
    var transaction: SMTPTransaction
    var stream: MessageStream
    let promise: EventLoopPromise<SMTPDelivery>
    /// Whether its envelope commands were sent (the state machine then knows it).
    var started = false
    var startedAt = NIODeadline.now()
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

final class SMTPChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Pending {
        case none
        case session(EventLoopPromise<SMTPSessionInfo>)
        case transaction(EventLoopPromise<SMTPDelivery>, MessageStream)
        case body(BodyWriter)
        case finalReply(EventLoopPromise<SMTPDelivery>)
        case resetAfterFailure(SMTPError, failing: PendingPromise)
        case liveness(EventLoopPromise<Void>)
        case quit(EventLoopPromise<Void>)
    }

    private typealias PendingPromise = EventLoopPromise<SMTPDelivery>

    private var machine: SMTPClientStateMachine
    private var decoder = SMTPReplyDecoder()
    private var inbound: ByteBuffer?
    private var pending: Pending
    private var chained: ChainedSend?
    private var timeout: Scheduled<Void>?
    /// The duration of the running timeout, or `nil` when none runs.
    private var armedDuration: Duration?
    private let timeouts: SMTPTimeouts
    private let tlsUpgrade: (context: NIOSSLContext, serverHostname: String?)?
    private let implicitTLS: Bool
    private var logger: Logger
    private var upgradingTLS = false
    private var activeSince: NIODeadline?
    private var timings = SMTPSessionTimings()
    private var tlsVersion: String?
    private var finalError: SMTPError?
    private var transactionStarted = NIODeadline.now()
    private var bodyStarted = NIODeadline.now()

    init(
        configuration: SMTPClientStateMachine.Configuration,
        timeouts: SMTPTimeouts,
        tlsUpgrade: (context: NIOSSLContext, serverHostname: String?)?,
        implicitTLS: Bool,
        sessionPromise: EventLoopPromise<SMTPSessionInfo>,
        logger: Logger
    ) {
        self.machine = SMTPClientStateMachine(configuration: configuration)
        self.timeouts = timeouts
        self.tlsUpgrade = tlsUpgrade
        self.implicitTLS = implicitTLS
        self.pending = .session(sessionPromise)
        self.logger = logger
    }

    // MARK: Inbound

    func channelActive(context: ChannelHandlerContext) {
        activeSince = .now()
        arm(context: context, machine.initialPhase)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if inbound == nil { inbound = bytes } else { inbound!.writeBuffer(&bytes) }
        while var buffer = inbound {
            let reply: SMTPReply?
            do {
                reply = try decoder.decode(buffer: &buffer)
            } catch {
                inbound = nil
                run(machine.errorCaught(SMTPError(.protocol, .permanent, "\(error)")), context: context)
                return
            }
            inbound = buffer.readableBytes > 0 ? buffer : nil
            guard let reply else { return }
            if logger.logLevel <= .trace {
                logger.trace("smtp.reply", metadata: ["smtp.line": "S: \(machine.scrub(reply.description))"])
            }
            let action = machine.replyReceived(reply)
            if case .startTLS = action, inbound != nil {
                inbound = nil
                run(machine.bytesBufferedBeforeTLS(), context: context)
                return
            }
            run(action, context: context)
            // Still waiting (more pipelined replies to come): each reply restarts the clock.
            if case .wait = action, let armedDuration { arm(context: context, duration: armedDuration) }
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
        if upgradingTLS {
            upgradingTLS = false
            cancelTimeout()
            run(machine.tlsEstablished(), context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimeout()
        run(machine.connectionClosed(), context: context)
        failPending(finalError ?? SMTPError(.connection, .transient, "the connection closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let mapped = SMTPError.transport(error)
        logger.debug("smtp.error", metadata: ["smtp.error": "\(mapped)"])
        run(machine.errorCaught(mapped), context: context)
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, case .body = pending { writeBody(context: context) }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Outbound

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let request = event as? SMTPRequest else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        promise?.succeed()
        if let finalError {
            fail(request, with: finalError)
            return
        }
        switch request {
        case .send(let transaction, let stream, let promise):
            if machine.isReady, case .none = pending {
                pending = .transaction(promise, stream)
                transactionStarted = .now()
                run(machine.startTransaction(transaction), context: context)
                return
            }
            guard chained == nil, isCarryingWork else {
                promise.fail(SMTPError(.protocol, .transient, "the connection is busy"))
                return
            }
            // It starts behind the current message's terminator, in the same write, or (arriving too
            // late for that) after the current message ends. Never as a separate write while the
            // final reply is pending: the server would answer the dot and the envelope in two small
            // writes, and a server without TCP_NODELAY then stalls on delayed ACKs (40 ms on Linux).
            chained = ChainedSend(transaction: transaction, stream: stream, promise: promise)
        case .checkLiveness(let promise):
            guard machine.isReady, case .none = pending else {
                promise.fail(SMTPError(.protocol, .transient, "the connection is busy"))
                return
            }
            pending = .liveness(promise)
            run(machine.checkLiveness(), context: context)
        case .quit(let promise):
            pending = .quit(promise)
            run(machine.quit(), context: context)
        }
    }

    // MARK: Actions

    private func run(_ action: SMTPClientStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .wait:
            break
        case .send(let commands, let phase):
            var buffer = context.channel.allocator.buffer(capacity: 64 * commands.count)
            for command in commands {
                command.write(into: &buffer)
                if logger.logLevel <= .trace {
                    logger.trace("smtp.command", metadata: ["smtp.line": "C: \(command.redactedDescription)"])
                }
            }
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            arm(context: context, phase)
        case .startTLS:
            guard let tlsUpgrade else { preconditionFailure("STARTTLS without a TLS context") }
            do {
                let handler = try NIOSSLClientHandler(context: tlsUpgrade.context, serverHostname: tlsUpgrade.serverHostname)
                try context.pipeline.syncOperations.addHandler(handler, position: .first)
                upgradingTLS = true
                arm(context: context, duration: timeouts.connect)
            } catch {
                run(machine.errorCaught(SMTPError.transport(error)), context: context)
            }
        case .sessionReady(let capabilities):
            cancelTimeout()
            switch pending {
            case .session(let promise):
                pending = .none
                timings.auth = elapsed()
                logger.debug("smtp.session.ready", metadata: ["smtp.capabilities": "\(capabilities.summary.joined(separator: ", "))"])
                promise.succeed(SMTPSessionInfo(capabilities: capabilities, tlsVersion: tlsVersion, timings: timings))
            case .liveness(let promise):
                pending = .none
                promise.succeed()
                advanceChained(context: context)
            case .resetAfterFailure(let error, let failing):
                pending = .none
                failing.fail(error)
                advanceChained(context: context)
            case .none, .transaction, .body, .finalReply, .quit:
                break
            }
        case .writeBody:
            guard case .transaction(let promise, let stream) = pending else { preconditionFailure("body requested without a transaction") }
            pending = .body(BodyWriter(stream: stream, promise: promise))
            bodyStarted = .now()
            writeBody(context: context)
        case .transactionCompleted(let outcome):
            cancelTimeout()
            guard case .finalReply(let promise) = pending else { preconditionFailure("a transaction completed without a caller") }
            pending = .none
            let now = NIODeadline.now()
            promise.succeed(SMTPDelivery(
                outcome: outcome, envelope: .nanoseconds((bodyStarted - transactionStarted).nanoseconds),
                data: .nanoseconds((now - bodyStarted).nanoseconds)))
            advanceChained(context: context)
        case .transactionFailed(let error, let then):
            let failing: PendingPromise
            switch pending {
            case .transaction(let promise, _): failing = promise
            case .finalReply(let promise): failing = promise
            default: preconditionFailure("a transaction failed without a caller")
            }
            if then.isEmpty {
                cancelTimeout()
                pending = .none
                failing.fail(error)
                advanceChained(context: context)
            } else {
                // Report the failure once the session is clean again (after RSET), so the caller
                // gets a reusable connection back.
                pending = .resetAfterFailure(error, failing: failing)
                run(.send(then, phase: .command), context: context)
            }
        case .failChained(let current, let chainedError):
            cancelTimeout()
            finalError = chainedError
            logger.debug("smtp.session.failed", metadata: ["smtp.error": "\(current)"])
            chained?.promise.fail(chainedError)
            chained = nil
            failPending(current)
            context.close(promise: nil)
        case .fail(let error, let sendQuit):
            cancelTimeout()
            finalError = error
            logger.debug("smtp.session.failed", metadata: ["smtp.error": "\(error)"])
            failPending(error)
            if sendQuit {
                var buffer = context.channel.allocator.buffer(capacity: 8)
                SMTPCommand.quit.write(into: &buffer)
                logger.trace("smtp.command", metadata: ["smtp.line": "C: QUIT"])
                context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            } else {
                context.close(promise: nil)
            }
        case .close:
            cancelTimeout()
            if case .quit(let promise) = pending {
                pending = .none
                promise.succeed()
            }
            context.close(promise: nil)
        }
    }

    private func failPending(_ error: SMTPError) {
        if let next = chained {
            // Never started, or started but the machine already reported its share: either way
            // none of its data went out.
            chained = nil
            next.promise.fail(SMTPError(.connection, .transient, "the session ended before this message was sent: \(error.message)"))
        }
        let previous = pending
        pending = .none
        switch previous {
        case .none: break
        case .body(let writer): writer.promise.fail(error)
        case .session(let promise): promise.fail(error)
        case .transaction(let promise, _): promise.fail(error)
        case .finalReply(let promise): promise.fail(error)
        case .resetAfterFailure(let original, let failing): failing.fail(original)
        case .liveness(let promise): promise.fail(error)
        case .quit(let promise): promise.succeed()
        }
    }

    private func fail(_ request: SMTPRequest, with error: SMTPError) {
        switch request {
        case .send(_, _, let promise): promise.fail(error)
        case .checkLiveness(let promise): promise.fail(error)
        case .quit(let promise): promise.succeed()
        }
    }

    // MARK: Body

    /// Writes message chunks while the socket takes them, then the terminator. Resumed by
    /// `channelWritabilityChanged`, so a 10 MiB attachment is never queued in memory whole.
    private func writeBody(context: ChannelHandlerContext) {
        guard case .body(var writer) = pending else { return }
        pending = .none  // the writer is owned here until it is put back
        while context.channel.isWritable {
            let chunk: [UInt8]?
            do {
                chunk = try writer.stream.next()
            } catch {
                // An attachment could not be read: nothing was accepted, and DATA cannot be ended
                // cleanly, so the session ends.
                pending = .none
                writer.promise.fail(SMTPError(.message, .permanent, "the message could not be read while sending"))
                finalError = SMTPError(.message, .permanent, "the session ended while sending")
                context.close(promise: nil)
                return
            }
            guard let chunk else {
                var end = context.channel.allocator.buffer(capacity: 5)
                writer.stuffer.finish(into: &end)
                // Wait for the final reply before the terminator leaves, so it can never arrive early.
                pending = .finalReply(writer.promise)
                run(machine.bodyWritten(), context: context)
                arm(context: context, .finalReply)
                if let next = chained, !next.started, machine.canChainTransaction {
                    // RFC 2920: the next envelope rides in the same flight as this terminator.
                    startChained(context: context, after: end)
                } else {
                    context.writeAndFlush(wrapOutboundOut(end), promise: nil)
                }
                return
            }
            var buffer = context.channel.allocator.buffer(capacity: chunk.count + chunk.count / 32 + 8)
            writer.stuffer.stuff(chunk, into: &buffer)
            context.write(wrapOutboundOut(buffer), promise: nil)
        }
        pending = .body(writer)
        context.flush()
        arm(context: context, duration: timeouts.dataBlock)
    }

    // MARK: Chaining

    /// Whether a transaction (or the liveness check or RSET before one) is under way, so a new
    /// message can queue behind it.
    private var isCarryingWork: Bool {
        switch pending {
        case .transaction, .body, .finalReply, .liveness, .resetAfterFailure: true
        case .none, .session, .quit: false
        }
    }

    /// Sends the chained message's envelope behind the previous final dot: `terminator` and the
    /// commands go out in one write.
    private func startChained(context: ChannelHandlerContext, after terminator: ByteBuffer) {
        guard var next = chained else { return }
        var buffer = terminator
        switch machine.startTransaction(next.transaction) {
        case .send(let commands, let phase):
            next.started = true
            next.startedAt = .now()
            chained = next
            for command in commands {
                command.write(into: &buffer)
                if logger.logLevel <= .trace {
                    logger.trace("smtp.command", metadata: ["smtp.line": "C: \(command.redactedDescription)"])
                }
            }
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            arm(context: context, phase)
        case .transactionFailed(let error, _):
            // Refused before any command (size, SMTPUTF8): only this message fails.
            chained = nil
            next.promise.fail(error)
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        case .wait, .startTLS, .sessionReady, .writeBody, .transactionCompleted, .fail, .failChained, .close:
            preconditionFailure("unexpected answer to a chained transaction")
        }
    }

    /// The previous transaction ended: the chained one becomes current. If its envelope already
    /// went out, its replies are next; otherwise it starts now.
    private func advanceChained(context: ChannelHandlerContext) {
        guard let next = chained, case .none = pending else { return }
        chained = nil
        pending = .transaction(next.promise, next.stream)
        if next.started {
            transactionStarted = next.startedAt
            if let phase = machine.waitPhase { arm(context: context, phase) }
        } else {
            transactionStarted = .now()
            run(machine.startTransaction(next.transaction), context: context)
        }
    }

    // MARK: Timeouts

    private func arm(context: ChannelHandlerContext, _ phase: SMTPWaitPhase) {
        arm(context: context, duration: timeouts.timeout(for: phase))
    }

    private func arm(context: ChannelHandlerContext, duration: Duration) {
        cancelTimeout()
        armedDuration = duration
        let nanoseconds = duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(nanoseconds)) { [self] in
            self.timeout = nil
            self.armedDuration = nil
            self.logger.debug("smtp.timeout")
            self.run(self.machine.timedOut(), context: context)
        }
    }

    private func cancelTimeout() {
        timeout?.cancel()
        timeout = nil
        armedDuration = nil
    }

    private func elapsed() -> Duration {
        guard let activeSince else { return .zero }
        return .nanoseconds((NIODeadline.now() - activeSince).nanoseconds)
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
