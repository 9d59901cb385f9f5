import Foundation
import Storage
import Synchronization
import TestSupport
import Testing
import Workspaces

/// What every ``Workspaces/SentMessageStore`` must do, on memory, SQLite and PostgreSQL, alone and
/// behind ``Workspaces/GroupCommittedSentMessages``.
@Suite("SentMessageStore contract")
struct SentMessageStoreContractTests {
    func withSentMessageStore(_ kind: StoreKind, _ body: (any SentMessageStore) async throws -> Void) async throws {
        switch kind {
        case .inMemory:
            try await body(InMemorySentMessages())
        case .sqliteFile:
            try await withTemporaryDirectory { directory in
                try await withSQLiteStorage(dataDirectory: directory) { storage in
                    try await storage.store.insertWorkspace(Fixture.workspace("ws_1"), tokenHash: "hash-1")
                    try await body(storage.store)
                }
            }
        case .postgres:
            try await withPostgresStorage { storage in
                try await storage.store.insertWorkspace(Fixture.workspace("ws_1"), tokenHash: "hash-1")
                try await body(storage.store)
            }
        }
    }

    static func sent(_ n: Int, run: String = "run_1") -> SentMessage {
        SentMessage(messageID: "<m\(n)@posthorn.example>", workspaceID: "ws_1", runID: run, stepID: "send",
                    recipients: ["ada\(n)@example.com"], sentAt: Fixture.date(1_000 + Int64(n)))
    }

    @Test("several records in one write; a Message-ID given twice keeps its last record", arguments: StoreKind.allCases)
    func batch(_ kind: StoreKind) async throws {
        try await withSentMessageStore(kind) { store in
            try await store.recordSentMessages([Self.sent(1), Self.sent(2), Self.sent(1, run: "run_9"), Self.sent(3)])
            #expect(try await store.sentMessage(messageID: "m1@posthorn.example")?.runID == "run_9")
            #expect(try await store.sentMessage(messageID: "<m2@posthorn.example>") == Self.sent(2))
            #expect(try await store.sentMessage(messageID: "m3@posthorn.example") == Self.sent(3))
            try await store.recordSentMessages([])
        }
    }

    @Test("200 sends at once behind the group committer: each returns once its record is stored, in far fewer writes", arguments: StoreKind.allCases)
    func groupCommitted(_ kind: StoreKind) async throws {
        try await withSentMessageStore(kind) { store in
            let counting = CountingSentMessages(store)
            let batched = GroupCommittedSentMessages(counting)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for n in 0..<200 {
                    group.addTask {
                        try await batched.recordSentMessage(Self.sent(n))
                        // Stored before the send is told: a bounce a moment later finds it.
                        #expect(try await store.sentMessage(messageID: "m\(n)@posthorn.example") == Self.sent(n))
                    }
                }
                try await group.waitForAll()
            }
            #expect(counting.records == 200)
            if kind != .inMemory {  // memory writes finish before another send can queue behind them
                #expect(counting.writes < 100, "\(counting.writes) writes for 200 records")
            }
        }
    }

    @Test("a failed write fails every send it carried, and the next write goes on")
    func failures() async throws {
        let inner = CountingSentMessages(InMemorySentMessages(), failFirstWrites: 1)
        let batched = GroupCommittedSentMessages(inner)
        await #expect(throws: CountingSentMessages.Refused.self) { try await batched.recordSentMessage(Self.sent(1)) }
        try await batched.recordSentMessage(Self.sent(2))
        #expect(try await batched.sentMessage(messageID: "m2@posthorn.example") == Self.sent(2))
        #expect(try await batched.sentMessage(messageID: "m1@posthorn.example") == nil)
    }
}

/// Counts what reaches a store, and refuses its first writes when asked.
final class CountingSentMessages: SentMessageStore {
    struct Refused: Error {}

    private let store: any SentMessageStore
    private let counts = Mutex((writes: 0, records: 0, refusals: 0))

    init(_ store: any SentMessageStore, failFirstWrites: Int = 0) {
        self.store = store
        counts.withLock { $0.refusals = failFirstWrites }
    }

    var writes: Int { counts.withLock { $0.writes } }
    var records: Int { counts.withLock { $0.records } }

    func recordSentMessage(_ message: SentMessage) async throws {
        try await recordSentMessages([message])
    }

    func recordSentMessages(_ messages: [SentMessage]) async throws {
        let refuse = counts.withLock { counts -> Bool in
            if counts.refusals > 0 {
                counts.refusals -= 1
                return true
            }
            counts.writes += 1
            counts.records += messages.count
            return false
        }
        if refuse { throw Refused() }
        try await store.recordSentMessages(messages)
    }

    func sentMessage(messageID: String) async throws -> SentMessage? { try await store.sentMessage(messageID: messageID) }

    func deleteSentMessages(before cutoff: Date) async throws -> Int { try await store.deleteSentMessages(before: cutoff) }
}
