import Flows
import Foundation
import TestSupport
import Testing

/// What every ``Flows/RunStore`` must do, run against each ``StoreKind``: the SQL store behaves as
/// ``Flows/InMemoryRunStore`` does.
@Suite("RunStore contract")
struct RunStoreContractTests {
    // MARK: - Writing and reading

    @Test("a run is found by id in its workspace only, with every field intact", arguments: StoreKind.allCases)
    func lookup(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            let detailed = FlowFixture.detailedRun()
            let plain = FlowFixture.run("run_plain", workspaceID: "ws_2")
            try await stores.runs.enqueue([detailed, plain])

            #expect(try await stores.runs.run(id: "run_detailed", workspaceID: "ws_1") == detailed)
            #expect(try await stores.runs.run(id: "run_plain", workspaceID: "ws_2") == plain)
            #expect(try await stores.runs.run(id: "run_plain", workspaceID: "ws_1") == nil, "scoped to its workspace")
            #expect(try await stores.runs.run(id: "run_missing", workspaceID: "ws_1") == nil)
        }
    }

    @Test("an idempotency key makes one run per flow: the same body replays it, another body conflicts, racing requests make one", arguments: StoreKind.allCases)
    func idempotencyKeys(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            let key = IdempotencyKey(key: "order-1042", bodyDigest: "aa", createdAt: Fixture.date(1_000))
            #expect(try await stores.runs.insertRun(FlowFixture.run("run_1", flowID: "fl_1"), idempotencyKey: key) == .inserted)
            #expect(try await stores.runs.insertRun(FlowFixture.run("run_2", flowID: "fl_1"), idempotencyKey: key) == .replayed(runID: "run_1"))
            var other = key
            other.bodyDigest = "bb"
            #expect(try await stores.runs.insertRun(FlowFixture.run("run_3", flowID: "fl_1"), idempotencyKey: other) == .conflict)
            #expect(try await stores.runs.run(id: "run_2", workspaceID: "ws_1") == nil)
            #expect(try await stores.runs.run(id: "run_3", workspaceID: "ws_1") == nil)
            #expect(try await stores.runs.insertRun(FlowFixture.run("run_4", flowID: "fl_2"), idempotencyKey: key) == .inserted, "keys are per flow")

            let racing = IdempotencyKey(key: "retry-storm", bodyDigest: "cc", createdAt: Fixture.date(5_000))
            let outcomes = try await withThrowingTaskGroup(of: IdempotentInsert.self) { group in
                for index in 0..<12 {
                    group.addTask { try await stores.runs.insertRun(FlowFixture.run("run_race\(index)", flowID: "fl_1"), idempotencyKey: racing) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == .inserted }.count == 1)
            let replayedIDs = Set(outcomes.compactMap { if case .replayed(let id) = $0 { id } else { nil } })
            #expect(replayedIDs.count == 1 && outcomes.count == 12)
            #expect(try await stores.runs.runs(workspaceID: "ws_1", flowID: "fl_1", status: nil, limit: 100, before: nil).count == 2)

            #expect(try await stores.runs.deleteIdempotencyKeys(before: Fixture.date(2_000)) == 2)
            #expect(try await stores.runs.insertRun(FlowFixture.run("run_5", flowID: "fl_1"), idempotencyKey: key) == .inserted, "a forgotten key is new")
        }
    }

    @Test("an update replaces the whole run; within one write the later version wins", arguments: StoreKind.allCases)
    func updates(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            let queued = FlowFixture.run("run_1")
            try await stores.runs.enqueue([queued, FlowFixture.run("run_2")])

            var finished = FlowFixture.detailedRun("run_1")
            finished.restore(status: .succeeded)
            finished.restore(error: nil)
            try await stores.runs.save(finished)
            #expect(try await stores.runs.run(id: "run_1", workspaceID: "ws_1") == finished)

            var running = finished
            running.restore(status: .running)
            var ambiguous = finished
            ambiguous.restore(status: .ambiguous)
            try await stores.runs.write(inserting: [], updating: [running, ambiguous])
            #expect(try await stores.runs.run(id: "run_1", workspaceID: "ws_1")?.status == .ambiguous)

            let fresh = FlowFixture.run("run_3")
            var started = fresh
            started.restore(status: .running)
            try await stores.runs.write(inserting: [fresh], updating: [started])
            #expect(try await stores.runs.run(id: "run_3", workspaceID: "ws_1")?.status == .running, "inserts come first")
            #expect(try await stores.runs.run(id: "run_2", workspaceID: "ws_1") == FlowFixture.run("run_2"))
        }
    }

    @Test("an update of a run the store does not have stores it", arguments: StoreKind.allCases)
    func updateOfMissingRun(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            let run = FlowFixture.run("run_gone", status: .running)
            try await stores.runs.save(run)
            #expect(try await stores.runs.run(id: "run_gone", workspaceID: "ws_1") == run)
        }
    }

    @Test("a batch of a thousand inserts is one write that stores them all", arguments: StoreKind.allCases)
    func largeBatch(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            let runs = (0..<1_000).map { FlowFixture.run("run_\($0)", createdAt: 1_700_000_000_000 + Int64($0)) }
            let clock = ContinuousClock()
            let elapsed = try await clock.measure { try await stores.runs.enqueue(runs) }

            // A sanity bound for a debug build on a busy machine, not a performance assertion.
            #expect(elapsed < .seconds(2))
            #expect(try await stores.runs.countByStatus() == [.queued: 1_000])
            #expect(try await stores.runs.run(id: "run_999", workspaceID: "ws_1") == runs[999])
        }
    }

    // MARK: - Claiming

    @Test("a claim takes due queued runs oldest first and marks them running under a lease", arguments: StoreKind.allCases)
    func claim(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            let now = Fixture.date(1_700_000_100_000)
            let lease = Fixture.date(1_700_000_130_000)
            var retried = FlowFixture.run("run_retry", createdAt: 1_700_000_000_000, notBefore: 1_700_000_050_000)
            retried.restore(startedAt: Fixture.date(1_700_000_000_500))
            try await stores.runs.enqueue([
                FlowFixture.run("run_b", createdAt: 1_700_000_020_000),
                FlowFixture.run("run_a", createdAt: 1_700_000_020_000),
                FlowFixture.run("run_c", createdAt: 1_700_000_010_000),
                retried,
                FlowFixture.run("run_due_now", createdAt: 1_700_000_000_000, notBefore: 1_700_000_100_000),
                FlowFixture.run("run_later", createdAt: 1_700_000_000_000, notBefore: 1_700_000_100_001),
                FlowFixture.run("run_running", createdAt: 1_600_000_000_000, status: .running),
                FlowFixture.run("run_done", createdAt: 1_600_000_000_000, status: .succeeded),
            ])

            let first = try await stores.runs.claim(RunClaim(limit: 3, owner: "worker-1", now: now, leaseUntil: lease))
            #expect(first.map(\.id) == ["run_c", "run_a", "run_b"], "by not-before, then creation, then id")
            for run in first {
                #expect(run.status == .running)
                #expect(run.leaseOwner == "worker-1")
                #expect(run.leaseExpiresAt == lease)
                #expect(run.startedAt == now)
                #expect(try await stores.runs.run(id: run.id, workspaceID: "ws_1") == run)
            }

            let second = try await stores.runs.claim(RunClaim(limit: 10, owner: "worker-2", now: now, leaseUntil: lease))
            #expect(second.map(\.id) == ["run_retry", "run_due_now"])
            #expect(second.first?.startedAt == retried.startedAt, "a retried run keeps its first start")
            #expect(try await stores.runs.claim(RunClaim(limit: 10, owner: "worker-2", now: now, leaseUntil: lease)).isEmpty)
            #expect(try await stores.runs.claim(RunClaim(limit: 0, owner: "worker-2", now: .distantFuture, leaseUntil: lease)).isEmpty)
            #expect(try await stores.runs.run(id: "run_later", workspaceID: "ws_1")?.status == .queued)
        }
    }

    @Test("a waiting run (rate limit) is claimed like a queued one once its time comes, in due order, and is cancelled at once", arguments: StoreKind.allCases)
    func waitingRuns(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            let now = Fixture.date(1_700_000_100_000)
            let lease = Fixture.date(1_700_000_130_000)
            try await stores.runs.enqueue([
                FlowFixture.run("run_waits_due", createdAt: 1_700_000_000_000, notBefore: 1_700_000_090_000, status: .waiting),
                FlowFixture.run("run_queued", createdAt: 1_700_000_000_000, notBefore: 1_700_000_095_000),
                FlowFixture.run("run_waits_later", createdAt: 1_700_000_000_000, notBefore: 1_700_000_200_000, status: .waiting),
                FlowFixture.run("run_waits_cancel", createdAt: 1_700_000_000_000, notBefore: 1_700_000_300_000, status: .waiting),
            ])
            #expect(try await stores.runs.runs(workspaceID: "ws_1", flowID: nil, status: .waiting, limit: 10, before: nil).count == 3)
            let claimed = try await stores.runs.claim(RunClaim(limit: 10, owner: "worker-1", now: now, leaseUntil: lease))
            #expect(claimed.map(\.id) == ["run_waits_due", "run_queued"])
            #expect(claimed.allSatisfy { $0.status == .running })
            #expect(try await stores.runs.run(id: "run_waits_later", workspaceID: "ws_1")?.waitingUntil == Fixture.date(1_700_000_200_000))
            guard case .cancelled(let cancelled)? = try await stores.runs.requestCancellation(runID: "run_waits_cancel", workspaceID: "ws_1", now: now)
            else { Issue.record("a waiting run is cancelled at once"); return }
            #expect(cancelled.status == .cancelled)
            #expect(try await stores.runs.countByStatus()[.waiting] == 1)
        }
    }

    @Test("concurrent claims never return the same run, and together take every run", arguments: StoreKind.allCases)
    func concurrentClaims(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            let ids = (0..<300).map { "run_\($0)" }
            try await stores.runs.enqueue(ids.enumerated().map { FlowFixture.run($1, createdAt: 1_700_000_000_000 + Int64($0 % 7)) })
            let runs = stores.runs
            let now = Fixture.date(1_800_000_000_000)

            let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        var mine: [String] = []
                        while true {
                            let batch = try await runs.claim(RunClaim(limit: 7, owner: "worker-\(worker)", now: now, leaseUntil: now))
                            if batch.isEmpty { return mine }
                            mine += batch.map(\.id)
                        }
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }

            #expect(claimed.count == ids.count)
            #expect(Set(claimed) == Set(ids))
            #expect(try await runs.countByStatus() == [.running: ids.count])
        }
    }

    @Test("writes, claims and cron fires racing on one store all land", arguments: StoreKind.allCases)
    func concurrentMixedWork(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            try await stores.flows.insertFlow(FlowFixture.flow("fl_cron", trigger: FlowFixture.cron()))
            let runs = stores.runs
            let now = Fixture.date(1_800_000_000_000)

            let claimed = try await withThrowingTaskGroup(of: Int.self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        for batch in 0..<10 {
                            let base = (writer * 10 + batch) * 20
                            try await runs.enqueue((base..<base + 20).map { FlowFixture.run("run_\($0)") })
                        }
                        return 0
                    }
                }
                group.addTask {
                    for minute in 1...20 {
                        let run = FlowFixture.run("run_cron_\(minute)", flowID: "fl_cron")
                        _ = try await runs.enqueueCronFire(run, flowID: "fl_cron", dueAt: Fixture.date(1_700_000_000_000 + Int64(minute) * 60_000))
                    }
                    return 0
                }
                group.addTask {
                    var total = 0
                    for _ in 0..<30 {
                        total += try await runs.claim(RunClaim(limit: 25, owner: "worker", now: now, leaseUntil: now)).count
                        await Task.yield()
                    }
                    return total
                }
                return try await group.reduce(0, +)
            }

            let counts = try await runs.countByStatus()
            #expect(counts.values.reduce(0, +) == 800 + 20)
            #expect(counts[.running, default: 0] == claimed)
        }
    }

    // MARK: - Cron fires

    @Test("a cron fire stores its run only for a due time later than the last fire", arguments: StoreKind.allCases)
    func cronFires(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            try await stores.flows.insertFlow(FlowFixture.flow("fl_cron", trigger: FlowFixture.cron()))
            let nine = Fixture.date(1_700_000_000_000)
            let ten = Fixture.date(1_700_003_600_000)
            #expect(try await stores.flows.lastCronFire(flowID: "fl_cron") == nil)

            #expect(try await stores.runs.enqueueCronFire(FlowFixture.run("run_1", flowID: "fl_cron"), flowID: "fl_cron", dueAt: nine))
            #expect(try await stores.runs.enqueueCronFire(FlowFixture.run("run_2", flowID: "fl_cron"), flowID: "fl_cron", dueAt: nine) == false)
            #expect(try await stores.flows.lastCronFire(flowID: "fl_cron") == nine)

            #expect(try await stores.runs.enqueueCronFire(FlowFixture.run("run_3", flowID: "fl_cron"), flowID: "fl_cron", dueAt: ten))
            let earlier = Fixture.date(1_699_999_999_999)
            #expect(try await stores.runs.enqueueCronFire(FlowFixture.run("run_4", flowID: "fl_cron"), flowID: "fl_cron", dueAt: earlier) == false)
            #expect(try await stores.flows.lastCronFire(flowID: "fl_cron") == ten)

            let stored = try await stores.runs.runs(workspaceID: "ws_1", flowID: "fl_cron", status: nil, limit: 10, before: nil)
            #expect(Set(stored.map(\.id)) == ["run_1", "run_3"])
        }
    }

    @Test("of concurrent fires for one due time, exactly one stores a run", arguments: StoreKind.allCases)
    func concurrentCronFires(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            try await stores.flows.insertFlow(FlowFixture.flow("fl_cron", trigger: FlowFixture.cron()))
            let runs = stores.runs
            let due = Fixture.date(1_700_000_000_000)
            let fired = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<8 {
                    group.addTask { try await runs.enqueueCronFire(FlowFixture.run("run_\(index)"), flowID: "fl_cron", dueAt: due) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(fired.filter { $0 }.count == 1)
            #expect(try await runs.countByStatus() == [.queued: 1])
        }
    }

    // MARK: - Recovery

    /// A run `running` under `owner`'s lease until `leaseExpiresAt` (ms).
    private static func running(_ id: String, owner: String? = "worker", leaseExpiresAt: Int64?) -> Run {
        var run = FlowFixture.run(id, status: .running)
        run.restore(leaseOwner: leaseExpiresAt == nil ? nil : owner)
        run.restore(leaseExpiresAt: leaseExpiresAt.map(Fixture.date))
        return run
    }

    @Test("a takeover takes the running runs whose lease expired (or that have none) for the new owner, by id, up to its limit", arguments: StoreKind.allCases)
    func takeOver(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            let now = Fixture.date(1_700_000_100_000)
            var expiredButDone = Self.running("run_done", leaseExpiresAt: 1_700_000_000_000)
            expiredButDone.restore(status: .succeeded)
            try await stores.runs.enqueue([
                Self.running("run_c", leaseExpiresAt: 1_700_000_099_999),
                Self.running("run_a", leaseExpiresAt: 1_700_000_100_000),
                Self.running("run_live", leaseExpiresAt: 1_700_000_100_001),
                Self.running("run_b", leaseExpiresAt: nil),
                expiredButDone,
                FlowFixture.run("run_queued"),
            ])
            let until = Fixture.date(1_700_000_130_000)

            let first = try await stores.runs.takeOver(owner: "heir", expiredBy: now, leaseUntil: until, limit: 2)
            #expect(first.map(\.id) == ["run_a", "run_b"])
            #expect(first.allSatisfy { $0.leaseOwner == "heir" && $0.leaseExpiresAt == until && $0.status == .running })
            let rest = try await stores.runs.takeOver(owner: "heir", expiredBy: now, leaseUntil: until, limit: 10)
            #expect(rest.map(\.id) == ["run_c"], "taken runs now hold a live lease")
            #expect(try await stores.runs.run(id: "run_c", workspaceID: "ws_1")?.leaseOwner == "heir")
            #expect(try await stores.runs.takeOver(owner: "other", expiredBy: now, leaseUntil: until, limit: 10).isEmpty)

            let everything = try await stores.runs.takeOver(owner: "restart", expiredBy: .distantFuture, leaseUntil: until, limit: 10)
            #expect(everything.map(\.id) == ["run_a", "run_b", "run_c", "run_live"], "an embedded start takes every running run")
        }
    }

    @Test("two workers taking over at once never get the same run, and together take every expired one", arguments: StoreKind.allCases)
    func concurrentTakeOver(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            try await stores.runs.enqueue((0..<60).map { Self.running("run_\($0)", leaseExpiresAt: 1_000) })
            let taken = try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var mine: [String] = []
                        while true {
                            let batch = try await stores.runs.takeOver(
                                owner: "w\(worker)", expiredBy: Fixture.date(2_000), leaseUntil: Fixture.date(9_000), limit: 5)
                            if batch.isEmpty { return mine }
                            mine += batch.map(\.id)
                        }
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(taken.count == 60 && Set(taken).count == 60)
        }
    }

    @Test("renewing extends the worker's running leases under all its claims only, never shortens one, and names what it still holds", arguments: StoreKind.allCases)
    func renewLeases(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            var finished = Self.running("run_done", owner: "me#1", leaseExpiresAt: 1_000)
            finished.restore(status: .succeeded)
            try await stores.runs.enqueue([
                Self.running("run_mine", owner: "me#1", leaseExpiresAt: 1_000),
                Self.running("run_later", owner: "me#2", leaseExpiresAt: 1_000),
                Self.running("run_far", owner: "me#1", leaseExpiresAt: 50_000),
                Self.running("run_theirs", owner: "them#1", leaseExpiresAt: 1_000),
                Self.running("run_similar", owner: "me2#1", leaseExpiresAt: 1_000),
                finished,
            ])
            #expect(try await stores.runs.renewLeases(workerID: "me", until: Fixture.date(10_000)) == ["run_mine", "run_later", "run_far"])
            #expect(try await stores.runs.run(id: "run_mine", workspaceID: "ws_1")?.leaseExpiresAt == Fixture.date(10_000))
            #expect(try await stores.runs.run(id: "run_far", workspaceID: "ws_1")?.leaseExpiresAt == Fixture.date(50_000))
            #expect(try await stores.runs.run(id: "run_theirs", workspaceID: "ws_1")?.leaseExpiresAt == Fixture.date(1_000))
            #expect(try await stores.runs.takeOver(owner: "them#2", expiredBy: Fixture.date(5_000), leaseUntil: Fixture.date(60_000), limit: 10)
                .map(\.id) == ["run_similar", "run_theirs"], "a renewed lease is not taken over")
        }
    }

    @Test("a claim's write lands only while that claim holds the run: after a takeover, or once the same worker claimed it again, it is refused and changes nothing", arguments: StoreKind.allCases)
    func ownerCheckedWrites(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            try await stores.runs.enqueue([Self.running("run_1", owner: "old#1", leaseExpiresAt: 1_000), FlowFixture.run("run_2")])
            var progress = Self.running("run_1", owner: "old#1", leaseExpiresAt: 1_000)
            progress.handle(.progressSaved, now: Fixture.date(900))
            #expect(try await stores.runs.write(inserting: [], updating: [progress], owners: ["run_1": "old#1"]).refusedStale.isEmpty)

            let taken = try await stores.runs.takeOver(owner: "new#1", expiredBy: Fixture.date(2_000), leaseUntil: Fixture.date(9_000), limit: 10)
            #expect(taken.map(\.id) == ["run_1"])
            var late = progress
            late.handle(.completed, now: Fixture.date(2_500))
            var queued = FlowFixture.run("run_2")
            queued.handle(.claimed(owner: "old#1", leaseUntil: Fixture.date(3_000)), now: Fixture.date(2_500))
            let outcome = try await stores.runs.write(
                inserting: [FlowFixture.run("run_3")], updating: [late, queued], owners: ["run_1": "old#1", "run_2": "old#1"])
            #expect(outcome.refusedStale == ["run_1", "run_2"], "a run another holds, and one this claim never held")
            let stored = try await stores.runs.run(id: "run_1", workspaceID: "ws_1")
            #expect(stored?.status == .running && stored?.leaseOwner == "new#1", "the new owner's run is untouched")
            #expect(try await stores.runs.run(id: "run_2", workspaceID: "ws_1")?.status == .queued)
            #expect(try await stores.runs.run(id: "run_3", workspaceID: "ws_1") != nil, "inserts in the same write land")

            // The new owner puts the run back in the queue; the old worker claims it again under a
            // new token. Its first execution's late write is still refused; the new one's lands.
            var requeued = taken[0]
            requeued.handle(.workerLost(nil), now: Fixture.date(3_000))
            #expect(try await stores.runs.write(inserting: [], updating: [requeued], owners: ["run_1": "new#1"]).refusedStale.isEmpty)
            let again = try await stores.runs.claim(RunClaim(limit: 5, owner: "old#2", now: Fixture.date(3_100), leaseUntil: Fixture.date(9_000)))
            #expect(again.map(\.id).contains("run_1"))
            #expect(try await stores.runs.write(inserting: [], updating: [late], owners: ["run_1": "old#1"]).refusedStale == ["run_1"],
                    "the same worker's stale execution cannot write over its new one")
            var ended = try #require(again.first { $0.id == "run_1" })
            ended.handle(.completed, now: Fixture.date(3_500))
            #expect(try await stores.runs.write(inserting: [], updating: [ended], owners: ["run_1": "old#2"]).refusedStale.isEmpty)
            #expect(try await stores.runs.run(id: "run_1", workspaceID: "ws_1")?.status == .succeeded)
            #expect(try await stores.runs.write(inserting: [], updating: [ended], owners: ["run_1": "old#2"]).refusedStale == ["run_1"],
                    "a finished run is no one's")
        }
    }

    // MARK: - History

    @Test("a workspace's runs page newest first, the cursor a strict upper bound", arguments: StoreKind.allCases)
    func paging(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            var all: [Run] = []
            for index in 0..<23 {
                // Pairs share a creation time, so the id breaks ties.
                all.append(FlowFixture.run(String(format: "run_%02d", index), createdAt: 1_700_000_000_000 + Int64(index / 2)))
            }
            try await stores.runs.enqueue(all.shuffled())
            try await stores.runs.enqueue([FlowFixture.run("run_foreign", workspaceID: "ws_2", createdAt: 1_800_000_000_000)])
            let expected = all.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }

            var pages: [[Run]] = []
            var cursor: RunCursor?
            repeat {
                let page = try await stores.runs.runs(workspaceID: "ws_1", flowID: nil, status: nil, limit: 5, before: cursor)
                pages.append(page)
                // Through the opaque token, as the API hands the cursor out and takes it back.
                cursor = page.last.flatMap { RunCursor(token: RunCursor(createdAt: $0.createdAt, id: $0.id).token) }
            } while cursor != nil

            #expect(pages.map(\.count) == [5, 5, 5, 5, 3, 0])
            #expect(pages.flatMap { $0 } == expected)
            #expect(try await stores.runs.runs(workspaceID: "ws_1", flowID: nil, status: nil, limit: 0, before: nil).isEmpty)
        }
    }

    @Test("a page by position: the same order as the cursor's, any window at once, with the total of the filter", arguments: StoreKind.allCases)
    func pagingByOffset(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            var all: [Run] = []
            for index in 0..<23 {
                all.append(FlowFixture.run(
                    String(format: "run_%02d", index), flowID: index % 3 == 0 ? "fl_a" : "fl_b",
                    createdAt: 1_700_000_000_000 + Int64(index / 2), status: index % 2 == 0 ? .succeeded : .failed))
            }
            try await stores.runs.enqueue(all.shuffled())
            try await stores.runs.enqueue([FlowFixture.run("run_foreign", workspaceID: "ws_2", createdAt: 1_800_000_000_000)])
            let expected = all.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }

            let middle = try await stores.runs.runs(workspaceID: "ws_1", flowID: nil, status: nil, limit: 5, offset: 10)
            #expect(middle.total == 23 && middle.runs == Array(expected[10..<15]))
            let tail = try await stores.runs.runs(workspaceID: "ws_1", flowID: nil, status: nil, limit: 5, offset: 20)
            #expect(tail.runs == Array(expected[20...]))
            let beyond = try await stores.runs.runs(workspaceID: "ws_1", flowID: nil, status: nil, limit: 5, offset: 40)
            #expect(beyond.runs.isEmpty && beyond.total == 23)
            let failedOfB = try await stores.runs.runs(workspaceID: "ws_1", flowID: "fl_b", status: .failed, limit: 50, offset: 1)
            let wanted = expected.filter { $0.flowID == "fl_b" && $0.status == .failed }
            #expect(failedOfB.total == wanted.count && failedOfB.runs == Array(wanted.dropFirst()))
            #expect(try await stores.runs.runs(workspaceID: "ws_2", flowID: nil, status: nil, limit: 5, offset: 0).total == 1)
        }
    }

    /// Regression: the page by position read its count and rows in a transaction that bypassed the
    /// store's connection gate, so on SQLite two overlapping reads (or a read beside a write) failed
    /// with "cannot start a transaction within a transaction" — and runs being created failed too.
    @Test("pages by position read while others read and runs are being created: nothing fails", arguments: StoreKind.allCases)
    func offsetUnderConcurrency(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            try await stores.runs.enqueue((0..<50).map { FlowFixture.run(String(format: "run_%03d", $0), createdAt: 1_700_000_000_000 + Int64($0)) })
            try await withThrowingTaskGroup(of: Void.self) { group in
                for reader in 0..<4 {
                    group.addTask {
                        for turn in 0..<25 {
                            let page = try await stores.runs.runs(
                                workspaceID: "ws_1", flowID: nil, status: nil, limit: 7, offset: (reader * 11 + turn) % 60)
                            #expect(page.total >= 50)
                        }
                    }
                }
                group.addTask {
                    for index in 50..<80 {
                        try await stores.runs.enqueue([FlowFixture.run(String(format: "run_%03d", index), createdAt: 1_700_000_000_000 + Int64(index))])
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await stores.runs.runs(workspaceID: "ws_1", flowID: nil, status: nil, limit: 1, offset: 0).total == 80)
        }
    }

    @Test("the history filters by flow and by status", arguments: StoreKind.allCases)
    func filters(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            let runs = [
                FlowFixture.run("run_1", flowID: "fl_a", createdAt: 1_000, status: .succeeded),
                FlowFixture.run("run_2", flowID: "fl_b", createdAt: 2_000, status: .failed),
                FlowFixture.run("run_3", flowID: "fl_a", createdAt: 3_000, status: .failed),
                FlowFixture.run("run_4", flowID: "fl_a", createdAt: 4_000, status: .queued),
                FlowFixture.run("run_5", workspaceID: "ws_2", flowID: "fl_a", createdAt: 5_000, status: .failed),
            ]
            try await stores.runs.enqueue(runs)
            func ids(flowID: String?, status: RunStatus?, before cursor: RunCursor? = nil) async throws -> [String] {
                try await stores.runs.runs(workspaceID: "ws_1", flowID: flowID, status: status, limit: 10, before: cursor).map(\.id)
            }

            #expect(try await ids(flowID: "fl_a", status: nil) == ["run_4", "run_3", "run_1"])
            #expect(try await ids(flowID: nil, status: .failed) == ["run_3", "run_2"])
            #expect(try await ids(flowID: "fl_a", status: .failed) == ["run_3"])
            #expect(try await ids(flowID: "fl_b", status: .succeeded).isEmpty)
            #expect(try await ids(flowID: "fl_a", status: nil, before: RunCursor(createdAt: Fixture.date(3_000), id: "run_3")) == ["run_1"])
        }
    }

    // MARK: - Retention and counts

    @Test("retention deletes only finished runs that ended before the cutoff", arguments: StoreKind.allCases)
    func retention(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            func run(_ id: String, workspaceID: String = "ws_1", status: RunStatus, createdAt: Int64, finishedAt: Int64?) -> Run {
                var run = FlowFixture.run(id, workspaceID: workspaceID, createdAt: createdAt, status: status)
                run.restore(finishedAt: finishedAt.map(Fixture.date))
                return run
            }
            try await stores.runs.enqueue([
                run("run_old_ok", status: .succeeded, createdAt: 1_000, finishedAt: 4_999),
                run("run_old_failed", status: .failed, createdAt: 1_000, finishedAt: 2_000),
                run("run_old_ambiguous", status: .ambiguous, createdAt: 1_000, finishedAt: nil),
                run("run_at_cutoff", status: .succeeded, createdAt: 1_000, finishedAt: 5_000),
                run("run_recent", status: .succeeded, createdAt: 1_000, finishedAt: 9_000),
                run("run_old_queued", status: .queued, createdAt: 1_000, finishedAt: nil),
                run("run_old_running", status: .running, createdAt: 1_000, finishedAt: nil),
                run("run_other_workspace", workspaceID: "ws_2", status: .failed, createdAt: 1_000, finishedAt: 1_000),
            ])

            #expect(try await stores.runs.deleteFinishedRuns(before: Fixture.date(5_000)) == 4)
            let left = try await stores.runs.runs(workspaceID: "ws_1", flowID: nil, status: nil, limit: 100, before: nil)
            #expect(Set(left.map(\.id)) == ["run_at_cutoff", "run_recent", "run_old_queued", "run_old_running"])
            #expect(try await stores.runs.deleteFinishedRuns(before: Fixture.date(5_000)) == 0)
        }
    }

    @Test("counts by status cover every run and leave out statuses without runs", arguments: StoreKind.allCases)
    func counts(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            #expect(try await stores.runs.countByStatus().isEmpty)
            try await stores.runs.enqueue([
                FlowFixture.run("run_1"), FlowFixture.run("run_2"), FlowFixture.run("run_3", status: .failed),
                FlowFixture.run("run_4", workspaceID: "ws_2", status: .ambiguous),
            ])
            #expect(try await stores.runs.countByStatus() == [.queued: 2, .failed: 1, .ambiguous: 1])
        }
    }
}
