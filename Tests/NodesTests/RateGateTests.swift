import Flows
import Foundation
import Logging
import MIME
import Nodes
import Secrets
import SMTPCore
import Synchronization
import TestSupport
import Testing
import Vault
import Workspaces

/// The rate gate in the Send SMTP Email node's path, on an injected clock: a small executor that
/// claims due runs in the store's order (due time, then creation) and moves the clock to the next
/// due run, so days of sending take a moment and every time is exact.
@Suite("Rate gate: sends wait their turn, nothing fails because of a limit")
struct RateGateTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// A shared clock.
    final class Clock: Sendable {
        private let value = Mutex(RateGateTests.start)
        var now: Date { value.withLock { $0 } }
        func set(_ date: Date) { value.withLock { $0 = max($0, date) } }
    }

    /// What the test sees: the node's world and a queue of runs.
    struct World {
        let clock = Clock()
        let harness: NodeHarness
        let store = InMemoryRateStore()
        var limited: SMTPCredential
        var node: SendSMTPEmailNode
        var processor: RunProcessor
        var runs: [Run] = []
        /// When each message reached the transport, and to whom.
        var sent: [(at: Date, to: String)] = []
        /// Every waiting the runs went through: (run, until, reason).
        var waits: [(run: String, until: Date, reason: String)] = []

        init(limits: RateLimits, answer: FakeTransport.Answer = .accept) async throws {
            harness = try await NodeHarness.make(answer)
            limited = try await harness.credentials.create(
                CredentialInput(
                    name: "limited", host: "smtp.example.com", username: .some("sender@example.com"), password: .some(Secret("pw")),
                    limits: .some(limits)),
                in: "ws_1")
            (node, processor) = Self.started(harness, store, clock)
        }

        /// A new gate on the same store, and a new node over it: what a restart gives.
        mutating func restart() {
            (node, processor) = Self.started(harness, store, clock)
        }

        private static func started(_ harness: NodeHarness, _ store: InMemoryRateStore, _ clock: Clock) -> (SendSMTPEmailNode, RunProcessor) {
            let gate = RateGate(store: store, now: { clock.now })
            let node = SendSMTPEmailNode(
                credentials: harness.credentials, domains: harness.domains, transport: harness.transport, fetcher: harness.fetcher,
                identity: .deterministic(), rateGate: gate, workspaces: harness.store)
            return (node, RunProcessor(registry: NodeRegistry([node]), now: { clock.now }, jitter: { 0 }))
        }

        /// Queues a run sending to `to` (comma-separated) through `credential`.
        mutating func enqueue(_ to: String, credential: SMTPCredential) {
            let body: JSONValue = .object(["to": .string(to), "credential": .string(credential.id)])
            runs.append(Run(
                id: String(format: "run_%06d", runs.count), workspaceID: "ws_1", flowID: "flow_1",
                trigger: TriggerPayload(kind: "webhook", body: body), createdAt: clock.now))
        }

        static let flow = Flow(
            id: "flow_1", workspaceID: "ws_1", name: "Digest", trigger: .manual,
            steps: [FlowStep(id: "send", type: "smtp.send", parameters: [
                "credential": "{{trigger.body.credential}}", "to": "{{trigger.body.to}}", "from": "sender@example.com",
                "subject": "Digest", "body": "Hello",
            ])],
            enabled: true, retry: RetryPolicy(maxAttempts: 3), createdAt: start, updatedAt: start)

        /// Claims and processes due runs until none is left pending, moving the clock to the next
        /// due time each round. `stopAfter` sends, it returns early (for a restart).
        mutating func drain(stopAfter: Int = .max, until last: Date = .distantFuture) async {
            while sent.count < stopAfter {
                let pending = runs.indices.filter { runs[$0].status.isPending }
                guard let next = pending.map({ runs[$0].notBefore }).min(), next <= last else { return }
                clock.set(next)
                let due = pending.filter { runs[$0].notBefore <= clock.now }
                    .sorted { (runs[$0].notBefore, runs[$0].createdAt, runs[$0].id) < (runs[$1].notBefore, runs[$1].createdAt, runs[$1].id) }
                for index in due {
                    var run = runs[index]
                    run.handle(.claimed(owner: "test", leaseUntil: clock.now.addingTimeInterval(60)), now: clock.now)
                    let before = harness.transport.sent.count
                    run = await processor.process(run, flow: Self.flow, logger: Logger(label: "test")) { _ in false }
                    for message in harness.transport.sent[before...] {
                        sent.append((clock.now, message.envelope.recipients.joined(separator: ",")))
                    }
                    if run.status == .waiting {
                        waits.append((run.id, run.waitingUntil!, run.waitingReason ?? ""))
                    }
                    runs[index] = run
                    if sent.count >= stopAfter { return }
                }
            }
        }

        /// The most sends (or recipients, with `cost`) inside any window of `length` seconds.
        func busiest(window length: TimeInterval, cost: (String) -> Int = { _ in 1 }) -> Int {
            var most = 0
            var first = 0
            var inside = 0
            for send in sent {
                inside += cost(send.to)
                while send.at.timeIntervalSince(sent[first].at) >= length {
                    inside -= cost(sent[first].to)
                    first += 1
                }
                most = max(most, inside)
            }
            return most
        }
    }

    @Test("1,000 sends against 10 a minute: all delivered, in order, never 11 in a minute, each wait shown; a restart halfway loses none and resets no window")
    func thousandSendsInOrder() async throws {
        var world = try await World(limits: RateLimits(perMinute: 10))
        for index in 0..<1_000 { world.enqueue("r\(index)@example.net", credential: world.limited) }
        await world.drain(stopAfter: 500)
        // The server stops halfway: the runs as stored, a new gate reading the same spends.
        world.restart()
        await world.drain()

        #expect(world.runs.allSatisfy { $0.status == .succeeded })
        #expect(world.sent.map(\.to) == (0..<1_000).map { "r\($0)@example.net" })
        #expect(world.busiest(window: 60) == 10)
        // 1,000 at 10 a minute: the last goes in the 100th minute, not much later (slots round up by at most 1 %).
        let last = try #require(world.sent.last).at.timeIntervalSince(Self.start)
        #expect(last >= 99 * 60 && last <= 101 * 60, "last send after \(last) s")
        #expect(world.waits.count >= 990)
        #expect(world.waits.allSatisfy { $0.reason.contains("10 messages per minute") && $0.until > Self.start })
        // A waiting run resumes at the time it was shown, not later.
        for wait in world.waits.prefix(50) {
            let run = try #require(world.runs.first { $0.id == wait.run })
            guard case .object(let body) = run.trigger.body, case .string(let to)? = body["to"] else { continue }
            let delivered = try #require(world.sent.first { $0.to == to })
            #expect(delivered.at == wait.until)
        }
    }

    @Test("a waiting run holds nothing: another credential's runs go at once")
    func otherCredentialGoesOn() async throws {
        var world = try await World(limits: RateLimits(perMinute: 2))
        for index in 0..<6 { world.enqueue("slow\(index)@example.net", credential: world.limited) }
        for index in 0..<3 { world.enqueue("fast\(index)@example.net", credential: world.harness.relay) }
        await world.drain()
        let fast = world.sent.filter { $0.to.hasPrefix("fast") }
        #expect(fast.count == 3 && fast.allSatisfy { $0.at == Self.start })
        #expect(world.sent.filter { $0.to.hasPrefix("slow") }.map(\.at).max()! >= Self.start.addingTimeInterval(120))
        #expect(world.runs.allSatisfy { $0.status == .succeeded })
    }

    @Test("a workspace's cap holds across its credentials: two credentials of 10 a minute, a cap of 6, never 7 in a minute; the wait names the cap")
    func workspaceCap() async throws {
        var world = try await World(limits: RateLimits(perMinute: 10))
        let second = try await world.harness.credentials.create(
            CredentialInput(
                name: "second", host: "smtp.example.com", username: .some("sender@example.com"), password: .some(Secret("pw")),
                limits: .some(RateLimits(perMinute: 10))),
            in: "ws_1")
        #expect(try await world.harness.store.setWorkspaceLimits(RateLimits(perMinute: 6), workspaceID: "ws_1"))
        for index in 0..<24 { world.enqueue("w\(index)@example.net", credential: index % 2 == 0 ? world.limited : second) }
        await world.drain()
        #expect(world.runs.allSatisfy { $0.status == .succeeded })
        #expect(world.busiest(window: 60) == 6)
        #expect(world.waits.contains { $0.reason.contains("workspace's sending cap of 6 messages per minute") })
    }

    @Test("counting recipients: a message of three counts three; one larger than the window fails at once, naming the limit")
    func recipientCounting() async throws {
        var world = try await World(limits: RateLimits(perMinute: 5, counts: .recipients))
        for index in 0..<4 { world.enqueue("a\(index)@example.net, b\(index)@example.net, c\(index)@example.net", credential: world.limited) }
        world.enqueue((0..<6).map { "many\($0)@example.net" }.joined(separator: ", "), credential: world.limited)
        await world.drain()
        let tooLarge = try #require(world.runs.last)
        #expect(tooLarge.status == .failed)
        #expect(tooLarge.error?.code == "ELIMIT")
        #expect(tooLarge.error?.message.hasPrefix("limits.perMinute:") == true)
        #expect(tooLarge.error?.message.contains("6 recipients") == true)
        #expect(world.runs.prefix(4).allSatisfy { $0.status == .succeeded })
        #expect(world.busiest(window: 60) { $0.split(separator: ",").count } <= 5)
        #expect(world.sent.count == 4)
    }

    @Test("a provider's throttling reply backs the credential off 60 s, then 120 s; the runs wait, saying until when, and none fails")
    func throttlingBacksOff() async throws {
        let throttled = SMTPError(.envelope, .transient, "Try again later", reply: SMTPReply(421, "4.7.0 Try again later, closing connection"))
        var world = try await World(limits: RateLimits(perHour: 1_000), answer: .fail(throttled))
        world.enqueue("first@example.net", credential: world.limited)
        world.enqueue("second@example.net", credential: world.limited)
        // The first send is throttled and backs the credential off 60 s; the second waits for it.
        await world.drain(until: Self.start.addingTimeInterval(59))
        let first = try #require(world.waits.first)
        #expect(first.until == Self.start.addingTimeInterval(60))
        #expect(first.reason.contains("421") && first.reason.contains("throttling"))
        #expect(world.runs.allSatisfy { $0.status == .waiting })
        #expect(world.runs.allSatisfy { $0.waitingUntil == Self.start.addingTimeInterval(60) })
        #expect(world.harness.transport.sent.count == 1)
        // Still throttled a minute later: twice as long.
        await world.drain(until: Self.start.addingTimeInterval(61))
        #expect(world.waits.contains { $0.until == Self.start.addingTimeInterval(60 + 120) })
        world.harness.transport.setAnswer(.accept)
        await world.drain()
        #expect(world.runs.allSatisfy { $0.status == .succeeded })
        #expect(world.runs.allSatisfy { $0.steps[0].attempts == 1 })
    }

    @Test("a 421 that announces a shutdown is not throttling: the step fails transiently and retries as before")
    func shutdownIsNotThrottling() {
        #expect(!SMTPReply(421, "Service not available, closing transmission channel").isThrottling)
        #expect(!SMTPReply(421, "4.3.2 Service shutting down").isThrottling)
        #expect(!SMTPReply(450, "4.7.1 Too many messages").isThrottling)
        #expect(SMTPReply(421, "4.7.0 Try again later, closing connection").isThrottling)
        #expect(SMTPReply(451, "Throttled: too many messages in the last hour").isThrottling)
        #expect(SMTPReply(421, "Rate limit exceeded for this account").isThrottling)
        #expect(SMTPReply(451, "4.4.2 Timeout waiting for data").isThrottling == false)
    }

    @Test("without limits the gate costs nothing: no spend is stored")
    func unlimitedStoresNothing() async throws {
        var world = try await World(limits: RateLimits(perDay: 100))
        for index in 0..<20 { world.enqueue("u\(index)@example.net", credential: world.harness.relay) }
        await world.drain()
        #expect(world.runs.allSatisfy { $0.status == .succeeded })
        #expect(await world.store.count == 0)
    }
}

