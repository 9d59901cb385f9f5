public import Foundation

/// Where flows live. SQL in `Storage`, ``InMemoryFlowStore`` for tests.
public protocol FlowStore: Sendable {
    /// Throws ``FlowStoreError/duplicateName`` when the workspace has a flow of that name.
    func insertFlow(_ flow: Flow) async throws
    func flow(id: String, workspaceID: String) async throws -> Flow?
    /// Any workspace's flow, for the executor (a run carries its workspace).
    func flow(id: String) async throws -> Flow?
    func flow(webhookID: String) async throws -> Flow?
    /// A workspace's flows by name.
    func flows(workspaceID: String) async throws -> [Flow]
    /// Replaces the stored flow whose version is `flow.version - 1`; `false` when the flow no
    /// longer exists, ``FlowStoreError/versionConflict`` when it was saved since that version.
    func updateFlow(_ flow: Flow) async throws -> Bool
    func deleteFlow(id: String, workspaceID: String) async throws -> Bool
    /// Every enabled cron flow of every workspace.
    func cronFlows() async throws -> [Flow]
    /// The last due time a cron flow fired for.
    func lastCronFire(flowID: String) async throws -> Date?
}

/// Where runs live. Every write is durable when it returns.
public protocol RunStore: Sendable {
    /// Inserts new runs and replaces existing ones, all in one transaction: the ``RunWriter``
    /// batches every concurrent write into one commit (group commit).
    ///
    /// A run of `updating` written `queued` (back in the queue for a retry) whose cancellation was
    /// requested (see ``requestCancellation(runID:workspaceID:now:)``) is stored `cancelled`
    /// instead, in the same transaction: no claim can take it in between. A request for a run
    /// written finished is discarded.
    ///
    /// A run of `updating` named in `owners` (run id → the ``LeaseToken`` of the claim its writer
    /// executes it under) is written only while the store holds it `running` under that very
    /// token: a worker that lost its lease (paused or cut off past it, and another took the run
    /// over — or it took the run again itself, under a new claim) cannot overwrite the new
    /// execution's progress. Such runs are left as they are and listed in
    /// ``RunWriteOutcome/refusedStale``. A run not named is written unconditionally.
    ///
    /// - Returns: which runs had a request, and what became of them; which were refused.
    @discardableResult
    func write(inserting: [Run], updating: [Run], owners: [String: String]) async throws -> RunWriteOutcome
    /// Stores the run of a cron fire and the fire itself atomically, only if `dueAt` is later than
    /// the flow's last fire: `false` means another instance fired it already.
    func enqueueCronFire(_ run: Run, flowID: String, dueAt: Date) async throws -> Bool
    /// Records what became of a step's email, per recipient (replacing an earlier record for the
    /// same address, compared without case), and inserts `starting` runs, in one transaction.
    /// Kept beside the run rather than in it: the run is not rewritten, so a run still executing
    /// keeps its progress and its later writes keep the deliveries. ``run(id:workspaceID:)``
    /// returns them on the step's ``StepRecord/delivery``.
    func recordDeliveries(_ deliveries: [StepRecord.Delivery], runID: String, stepID: String, inserting starting: [Run]) async throws
    /// Stores `run` as the one run of `key` for its flow, in one transaction with the key — or,
    /// when the flow already has a run for the key, stores nothing and says which (or that the
    /// key came with another body). Two requests racing with one key make one run.
    func insertRun(_ run: Run, idempotencyKey key: IdempotencyKey) async throws -> IdempotentInsert
    /// Forgets idempotency keys made before `cutoff`; returns how many.
    func deleteIdempotencyKeys(before cutoff: Date) async throws -> Int
    /// Takes due queued runs for a worker (see ``RunClaim``), marking them running under its
    /// owner until the lease ends. Two workers never get the same run.
    func claim(_ request: RunClaim) async throws -> [Run]
    /// Cancels a run of the workspace: a queued one (new, or waiting for a retry) ends `cancelled`
    /// at once; for a running one a request is stored that its worker sees at its next step
    /// boundary. `nil` when the workspace has no such run.
    func requestCancellation(runID: String, workspaceID: String, now: Date) async throws -> RunCancellation?
    /// Extends to `until` the lease of every run the worker `workerID` holds `running` (under any
    /// of its claims' ``LeaseToken``s); returns their ids (a run of the worker's missing from them
    /// was taken over: its lease had expired).
    func renewLeases(workerID: String, until: Date) async throws -> Set<String>
    /// Takes over, for the claim `owner` (a ``LeaseToken``) until `leaseUntil`, up to `limit` runs
    /// left `running` under a lease that expired by `expiredBy` (or under none): their worker died
    /// or lost touch. Two workers taking over at once never get the same run.
    /// `expiredBy: .distantFuture` takes every running run (an embedded instance's start: whatever
    /// ran belonged to its previous life). By id.
    func takeOver(owner: String, expiredBy: Date, leaseUntil: Date, limit: Int) async throws -> [Run]
    func run(id: String, workspaceID: String) async throws -> Run?
    /// A page of a workspace's runs, newest first, optionally for one flow and one status.
    func runs(workspaceID: String, flowID: String?, status: RunStatus?, limit: Int, before cursor: RunCursor?) async throws -> [Run]
    /// A page of the same order by position: the `limit` runs after the first `offset`, and how
    /// many runs match in all (the history's random access: a scroll to anywhere is one request).
    func runs(workspaceID: String, flowID: String?, status: RunStatus?, limit: Int, offset: Int) async throws -> (runs: [Run], total: Int)
    /// The newest run of each of these flows of the workspace that has one (the flows list's
    /// "last run"), without the runs' trigger and steps.
    func latestRuns(workspaceID: String, flowIDs: [String]) async throws -> [String: RunBrief]
    /// Deletes finished runs older than `cutoff`; returns how many.
    func deleteFinishedRuns(before cutoff: Date) async throws -> Int
    /// How many runs have each status (for tests, benchmarks and metrics).
    func countByStatus() async throws -> [RunStatus: Int]
}

