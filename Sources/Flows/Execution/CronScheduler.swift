public import Foundation
public import Logging

/// Fires cron flows: each due time once, even across restarts and several instances (the fire is
/// recorded with its run in one transaction, only if later than the last), and after downtime at
/// most one catch-up fire: the latest missed due time.
public struct CronScheduler: Sendable {
    private let flows: any FlowStore
    private let runs: any RunStore
    private let now: @Sendable () -> Date
    private let makeRunID: @Sendable () -> String
    private let onEnqueued: @Sendable () -> Void
    private let logger: Logger

    public init(
        flows: any FlowStore, runs: any RunStore, now: @escaping @Sendable () -> Date,
        makeRunID: @escaping @Sendable () -> String, onEnqueued: @escaping @Sendable () -> Void = {}, logger: Logger
    ) {
        self.flows = flows
        self.runs = runs
        self.now = now
        self.makeRunID = makeRunID
        self.onEnqueued = onEnqueued
        self.logger = logger
    }

    /// Checks every second until cancelled.
    public func run() async {
        while !Task.isCancelled {
            _ = await tick()
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Fires every cron flow that is due now; returns the runs it queued.
    @discardableResult
    public func tick() async -> [Run] {
        let now = self.now()
        var fired: [Run] = []
        let cronFlows: [Flow]
        do {
            cronFlows = try await flows.cronFlows()
        } catch {
            logger.warning("reading cron flows failed", metadata: ["error.type": "\(type(of: error))"])
            return []
        }
        for flow in cronFlows {
            guard case .cron(let trigger) = flow.trigger, let zone = TimeZone(identifier: trigger.timeZone),
                let schedule = try? CronSchedule(parsing: trigger.expression, timeZone: zone)
            else { continue }
            // Never a due time from before the flow was last changed (edited, re-enabled).
            let lastFire = (try? await flows.lastCronFire(flowID: flow.id)) ?? nil
            let since = max(lastFire ?? flow.updatedAt, flow.updatedAt)
            guard let due = Self.latestDue(schedule, after: since, notAfter: now) else { continue }
            let run = Run(
                id: makeRunID(), workspaceID: flow.workspaceID, flowID: flow.id,
                trigger: TriggerPayload(kind: "cron", body: .object(["scheduledFor": .string(due.iso8601MillisecondsUTC)])),
                createdAt: now)
            do {
                if try await runs.enqueueCronFire(run, flowID: flow.id, dueAt: due) {
                    fired.append(run)
                }
            } catch {
                logger.warning("firing a cron flow failed", metadata: ["posthorn.flow.id": "\(flow.id)", "error.type": "\(type(of: error))"])
            }
        }
        if !fired.isEmpty { onEnqueued() }
        return fired
    }

    /// The latest due time in `(after, notAfter]`, or `nil`. Walks forward from `after`; after a
    /// long downtime with a dense schedule it restarts one day back, which still finds the latest.
    static func latestDue(_ schedule: CronSchedule, after: Date, notAfter: Date) -> Date? {
        var latest: Date?
        var cursor = after
        var steps = 0
        while let next = schedule.nextFire(after: cursor), next <= notAfter {
            latest = next
            cursor = next
            steps += 1
            if steps == 10_000 {
                let dayBack = notAfter.addingTimeInterval(-86_400)
                if cursor < dayBack { cursor = dayBack }
                steps = 0
            }
        }
        return latest
    }
}
