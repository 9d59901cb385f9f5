@testable import SMTP
import SMTPCore
import Testing

/// Random schedules against the pool machine, checked by an independent model of what a driver
/// would see: every session the machine opens, leases and closes, and every waiter it answers.
@Suite("Pool state machine: randomized against a model")
struct PoolModelTests {
    /// What the driver knows, rebuilt only from the machine's actions.
    struct Model {
        /// A leased session carries one request, or two when one was chained behind the other.
        enum Session: Equatable { case opening(PoolKey), idle(PoolKey), leased(PoolKey, [Int]) }
        var sessions: [Int: Session] = [:]
        /// Leases whose session closed under them (the other message on it broke it).
        var orphans: [Int: Int] = [:]
        var waiting: [Int: PoolKey] = [:]
        var answered: Set<Int> = []
        let configuration: PoolStateMachine.Configuration

        mutating func apply(_ actions: [PoolStateMachine.Action]) {
            for action in actions {
                switch action {
                case .createConnection(let id, let key):
                    #expect(sessions[id] == nil, "session \(id) opened twice")
                    sessions[id] = .opening(key)
                case .lease(let request, let id, _):
                    let key = waiting.removeValue(forKey: request)
                    #expect(key != nil, "lease for unknown or answered request \(request)")
                    switch sessions[id] {
                    case .opening(let sessionKey), .idle(let sessionKey):
                        #expect(sessionKey == key, "request for \(String(describing: key)) got a session of \(sessionKey)")
                        sessions[id] = .leased(sessionKey, [request])
                    case .leased(let sessionKey, let requests) where configuration.chainTransactions && requests.count == 1:
                        #expect(sessionKey == key, "request for \(String(describing: key)) chained onto a session of \(sessionKey)")
                        sessions[id] = .leased(sessionKey, requests + [request])
                    case .leased, nil:
                        Issue.record("session \(id) leased while \(String(describing: sessions[id]))")
                    }
                    #expect(answered.insert(request).inserted)
                case .closeConnection(let id):
                    switch sessions[id] {
                    case .idle, .opening: sessions[id] = nil
                    case .leased, nil: Issue.record("closed session \(id) while \(String(describing: sessions[id]))")
                    }
                case .failRequest(let request, _):
                    #expect(waiting.removeValue(forKey: request) != nil, "failed unknown request \(request)")
                    #expect(answered.insert(request).inserted)
                }
            }
            var perKey: [PoolKey: Int] = [:]
            for session in sessions.values {
                switch session {
                case .opening(let key), .idle(let key), .leased(let key, _): perKey[key, default: 0] += 1
                }
            }
            #expect(sessions.count <= configuration.maximumConnections)
            #expect(perKey.values.allSatisfy { $0 <= configuration.maximumConnectionsPerKey })
        }
    }

