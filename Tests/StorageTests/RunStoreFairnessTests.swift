import Flows
import Foundation
import TestSupport
import Testing

/// The claim's fairness and the cancellation requests, on every store (the SQL store behaves as the
/// in-memory one does).
@Suite("RunStore contract: fair claims and cancellation")
struct RunStoreFairnessTests {
    static let now = Fixture.date(1_700_000_100_000)
    static let lease = Fixture.date(1_700_000_400_000)

    @Test("claims go round robin over workspaces, each up to the per-workspace limit counting the worker's runs under way", arguments: StoreKind.allCases)
    func roundRobin(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            var runs = (0..<5).map { FlowFixture.run("run_a\($0)", workspaceID: "ws_1", createdAt: 1_700_000_000_000 + Int64($0)) }
            runs += (0..<2).map { FlowFixture.run("run_b\($0)", workspaceID: "ws_2", createdAt: 1_700_000_050_000 + Int64($0)) }
            try await stores.runs.enqueue(runs)

            let first = try await stores.runs.claim(RunClaim(
                limit: 3, owner: "w", now: Self.now, leaseUntil: Self.lease, perWorkspaceLimit: 3, running: ["ws_1": 1]))
            #expect(first.map(\.id) == ["run_a0", "run_b0", "run_a1"], "ws_1's backlog does not hold ws_2 back")
            #expect(first.allSatisfy { $0.status == .running && $0.leaseOwner == "w" && $0.lifecycle.startsWithoutProgress == 1 })
            let second = try await stores.runs.claim(RunClaim(
                limit: 10, owner: "w", now: Self.now, leaseUntil: Self.lease, perWorkspaceLimit: 3, running: ["ws_1": 3, "ws_2": 1]))
            #expect(second.map(\.id) == ["run_b1"], "ws_1 has 3 under way (one from before): its share is used")
            let single = try await stores.runs.claim(RunClaim(
                limit: 2, owner: "w", now: Self.now, leaseUntil: Self.lease, perWorkspaceLimit: 3, running: ["ws_1": 0]))
            #expect(single.map(\.id) == ["run_a2", "run_a3"], "one workspace waiting: up to its share, oldest first")
            #expect(try await stores.runs.countByStatus()[.queued] == 1)
        }
    }

    @Test("a queued run is cancelled at once; a running one gets a request its next write reports; a finished one refuses", arguments: StoreKind.allCases)
    func cancellation(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            try await stores.runs.enqueue([FlowFixture.run("run_q"), FlowFixture.run("run_r")])
            guard case .cancelled(let cancelled)? = try await stores.runs.requestCancellation(runID: "run_q", workspaceID: "ws_1", now: Self.now)
            else {
                Issue.record("a queued run is cancelled at once")
                return
            }
            #expect(cancelled.status == .cancelled)
            #expect(cancelled.finishedAt == Self.now)
            #expect(cancelled.error?.code == "ECANCELLED")
            #expect(try await stores.runs.run(id: "run_q", workspaceID: "ws_1") == cancelled)
            #expect(try await stores.runs.claim(RunClaim(limit: 10, owner: "w", now: Self.now, leaseUntil: Self.lease)).map(\.id) == ["run_r"])

            guard case .requested(let running)? = try await stores.runs.requestCancellation(runID: "run_r", workspaceID: "ws_1", now: Self.now)
            else {
                Issue.record("a running run gets a request")
                return
            }
            #expect(running.status == .running)
            #expect(try await stores.runs.write(inserting: [], updating: [running]).cancellationRequested == ["run_r"],
                    "the worker's next write sees it")
            var finished = running
            finished.handle(.completed, now: Self.now)
            #expect(try await stores.runs.write(inserting: [], updating: [finished]) == .none, "a run written finished drops its request")
            guard case .alreadyFinished? = try await stores.runs.requestCancellation(runID: "run_r", workspaceID: "ws_1", now: Self.now) else {
                Issue.record("a finished run refuses")
                return
            }
            #expect(try await stores.runs.requestCancellation(runID: "run_r", workspaceID: "ws_2", now: Self.now) == nil, "scoped to its workspace")
        }
    }

    @Test("a run written back to the queue while its cancellation is requested is stored cancelled, never claimable", arguments: StoreKind.allCases)
    func requeueMeetsCancellation(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            try await stores.runs.enqueue([FlowFixture.run("run_r")])
            let claimed = try #require(try await stores.runs.claim(RunClaim(limit: 1, owner: "w", now: Self.now, leaseUntil: Self.lease)).first)
            guard case .requested? = try await stores.runs.requestCancellation(runID: "run_r", workspaceID: "ws_1", now: Self.now) else {
                Issue.record("a running run gets a request")
                return
            }
            // The worker's attempt failed transiently: it writes the run back to the queue.
            var requeued = claimed
            requeued.handle(.retryScheduled(notBefore: Self.now), now: Self.now)
            let outcome = try await stores.runs.write(inserting: [], updating: [requeued])
            let cancelled = try #require(outcome.cancelledInstead["run_r"])
            #expect(cancelled.status == .cancelled)
            #expect(outcome.cancellationRequested.isEmpty)
            #expect(try await stores.runs.run(id: "run_r", workspaceID: "ws_1")?.status == .cancelled)
            #expect(try await stores.runs.claim(RunClaim(limit: 5, owner: "w", now: Self.now, leaseUntil: Self.lease)).isEmpty)
        }
    }
}
