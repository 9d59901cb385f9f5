import Flows
import Foundation
import MIME
import SMTPCore
import Workspaces

extension SendSMTPEmailNode {
    /// Asks the rate gate whether this send may go now, when its credential has limits, its
    /// workspace a cap, or the credential is backed off: a send over a limit throws
    /// ``NodeError/Disposition/waiting`` with its reserved time (`ERATELIMIT`), one larger than a
    /// whole window fails for good (`ELIMIT`). Returns whether the gate counts the send (then it
    /// is told when the server answered).
    func admit(recipients: Int, credential: SMTPCredential, context: NodeContext) async throws(NodeError) -> Bool {
        guard let rateGate else { return false }
        let cap: RateLimits?
        do {
            cap = try await workspaces?.workspace(id: context.workspaceID)?.limits
        } catch {
            throw NodeError(code: "ESTORE", message: "The workspace's sending cap could not be read", disposition: .transient)
        }
        guard credential.limits != nil || cap != nil || rateGate.isBackedOff(credential.id) else { return false }
        let cost = { (limits: RateLimits) in limits.counts == .messages ? 1 : recipients }
        let limits = credential.limits ?? RateLimits()
        var holders = [RateGate.Holder(id: credential.id, limits: limits, cost: cost(limits))]
        if let cap { holders.append(.workspace(context.workspaceID, limits: cap, cost: cost(cap))) }
        let admission: RateGate.Admission
        do {
            admission = try await rateGate.admit(holders, key: Self.rateKey(context))
        } catch {
            throw NodeError(code: "ESTORE", message: "The rate limits could not be checked", disposition: .transient)
        }
        switch admission {
        case .go:
            return credential.limits != nil || cap != nil
        case .wait(let until, let limit, let byWorkspace):
            throw Self.waiting(until: until, limit: limit, limits: byWorkspace ? cap ?? limits : limits, workspace: byWorkspace, credentialID: credential.id)
        case .never(let limit, let byWorkspace):
            let window = byWorkspace ? cap ?? limits : limits
            let unit = window.counts == .messages ? "messages" : "recipients"
            throw NodeError(
                code: "ELIMIT",
                message: "\(byWorkspace ? "workspace." : "")limits.\(limit): This message counts \(cost(window)) \(unit), more than the \(byWorkspace ? "workspace" : "credential") allows in a whole window (\(Self.describe(limit, window))); it can never be sent within it",
                disposition: .permanent,
                details: .object(["limit": .string(limit), "credentialId": .string(credential.id), "workspace": .bool(byWorkspace)]))
        }
    }

    /// The key of a send in the gate: its run, step and attempt (a wait keeps the attempt).
    static func rateKey(_ context: NodeContext) -> String { "\(context.runID)/\(context.stepID)/\(context.attempt)" }

    /// The error that makes the run wait until `until` for `limit`.
    static func waiting(until: Date, limit: String, limits: RateLimits, workspace: Bool = false, credentialID: String) -> NodeError {
        let reason = limit == "backoff"
            ? "The provider asked to slow down; this credential's sends wait"
            : "Waiting for the \(workspace ? "workspace's sending cap" : "credential's limit") of \(describe(limit, limits))"
        return NodeError(
            code: "ERATELIMIT",
            message: "\(reason) until \(until.formatted(.iso8601))",
            disposition: .waiting,
            details: .object([
                "limit": .string(limit), "until": .string(until.formatted(.iso8601)), "credentialId": .string(credentialID),
                "workspace": .bool(workspace),
            ]),
            notBefore: until)
    }

    /// "10 messages per minute".
    static func describe(_ limit: String, _ limits: RateLimits) -> String {
        let unit = limits.counts == .messages ? "messages" : "recipients"
        let (value, per): (Int?, String) = switch limit {
        case "perSecond": (limits.perSecond, "second")
        case "perMinute": (limits.perMinute, "minute")
        case "perHour": (limits.perHour, "hour")
        case "perDay": (limits.perDay, "day")
        default: (nil, limit)
        }
        return value.map { "\($0) \($0 == 1 ? String(unit.dropLast()) : unit) per \(per)" } ?? limit
    }

    /// After a send: the gate counts it from the server's answer; a throttling reply backs the
    /// credential off and the step waits for the back-off (the same attempt: nothing was
    /// delivered); a success ends any back-off.
    func settleRate(_ failure: SMTPError?, credential: SMTPCredential, rateKey: String?) async -> NodeError? {
        guard let rateGate else { return nil }
        if let rateKey { try? await rateGate.sent(key: rateKey) }
        guard let failure else {
            if rateGate.isBackedOff(credential.id) { await rateGate.succeeded(credentialID: credential.id) }
            return nil
        }
        guard failure.disposition == .transient, let reply = failure.reply, reply.isThrottling,
            let until = try? await rateGate.throttled(credentialID: credential.id)
        else { return nil }
        var error = Self.waiting(until: until, limit: "backoff", limits: credential.limits ?? RateLimits(), credentialID: credential.id)
        error.message = "The provider is throttling this credential (\(reply.code) \(reply.text)); its sends wait until \(until.formatted(.iso8601))"
        return error
    }
}
