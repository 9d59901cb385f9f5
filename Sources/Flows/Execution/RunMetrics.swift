public import CoreMetrics
import Foundation

/// The flow engine's metrics, created once with bounded labels: a run's status, a step's node type
/// (only the registered types) and outcome — never a run, flow or workspace id.
///
/// - `posthorn_runs_claimed_total`: runs a worker took (a retry counts again).
/// - `posthorn_runs_finished_total{status}`: runs that ended: succeeded, failed, ambiguous, cancelled.
/// - `posthorn_run_duration_seconds{status}`: from the trigger to the end.
/// - `posthorn_step_duration_seconds{type,outcome}`: each step attempt that ended in an execution
///   (`outcome`: succeeded, failed, retrying, ambiguous).
/// - `posthorn_runs_waited_total{limit}`: times a run began waiting for a rate limit (`perSecond`,
///   `perMinute`, `perHour`, `perDay`, or the provider's `backoff`).
/// - `posthorn_runs_executing`: runs under way in this process.
/// - `posthorn_runs_taken_over_total`: running runs this worker took over from one whose lease
///   expired (another instance died or lost touch; at an embedded start, the previous life's).
/// - `posthorn_run_writes_refused_total`: writes of this worker refused because it no longer held
///   the run's lease (another took it over); the outcome here was dropped.
/// - `posthorn_lease_renewal_failures_total`: lease renewals that failed (the database did not
///   answer); past a lease's length without one, `/readyz` says unavailable.
public struct RunMetrics: Sendable {
    private let claimed: Counter
    private let takenOver: Counter
    private let refused: Counter
    private let renewalFailures: Counter
    private let finished: [RunStatus: Counter]
    private let durations: [RunStatus: CoreMetrics.Timer]
    private let executing: Gauge
    private let waited: [String: Counter]
    /// The limits a waiting run's step names (its error's `details.limit`).
    public static let waitLimits = ["perSecond", "perMinute", "perHour", "perDay", "backoff"]
    private let factory: any MetricsFactory
    private let nodeTypes: Set<String>

    /// Metrics for the node types of `registry`, through `factory`.
    public init(factory: any MetricsFactory, nodeTypes: [String]) {
        self.factory = factory
        self.nodeTypes = Set(nodeTypes)
        claimed = Counter(label: "posthorn_runs_claimed_total", factory: factory)
        takenOver = Counter(label: "posthorn_runs_taken_over_total", factory: factory)
        refused = Counter(label: "posthorn_run_writes_refused_total", factory: factory)
        renewalFailures = Counter(label: "posthorn_lease_renewal_failures_total", factory: factory)
        var finished: [RunStatus: Counter] = [:]
        var durations: [RunStatus: CoreMetrics.Timer] = [:]
        for status in RunStatus.allCases where status.isTerminal {
            finished[status] = Counter(label: "posthorn_runs_finished_total", dimensions: [("status", status.rawValue)], factory: factory)
            durations[status] = CoreMetrics.Timer(label: "posthorn_run_duration_seconds", dimensions: [("status", status.rawValue)], factory: factory)
        }
        self.finished = finished
        self.durations = durations
        executing = Gauge(label: "posthorn_runs_executing", factory: factory)
        waited = Dictionary(uniqueKeysWithValues: Self.waitLimits.map { limit in
            (limit, Counter(label: "posthorn_runs_waited_total", dimensions: [("limit", limit)], factory: factory))
        })
    }

    func runsClaimed(_ count: Int) {
        if count > 0 { claimed.increment(by: Int64(count)) }
    }

    func runsTakenOver(_ count: Int) {
        if count > 0 { takenOver.increment(by: Int64(count)) }
    }

    func writeRefused() {
        refused.increment()
    }

    func renewalFailed() {
        renewalFailures.increment()
    }

    func executing(_ count: Int) {
        executing.record(count)
    }

    /// Records what an execution that began at `began` did to `run`: the steps that ended in it,
    /// and the run's end when it ended.
    func executed(_ run: Run, began: Date) {
        for record in run.steps where record.startedAt >= began {
            guard let end = record.finishedAt else { continue }
            let outcome: String
            switch record.status {
            case .succeeded: outcome = "succeeded"
            case .failed: outcome = "failed"
            case .retrying: outcome = "retrying"
            case .ambiguous: outcome = "ambiguous"
            case .running, .waiting: continue
            }
            let type = nodeTypes.contains(record.type) ? record.type : "unknown"
            CoreMetrics.Timer(label: "posthorn_step_duration_seconds", dimensions: [("type", type), ("outcome", outcome)], factory: factory)
                .recordNanoseconds(Self.nanoseconds(from: record.startedAt, to: end))
        }
        if run.status == .waiting, case .object(let details)? = run.steps.last(where: { $0.status == .waiting })?.error?.details,
            case .string(let limit)? = details["limit"] {
            waited[limit]?.increment()
        }
        guard run.isFinished, let end = run.finishedAt else { return }
        finished[run.status]?.increment()
        durations[run.status]?.recordNanoseconds(Self.nanoseconds(from: run.createdAt, to: end))
    }

    private static func nanoseconds(from start: Date, to end: Date) -> Int64 {
        Int64(max(0, min(end.timeIntervalSince(start), 1e9)) * 1e9)
    }
}
