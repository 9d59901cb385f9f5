public import Flows
import SMTP
import SMTPCore
public import Workspaces
import Secrets

extension SendSMTPEmailNode {
    /// An OAuth credential's current access token; `EAUTH` with the hint "Reconnect this
    /// credential" when its sign-in was refused, `ECREDENTIAL` when this server cannot refresh it.
    func accessToken(for credential: SMTPCredential) async throws(NodeError) -> Secret {
        guard let oauth else {
            throw NodeError(
                code: "ECREDENTIAL", message: "credential: OAuth sign-in is not set up on this server", disposition: .permanent)
        }
        do {
            return try await oauth.accessToken(for: credential)
        } catch {
            throw Self.nodeError(error)
        }
    }

    static func nodeError(_ error: OAuthTokenError) -> NodeError {
        switch error {
        case .needsReconnect:
            NodeError(
                code: SMTPError.Code.auth.rawValue, message: "credential: \(error)", disposition: .permanent,
                details: .object(["hint": .string(OAuthTokenError.reconnectHint), "needsReconnect": .bool(true)]))
        case .unavailable:
            NodeError(code: SMTPError.Code.auth.rawValue, message: "credential: \(error)", disposition: .transient,
                      details: .object(["hint": .null]))
        case .refused:
            NodeError(code: SMTPError.Code.auth.rawValue, message: "credential: \(error)", disposition: .permanent,
                      details: .object(["hint": .null]))
        }
    }

    /// `error` as the step's error, with the OAuth hint in place of the App Password advice.
    static func nodeError(_ error: SMTPError, oauth: Bool) -> NodeError {
        var failure = nodeError(error)
        if oauth, error.code == .auth, case .object(var details)? = failure.details {
            details["hint"] = .string(OAuthTokenError.tokenRefusedHint)
            failure.details = .object(details)
        }
        return failure
    }
}
