import Synchronization

/// A wake-up flag with a timed wait: `fire()` before `wait` makes the next wait return at once.
///
/// Only a real wake-up sets the flag: the timer of a wait that ended early is cancelled and does
/// not fire. (It once did: every wait ended by a wake-up left a fire behind, so the next wait
/// returned at once, and the executor looked for runs in a loop for ever — a whole core while
/// idle.)
public final class WakeSignal: Sendable {
    private struct State {
        var fired = false
        var waiter: (id: UInt64, continuation: CheckedContinuation<Void, Never>)?
        /// A waiter whose wait was cancelled before it parked (it returns at once when it does).
        var cancelledWaiter: UInt64?
        var nextWaiterID: UInt64 = 0
    }

    private let state = Mutex(State())

    /// A signal that has not fired.
    public init() {}

    /// Wakes the waiter, or the next one to wait.
    public func fire() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter.continuation
            }
            state.fired = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns when fired, when `timeout` passes, or when the task is cancelled.
    func wait(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForFire() }
            // Elapsing ends the wait by finishing first; cancelled (the wait ended early), it
            // does nothing at all.
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Parks until ``fire()`` or until the task is cancelled.
    private func waitForFire() async {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiterID &+= 1
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.fired {
                        state.fired = false
                        return true
                    }
                    if state.cancelledWaiter == id { return true }
                    precondition(state.waiter == nil, "a WakeSignal has one waiter at a time")
                    state.waiter = (id, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let parked = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard let waiter = state.waiter, waiter.id == id else {
                    state.cancelledWaiter = id
                    return nil
                }
                state.waiter = nil
                return waiter.continuation
            }
            parked?.resume()
        }
    }
}
