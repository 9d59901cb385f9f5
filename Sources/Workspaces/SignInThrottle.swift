public import Foundation
import Synchronization

/// Failed sign-ins in a sliding window, counted three ways: per account from one address (a
/// person mistyping, or one machine guessing), per address (one machine spraying accounts), and
/// per account from everywhere (many machines guessing one password). Past any limit a sign-in is
/// refused before the password is even checked, for as long as the oldest failure in the window
/// keeps it full. A success forgets its account's failures from that address.
///
/// The per-account limit over all addresses is ten times the per-address one: a stranger who
/// knows an email address cannot lock its owner out with five wrong passwords from elsewhere.
///
/// Kept in memory: guessing a password needs many attempts, and a restart every few failures is
/// not a way to make them (the process takes seconds to start). With several instances each counts
/// its own, which multiplies the limits by their number.
public final class SignInThrottle: Sendable {
    /// The window and the limits (defaults: 5 failures per account and address, 20 per address, 50
    /// per account, in 15 minutes).
    public struct Limits: Sendable, Hashable {
        public var window: TimeInterval = 15 * 60
        public var perAccountAndAddress = 5
        public var perAddress = 20
        public var perAccount = 50
        public init() {}
    }

    private let limits: Limits
    private let failures = Mutex<[String: [Date]]>([:])

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Starts an attempt: `nil` when it may go ahead — and then it already counts as a failure,
    /// so attempts sent in parallel cannot all pass the limit before any of them fails — or how
    /// long until another is allowed.
    public func begin(account: String, address: String, now: Date) -> TimeInterval? {
        failures.withLock { table in
            let keys = keys(account: account, address: address)
            let waits = keys.compactMap { key, limit in
                let recent = (table[key] ?? []).filter { now.timeIntervalSince($0) < limits.window }
                table[key] = recent.isEmpty ? nil : recent
                return recent.count >= limit ? limits.window - now.timeIntervalSince(recent[recent.count - limit]) : nil
            }
            if let wait = waits.max() { return wait }
            for (key, _) in keys { table[key, default: []].append(now) }
            // Bounded: an attacker spraying addresses or accounts cannot grow the table for ever.
            if table.count > 100_000 { table = table.filter { $0.value.contains { now.timeIntervalSince($0) < limits.window } } }
            return nil
        }
    }

    /// The attempt begun at `startedAt` succeeded: it is not a failure, and the account's earlier
    /// failures from that address are forgotten.
    public func succeeded(account: String, address: String, startedAt: Date) {
        failures.withLock { table in
            let keys = keys(account: account, address: address)
            table[keys[0].0] = nil
            for (key, _) in keys.dropFirst() {
                guard let index = table[key]?.lastIndex(of: startedAt) else { continue }
                table[key]?.remove(at: index)
                if table[key]?.isEmpty == true { table[key] = nil }
            }
        }
    }

    private func keys(account: String, address: String) -> [(String, Int)] {
        [
            ("pair:" + account + "\u{0}" + address, limits.perAccountAndAddress),
            ("address:" + address, limits.perAddress),
            ("account:" + account, limits.perAccount),
        ]
    }
}
