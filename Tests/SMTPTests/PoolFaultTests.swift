import Egress
import Logging
import Metrics
import MetricsTestKit
@testable import SMTP
import SMTPCore
import Synchronization
import Testing
import TestSupport

/// The pool against fake servers: warm reuse, sessions the server drops, and the one rule that
/// keeps mail from being duplicated: retry only what failed before the final dot.
@Suite("Pool: reuse and faults against fake servers")
struct PoolFaultTests {
    let key = PoolKey(scope: "ws1/cred1", version: "v1")

    /// Runs `body` with a pool that reaches loopback only, and shuts it down afterwards.
    func withPool(
        _ harness: Harness, metrics: TestMetrics = TestMetrics(), configure: (inout SMTPPool.Configuration) -> Void = { _ in },
        _ body: (SMTPPool) async throws -> Void
    ) async throws {
        var configuration = SMTPPool.Configuration()
        configure(&configuration)
        let policy = EgressPolicy(allowlist: [CIDR(IPAddress("127.0.0.1")!)])
        var logger = Logger(label: "test.pool") { _ in harness.logs.handler }
        logger.logLevel = .trace
        let pool = SMTPPool(
            configuration: configuration,
            egress: EgressGuard(policy: policy, resolver: StaticResolver([IPAddress("127.0.0.1")!])), logger: logger,
            metricsFactory: metrics)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await pool.run() }
            do {
                try await body(pool)
            } catch {
                await pool.shutdown()
                throw error
            }
            await pool.shutdown()
            try await group.waitForAll()
        }
    }

    /// Counts how often an override fired, across sessions.
    final class Counter: Sendable {
        private let value = Mutex(0)
        func next() -> Int { value.withLock { $0 += 1; return $0 } }
    }

    @Test("warm sends reuse one session: one handshake, every message delivered, counted in metrics")
    func warmReuse() async throws {
        let harness = try Harness()
        let metrics = TestMetrics()
        let server = try await FakeSMTPServer.start(harness.behaviour(.startTLS))
        defer { Task { await server.shutdown() } }
        let configuration = try harness.configuration(server)

        try await withPool(harness, metrics: metrics) { pool in
            let first = try await pool.send(try Harness.message(), key: key, configuration: configuration)
            #expect(first.timings.connect > .zero)
            for _ in 0..<5 {
                let next = try await pool.send(try Harness.message(), key: key, configuration: configuration)
                #expect(next.timings.connect == .zero)
                #expect(next.isCompleteDelivery)
            }
        }
        #expect(server.sessions.count == 1)
        #expect(server.messages.count == 6)
        #expect(metrics.counterTotal(label: "posthorn_smtp_pool_leases_total") == 6)
        #expect(metrics.counterTotal(label: "posthorn_smtp_pool_connect_failures_total") == 0)
        #expect(try metrics.expectTimer("posthorn_smtp_pool_wait_duration").values.count == 6)
        // Labels stay bounded: no key, host or address ever becomes a dimension.
        let dimensions = metrics.recorders.flatMap(\.dimensions) + metrics.counters.flatMap(\.dimensions)
        #expect(dimensions.allSatisfy { $0.0 == "state" })
    }

    @Test("concurrent sends open at most the per-key limit of sessions")
    func concurrentSends() async throws {
        let harness = try Harness()
        let server = try await FakeSMTPServer.start(harness.behaviour(.implicit))
        defer { Task { await server.shutdown() } }
        let configuration = try harness.configuration(server, security: .implicitTLS)

        try await withPool(harness, configure: { $0.maximumConnectionsPerKey = 3 }) { pool in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<20 {
                    group.addTask { _ = try await pool.send(try Harness.message(), key: key, configuration: configuration) }
                }
                try await group.waitForAll()
            }
        }
        #expect(server.messages.count == 20)
        #expect(server.sessions.count <= 3)
    }

    @Test("a session the server closed while idle is replaced, and the message is delivered once")
    func serverClosesIdleSession() async throws {
        let harness = try Harness()
        var behaviour = harness.behaviour(.implicit)
        behaviour.override = { line, session in line == "." && session.messages.isEmpty ? .replyNormallyThenDisconnect : nil }
        let server = try await FakeSMTPServer.start(behaviour)
        defer { Task { await server.shutdown() } }
        let configuration = try harness.configuration(server, security: .implicitTLS)

        try await withPool(harness) { pool in
            _ = try await pool.send(try Harness.message(), key: key, configuration: configuration)
            let second = try await pool.send(try Harness.message(), key: key, configuration: configuration)
            #expect(second.isCompleteDelivery)
        }
        #expect(server.messages.count == 2)
        #expect(server.sessions.count == 2)
    }

    @Test(
        "a 421 or a drop before the final dot is retried once on a new session and delivered once",
        arguments: ["RCPT 421", "DATA drop", "MAIL drop"])
    func retriedBeforeFinalDot(fault: String) async throws {
        let harness = try Harness()
        let counter = Counter()
        let parts = fault.split(separator: " ").map(String.init)
        var behaviour = harness.behaviour(.implicit)
        behaviour.override = { line, _ in
            guard line.hasPrefix(parts[0]), counter.next() == 1 else { return nil }
            return parts[1] == "421" ? .reply("421 4.3.2 Shutting down") : .disconnect
        }
        let server = try await FakeSMTPServer.start(behaviour)
        defer { Task { await server.shutdown() } }
        let configuration = try harness.configuration(server, security: .implicitTLS)

        try await withPool(harness) { pool in
            let result = try await pool.send(try Harness.message(), key: key, configuration: configuration)
            #expect(result.isCompleteDelivery)
        }
        #expect(server.messages.count == 1)
        #expect(server.sessions.count == 2)
    }

    @Test("a drop after the final dot is ambiguous and never resent")
    func ambiguousNotResent() async throws {
        let harness = try Harness()
        var behaviour = harness.behaviour(.implicit)
        behaviour.override = { line, _ in line == "." ? .disconnect : nil }
        let server = try await FakeSMTPServer.start(behaviour)
        defer { Task { await server.shutdown() } }
        let configuration = try harness.configuration(server, security: .implicitTLS)

        try await withPool(harness) { pool in
            do {
                let result = try await pool.send(try Harness.message(), key: key, configuration: configuration)
                Issue.record("expected an ambiguous failure, got \(result.outcome)")
            } catch let error as SMTPError {
                #expect(error.disposition == .ambiguous)
            }
        }
        #expect(server.sessions.count == 1)
        #expect(server.sessions.first.map { $0.commands.filter { $0.hasPrefix("DATA") }.count } == 1)
    }

    @Test("a refused recipient keeps the session: the next message uses it")
    func transactionFailureKeepsSession() async throws {
        let harness = try Harness()
        let counter = Counter()
        var behaviour = harness.behaviour(.implicit)
        behaviour.override = { line, _ in line.hasPrefix("MAIL") && counter.next() == 1 ? .reply("550 5.7.1 Sender refused") : nil }
        let server = try await FakeSMTPServer.start(behaviour)
        defer { Task { await server.shutdown() } }
        let configuration = try harness.configuration(server, security: .implicitTLS)

        try await withPool(harness) { pool in
            await #expect(throws: SMTPError.self) {
                try await pool.send(try Harness.message(), key: key, configuration: configuration)
            }
            _ = try await pool.send(try Harness.message(), key: key, configuration: configuration)
        }
        #expect(server.sessions.count == 1)
        #expect(server.messages.count == 1)
    }

    /// Regression: a cancelled run() waited for ever on its idle sessions' close, which only the
    /// job loop it had just left would have made.
    @Test("run() cancelled with a pooled session returns at once, and the session says QUIT")
    func cancelledRun() async throws {
        let harness = try Harness()
        let server = try await FakeSMTPServer.start(harness.behaviour(.implicit))
        defer { Task { await server.shutdown() } }
        let configuration = try harness.configuration(server, security: .implicitTLS)
        let pool = SMTPPool(
            egress: EgressGuard(
                policy: EgressPolicy(allowlist: [CIDR(IPAddress("127.0.0.1")!)]), resolver: StaticResolver([IPAddress("127.0.0.1")!])),
            logger: Logger(label: "test.pool"))
        let running = Task { await pool.run() }
        _ = try await pool.send(try Harness.message(), key: key, configuration: configuration)
        #expect(await pool.statistics.idle == 1)
        let cancelled = ContinuousClock.now
        running.cancel()
        // Waits for run() or 5 s, whichever comes first (a run() that never returns must fail
        // this test, not hang it).
        let returned = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let once = Mutex(false)
            let finish: @Sendable (Bool) -> Void = { value in
                if once.withLock({ done in defer { done = true }; return !done }) { continuation.resume(returning: value) }
            }
            Task { await running.value; finish(true) }
            Task { try? await Task.sleep(for: .seconds(5)); finish(false) }
        }
        #expect(returned, "run() did not return after cancellation")
        #expect(ContinuousClock.now - cancelled < .seconds(2))
        let deadline = ContinuousClock.now.advanced(by: .seconds(2))
        while server.sessions.first?.sent("QUIT") != true && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(server.sessions.first?.sent("QUIT") == true)
        await #expect(throws: SMTPError.self) { _ = try await pool.send(try Harness.message(), key: key, configuration: configuration) }
    }

    @Test("a changed password opens a new session; the old one is closed")
    func keyChange() async throws {
        let harness = try Harness()
        let server = try await FakeSMTPServer.start(harness.behaviour(.implicit))
        defer { Task { await server.shutdown() } }
        let configuration = try harness.configuration(server, security: .implicitTLS)

        try await withPool(harness) { pool in
            _ = try await pool.send(try Harness.message(), key: key, configuration: configuration)
            _ = try await pool.send(
                try Harness.message(), key: PoolKey(scope: key.scope, version: "v2"), configuration: configuration)
            let statistics = await pool.statistics
            #expect(statistics.idle == 1)
        }
        #expect(server.sessions.count == 2)
        #expect(server.sessions.first?.sent("QUIT") == true)
    }

    @Test("a key's connection settings (its opened password) are dropped once it has no session left")
    func settingsForgotten() async throws {
        let harness = try Harness()
        let server = try await FakeSMTPServer.start(harness.behaviour(.implicit))
        defer { Task { await server.shutdown() } }
        let configuration = try harness.configuration(server, security: .implicitTLS)
        let changed = PoolKey(scope: key.scope, version: "v2")
        try await withPool(harness, configure: { $0.idleTimeout = .milliseconds(1500) }) { pool in
            _ = try await pool.send(try Harness.message(), key: key, configuration: configuration)
            _ = try await pool.send(try Harness.message(), key: changed, configuration: configuration)
            // The old key's session closed when the new key superseded it; the new one is idle.
            let deadline = ContinuousClock.now.advanced(by: .seconds(5))
            while await pool.configuredKeys.contains(key), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(await pool.configuredKeys == [changed])
            // After its idle timeout the new key's session closes too, and nothing is kept.
            while await !pool.configuredKeys.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(await pool.configuredKeys.isEmpty)
        }
    }

    @Test("after a password change and a full idle period, no opened settings of the old key are alive anywhere")
    func openedSettingsReleased() async throws {
        let harness = try Harness()
        let server = try await FakeSMTPServer.start(harness.behaviour(.implicit))
        defer { Task { await server.shutdown() } }
        let configuration = try harness.configuration(server, security: .implicitTLS)
        let changed = PoolKey(scope: key.scope, version: "v2")
        try await withPool(harness, configure: { $0.idleTimeout = .milliseconds(800) }) { pool in
            _ = try await pool.send(try Harness.message(), key: key, configuration: configuration)
            // Held weakly: the pool's table, the sessions (each keeps its key's settings), their
            // channel handlers and every closure that captured them must all let go.
            weak var old = pool.openedConfiguration(for: key)
            #expect(old != nil)
            _ = try await pool.send(try Harness.message(), key: changed, configuration: configuration)
            weak var new = pool.openedConfiguration(for: changed)
            let deadline = ContinuousClock.now.advanced(by: .seconds(5))
            while old != nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(old == nil, "the superseded key's opened settings outlived its session")
            #expect(new != nil, "the current key's session is still idle and keeps its settings")
            while new != nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(new == nil, "after the idle timeout nothing of the credential is left")
        }
    }

    @Test("a permanent connect failure reaches the caller at once with its own error")
    func connectFailure() async throws {
        let harness = try Harness()
        let metrics = TestMetrics()
        let server = try await FakeSMTPServer.start(harness.behaviour(.implicit))
        defer { Task { await server.shutdown() } }
        let configuration = try harness.configuration(server, security: .implicitTLS, trustTestCA: false)

        try await withPool(harness, metrics: metrics) { pool in
            do {
                _ = try await pool.send(try Harness.message(), key: key, configuration: configuration)
                Issue.record("expected ETLS")
            } catch let error as SMTPError {
                #expect(error.code == .tls)
            }
        }
        #expect(metrics.counterTotal(label: "posthorn_smtp_pool_connect_failures_total") == 1)
    }
}
