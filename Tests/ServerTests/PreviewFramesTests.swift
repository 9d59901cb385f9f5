import Foundation
@testable import Server
import Synchronization
import Testing

@Suite("Preview frames: short-lived, bounded")
struct PreviewFramesTests {
    /// A clock the test moves.
    final class Clock: Sendable {
        let current = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        func advance(_ seconds: TimeInterval) { current.withLock { $0 += seconds } }
        var now: Date { current.withLock { $0 } }
    }

    @Test("a preview's address works for ten minutes, then answers nothing")
    func expires() {
        let clock = Clock()
        let frames = PreviewFrames(now: { clock.now })
        let url = frames.store("<p>Hi</p>")
        let token = String(url.dropFirst("/preview-frames/".count))
        #expect(frames.html(token) == "<p>Hi</p>")
        clock.advance(PreviewFrames.lifetime - 1)
        #expect(frames.html(token) == "<p>Hi</p>")
        clock.advance(2)
        #expect(frames.html(token) == nil)
    }

    @Test("two previews get different addresses; past the byte cap the oldest goes first")
    func bounded() {
        let clock = Clock()
        let frames = PreviewFrames(now: { clock.now })
        let big = String(repeating: "x", count: PreviewFrames.capacity / 2)
        let first = frames.store(big).dropFirst("/preview-frames/".count)
        let second = frames.store(big).dropFirst("/preview-frames/".count)
        #expect(first != second)
        #expect(frames.html(String(first)) != nil && frames.html(String(second)) != nil)
        let third = frames.store("<p>third</p>").dropFirst("/preview-frames/".count)
        #expect(frames.html(String(first)) == nil)
        #expect(frames.html(String(second)) != nil && frames.html(String(third)) == "<p>third</p>")
    }
}