extension RunStore {
    /// Inserts new runs and replaces existing ones unconditionally.
    @discardableResult
    public func write(inserting: [Run], updating: [Run]) async throws -> RunWriteOutcome {
        try await write(inserting: inserting, updating: updating, owners: [:])
    }

    /// Inserts new queued runs in one transaction.
    public func enqueue(_ runs: [Run]) async throws { try await write(inserting: runs, updating: []) }

    /// Writes one run's progress or end.
    public func save(_ run: Run) async throws { try await write(inserting: [], updating: [run]) }
}

/// What a write found about the cancellation requests of the runs it wrote.
public struct RunWriteOutcome: Sendable, Hashable {
    /// Runs written `running` with a pending request: each stops at its next step boundary.
    public var cancellationRequested: Set<String>
    /// Runs written `queued` with a request: stored `cancelled` instead, as returned here.
    public var cancelledInstead: [String: Run]
    /// Runs of an owner-checked write that the writer's claim no longer holds: not written.
    public var refusedStale: Set<String>

    public init(cancellationRequested: Set<String> = [], cancelledInstead: [String: Run] = [:], refusedStale: Set<String> = []) {
        self.cancellationRequested = cancellationRequested
        self.cancelledInstead = cancelledInstead
        self.refusedStale = refusedStale
    }

    /// The outcome for runs that have no request.
    public static let none = RunWriteOutcome()
}

/// Who holds a running run: a worker's id, `#`, and a number unique to one claim (or takeover) of
/// that worker. Writes are checked against the whole token, so an execution that lost its run
/// cannot write even when the same worker has claimed the run again since (two executions of one
/// run in one process, the older one stale); renewal goes by the worker's id, for all its claims.
public enum LeaseToken {
    /// The token of claim number `claim` of `workerID`.
    public static func make(workerID: String, claim: UInt64) -> String { "\(workerID)#\(claim)" }

    /// What every token of `workerID` begins with.
    public static func prefix(of workerID: String) -> String { workerID + "#" }
}

/// What a worker asks the store for.
///
/// Fair across workspaces: the runs are taken round robin over the workspaces that have due runs
/// (each workspace's first due run, then each one's second, …; within a workspace by due time, then
/// creation, then id; workspaces in the order of their first due run), and a workspace never has
/// more than ``perWorkspaceLimit`` runs under way in the worker, so one workspace whose sends hang
/// cannot take every slot while another workspace's runs wait.
public struct RunClaim: Sendable, Hashable {
    /// The most runs to take.
    public var limit: Int
    /// The claim's ``LeaseToken``, stored as the lease owner.
    public var owner: String
    public var now: Date
    public var leaseUntil: Date
    /// The most runs one workspace may have under way in the worker at once, these included.
    public var perWorkspaceLimit: Int
    /// The worker's runs under way, per workspace (the worker knows them without asking the
    /// database: one statement fewer on every claim).
    public var running: [String: Int]

    public init(
        limit: Int, owner: String, now: Date, leaseUntil: Date, perWorkspaceLimit: Int = .max, running: [String: Int] = [:]
    ) {
        self.limit = limit
        self.owner = owner
        self.now = now
        self.leaseUntil = leaseUntil
        self.perWorkspaceLimit = perWorkspaceLimit
        self.running = running
    }

