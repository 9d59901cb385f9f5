import Synchronization

/// Who may use a single database connection right now: any number of single statements together,
/// or one transaction alone.
///
/// A transaction on a shared connection is not isolated from the connection's other users: a
/// statement another task sends between `BEGIN` and `COMMIT` runs inside it, is rolled back with
/// it, and a second `BEGIN` fails outright. ``SQLStore`` therefore sends every statement through
/// the gate as ``ConnectionAccess/statement`` and runs each transaction as
/// ``ConnectionAccess/transaction``.
///
/// Grants are first come, first served: once a transaction waits, later statements queue behind
/// it, so a steady stream of reads cannot starve the group commit.
///
/// The bookkeeping is ``ConnectionGateState``, a pure state machine; this class only keeps it under
/// a lock and resumes the waiters it grants after releasing the lock.
final class ConnectionGate: Sendable {
    private let state = Mutex(ConnectionGateState<CheckedContinuation<Void, Never>>())

    /// Runs `body` once `access` is granted, and gives the access back when `body` ends.
    ///
    /// Waiting is not cancellable: a grant always follows within the time the statements and
    /// transactions ahead take, and a cancelled caller's `body` sees the cancellation anyway.
    func withAccess<Result>(
        _ access: ConnectionAccess,
        _ body: () async throws -> Result
    ) async throws -> Result {
        await withCheckedContinuation { continuation in
            let granted = state.withLock { $0.request(access, waiter: continuation) }
            if granted { continuation.resume() }
        }
        do {
            let result = try await body()
            release(access)
            return result
        } catch {
            release(access)
            throw error
        }
    }

    private func release(_ access: ConnectionAccess) {
        let granted = state.withLock { $0.release(access) }
        for waiter in granted { waiter.resume() }
    }
}

/// What a user of the connection asks the ``ConnectionGate`` for.
enum ConnectionAccess: Sendable {
    /// One statement; shares the connection with other statements.
    case statement
    /// `BEGIN` … `COMMIT`; has the connection alone.
    case transaction
}

/// The gate's bookkeeping, generic over what a waiter is so it can be tested without tasks.
struct ConnectionGateState<Waiter> {
    private enum Holders {
        case none
        case statements(Int)
        case transaction
    }

    private var holders = Holders.none
    /// Requests not yet granted, oldest first.
    private var waiting: [(access: ConnectionAccess, waiter: Waiter)] = []

    /// Records a request: `true` if it is granted at once, else `waiter` is returned by a later
    /// ``release(_:)``.
    mutating func request(_ access: ConnectionAccess, waiter: Waiter) -> Bool {
        if waiting.isEmpty && grant(access) { return true }
        waiting.append((access, waiter))
        return false
    }

    /// Gives back an access granted earlier; returns the waiters granted now, in request order.
    mutating func release(_ access: ConnectionAccess) -> [Waiter] {
        switch (holders, access) {
        case (.statements(let count), .statement):
            holders = count > 1 ? .statements(count - 1) : .none
        case (.transaction, .transaction):
            holders = .none
        case (.none, _), (.statements, .transaction), (.transaction, .statement):
            preconditionFailure("released a connection access that was not held")
        }
        var granted: [Waiter] = []
        while let next = waiting.first, grant(next.access) {
            granted.append(next.waiter)
            waiting.removeFirst()
        }
        return granted
    }

    /// Takes `access` if the current holders allow it.
    private mutating func grant(_ access: ConnectionAccess) -> Bool {
        switch (holders, access) {
        case (.none, .statement):
            holders = .statements(1)
        case (.statements(let count), .statement):
            holders = .statements(count + 1)
        case (.none, .transaction):
            holders = .transaction
        case (.statements, .transaction), (.transaction, .statement), (.transaction, .transaction):
            return false
        }
        return true
    }
}
