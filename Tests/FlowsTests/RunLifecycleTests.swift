import Flows
import Foundation
import Testing

/// The run lifecycle machine: transcripts of the transitions that matter, and a model test that
/// drives it with random events and checks what must always hold.
@Suite("Run lifecycle: events in, actions out")
struct RunLifecycleTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)
    static let failure = RunError(code: "ETEST", message: "failed")

    /// `status/action` after each event, from a new run.
    func transcript(_ events: [RunLifecycle.Event]) -> [String] {
        var lifecycle = RunLifecycle(createdAt: Self.start)
        var now = Self.start
        return events.map { event in
            now = now.addingTimeInterval(1)
            let action = lifecycle.handle(event, now: now)
            return "\(lifecycle.status.rawValue)/\(action)"
        }
    }

    @Test("a run is claimed, runs and succeeds; its times and lease follow")
    func happyPath() {
        var lifecycle = RunLifecycle(createdAt: Self.start)
        #expect(lifecycle.handle(.claimed(owner: "w1", leaseUntil: Self.start.addingTimeInterval(300)), now: Self.start) == .save)
        #expect(lifecycle.status == .running)
        #expect(lifecycle.startedAt == Self.start)
        #expect(lifecycle.leaseOwner == "w1")
        let end = Self.start.addingTimeInterval(5)
        #expect(lifecycle.handle(.completed, now: end) == .save)
        #expect(lifecycle.status == .succeeded)
        #expect(lifecycle.finishedAt == end)
        #expect(lifecycle.leaseOwner == nil && lifecycle.leaseExpiresAt == nil)
    }

    @Test("transcripts", arguments: [
        ([.claimed(owner: "w", leaseUntil: start), .retryScheduled(notBefore: start), .claimed(owner: "w", leaseUntil: start), .completed],
         ["running/save", "queued/save", "running/save", "succeeded/save"]),
        ([.cancelRequested, .claimed(owner: "w", leaseUntil: start), .cancelRequested],
         ["cancelled/save", "cancelled/ignore", "cancelled/refuseFinished"]),
        ([.claimed(owner: "w", leaseUntil: start), .cancelRequested, .cancellationObserved],
         ["running/save", "running/requestCancellation", "cancelled/save"]),
        ([.claimed(owner: "w", leaseUntil: start), .retryScheduled(notBefore: start), .cancellationObserved],
         ["running/save", "queued/save", "cancelled/save"]),
        ([.claimed(owner: "w", leaseUntil: start), .failed(failure), .completed, .cancelRequested],
         ["running/save", "failed/save", "failed/ignore", "failed/refuseFinished"]),
        ([.claimed(owner: "w", leaseUntil: start), .workerLost(nil), .claimed(owner: "w", leaseUntil: start), .ambiguous(failure)],
         ["running/save", "queued/save", "running/save", "ambiguous/save"]),
        ([.claimed(owner: "w", leaseUntil: start), .workerLost(.repeatable(stepID: "s")),
          .claimed(owner: "w", leaseUntil: start), .workerLost(nil),
          .claimed(owner: "w", leaseUntil: start), .workerLost(.repeatable(stepID: "s"))],
         ["running/save", "queued/save", "running/save", "queued/save", "running/save", "failed/save"]),
        ([.claimed(owner: "w", leaseUntil: start), .workerLost(nil), .claimed(owner: "w", leaseUntil: start), .progressSaved,
          .workerLost(nil), .claimed(owner: "w", leaseUntil: start), .workerLost(nil), .claimed(owner: "w", leaseUntil: start),
          .workerLost(nil), .claimed(owner: "w", leaseUntil: start), .workerLost(nil)],
         ["running/save", "queued/save", "running/save", "running/save", "queued/save", "running/save", "queued/save",
          "running/save", "queued/save", "running/save", "failed/save"]),
        ([.claimed(owner: "w", leaseUntil: start), .progressSaved], ["running/save", "running/save"]),
        ([.claimed(owner: "w", leaseUntil: start), .progressSaved, .progressSaved], ["running/save", "running/save", "running/ignore"]),
        ([.claimed(owner: "w", leaseUntil: start), .workerLost(.notRepeatable(stepID: "s"))],
         ["running/save", "ambiguous/save"]),
        ([.completed, .retryScheduled(notBefore: start), .abandoned(failure)],
         ["queued/ignore", "queued/ignore", "failed/save"]),
        ([.claimed(owner: "w", leaseUntil: start), .rateLimited(until: start), .claimed(owner: "w", leaseUntil: start), .completed],
         ["running/save", "waiting/save", "running/save", "succeeded/save"]),
        ([.claimed(owner: "w", leaseUntil: start), .rateLimited(until: start), .completed, .rateLimited(until: start), .cancelRequested],
         ["running/save", "waiting/save", "waiting/ignore", "waiting/ignore", "cancelled/save"]),
        ([.claimed(owner: "w", leaseUntil: start), .rateLimited(until: start), .abandoned(failure)],
         ["running/save", "waiting/save", "failed/save"]),
    ] as [([RunLifecycle.Event], [String])])
    func transcripts(events: [RunLifecycle.Event], expected: [String]) {
        #expect(transcript(events) == expected)
    }

    @Test("quarantine and interruption errors name the step and the code")
    func lostWorkerErrors() {
        var quarantined = RunLifecycle(createdAt: Self.start)
        for _ in 1...3 {
            quarantined.handle(.claimed(owner: "w", leaseUntil: Self.start), now: Self.start)
            quarantined.handle(.workerLost(.repeatable(stepID: "grow")), now: Self.start)
        }
        #expect(quarantined.status == .failed)
        #expect(quarantined.error?.code == "EQUARANTINED")
        #expect(quarantined.error?.stepID == "grow")
        var interrupted = RunLifecycle(createdAt: Self.start)
        interrupted.handle(.claimed(owner: "w", leaseUntil: Self.start), now: Self.start)
        interrupted.handle(.workerLost(.notRepeatable(stepID: "send")), now: Self.start)
        #expect(interrupted.error?.code == "EINTERRUPTED")
        var cancelled = RunLifecycle(createdAt: Self.start)
        cancelled.handle(.cancelRequested, now: Self.start)
        #expect(cancelled.error?.code == "ECANCELLED")
    }

    @Test("model: over random event sequences, what must hold always holds", arguments: 0..<100)
    func model(seed: UInt64) {
        var generator = EventPicker(seed: seed)
        var lifecycle = RunLifecycle(createdAt: Self.start)
        var now = Self.start
        let events: [RunLifecycle.Event] = [
            .claimed(owner: "w", leaseUntil: Self.start.addingTimeInterval(600)), .completed, .failed(Self.failure),
            .ambiguous(Self.failure), .retryScheduled(notBefore: Self.start.addingTimeInterval(30)),
            .postponed(notBefore: Self.start.addingTimeInterval(1)), .cancelRequested, .cancellationObserved, .workerLost(nil),
            .workerLost(.repeatable(stepID: "s")), .workerLost(.notRepeatable(stepID: "s")), .abandoned(Self.failure),
            .progressSaved, .leaseRenewed(until: Self.start.addingTimeInterval(900)),
            .takenOver(owner: "heir", leaseUntil: Self.start.addingTimeInterval(1200)),
        ]
        for _ in 0..<40 {
            now = now.addingTimeInterval(1)
            let before = lifecycle
            let event = events[Int(generator.next() % UInt64(events.count))]
            let action = lifecycle.handle(event, now: now)
            // A finished run never changes again.
            if before.status.isTerminal { #expect(lifecycle == before) }
            // `save` exactly when something changed; otherwise nothing did.
            #expect((action == .save) == (lifecycle != before), "\(before.status) \(event) → \(action)")
            // Only a running run is asked to stop; only a finished one refuses.
            if action == .requestCancellation { #expect(before.status == .running) }
            if action == .refuseFinished { #expect(before.status.isTerminal) }
            // The end time and the lease follow the status.
            #expect((lifecycle.finishedAt != nil) == lifecycle.status.isTerminal)
            #expect((lifecycle.leaseOwner != nil) == (lifecycle.status == .running))
            #expect((lifecycle.error != nil) == (lifecycle.status.isTerminal && lifecycle.status != .succeeded))
            // A run only runs after it was claimed, and keeps its first start.
            if lifecycle.status == .running { #expect(lifecycle.startedAt != nil) }
            if let started = before.startedAt { #expect(lifecycle.startedAt == started) }
            // Starts without progress never reach the quarantine bound without ending the run there.
            if lifecycle.status == .queued || lifecycle.status == .running {
                #expect(lifecycle.startsWithoutProgress <= RunLimits.quarantineAfterStarts)
            }
            if case .claimed = event, before.status == .queued {
                #expect(lifecycle.startsWithoutProgress == before.startsWithoutProgress + 1)
            }
        }
    }
}

/// Knuth's MMIX linear congruential generator: deterministic events for the model test.
struct EventPicker {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 33
    }
}
