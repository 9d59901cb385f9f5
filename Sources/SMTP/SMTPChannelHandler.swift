import Logging
import NIOCore
import NIOSSL
import NIOTLS
import SMTPCore

// MARK: - The driver
//
// Decodes replies, feeds them to `SMTPClientStateMachine`, and performs the actions it returns. It
// decides nothing itself. It keeps its own inbound buffer (rather than a ByteToMessageHandler) so
// that, when the server agrees to STARTTLS, it can see whether any byte arrived after the 220 —
// bytes an attacker injected in clear text to be read as if they came over TLS.

/// What the async API asks of the connection, sent as a user outbound event.
enum SMTPRequest {
    case startTransaction(SMTPTransaction, EventLoopPromise<SMTPTransactionStep>)
    /// The last block of the message and its terminator: written by the handler itself, after it
    /// starts waiting for the final reply, so a fast server's reply can never arrive "too early".
    case finishBody(ByteBuffer, EventLoopPromise<SMTPTransactionOutcome>)
    case checkLiveness(EventLoopPromise<Void>)
    case quit(EventLoopPromise<Void>)
}

/// Where a transaction stands after its envelope.
enum SMTPTransactionStep {
    /// The server said 354: stream the message now.
    case writeBody
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
        case transaction(EventLoopPromise<SMTPTransactionStep>)
        case body
        case finalReply(EventLoopPromise<SMTPTransactionOutcome>)
        case resetAfterFailure(SMTPError, failing: PendingPromise)
        case liveness(EventLoopPromise<Void>)
        case quit(EventLoopPromise<Void>)
    }

    private enum PendingPromise {
        case transaction(EventLoopPromise<SMTPTransactionStep>)
        case finalReply(EventLoopPromise<SMTPTransactionOutcome>)

        func fail(_ error: SMTPError) {
            switch self {
            case .transaction(let promise): promise.fail(error)
            case .finalReply(let promise): promise.fail(error)
            }
        }
    }

    private var machine: SMTPClientStateMachine
    private var decoder = SMTPReplyDecoder()
    private var inbound: ByteBuffer?
    private var pending: Pending
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

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Message data streamed by the async side: each block re-arms the data-block timeout.
        if case .body = pending { arm(context: context, duration: timeouts.dataBlock) }
        context.write(data, promise: promise)
    }

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
        case .startTransaction(let transaction, let promise):
            guard machine.isReady, case .none = pending else {
                promise.fail(SMTPError(.protocol, .transient, "the connection is busy"))
                return
            }
            pending = .transaction(promise)
            run(machine.startTransaction(transaction), context: context)
        case .finishBody(let terminator, let promise):
            guard case .body = pending else {
                promise.fail(SMTPError(.protocol, .transient, "no message is being sent"))
                return
            }
            pending = .finalReply(promise)
            run(machine.bodyWritten(), context: context)
            arm(context: context, .finalReply)
            context.writeAndFlush(wrapOutboundOut(terminator), promise: nil)
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
            case .resetAfterFailure(let error, let failing):
                pending = .none
                failing.fail(error)
            case .none, .transaction, .body, .finalReply, .quit:
                break
            }
        case .writeBody:
            guard case .transaction(let promise) = pending else { preconditionFailure("body requested without a transaction") }
            pending = .body
            arm(context: context, duration: timeouts.dataBlock)
            promise.succeed(.writeBody)
        case .transactionCompleted(let outcome):
            cancelTimeout()
            guard case .finalReply(let promise) = pending else { preconditionFailure("a transaction completed without a caller") }
            pending = .none
            promise.succeed(outcome)
        case .transactionFailed(let error, let then):
            let failing: PendingPromise
            switch pending {
            case .transaction(let promise): failing = .transaction(promise)
            case .finalReply(let promise): failing = .finalReply(promise)
            default: preconditionFailure("a transaction failed without a caller")
            }
            if then.isEmpty {
                cancelTimeout()
                pending = .none
                failing.fail(error)
            } else {
                // Report the failure once the session is clean again (after RSET), so the caller
                // gets a reusable connection back.
                pending = .resetAfterFailure(error, failing: failing)
                run(.send(then, phase: .command), context: context)
            }
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
        let previous = pending
        pending = .none
        switch previous {
        case .none, .body: break
        case .session(let promise): promise.fail(error)
        case .transaction(let promise): promise.fail(error)
        case .finalReply(let promise): promise.fail(error)
        case .resetAfterFailure(let original, let failing): failing.fail(original)
        case .liveness(let promise): promise.fail(error)
        case .quit(let promise): promise.succeed()
        }
    }

    private func fail(_ request: SMTPRequest, with error: SMTPError) {
        switch request {
        case .startTransaction(_, let promise): promise.fail(error)
        case .finishBody(_, let promise): promise.fail(error)
        case .checkLiveness(let promise): promise.fail(error)
        case .quit(let promise): promise.succeed()
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
