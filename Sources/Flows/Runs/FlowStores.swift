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
    /// `false` when the flow no longer exists.
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
    func write(inserting: [Run], updating: [Run]) async throws
    /// Stores the run of a cron fire and the fire itself atomically, only if `dueAt` is later than
    /// the flow's last fire: `false` means another instance fired it already.
    func enqueueCronFire(_ run: Run, flowID: String, dueAt: Date) async throws -> Bool
    /// Takes up to `limit` queued runs due by `now`, oldest first, marking them running under
    /// `owner` until `leaseUntil`. Two workers never get the same run.
    func claim(limit: Int, owner: String, now: Date, leaseUntil: Date) async throws -> [Run]
    /// Runs whose lease expired while running: their worker died.
    func abandoned(now: Date) async throws -> [Run]
    func run(id: String, workspaceID: String) async throws -> Run?
    /// A page of a workspace's runs, newest first, optionally for one flow and one status.
    func runs(workspaceID: String, flowID: String?, status: RunStatus?, limit: Int, before cursor: RunCursor?) async throws -> [Run]
    /// Deletes finished runs older than `cutoff`; returns how many.
    func deleteFinishedRuns(before cutoff: Date) async throws -> Int
    /// How many runs have each status (for tests, benchmarks and metrics).
    func countByStatus() async throws -> [RunStatus: Int]
}

extension RunStore {
    /// Inserts new queued runs in one transaction.
    public func enqueue(_ runs: [Run]) async throws { try await write(inserting: runs, updating: []) }

    /// Writes one run's progress or end.
    public func save(_ run: Run) async throws { try await write(inserting: [], updating: [run]) }
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

    public init?(token: String) {
        guard let separator = token.firstIndex(of: "_"), let ms = Int64(token[..<separator]) else { return nil }
        let id = String(token[token.index(after: separator)...])
        guard !id.isEmpty else { return nil }
        self.init(createdAt: Date(timeIntervalSince1970: Double(ms) / 1000), id: id)
    }
}

/// A constraint the flow store enforces.
public enum FlowStoreError: Error, Sendable, Hashable {
    case duplicateName
}