/// The gate alone, with the delays of a real server: each send is answered 50 ms after it goes,
/// and a waiting send comes back up to 250 ms after its turn (the executor's poll).
@Suite("Rate gate: sends answered late and claimed late still keep every window")
struct RateGateLatencyTests {
    @Test("sends asking at the same moment, while the store is written: exactly the limit goes (regression: the actor let a second send decide on a ledger not yet updated)")
    func concurrentAdmissions() async throws {
        let gate = RateGate(store: InMemoryRateStore(), now: { RateGateTests.start })
        let limits = RateLimits(perSecond: 2)
        let answers = await withTaskGroup(of: RateGate.Admission?.self) { group in
            for index in 0..<50 {
                group.addTask { try? await gate.admit(credentialID: "c", limits: limits, cost: 1, key: "k\(index)") }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(answers.filter { $0 == .go }.count == 2)
        var untils: [Date] = []
        for case .wait(let until, _, _)? in answers { untils.append(until) }
        #expect(untils.count == 48)
        // Two to a second, each turn its own: 24 distinct times.
        #expect(Set(untils).count == 24)
    }

    @Test("2 a second, 12 sends arriving over 300 ms: never 3 answered within a second", arguments: [0.0, 0.04, 0.13, 0.25])
    func lateAnswers(pollDelay: Double) async throws {
        let clock = RateGateTests.Clock()
        let gate = RateGate(store: InMemoryRateStore(), now: { clock.now })
        let limits = RateLimits(perSecond: 2)
        let start = RateGateTests.start
        // (time, key, kind): kinds are "admit" and "answer".
        var events: [(at: Date, key: String, answer: Bool)] = (0..<12).map { (start.addingTimeInterval(Double($0) * 0.025), "k\($0)", false) }
        var answered: [Date] = []
        while !events.isEmpty {
            events.sort { ($0.at, $0.answer ? 0 : 1, $0.key) < ($1.at, $1.answer ? 0 : 1, $1.key) }
            let event = events.removeFirst()
            clock.set(event.at)
            if event.answer {
                try await gate.sent(key: event.key)
                answered.append(clock.now)
                continue
            }
            switch try await gate.admit(credentialID: "c", limits: limits, cost: 1, key: event.key) {
            case .go: events.append((clock.now.addingTimeInterval(0.05), event.key, true))
            case .wait(let until, _, _): events.append((until.addingTimeInterval(pollDelay), event.key, false))
            case .never: Issue.record("never")
            }
        }
        #expect(answered.count == 12)
        var most = 0
        for (index, at) in answered.enumerated() {
            most = max(most, answered[index...].prefix { $0.timeIntervalSince(at) < 1 }.count)
        }
        #expect(most <= 2, "\(answered.map { $0.timeIntervalSince(start) })")
    }
}