    /// How many more runs `workspaceID` may take in this claim.
    public func share(of workspaceID: String) -> Int {
        Swift.max(0, Swift.min(perWorkspaceLimit - (running[workspaceID] ?? 0), limit))
    }

    /// Picks from `candidates` — each workspace's due runs, oldest first — the runs to take: round
    /// robin over workspaces, each up to its ``share(of:)``, at most ``limit`` in all. The stores
    /// share this choice.
    public func choose(_ candidates: [(workspaceID: String, dueRunIDs: [String])]) -> [String] {
        var queues = candidates.map { candidate in candidate.dueRunIDs.prefix(share(of: candidate.workspaceID))[...] }
        var chosen: [String] = []
        while chosen.count < limit {
            var tookAny = false
            for index in queues.indices where chosen.count < limit {
                guard let next = queues[index].popFirst() else { continue }
                chosen.append(next)
                tookAny = true
            }
            if !tookAny { break }
        }
        return chosen
    }
}

/// The answer to a cancellation.
public enum RunCancellation: Sendable, Hashable {
    /// The run was queued (or waiting for a retry) and is now cancelled.
    case cancelled(Run)
    /// The run is running; it ends `cancelled` at its next step boundary.
    case requested(Run)
    /// The run had already ended.
    case alreadyFinished(Run)
}

/// Where a page of runs ends: the last run's creation time and id.
public struct RunCursor: Sendable, Hashable {
    public var createdAt: Date
    public var id: String

    public init(createdAt: Date, id: String) {
        self.createdAt = createdAt
        self.id = id
    }

    /// `<milliseconds>_<id>`, opaque to clients.
    public var token: String { "\(Int64((createdAt.timeIntervalSince1970 * 1000).rounded()))_\(id)" }

    /// The latest instant a cursor may name: 9999-12-31T23:59:59.999Z, as milliseconds.
    static let latestMilliseconds: Int64 = 253_402_300_799_999

    /// Parses a token this API returned; `nil` for anything else. The time must lie between 1970
    /// and the year 9999 and the id be at most 64 characters: a cursor comes from the query string,
    /// and a number as large as `Int64.max` must not reach date arithmetic (it overflowed there).
    public init?(token: String) {
        guard let separator = token.firstIndex(of: "_"), let ms = Int64(token[..<separator]),
            (0...Self.latestMilliseconds).contains(ms)
        else { return nil }
        let id = String(token[token.index(after: separator)...])
        guard !id.isEmpty, id.utf8.count <= 64 else { return nil }
        self.init(createdAt: Date(timeIntervalSince1970: Double(ms) / 1000), id: id)
    }
}

/// A constraint the flow store enforces.
public enum FlowStoreError: Error, Sendable, Hashable {
    case duplicateName
    /// The stored flow is not the version the change was made from.
    case versionConflict
}

/// A run's id, status and times: what a list shows of it.
public struct RunBrief: Sendable, Hashable {
    public var id: String
    public var status: RunStatus
    public var createdAt: Date
    public var finishedAt: Date?

    public init(id: String, status: RunStatus, createdAt: Date, finishedAt: Date?) {
        self.id = id
        self.status = status
        self.createdAt = createdAt
        self.finishedAt = finishedAt
    }
}

/// A run the store refused to write.
public enum RunStoreError: Error, Sendable, Hashable {
    /// Part of the run cannot be stored (a value the encoder refuses); `reason` is safe to show.
    case unstorable(String)
}

/// A caller's `Idempotency-Key` for starting a run, bound to the SHA-256 of the body it came with.
public struct IdempotencyKey: Sendable, Hashable {
    /// As the caller sent it: 1–255 visible ASCII characters.
    public var key: String
    /// Lower-case hex SHA-256 of the raw request body.
    public var bodyDigest: String
    public var createdAt: Date

    public init(key: String, bodyDigest: String, createdAt: Date) {
        self.key = key
        self.bodyDigest = bodyDigest
        self.createdAt = createdAt
    }

    /// How long a key is kept at least (a retry within it never makes a second run).
    public static let retention: Duration = .seconds(48 * 3600)

    /// Whether `key` is acceptable: 1–255 characters, visible ASCII only.
    public static func isValid(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.count <= 255 && key.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }
}

/// What ``RunStore/insertRun(_:idempotencyKey:)`` did.
public enum IdempotentInsert: Sendable, Hashable {
    /// The run was stored, with the key.
    case inserted
    /// The flow already has a run for the key, made from the same body: that run's id.
    case replayed(runID: String)
    /// The key was used with another body: nothing stored.
    case conflict
}
