public import Foundation

/// A run's life as a pure state machine: the one place where a run's status, its start and end
/// times, its lease, its retry time and its final error change.
///
/// Everything that moves a run — the executor claiming it, the processor finishing or requeuing
/// it, recovery after a crash, a person cancelling it — feeds an ``Event`` and acts on the
/// returned ``Action``; no other code assigns a status. The steps' records are the processor's;
/// this machine sees only what a step's outcome means for the run.
///
/// ```
///            claimed                 completed / failed / ambiguous
///  queued ───────────▶ running ───────────────────────────────────▶ succeeded | failed | ambiguous
///    ▲  │                 │ retryScheduled, postponed, workerLost(repeatable)
///    │  │                 ▼
///    │  │              queued (notBefore later)
///    │  └─ cancelRequested / cancellationObserved ─▶ cancelled
///    └──── running ─ cancellationObserved (at a step boundary) ─▶ cancelled
///
///  running ─ rateLimited ─▶ waiting (notBefore = the reserved time): claimed, cancelled and
///  abandoned like queued
/// ```
public struct RunLifecycle: Sendable, Hashable {
    public private(set) var status: RunStatus
    /// Why the run failed, is ambiguous, or was cancelled.
    public private(set) var error: RunError?
    /// When a worker first took it.
    public private(set) var startedAt: Date?
    public private(set) var finishedAt: Date?
    /// A queued run is not claimed before this (backoff between attempts).
    public private(set) var notBefore: Date
    /// The worker holding it while running, and until when (crash recovery takes over after).
    public private(set) var leaseOwner: String?
    public private(set) var leaseExpiresAt: Date?
    /// How often a worker took the run since its progress was last saved. The claim stores it
    /// (no extra write), a saved checkpoint or retry resets it; a run that a worker took this many
    /// times without the server surviving to save anything (``RunLimits/quarantineAfterStarts``)
    /// is set aside, not started again.
    public private(set) var startsWithoutProgress: Int

    /// A new run: queued, due at once.
    public init(createdAt: Date) {
        status = .queued
        notBefore = createdAt
        startsWithoutProgress = 0
    }

    /// A run as storage kept it.
    public init(
        restoring status: RunStatus, error: RunError?, startedAt: Date?, finishedAt: Date?, notBefore: Date,
        leaseOwner: String?, leaseExpiresAt: Date?, startsWithoutProgress: Int = 0
    ) {
        self.startsWithoutProgress = startsWithoutProgress
        self.status = status
        self.error = error
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.notBefore = notBefore
        self.leaseOwner = leaseOwner
        self.leaseExpiresAt = leaseExpiresAt
    }

    /// What happened to the run.
    public enum Event: Sendable, Hashable {
        /// A worker took the due run, holding it until `leaseUntil`.
        case claimed(owner: String, leaseUntil: Date)
        /// The worker saved the run's progress (a checkpoint between steps).
        case progressSaved
        /// The worker renewed its leases: a write of the running run must not shorten the lease
        /// the store already extended (another worker would take over a live run).
        case leaseRenewed(until: Date)
        /// Another worker took the running run over, its holder's lease having expired; it
        /// recovers the run next (``workerLost(_:)``).
        case takenOver(owner: String, leaseUntil: Date)
        /// Every step ran (or failed with `onError: continue`).
        case completed
        /// A step failed for good (or used up its attempts) and the run stops.
        case failed(RunError)
        /// A step's effect is unknown (a drop after an email's final dot).
        case ambiguous(RunError)
        /// A step failed transiently: the run waits and resumes at that step at `notBefore`.
        case retryScheduled(notBefore: Date)
        /// A rate limit holds the step about to start: the run waits, holding no worker, until `until`.
        case rateLimited(until: Date)
        /// The worker could not start the run now (the store did not answer): try at `notBefore`.
        case postponed(notBefore: Date)
        /// A person asked for the run to stop.
        case cancelRequested
        /// At a step boundary, the worker found a cancellation request stored for the run.
        case cancellationObserved
        /// The worker holding the run died (found at start, or by its expired lease). What was
        /// under way decides what becomes of the run.
        case workerLost(StepUnderWay?)
        /// The run cannot go on whatever its steps do (the store refuses to write its history).
        case abandoned(RunError)
    }

    /// The step a lost worker was running (its record says so), or the one the run would resume at.
    public enum StepUnderWay: Sendable, Hashable {
        /// Running it again is harmless.
        case repeatable(stepID: String)
        /// It may have done its work (an email sent): it must not run again.
        case notRepeatable(stepID: String)
    }

    /// What the driver does next.
    public enum Action: Sendable, Hashable {
        /// The run changed: write it.
        case save
        /// The run is under way in a worker: store a request it will see at its next step boundary.
        case requestCancellation
        /// The run has already ended; there is nothing to cancel.
        case refuseFinished
        /// The event does not apply to the run as it is (a late or duplicate report): change nothing.
        case ignore
    }

