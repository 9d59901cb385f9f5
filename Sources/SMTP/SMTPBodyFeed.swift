import MIME
import NIOCore
import Synchronization

// MARK: - Message chunks read off the event loop
//
// A message with a file attachment is read from disk as it is sent. Reading on the event loop would
// stall every session on that loop for each read, so the sending task reads (`produce(from:)`)
// and the channel handler writes (`next(whenReady:)`), with at most `depth` chunks between them:
// the disk is read no faster than the socket drains, and a 10 MiB attachment never sits in memory.

/// Chunks handed from the sending task to the event loop, with back-pressure both ways.
final class SMTPBodyFeed: Sendable {
    /// What the handler gets when it asks for the next chunk.
    enum Pull {
        case chunk([UInt8])
        case end
        /// The message could not be read.
        case failed
        /// Nothing yet: `whenReady` runs (on any thread) once there is.
        case pending
    }

    private struct State: ~Copyable {
        var chunks: [[UInt8]] = []
        var finished = false
        var failed = false
        /// The handler stopped reading (the send ended early): the producer stops too.
        var abandoned = false
        var consumer: (@Sendable () -> Void)?
        /// The producer waiting for room: resumed with `true` when a chunk was taken, `false` when
        /// the handler abandoned the message.
        var producer: CheckedContinuation<Bool, Never>?
    }

    /// The message could not be read (an attachment file went away or became unreadable).
    struct Unreadable: Error {}

    /// Chunks buffered ahead of the socket.
    static let depth = 2

    private let state = Mutex(State())

    /// Reads `stream` to the end, a chunk at a time, waiting while ``depth`` chunks are unread.
    /// Returns early when the handler abandons the message.
    func produce(from stream: MessageStream) async {
        var stream = stream
        while true {
            let chunk: [UInt8]?
            do {
                chunk = try stream.next()
            } catch {
                settle { $0.failed = true }
                return
            }
            guard let chunk else {
                settle { $0.finished = true }
                return
            }
            let carryOn = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let (wake, proceed) = state.withLock { state -> ((@Sendable () -> Void)?, Bool?) in
                    if state.abandoned { return (nil, false) }
                    state.chunks.append(chunk)
                    let wake = state.consumer
                    state.consumer = nil
                    if state.chunks.count < Self.depth { return (wake, true) }
                    state.producer = continuation
                    return (wake, nil)
                }
                wake?()
                if let proceed { continuation.resume(returning: proceed) }
            }
            if !carryOn { return }
        }
    }

    /// The next chunk for the handler, on its event loop.
    func next(whenReady: @escaping @Sendable () -> Void) -> Pull {
        let (pull, producer) = state.withLock { state -> (Pull, CheckedContinuation<Bool, Never>?) in
            if !state.chunks.isEmpty {
                let chunk = state.chunks.removeFirst()
                let producer = state.producer
                state.producer = nil
                return (.chunk(chunk), producer)
            }
            if state.failed { return (.failed, nil) }
            if state.finished { return (.end, nil) }
            state.consumer = whenReady
            return (.pending, nil)
        }
        producer?.resume(returning: true)
        return pull
    }

    /// The handler will read no more: the producer stops at its next chunk.
    func abandon() {
        let producer = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            state.abandoned = true
            state.chunks.removeAll()
            state.consumer = nil
            defer { state.producer = nil }
            return state.producer
        }
        producer?.resume(returning: false)
    }

    private func settle(_ change: (inout State) -> Void) {
        let wake = state.withLock { state -> (@Sendable () -> Void)? in
            change(&state)
            defer { state.consumer = nil }
            return state.consumer
        }
        wake?()
    }

}
