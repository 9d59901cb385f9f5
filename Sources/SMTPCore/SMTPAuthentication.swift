import Secrets

// MARK: - AUTH as a sub-machine (RFC 4954)
//
// The client machine hands the AUTH exchange to this one while it is in its authenticating state:
// it chooses the mechanism, answers each 334 challenge, and says when the exchange succeeded or
// failed. It knows nothing of the rest of the session.

/// One SASL exchange over SMTP AUTH.
public struct SMTPAuthentication: Sendable {
    /// What the client machine does next.
    public enum Step: Sendable {
        /// Send this command and wait for the reply.
        case send(SMTPCommand)
        /// The server accepted the credentials (235).
        case authenticated
        /// Authentication failed: `message` and the reply, if any, for the session's error.
        case failed(String, SMTPReply?, SMTPError.Disposition)
    }

    private enum Expecting: Sendable {
        case finalReply
        case plainChallenge
        case loginUsernamePrompt
        case loginPasswordPrompt
        case cramChallenge
        /// XOAUTH2 reported an error as a 334 with JSON; the empty response asks for the final 5xx.
        case xoauth2FinalAfterError
    }

    /// The chosen mechanism.
    public let mechanism: SASLMechanism
    private let credentials: SMTPCredentials
    private var expecting: Expecting

    /// Starts an exchange with the strongest mechanism both sides support; `nil` when there is
    /// none (the caller fails the session, naming what the server offered).
    public static func start(
        credentials: SMTPCredentials, offered: Set<String>
    ) -> (SMTPAuthentication, SMTPCommand)? {
        guard let mechanism = SASLMechanism.preferred(for: credentials, offered: offered) else { return nil }
        let command: SMTPCommand
        let expecting: Expecting
        switch (mechanism, credentials) {
        case (.plain, .password(let username, let password)):
            command = .auth(mechanism: "PLAIN", initialResponse: SASLPayload.plain(username: username, password: password))
            expecting = .plainChallenge
        case (.login, .password):
            command = .auth(mechanism: "LOGIN", initialResponse: nil)
            expecting = .loginUsernamePrompt
        case (.cramMD5, .password):
            command = .auth(mechanism: "CRAM-MD5", initialResponse: nil)
            expecting = .cramChallenge
        case (.xoauth2, .oauth2(let username, let token)):
            command = .auth(mechanism: "XOAUTH2", initialResponse: SASLPayload.xoauth2(username: username, token: token))
            expecting = .finalReply
        case (.plain, .oauth2), (.login, .oauth2), (.cramMD5, .oauth2), (.xoauth2, .password):
            preconditionFailure("SASLMechanism.preferred returned a mechanism for the wrong credential kind")
        }
        return (SMTPAuthentication(mechanism: mechanism, credentials: credentials, expecting: expecting), command)
    }

    private init(mechanism: SASLMechanism, credentials: SMTPCredentials, expecting: Expecting) {
        self.mechanism = mechanism
        self.credentials = credentials
        self.expecting = expecting
    }

    /// The server's reply to the last AUTH line.
    public mutating func replyReceived(_ reply: SMTPReply) -> Step {
        if reply.code == 235 { return .authenticated }
        guard reply.code == 334 else {
            return .failed("authentication failed", reply, reply.isTransientFailure ? .transient : .permanent)
        }
        func answer(_ next: Expecting, _ response: Secret) -> Step {
            expecting = next
            return .send(.authResponse(response))
        }
        switch (expecting, credentials) {
        case (.plainChallenge, .password(let username, let password)):
            // A server that ignored the initial response asks again with an empty challenge.
            return answer(.finalReply, SASLPayload.plain(username: username, password: password))
        case (.loginUsernamePrompt, .password(let username, _)):
            return answer(.loginPasswordPrompt, Secret(SASLPayload.base64(username)))
        case (.loginPasswordPrompt, .password(_, let password)):
            return answer(.finalReply, password.withRevealedValue { Secret(SASLPayload.base64($0)) })
        case (.cramChallenge, .password(let username, let password)):
            guard let challenge = SASLPayload.decodeBase64(reply.lines[0]) else {
                return .failed("the server sent an invalid CRAM-MD5 challenge", reply, .permanent)
            }
            return answer(.finalReply, SASLPayload.cramMD5(username: username, password: password, challenge: challenge))
        case (.finalReply, .oauth2):
            return answer(.xoauth2FinalAfterError, Secret(""))
        case (.finalReply, .password), (.xoauth2FinalAfterError, _), (.plainChallenge, .oauth2),
            (.loginUsernamePrompt, .oauth2), (.loginPasswordPrompt, .oauth2), (.cramChallenge, .oauth2):
            return .failed("authentication failed: unexpected challenge", reply, .permanent)
        }
    }
}