    /// Applies `event` at `now`.
    public mutating func handle(_ event: Event, now: Date) -> Action {
        switch (status, event) {
        case (.queued, .claimed(let owner, let leaseUntil)), (.waiting, .claimed(let owner, let leaseUntil)):
            status = .running
            startedAt = startedAt ?? now
            startsWithoutProgress += 1
            hold(owner: owner, until: leaseUntil)
            return .save

        case (.running, .progressSaved):
            guard startsWithoutProgress != 0 else { return .ignore }
            startsWithoutProgress = 0
            return .save
        case (.running, .leaseRenewed(let until)):
            guard let owner = leaseOwner, until > (leaseExpiresAt ?? .distantPast) else { return .ignore }
            hold(owner: owner, until: until)
            return .save
        case (.running, .takenOver(let owner, let until)):
            guard owner != leaseOwner || until != leaseExpiresAt else { return .ignore }
            hold(owner: owner, until: until)
            return .save

        case (.queued, .cancelRequested), (.queued, .cancellationObserved), (.running, .cancellationObserved),
            (.waiting, .cancelRequested), (.waiting, .cancellationObserved):
            end(.cancelled, RunError(code: "ECANCELLED", message: "Cancelled on request"), now: now)
            return .save

        case (.running, .cancelRequested):
            return .requestCancellation

        case (.running, .completed):
            end(.succeeded, nil, now: now)
            return .save
        case (.running, .failed(let error)), (.running, .abandoned(let error)), (.queued, .abandoned(let error)),
            (.waiting, .abandoned(let error)):
            end(.failed, error, now: now)
            return .save
        case (.running, .ambiguous(let error)):
            end(.ambiguous, error, now: now)
            return .save

        case (.running, .retryScheduled(let at)):
            startsWithoutProgress = 0
            requeue(at: at)
            return .save
        case (.running, .postponed(let at)):
            requeue(at: at)
            return .save
        case (.running, .rateLimited(let until)):
            startsWithoutProgress = 0
            requeue(at: until)
            status = .waiting
            return .save

        case (.running, .workerLost(nil)), (.running, .workerLost(.repeatable)):
            guard startsWithoutProgress >= RunLimits.quarantineAfterStarts else {
                requeue(at: now)
                return .save
            }
            var stepID: String?
            if case .repeatable(let id)? = event.stepUnderWay { stepID = id }
            end(.failed, RunError(
                code: "EQUARANTINED",
                message: "The server stopped \(startsWithoutProgress) times while this run was under way"
                    + (stepID.map { " (at step \($0))" } ?? "")
                    + " before it could save any progress; the run was set aside so it cannot stop the server again",
                stepID: stepID), now: now)
            return .save
        case (.running, .workerLost(.notRepeatable(let stepID))):
            end(.ambiguous, RunError(
                code: "EINTERRUPTED",
                message: "The server stopped while step \(stepID) was running; it may or may not have completed",
                stepID: stepID), now: now)
            return .save

        case (.succeeded, .cancelRequested), (.failed, .cancelRequested), (.ambiguous, .cancelRequested),
            (.cancelled, .cancelRequested):
            return .refuseFinished

        case (.queued, .completed), (.queued, .failed), (.queued, .ambiguous), (.queued, .retryScheduled),
            (.queued, .postponed), (.queued, .workerLost), (.queued, .progressSaved), (.queued, .rateLimited),
            (.queued, .leaseRenewed), (.waiting, .leaseRenewed), (.queued, .takenOver), (.waiting, .takenOver), (.waiting, .completed), (.waiting, .failed), (.waiting, .ambiguous), (.waiting, .retryScheduled),
            (.waiting, .postponed), (.waiting, .workerLost), (.waiting, .progressSaved), (.waiting, .rateLimited),
            (.running, .claimed),
            (.succeeded, _), (.failed, _), (.ambiguous, _), (.cancelled, _):
            return .ignore
        }
    }

    /// Drops the error's details (the run's history could not be stored with them).
    mutating func clearErrorDetails() { error?.details = nil }

    private mutating func hold(owner: String, until: Date) {
        leaseOwner = owner
        leaseExpiresAt = until
    }

    private mutating func requeue(at date: Date) {
        status = .queued
        notBefore = date
        leaseOwner = nil
        leaseExpiresAt = nil
    }

    private mutating func end(_ final: RunStatus, _ error: RunError?, now: Date) {
        status = final
        self.error = error
        finishedAt = now
        leaseOwner = nil
        leaseExpiresAt = nil
    }
}

extension RunLifecycle.Event {
    /// The step a ``workerLost(_:)`` event names.
    var stepUnderWay: RunLifecycle.StepUnderWay? {
        if case .workerLost(let step) = self { return step }
        return nil
    }
}
