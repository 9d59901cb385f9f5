import Foundation
import SMTP
import SMTPCore
import Secrets
import Testing
import TestSupport

/// The password must never surface: not in trace logs of the SMTP session, not in an error, not in a
/// result, on success or on any failure.
@Suite("Secrets: a canary password across every path")
struct CanaryTests {
    enum Path: String, CaseIterable, Sendable {
        case success, wrongPassword, rejectedAuthAfterChallenge, rejectedRecipient, disconnectAfterAuth, serverEchoesPassword
    }

    /// Every form the password could leak in: as is, and inside each mechanism's base64 payload.
    static let forbidden: [String] = {
        let password = Harness.password
        return [
            password,
            Data(password.utf8).base64EncodedString(),
            Data("\u{0}alice\u{0}\(password)".utf8).base64EncodedString(),
            Data("user=alice\u{1}auth=Bearer \(password)\u{1}\u{1}".utf8).base64EncodedString(),
        ]
    }()

    @Test("the password appears in no log, error or result", arguments: Path.allCases, ["PLAIN", "LOGIN", "XOAUTH2"])
    func canary(path: Path, mechanism: String) async throws {
        let harness = try Harness()
        var behaviour = harness.behaviour(.startTLS)
        behaviour.capabilities = ["PIPELINING", "ENHANCEDSTATUSCODES", "AUTH \(mechanism)"]
        switch path {
        case .success:
            break
        case .wrongPassword:
            behaviour.logins = ["alice": "something else"]
        case .rejectedAuthAfterChallenge:
            // The server refuses the base64 continuation line, quoting it back.
            behaviour.override = { line, session in
                session.sent("AUTH") && !line.contains(" ") && line.count > 8 ? .reply("535 5.7.8 Bad \(line)") : nil
            }
        case .rejectedRecipient:
            behaviour.override = { line, _ in line.hasPrefix("RCPT") ? .reply("550 5.1.1 no") : nil }
        case .disconnectAfterAuth:
            behaviour.override = { line, _ in line.hasPrefix("MAIL") ? .disconnect : nil }
        case .serverEchoesPassword:
            // A hostile or buggy server quotes the credential back in its rejection.
            behaviour.override = { line, _ in line.hasPrefix("AUTH") ? .reply("535 5.7.8 rejected \(line) \(Harness.password)") : nil }
        }
        let server = try await FakeSMTPServer.start(behaviour)
        defer { Task { await server.shutdown() } }
        let credentials: SMTPCredentials = mechanism == "XOAUTH2"
            ? .oauth2(username: "alice", accessToken: Secret(Harness.password))
            : .password(username: "alice", password: Secret(Harness.password))

        var surfaced: [String] = []
        do {
            let result = try await harness.client.send(
                try Harness.message(), using: try harness.configuration(server, credentials: credentials))
            surfaced.append(String(describing: result))
            surfaced.append(String(reflecting: result))
        } catch let error as SMTPError {
            surfaced.append(String(describing: error))
            surfaced.append(String(reflecting: error))
            surfaced.append(error.message)
            surfaced.append(error.reply?.description ?? "")
        }
        surfaced.append(harness.logs.text)

        #expect(harness.logs.text.contains("<redacted>"))
        for text in surfaced {
            for secret in Self.forbidden {
                #expect(!text.contains(secret), "leaked in: \(text.prefix(300))")
            }
        }
    }
}