    @Test("no session is shared (beyond one chained message), no limit is exceeded, every waiter is answered exactly once",
          arguments: 0..<80)
    func randomSchedule(seed: UInt64) {
        var random = SplitMix64(seed: seed &+ 1)
        var configuration = PoolStateMachine.Configuration()
        configuration.chainTransactions = seed % 2 == 1
        configuration.maximumConnectionsPerKey = Int(random.next() % 3) + 1
        configuration.maximumConnections = Int(random.next() % 4) + 1
        configuration.maximumMessagesPerConnection = Int(random.next() % 5) + 1
        var pool = PoolStateMachine(configuration: configuration, seed: seed)
        var model = Model(configuration: configuration)
        let keys = [PoolKey(scope: "w1/c1", version: "v1"), PoolKey(scope: "w1/c1", version: "v2"), PoolKey(scope: "w2/c1", version: "v1")]
        var now = Duration.zero
        var nextRequest = 0

        for _ in 0..<400 {
            now += .milliseconds(Int64(random.next() % 2000))
            let opening = model.sessions.filter { if case .opening = $0.value { true } else { false } }.keys.sorted()
            let leased = model.sessions.filter { if case .leased = $0.value { true } else { false } }.keys.sorted()
            let idle = model.sessions.filter { if case .idle = $0.value { true } else { false } }.keys.sorted()
            switch random.next() % 9 {
            case 0, 1:
                let key = keys[Int(random.next() % UInt64(keys.count))]
                model.waiting[nextRequest] = key
                model.apply(pool.leaseRequested(
                    nextRequest, key: key, deadline: now + .seconds(Int64(random.next() % 30)), fresh: random.next() % 5 == 0, now: now))
                nextRequest += 1
            case 2 where !opening.isEmpty:
                let id = opening[Int(random.next() % UInt64(opening.count))]
                if case .opening(let key) = model.sessions[id] { model.sessions[id] = .idle(key) }
                model.apply(pool.connectionEstablished(id, now: now))
            case 3 where !opening.isEmpty:
                let id = opening[Int(random.next() % UInt64(opening.count))]
                model.sessions[id] = nil
                model.apply(pool.connectionFailed(id, now: now))
            case 4 where !leased.isEmpty, 5 where !leased.isEmpty:
                let id = leased[Int(random.next() % UInt64(leased.count))]
                guard case .leased(let key, let requests) = model.sessions[id] else { break }
                let request = requests[Int(random.next() % UInt64(requests.count))]
                let reusable = random.next() % 4 != 0
                let remaining = requests.filter { $0 != request }
                if let other = remaining.first {
                    if reusable {
                        model.sessions[id] = .leased(key, [other])
                    } else {
                        model.sessions[id] = .idle(key)  // the machine must close it now
                        model.orphans[id] = other
                    }
                } else {
                    model.sessions[id] = .idle(key)
                }
                model.apply(pool.connectionReleased(id, request: request, reusable: reusable, messageSent: true, now: now))
                if !reusable && !remaining.isEmpty { #expect(model.sessions[id] == nil, "a broken chained session stayed open") }
            case 6 where !model.orphans.isEmpty:
                let (id, request) = model.orphans.sorted { $0.key < $1.key }[0]
                model.orphans[id] = nil
                #expect(pool.connectionReleased(id, request: request, reusable: false, messageSent: false, now: now) == [])
            case 7 where !idle.isEmpty && random.next() % 2 == 0:
                let id = idle[Int(random.next() % UInt64(idle.count))]
                model.sessions[id] = nil
                model.apply(pool.connectionClosed(id, now: now))
            case 8 where !model.waiting.isEmpty:
                let request = model.waiting.keys.sorted()[Int(random.next() % UInt64(model.waiting.count))]
                model.waiting[request] = nil
                model.answered.insert(request)
                model.apply(pool.requestCancelled(request, now: now))
            default:
                model.apply(pool.tick(now: now))
            }
            let stats = pool.statistics
            #expect(stats.idle + stats.leased + stats.connecting == model.sessions.count)
            #expect(stats.waiting == model.waiting.count)
        }
        // Drain: finish every opening session, release every lease, run out every clock.
        for _ in 0..<50 {
            for id in model.sessions.keys.sorted() {
                switch model.sessions[id] {
                case .opening(let key):
                    model.sessions[id] = .idle(key)
                    model.apply(pool.connectionEstablished(id, now: now))
                case .leased(let key, let requests):
                    for (index, request) in requests.enumerated() {
                        model.sessions[id] = index == requests.count - 1 ? .idle(key) : .leased(key, Array(requests[(index + 1)...]))
                        model.apply(pool.connectionReleased(id, request: request, reusable: true, messageSent: true, now: now))
                    }
                case .idle, nil:
                    break
                }
            }
            now += .seconds(120)
            model.apply(pool.tick(now: now))
        }
        for (id, request) in model.orphans { #expect(pool.connectionReleased(id, request: request, reusable: false, messageSent: false, now: now) == []) }
        #expect(model.waiting.isEmpty, "unanswered waiters: \(model.waiting)")
        #expect(pool.isEmpty)
        #expect(model.answered.count == nextRequest)
    }
}
