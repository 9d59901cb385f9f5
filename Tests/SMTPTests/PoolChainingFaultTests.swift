import Egress
import Logging
import SMTP
import SMTPCore
import Synchronization
import Testing
import TestSupport

/// Chained transactions through the pool against a fake server: the next envelope leaves before the
/// previous message's verdict, and a failure then costs the chained message nothing but a retry.
@Suite("Pool: chained transactions against fake servers")
struct PoolChainingFaultTests {
    let key = PoolKey(scope: "ws1/cred1", version: "v1")

    /// How many `MAIL` commands left while an earlier message on the session still awaited its
    /// verdict, read from the client's trace transcript (one event loop, so the log is in wire order).
    static func chainedMailCount(in logs: String) -> Int {
        var mails = 0
        var verdicts = 0
        var chained = 0
        for line in logs.split(separator: "\n") {
            if line.contains("C: MAIL FROM") {
                if mails > verdicts { chained += 1 }
                mails += 1
            } else if line.contains("S: 250 2.0.0 Ok: queued") || line.contains("S: 554") {
                verdicts += 1
            }
        }
        return chained
    }

    @Test("one session carries twenty concurrent sends, each delivered once, envelopes chained behind the dots")
    func chainedDelivery() async throws {
        let harness = try Harness()
        let server = try await FakeSMTPServer.start(harness.behaviour(.startTLS))
        let configuration = try harness.configuration(server)
        try await PoolFaultTests().withPool(harness, configure: { $0.maximumConnectionsPerKey = 1 }) { pool in
            try await withThrowingTaskGroup(of: SMTPSendResult.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        try await pool.send(try Harness.message(to: "rcpt\(index)@example.com"), key: key, configuration: configuration)
                    }
                }
                for try await result in group { #expect(result.isCompleteDelivery) }
            }
        }
        #expect(server.sessions.count == 1)
        #expect(server.messages.count == 20)
        #expect(Set(server.messages.flatMap(\.recipients)).count == 20)
        #expect(Self.chainedMailCount(in: harness.logs.text) >= 1, "no envelope was chained")
        await server.shutdown()
    }

    @Test("a drop after the first dot: that message is ambiguous and not resent; the chained one is retried and delivered once")
    func dropWhileChained() async throws {
        let harness = try Harness()
        var behaviour = harness.behaviour(.startTLS)
        let dots = PoolFaultTests.Counter()
        behaviour.override = { line, _ in line == "." && dots.next() == 1 ? .disconnect : nil }
        let server = try await FakeSMTPServer.start(behaviour)
        let configuration = try harness.configuration(server)
        let outcomes = Outcomes()
        try await PoolFaultTests().withPool(harness, configure: { $0.maximumConnectionsPerKey = 1 }) { pool in
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<2 {
                    group.addTask {
                        do {
                            _ = try await pool.send(
                                try Harness.message(to: "rcpt\(index)@example.com"), key: key, configuration: configuration)
                            outcomes.append("delivered")
                        } catch let error as SMTPError {
                            outcomes.append(error.disposition.rawValue)
                        } catch {
                            outcomes.append("\(error)")
                        }
                    }
                }
            }
        }
        let sorted = outcomes.sorted
        #expect(sorted == ["ambiguous", "delivered"])
        // The first session took one message's data and dropped; the second delivered the other.
        #expect(server.sessions.count == 2)
        #expect(server.messages.count == 1)
        #expect(server.sessions.last?.messages.count == 1)
        await server.shutdown()
    }

    /// What each concurrent send ended as.
    final class Outcomes: Sendable {
        private let list = Mutex<[String]>([])
        func append(_ outcome: String) { list.withLock { $0.append(outcome) } }
        var sorted: [String] { list.withLock { $0.sorted() } }
    }
}
