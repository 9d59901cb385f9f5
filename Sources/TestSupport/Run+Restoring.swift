public import Flows
public import Foundation

extension Run {
    /// Sets the lifecycle fields as storage would restore them, for fixtures that need a run in a
    /// given state without walking it there. Arguments left out keep their values; for the
    /// optional fields, `.some(nil)` clears.
    public mutating func restore(
        status: RunStatus? = nil, error: RunError?? = nil, startedAt: Date?? = nil, finishedAt: Date?? = nil,
        notBefore: Date? = nil, leaseOwner: String?? = nil, leaseExpiresAt: Date?? = nil
    ) {
        self = Run(
            id: id, workspaceID: workspaceID, flowID: flowID, trigger: trigger, steps: steps, createdAt: createdAt,
            lifecycle: RunLifecycle(
                restoring: status ?? self.status, error: error ?? self.error, startedAt: startedAt ?? self.startedAt,
                finishedAt: finishedAt ?? self.finishedAt, notBefore: notBefore ?? self.notBefore,
                leaseOwner: leaseOwner ?? self.leaseOwner, leaseExpiresAt: leaseExpiresAt ?? self.leaseExpiresAt,
                startsWithoutProgress: lifecycle.startsWithoutProgress))
    }
}
