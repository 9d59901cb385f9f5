import Foundation
import MIME

extension DKIMSigner {
    /// The message's chunks, rendered on a thread of its own while the caller canonicalizes and
    /// hashes them: the two halves of the hash pass overlap, so a 10 MiB body costs the longer of
    /// them rather than their sum. At most ``depth`` chunks wait in between, so memory stays flat.
    final class RenderPipe: @unchecked Sendable {
        /// Chunks rendered and not yet taken, at most.
        static let depth = 4

        private let condition = NSCondition()
        private var chunks: [[UInt8]] = []
        private var finished = false
        private var failure: (any Error)?
        private var abandoned = false

        /// Starts rendering `message` on a new thread.
        init(_ message: RenderedMessage) {
            let thread = Thread { [self] in
                var stream = message.makeStream()
                do {
                    while let chunk = try stream.next() {
                        guard put(chunk) else { return }
                    }
                    finish(nil)
                } catch {
                    finish(error)
                }
            }
            thread.name = "posthorn.dkim"
            thread.start()
        }

        /// The next chunk, `nil` at the end; rethrows the renderer's error after the chunks before it.
        func next() throws -> [UInt8]? {
            condition.lock()
            defer { condition.unlock() }
            while chunks.isEmpty && !finished { condition.wait() }
            if !chunks.isEmpty {
                condition.signal()
                return chunks.removeFirst()
            }
            if let failure { throw failure }
            return nil
        }

        /// Stops the renderer early (the reader gave up); it ends at its next chunk.
        func abandon() {
            condition.lock()
            abandoned = true
            condition.broadcast()
            condition.unlock()
        }

        private func put(_ chunk: [UInt8]) -> Bool {
            condition.lock()
            defer { condition.unlock() }
            while chunks.count >= Self.depth && !abandoned { condition.wait() }
            guard !abandoned else { return false }
            chunks.append(chunk)
            condition.signal()
            return true
        }

        private func finish(_ error: (any Error)?) {
            condition.lock()
            finished = true
            failure = error
            condition.broadcast()
            condition.unlock()
        }
    }
}
