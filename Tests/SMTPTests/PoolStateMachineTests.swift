@testable import SMTP
import SMTPCore
import Testing

/// The pool's bookkeeping, driven by hand with explicit times: no sockets, no clock.
@Suite("Pool state machine")
struct PoolStateMachineTests {
    typealias Machine = PoolStateMachine
    let a = PoolKey(scope: "ws1/cred1", version: "v1")
    let b = PoolKey(scope: "ws2/cred7", version: "v1")

    func machine(_ adjust: (inout Machine.Configuration) -> Void = { _ in }) -> Machine {
        var configuration = Machine.Configuration()
        adjust(&configuration)
        return Machine(configuration: configuration)
    }

    @Test("the first send opens a session and gets it once it is up")
    func firstLease() {
        var pool = machine()
        #expect(pool.leaseRequested(1, key: a, deadline: .seconds(60), now: .zero) == [.createConnection(0, a)])
        #expect(pool.connectionEstablished(0, now: .milliseconds(5)) == [.lease(1, 0, checkLiveness: false)])
    }

    @Test("a workspace at its limit of busy sessions waits; another workspace's send still gets one")
    func workspaceLimit() {
        var pool = machine { $0.maximumBusyConnectionsPerWorkspace = 2; $0.maximumConnectionsPerKey = 4 }
        let a2 = PoolKey(scope: "ws1/cred2", version: "v1")
        #expect(pool.leaseRequested(1, key: a, deadline: .seconds(60), now: .zero) == [.createConnection(0, a)])
        #expect(pool.leaseRequested(2, key: a2, deadline: .seconds(60), now: .zero) == [.createConnection(1, a2)])
        // ws1 has two sessions opening (its relays stall): a third send of ws1 waits…
        #expect(pool.leaseRequested(3, key: a, deadline: .seconds(60), now: .zero) == [])
        // …while ws2 opens its own.
        #expect(pool.leaseRequested(4, key: b, deadline: .seconds(60), now: .zero) == [.createConnection(2, b)])
        // When one of ws1's sessions is up and released, the waiting send gets it.
        #expect(pool.connectionEstablished(0, now: .seconds(1)) == [.lease(1, 0, checkLiveness: false)])
        #expect(pool.connectionReleased(0, reusable: true, messageSent: true, now: .seconds(2)) == [.lease(3, 0, checkLiveness: false)])
    }

    @Test("a released session is reused without a handshake; after 5 s idle it is checked first")
    func reuseAndLiveness() {
        var pool = machine()
        _ = pool.leaseRequested(1, key: a, deadline: .seconds(60), now: .zero)
        _ = pool.connectionEstablished(0, now: .zero)
        #expect(pool.connectionReleased(0, reusable: true, messageSent: true, now: .seconds(1)) == [])
        #expect(pool.leaseRequested(2, key: a, deadline: .seconds(60), now: .seconds(2)) == [.lease(2, 0, checkLiveness: false)])
        _ = pool.connectionReleased(0, reusable: true, messageSent: true, now: .seconds(3))
        #expect(pool.leaseRequested(3, key: a, deadline: .seconds(60), now: .seconds(8)) == [.lease(3, 0, checkLiveness: true)])
    }

    @Test("a failed liveness check or a broken session is closed, and the waiter gets a new one")
    func brokenSessionReplaced() {
        var pool = machine()
        _ = pool.leaseRequested(1, key: a, deadline: .seconds(60), now: .zero)
        _ = pool.connectionEstablished(0, now: .zero)
        #expect(pool.connectionReleased(0, reusable: false, messageSent: false, now: .seconds(1)) == [.closeConnection(0)])
        #expect(pool.leaseRequested(2, key: a, deadline: .seconds(60), now: .seconds(2)) == [.createConnection(1, a)])
    }

