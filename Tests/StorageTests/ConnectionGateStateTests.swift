@testable import Storage
import Testing

/// The gate's bookkeeping as transcripts: who asks, who is let in, who is let in on each release.
@Suite("Connection gate")
struct ConnectionGateStateTests {
    @Test("statements share the connection; a transaction waits until the last one ends")
    func transactionWaitsForStatements() {
        let gate = GateTranscript()
        #expect(gate.request(.statement, waiter: "s1"))
        #expect(gate.request(.statement, waiter: "s2"))
        #expect(gate.request(.transaction, waiter: "t1") == false)

        #expect(gate.release(.statement) == [])
        #expect(gate.release(.statement) == ["t1"])
    }

    @Test("statements arriving behind a waiting transaction wait too, so writes are not starved")
    func firstComeFirstServed() {
        let gate = GateTranscript()
        #expect(gate.request(.statement, waiter: "s1"))
        #expect(gate.request(.transaction, waiter: "t1") == false)
        #expect(gate.request(.statement, waiter: "s2") == false)
        #expect(gate.request(.statement, waiter: "s3") == false)
        #expect(gate.request(.transaction, waiter: "t2") == false)
        #expect(gate.request(.statement, waiter: "s4") == false)

        #expect(gate.release(.statement) == ["t1"])
        #expect(gate.release(.transaction) == ["s2", "s3"], "the statements up to the next transaction go together")
        #expect(gate.release(.statement) == [])
        #expect(gate.release(.statement) == ["t2"])
        #expect(gate.release(.transaction) == ["s4"])
        #expect(gate.release(.statement) == [])
        #expect(gate.request(.transaction, waiter: "t3"), "an idle gate lets a transaction in at once")
    }

    @Test("a transaction has the connection alone, also against another transaction")
    func transactionsAreExclusive() {
        let gate = GateTranscript()
        #expect(gate.request(.transaction, waiter: "t1"))
        #expect(gate.request(.transaction, waiter: "t2") == false)
        #expect(gate.request(.statement, waiter: "s1") == false)

        #expect(gate.release(.transaction) == ["t2"])
        #expect(gate.release(.transaction) == ["s1"])
    }
}

/// The state machine behind a reference, so `#expect` can call its mutating members.
private final class GateTranscript {
    private var state = ConnectionGateState<String>()

    func request(_ access: ConnectionAccess, waiter: String) -> Bool {
        state.request(access, waiter: waiter)
    }

    func release(_ access: ConnectionAccess) -> [String] {
        state.release(access)
    }
}
