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
    private let onEnqueued: @Sendable ([Run]) -> Void
    private let logger: Logger

    public init(
        flows: any FlowStore, runs: any RunStore, now: @escaping @Sendable () -> Date,
        makeRunID: @escaping @Sendable () -> String, onEnqueued: @escaping @Sendable ([Run]) -> Void = { _ in }, logger: Logger
    ) {
        self.flows = flows
        self.runs = runs
        self.now = now
        self.makeRunID = makeRunID
        self.onEnqueued = onEnqueued
        self.logger = logger
    }

    /// The longest the scheduler sleeps without looking at the flows again: a cron flow created by
    /// another process (the CLI) on the same database is noticed within this time.
    public static let maximumSleep: Duration = .seconds(60)

    /// Fires due flows until cancelled, sleeping in between until the next due time of any cron
    /// flow (at most ``maximumSleep``) or until `wake` fires (a cron flow was created or changed).
    public func run(wake: WakeSignal = WakeSignal()) async {
        while !Task.isCancelled {
            let (_, nextDue) = await fire()
            let delay = nextDue.map { Self.duration(until: $0, from: now()) } ?? Self.maximumSleep
            await wake.wait(timeout: min(max(delay, .milliseconds(10)), Self.maximumSleep))
        }
    }

    /// Fires every cron flow that is due now; returns the runs it queued.
    @discardableResult
    public func tick() async -> [Run] {
        await fire().fired
    }

    /// Fires what is due, and says when the next flow falls due (`nil`: no cron flow).
    func fire() async -> (fired: [Run], nextDue: Date?) {
        let now = self.now()
        var fired: [Run] = []
        var nextDue: Date?
        let cronFlows: [Flow]
        do {
            cronFlows = try await flows.cronFlows()
        } catch {
            logger.warning("reading cron flows failed", metadata: ["error.type": "\(type(of: error))"])
            return ([], now.addingTimeInterval(1))
        }
        for flow in cronFlows {
            guard case .cron(let trigger) = flow.trigger, let zone = TimeZone(identifier: trigger.timeZone),
                let schedule = try? CronSchedule(parsing: trigger.expression, timeZone: zone)
            else { continue }
            if let next = schedule.nextFire(after: now) { nextDue = min(nextDue ?? next, next) }
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
                nextDue = now.addingTimeInterval(1)
            }
        }
        if !fired.isEmpty { onEnqueued(fired) }
        return (fired, nextDue)
    }

    private static func duration(until date: Date, from now: Date) -> Duration {
        let seconds = date.timeIntervalSince(now)
        guard seconds > 0 else { return .zero }
        return .milliseconds(Int64(min(seconds, 86_400) * 1000) + 1)
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
