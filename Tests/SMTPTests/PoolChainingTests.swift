@testable import SMTP
import SMTPCore
import Testing

/// Chaining in the pool's bookkeeping: when every session of a key is busy and no more may open, a
/// waiter is handed a busy session so its envelope can follow the current final dot.
@Suite("Pool state machine: chained leases")
struct PoolChainingTests {
    typealias Machine = PoolStateMachine
    let a = PoolKey(scope: "ws1/cred1", version: "v1")
    let b = PoolKey(scope: "ws2/cred7", version: "v1")

    func machine(_ adjust: (inout Machine.Configuration) -> Void = { _ in }) -> Machine {
        var configuration = Machine.Configuration()
        configuration.chainTransactions = true
        configuration.maximumConnectionsPerKey = 1
        adjust(&configuration)
        return Machine(configuration: configuration)
    }

    /// One session for key `a`, leased to request 1.
    func busy(_ adjust: (inout Machine.Configuration) -> Void = { _ in }) -> Machine {
        var pool = machine(adjust)
        _ = pool.leaseRequested(1, key: a, deadline: .seconds(60), now: .zero)
        _ = pool.connectionEstablished(0, now: .zero)
        return pool
    }

    @Test("at the per-key cap, the next send is chained onto the busy session; a third waits")
    func chainsAtCap() {
        var pool = busy()
        #expect(pool.leaseRequested(2, key: a, deadline: .seconds(60), now: .zero) == [.lease(2, 0, checkLiveness: false)])
        #expect(pool.leaseRequested(3, key: a, deadline: .seconds(60), now: .zero) == [])
        #expect(pool.statistics.waiting == 1)
        // The first message ends: the chained one now carries the session and the waiter chains behind it.
        #expect(pool.connectionReleased(0, request: 1, reusable: true, messageSent: true, now: .seconds(1)) ==
            [.lease(3, 0, checkLiveness: false)])
        #expect(pool.connectionReleased(0, request: 2, reusable: true, messageSent: true, now: .seconds(2)) == [])
        #expect(pool.connectionReleased(0, request: 3, reusable: true, messageSent: true, now: .seconds(3)) == [])
        #expect(pool.statistics.idle == 1)
    }

    @Test("chaining is off by default, and never used for a retry that needs a fresh session")
    func offAndFresh() {
        var plain = Machine(configuration: { var c = Machine.Configuration(); c.maximumConnectionsPerKey = 1; return c }())
        _ = plain.leaseRequested(1, key: a, deadline: .seconds(60), now: .zero)
        _ = plain.connectionEstablished(0, now: .zero)
        #expect(plain.leaseRequested(2, key: a, deadline: .seconds(60), now: .zero) == [])

        var pool = busy()
        #expect(pool.leaseRequested(2, key: a, deadline: .seconds(60), fresh: true, now: .zero) == [])
    }

    @Test("a send is not chained onto another key's session, or onto one at its message cap")
    func whereNotToChain() {
        var otherKey = busy()
        #expect(otherKey.leaseRequested(2, key: b, deadline: .seconds(60), now: .zero) == [.createConnection(1, b)])

        var capped = busy { $0.maximumMessagesPerConnection = 1 }
        #expect(capped.leaseRequested(2, key: a, deadline: .seconds(60), now: .zero) == [])
    }

    @Test("the chained message may end first; the session stays with the other")
    func chainedEndsFirst() {
        var pool = busy()
        _ = pool.leaseRequested(2, key: a, deadline: .seconds(60), now: .zero)
        #expect(pool.connectionReleased(0, request: 2, reusable: true, messageSent: false, now: .seconds(1)) == [])
        #expect(pool.statistics.leased == 1)
        #expect(pool.connectionReleased(0, request: 1, reusable: true, messageSent: true, now: .seconds(2)) == [])
        #expect(pool.statistics.idle == 1)
    }

    @Test("a broken chained session closes at once; the other lease's later release changes nothing")
    func brokenWhileChained() {
        var pool = busy()
        _ = pool.leaseRequested(2, key: a, deadline: .seconds(60), now: .zero)
        #expect(pool.connectionReleased(0, request: 1, reusable: false, messageSent: false, now: .seconds(1)) == [.closeConnection(0)])
        #expect(pool.connectionReleased(0, request: 2, reusable: false, messageSent: false, now: .seconds(1)) == [])
        #expect(pool.isEmpty)
        // The retry of the chained message gets a new session.
        #expect(pool.leaseRequested(3, key: a, deadline: .seconds(60), fresh: true, now: .seconds(2)) == [.createConnection(1, a)])
    }
}
