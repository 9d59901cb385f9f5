import Flows
import Foundation
@testable import Storage
import Synchronization
import TestSupport
import Testing

/// The notices a listener received.
final class NoticeLog: Sendable {
    let notices = Mutex<[ClusterNotice]>([])
}

@Suite("Cluster notices: what one instance tells the others over PostgreSQL")
struct ClusterNoticeTests {
    @Test("payloads read back as what was sent; stored runs are split below PostgreSQL's payload limit")
    func payloads() {
        for notice in [ClusterNotice.runsQueued, .flowsChanged] {
            #expect(notice.payloads.map { ClusterNotice(payload: $0) } == [notice])
        }
        let runs = (0..<500).map { ClusterNotice.StoredRunReference(workspaceID: "ws_\($0 % 7)", runID: "run_\(UUID().uuidString)") }
        let payloads = ClusterNotice.runsStored(origin: "i42", runs: runs).payloads
        #expect(payloads.count > 1 && payloads.allSatisfy { $0.utf8.count <= ClusterNotice.maximumPayloadBytes })
        var read: [ClusterNotice.StoredRunReference] = []
        for payload in payloads {
            guard case .runsStored(let origin, let part)? = ClusterNotice(payload: payload) else {
                Issue.record("unreadable payload")
                return
            }
            #expect(origin == "i42")
            read += part
        }
        #expect(read == runs)
        for foreign in ["", "x", "q 1", "r", "r i1", "r i1 ws", "r i1 ws/", "r i1 /run", "r i1 a/b/c", "f extra"] {
            #expect(ClusterNotice(payload: foreign) == nil, "\(foreign)")
        }
    }

    @Test("a flow change, queued runs and stored runs arrive as notices once committed, naming the instance that stored them")
    func notificationsArrive() async throws {
        try await withPostgresStorage { storage in
            try await storage.store.insertWorkspace(Fixture.workspace("ws_1"), tokenHash: "hash")
            let log = NoticeLog()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await storage.listen { notice in log.notices.withLock { $0.append(notice) } } }
                // The listening connection needs a moment; a flow inserted until one arrives.
                var attempt = 0
                while log.notices.withLock({ $0.isEmpty }) {
                    attempt += 1
                    try await storage.store.insertFlow(FlowFixture.flow("fl_probe\(attempt)"))
                    try await Task.sleep(for: .milliseconds(100))
                    guard attempt < 50 else { throw PostgresTestFailure("no notice within 5 s") }
                }
                let first = log.notices.withLock { $0 }
                #expect(!first.isEmpty && first.allSatisfy { $0 == .flowsChanged }, "\(first)")
                log.notices.withLock { $0.removeAll() }

                try await storage.store.enqueue([FlowFixture.run("run_1", flowID: "fl_probe1")])
                var failed = FlowFixture.run("run_rolled_back", flowID: "fl_missing_flow")
                failed.id = "run_1"  // a duplicate id: the transaction rolls back, and its notices with it
                _ = try? await storage.store.enqueue([failed])
                try await Task.sleep(for: .milliseconds(300))
                let notices = log.notices.withLock { $0 }
                #expect(notices == [
                    .runsQueued,
                    .runsStored(origin: storage.store.origin, runs: [.init(workspaceID: "ws_1", runID: "run_1")]),
                ])
                group.cancelAll()
            }
        }
    }
}
