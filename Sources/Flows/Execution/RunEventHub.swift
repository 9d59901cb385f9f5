public import Foundation
import Synchronization

/// Tells live listeners (the web app's `EventSource`) when a run is stored: queued, a step
/// finished, ended. In process, best effort: a listener that reads too slowly misses the oldest
/// events (it refetches the run it shows on the next one), and nothing is kept for a listener that
/// connects later (it reads the history first).
///
/// Events come from the one place every run change goes through, the ``RunWriter``'s commit
/// (group commits publish their whole batch at once), plus the few changes made in the store
/// directly (a cancelled queued run, a cron fire), which their callers publish.
public final class RunEventHub: Sendable {
    /// What a listener learns of a run: its summary and each step's status, never parameters,
    /// outputs or the trigger's body.
    public struct Event: Sendable, Hashable {
        public var runID: String
        public var workspaceID: String
        public var flowID: String
        public var status: RunStatus
        public var triggerKind: String
        public var error: RunError?
        public var createdAt: Date
        public var startedAt: Date?
        public var finishedAt: Date?
        public var waitingUntil: Date?
        public var waitingReason: String?
        public var steps: [StepStatus]

        /// A step's id and status.
        public struct StepStatus: Sendable, Hashable {
            public var id: String
            public var status: String
        }

        public init(_ run: Run) {
            runID = run.id
            workspaceID = run.workspaceID
            flowID = run.flowID
            status = run.status
            triggerKind = run.trigger.kind
            error = run.error
            createdAt = run.createdAt
            startedAt = run.startedAt
            finishedAt = run.finishedAt
            waitingUntil = run.waitingUntil
            waitingReason = run.waitingReason
            steps = run.steps.map { StepStatus(id: $0.stepID, status: $0.status.rawValue) }
        }
    }

    /// Why ``subscribe(workspaceID:flowID:)`` refused.
    public enum SubscribeError: Error, Sendable {
        /// The workspace has ``maximumPerWorkspace`` listeners already.
        case tooMany
        /// The server is stopping.
        case closed
    }

    private struct Listener {
        var workspaceID: String
        var flowID: String?
        var continuation: AsyncStream<Event>.Continuation
    }

    private struct State {
        var listeners: [UInt64: Listener] = [:]
        var nextID: UInt64 = 0
        var isClosed = false
    }

    /// Listeners one workspace may have open at once.
    public let maximumPerWorkspace: Int
    /// Events a slow listener's buffer keeps (the newest).
    public let bufferSize: Int
    private let state = Mutex(State())

    public init(maximumPerWorkspace: Int = 64, bufferSize: Int = 256) {
        self.maximumPerWorkspace = maximumPerWorkspace
        self.bufferSize = bufferSize
    }

    /// A stream of the workspace's run events (of one flow when `flowID` is given). It ends when
    /// the caller stops reading it (its task is cancelled) or the hub is closed.
    public func subscribe(workspaceID: String, flowID: String?) throws(SubscribeError) -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(bufferSize))
        let id: UInt64 = try state.withLock { (state) throws(SubscribeError) -> UInt64 in
            guard !state.isClosed else { throw .closed }
            guard state.listeners.values.filter({ $0.workspaceID == workspaceID }).count < maximumPerWorkspace else { throw .tooMany }
            state.nextID += 1
            state.listeners[state.nextID] = Listener(workspaceID: workspaceID, flowID: flowID, continuation: continuation)
            return state.nextID
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.listeners.removeValue(forKey: id) }
        }
        return stream
    }

    /// Tells the listeners of these runs' workspaces (and flows).
    public func publish(_ runs: [Run]) {
        guard !runs.isEmpty else { return }
        let listeners = state.withLock { Array($0.listeners.values) }
        guard !listeners.isEmpty else { return }
        for run in runs {
            let event = Event(run)
            for listener in listeners where listener.workspaceID == run.workspaceID && (listener.flowID ?? run.flowID) == run.flowID {
                listener.continuation.yield(event)
            }
        }
    }

    /// Ends every stream and refuses new ones: the server is stopping, and an open stream would
    /// hold its graceful shutdown.
    public func close() {
        let listeners = state.withLock { state in
            state.isClosed = true
            return Array(state.listeners.values)
        }
        for listener in listeners { listener.continuation.finish() }
    }

    /// The workspaces among `workspaceIDs` that have a listener now.
    public func listenedTo(_ workspaceIDs: Set<String>) -> Set<String> {
        state.withLock { state in Set(state.listeners.values.map(\.workspaceID)).intersection(workspaceIDs) }
    }

    /// Listeners open now, for tests and metrics.
    public var listenerCount: Int { state.withLock { $0.listeners.count } }
}