    @Test("at most four sessions per key; the fifth send waits for the first free one")
    func perKeyLimit() {
        var pool = machine()
        var created: [Machine.Action] = []
        for id in 1...5 { created += pool.leaseRequested(id, key: a, deadline: .seconds(60), now: .zero) }
        #expect(created == (0..<4).map { .createConnection($0, a) })
        for id in 0..<4 { _ = pool.connectionEstablished(id, now: .zero) }
        #expect(pool.statistics.waiting == 1)
        #expect(pool.connectionReleased(2, reusable: true, messageSent: true, now: .seconds(1)) == [.lease(5, 2, checkLiveness: false)])
    }

    @Test("at the global cap, an idle session of another key is closed to serve a waiting key")
    func fairnessAcrossKeys() {
        var pool = machine { $0.maximumConnections = 2 }
        _ = pool.leaseRequested(1, key: a, deadline: .seconds(60), now: .zero)
        _ = pool.leaseRequested(2, key: a, deadline: .seconds(60), now: .zero)
        _ = pool.connectionEstablished(0, now: .zero)
        _ = pool.connectionEstablished(1, now: .zero)
        _ = pool.connectionReleased(0, reusable: true, messageSent: true, now: .seconds(1))
        #expect(pool.leaseRequested(3, key: b, deadline: .seconds(60), now: .seconds(2)) == [.closeConnection(0), .createConnection(2, b)])
    }

    @Test("waiters are served oldest first across keys when sessions free up")
    func fifoAcrossKeys() {
        var pool = machine { $0.maximumConnections = 1 }
        _ = pool.leaseRequested(1, key: a, deadline: .seconds(60), now: .zero)
        _ = pool.connectionEstablished(0, now: .zero)
        #expect(pool.leaseRequested(2, key: b, deadline: .seconds(60), now: .seconds(1)) == [])
        #expect(pool.leaseRequested(3, key: a, deadline: .seconds(60), now: .seconds(2)) == [])
        // B asked first: A's session is closed for it rather than handed to A's later waiter.
        #expect(pool.connectionReleased(0, reusable: true, messageSent: true, now: .seconds(3)) == [.closeConnection(0), .createConnection(1, b)])
    }

    @Test("an idle session closes after the idle timeout")
    func idleExpiry() {
        var pool = machine()
        _ = pool.leaseRequested(1, key: a, deadline: .seconds(60), now: .zero)
        _ = pool.connectionEstablished(0, now: .zero)
        _ = pool.connectionReleased(0, reusable: true, messageSent: true, now: .seconds(10))
        #expect(pool.nextWakeUp == .seconds(70))
        #expect(pool.tick(now: .seconds(69)) == [])
        #expect(pool.tick(now: .seconds(70)) == [.closeConnection(0)])
        #expect(pool.isEmpty)
    }

    @Test("a session is replaced after its maximum number of messages")
    func maximumMessages() {
        var pool = machine { $0.maximumMessagesPerConnection = 2 }
        _ = pool.leaseRequested(1, key: a, deadline: .seconds(60), now: .zero)
        _ = pool.connectionEstablished(0, now: .zero)
        #expect(pool.connectionReleased(0, reusable: true, messageSent: true, now: .zero) == [])
        _ = pool.leaseRequested(2, key: a, deadline: .seconds(60), now: .zero)
        #expect(pool.connectionReleased(0, reusable: true, messageSent: true, now: .zero) == [.closeConnection(0)])
    }

    @Test("a failed connect fails the oldest waiter and backs off with jitter before the next attempt")
    func backoff() throws {
        var pool = machine()
        _ = pool.leaseRequested(1, key: a, deadline: .seconds(60), now: .zero)
        #expect(pool.connectionFailed(0, now: .zero) == [.failRequest(1, .connectFailed(0))])
        // The next send waits out the backoff: 100 ms nominal, jittered into [50, 100] ms.
        #expect(pool.leaseRequested(2, key: a, deadline: .seconds(60), now: .milliseconds(10)) == [])
        let first = try #require(pool.nextWakeUp)
        #expect(first >= .milliseconds(50) && first <= .milliseconds(100))
        #expect(pool.tick(now: first) == [.createConnection(1, a)])
        #expect(pool.connectionFailed(1, now: first) == [.failRequest(2, .connectFailed(1))])
        _ = pool.leaseRequested(3, key: a, deadline: .seconds(60), now: first)
        let second = try #require(pool.nextWakeUp) - first
        #expect(second >= .milliseconds(100) && second <= .milliseconds(200))
    }

