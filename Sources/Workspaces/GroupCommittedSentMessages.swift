public import Foundation
import Synchronization

/// Records sent messages a batch at a time: every send still waits until its record is committed
/// (a bounce arriving a second later must find it), but the sends that finish while one batch is
/// being written share the next write — one commit, and on SQLite one fsync, for many messages
/// instead of one each. Reads and deletions go straight to the store.
///
/// No task of its own: a caller that finds nothing being written writes its record together with
/// every record queued meanwhile, resumes their callers with the outcome, and hands the writing to
/// the next caller in the queue, which carries the records that queued during this write.
public final class GroupCommittedSentMessages: SentMessageStore {
    /// Most records in one write.
    public static let batchLimit = 500

    private enum Turn {
        case written
        case write
    }

    private struct State: ~Copyable {
        var writing = false
        var queued: [(SentMessage, CheckedContinuation<Turn, any Error>)] = []
    }

    private let store: any SentMessageStore
    private let state = Mutex(State())

    /// Batches the records written to `store`.
    public init(_ store: any SentMessageStore) {
        self.store = store
    }

    public func recordSentMessage(_ message: SentMessage) async throws {
        let leads = state.withLock { state -> Bool in
            if state.writing { return false }
            state.writing = true
            return true
        }
        if !leads {
            let turn = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Turn, any Error>) in
                let leadsNow = state.withLock { state -> Bool in
                    if state.writing {
                        state.queued.append((message, continuation))
                        return false
                    }
                    state.writing = true
                    return true
                }
                // The writer finished between the two looks: this caller writes.
                if leadsNow { continuation.resume(returning: .write) }
            }
            if case .written = turn { return }
        }
        try await write(first: message)
    }

    public func recordSentMessages(_ messages: [SentMessage]) async throws {
        for message in messages { try await recordSentMessage(message) }
    }

    /// Writes `first` with the records queued so far in one write, tells their callers, and hands
    /// the writing to the next caller in the queue, if any: each caller writes at most one batch.
    private func write(first: SentMessage) async throws {
        let (others, waiting) = state.withLock { state in
            let taken = state.queued.prefix(Self.batchLimit - 1)
            state.queued.removeFirst(taken.count)
            return (taken.map(\.0), taken.map(\.1))
        }
        let outcome: Result<Void, any Error>
        do {
            try await store.recordSentMessages([first] + others)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        for continuation in waiting { continuation.resume(with: outcome.map { .written }) }
        let next = state.withLock { state -> CheckedContinuation<Turn, any Error>? in
            guard !state.queued.isEmpty else {
                state.writing = false
                return nil
            }
            return state.queued.removeFirst().1
        }
        next?.resume(returning: .write)
        try outcome.get()
    }

    public func sentMessage(messageID: String) async throws -> SentMessage? {
        try await store.sentMessage(messageID: messageID)
    }

    public func deleteSentMessages(before cutoff: Date) async throws -> Int {
        try await store.deleteSentMessages(before: cutoff)
    }
}