    @Test("a changed password or setting drains the old key's sessions")
    func keyChangeDrains() {
        var pool = machine()
        let renewed = PoolKey(scope: a.scope, version: "v2")
        _ = pool.leaseRequested(1, key: a, deadline: .seconds(60), now: .zero)
        _ = pool.leaseRequested(2, key: a, deadline: .seconds(60), now: .zero)
        _ = pool.connectionEstablished(0, now: .zero)
        _ = pool.connectionEstablished(1, now: .zero)
        _ = pool.connectionReleased(0, reusable: true, messageSent: true, now: .seconds(1))
        // Session 0 is idle, session 1 busy: the idle one closes now, the busy one when it is done.
        #expect(pool.leaseRequested(3, key: renewed, deadline: .seconds(60), now: .seconds(2)) == [.closeConnection(0), .createConnection(2, renewed)])
        #expect(pool.connectionReleased(1, reusable: true, messageSent: true, now: .seconds(3)) == [.closeConnection(1)])
    }

    @Test("a waiter whose deadline passes fails; a cancelled one just leaves")
    func deadlinesAndCancellation() {
        var pool = machine { $0.maximumConnectionsPerKey = 1 }
        _ = pool.leaseRequested(1, key: a, deadline: .seconds(60), now: .zero)
        _ = pool.connectionEstablished(0, now: .zero)
        _ = pool.leaseRequested(2, key: a, deadline: .seconds(5), now: .zero)
        _ = pool.leaseRequested(3, key: a, deadline: .seconds(60), now: .zero)
        #expect(pool.nextWakeUp == .seconds(5))
        #expect(pool.tick(now: .seconds(5)) == [.failRequest(2, .deadlineExceeded)])
        #expect(pool.requestCancelled(3, now: .seconds(6)) == [])
        #expect(pool.connectionReleased(0, reusable: true, messageSent: true, now: .seconds(7)) == [])
        #expect(pool.statistics == (idle: 1, leased: 0, connecting: 0, waiting: 0))
    }

    @Test("a retry asks for a fresh session even when one is idle")
    func freshLease() {
        var pool = machine()
        _ = pool.leaseRequested(1, key: a, deadline: .seconds(60), now: .zero)
        _ = pool.connectionEstablished(0, now: .zero)
        _ = pool.connectionReleased(0, reusable: true, messageSent: true, now: .zero)
        #expect(pool.leaseRequested(2, key: a, deadline: .seconds(60), fresh: true, now: .zero) == [.createConnection(1, a)])
        // A plain send meanwhile takes the idle session, not the one opening for the retry.
        #expect(pool.leaseRequested(3, key: a, deadline: .seconds(60), now: .zero) == [.lease(3, 0, checkLiveness: false)])
        #expect(pool.connectionEstablished(1, now: .zero) == [.lease(2, 1, checkLiveness: false)])
    }

    @Test("shutdown fails waiters and closes idle sessions; busy ones close when released")
    func shutdown() {
        var pool = machine { $0.maximumConnectionsPerKey = 1 }
        _ = pool.leaseRequested(1, key: a, deadline: .seconds(60), now: .zero)
        _ = pool.connectionEstablished(0, now: .zero)
        _ = pool.leaseRequested(2, key: a, deadline: .seconds(60), now: .zero)
        #expect(pool.shutdown() == [.failRequest(2, .shuttingDown)])
        #expect(pool.connectionReleased(0, reusable: true, messageSent: true, now: .zero) == [.closeConnection(0)])
        #expect(pool.isEmpty)
        #expect(pool.leaseRequested(3, key: a, deadline: .seconds(60), now: .zero) == [.failRequest(3, .shuttingDown)])
    }
}
