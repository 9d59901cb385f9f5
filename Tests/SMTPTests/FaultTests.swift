import MIME
import SMTP
import SMTPCore
import Secrets
import Testing
import TestSupport

/// Each way a server can fail, classified so the caller knows whether a retry can help and whether
/// the message may already have been delivered.
@Suite("Faults: every failing reply and disconnect, classified")
struct FaultTests {
    /// Starts a plaintext server with `override` and sends Harness's message through it.
    private func send(
        override: @escaping @Sendable (String, FakeSMTPSession) -> FakeSMTPResponse?,
        credentials: SMTPCredentials? = .password(username: "alice", password: Secret(Harness.password)),
        capabilities: [String]? = nil,
        message: RenderedMessage? = nil
    ) async throws -> (Result<SMTPSendResult, SMTPError>, FakeSMTPServer) {
        let harness = try Harness()
        var behaviour = harness.behaviour(.implicit)
        behaviour.override = override
        if let capabilities { behaviour.capabilities = capabilities }
        let server = try await FakeSMTPServer.start(behaviour)
        let configuration = try harness.configuration(server, security: .implicitTLS, credentials: credentials)
        let rendered = try message ?? Harness.message()
        let outcome: Result<SMTPSendResult, SMTPError>
        do {
            outcome = .success(try await harness.client.send(rendered, using: configuration))
        } catch {
            outcome = .failure(error)
        }
        await server.shutdown()
        return (outcome, server)
    }

    private func failure(_ outcome: Result<SMTPSendResult, SMTPError>) -> SMTPError? {
        if case .failure(let error) = outcome { return error }
        Issue.record("expected a failure, got \(outcome)")
        return nil
    }

    @Test("a wrong password is EAUTH, permanent, with the server's reply")
    func wrongPassword() async throws {
        let (outcome, server) = try await send(override: { _, _ in nil }, credentials: .password(username: "alice", password: Secret("wrong")))
        let error = try #require(failure(outcome))
        #expect(error.code == .auth)
        #expect(!error.isTransient)
        #expect(error.reply?.code == 535)
        #expect(error.reply?.enhancedCode?.description == "5.7.8")
        #expect(server.sessions.first?.sent("MAIL") == false)
    }

    @Test("credentials with no usable mechanism fail instead of skipping login")
    func noMechanism() async throws {
        let (outcome, server) = try await send(override: { _, _ in nil }, capabilities: ["PIPELINING", "AUTH GSSAPI"])
        #expect(failure(outcome)?.code == .auth)
        #expect(server.sessions.first?.sent("MAIL") == false)
    }

    @Test(
        "a reply of 421 anywhere before the final dot is transient",
        arguments: ["EHLO", "AUTH", "MAIL", "RCPT", "DATA"])
    func serviceClosing(at verb: String) async throws {
        let (outcome, _) = try await send(override: { line, _ in line.hasPrefix(verb) ? .reply("421 4.3.2 Service shutting down") : nil })
        let error = try #require(failure(outcome))
        #expect(error.disposition == .transient)
        #expect(error.reply?.code == 421)
    }

    @Test("a 421 greeting is transient")
    func greeting421() async throws {
        let harness = try Harness()
        var behaviour = harness.behaviour(.implicit)
        behaviour.greeting = "421 4.3.2 Too busy, try later"
        let server = try await FakeSMTPServer.start(behaviour)
        defer { Task { await server.shutdown() } }
        let error = await harness.client.sendExpectingFailure(try Harness.message(), using: try harness.configuration(server, security: .implicitTLS))
        #expect(error?.disposition == .transient)
        #expect(error?.reply?.code == 421)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var verb: String
        var reply: String
        var code: SMTPError.Code
        var transient: Bool
        var testDescription: String { "\(verb) → \(reply.prefix(3))" }
    }

    @Test("4xx and 5xx replies to each command are classified", arguments: [
        Case(verb: "MAIL", reply: "451 4.3.0 Try again later", code: .envelope, transient: true),
        Case(verb: "MAIL", reply: "553 5.7.1 Sender address rejected", code: .envelope, transient: false),
        Case(verb: "RCPT", reply: "450 4.2.1 Mailbox busy", code: .envelope, transient: true),
        Case(verb: "RCPT", reply: "550 5.1.1 No such user", code: .envelope, transient: false),
        Case(verb: "DATA", reply: "451 4.3.0 Try again", code: .envelope, transient: true),
        Case(verb: "DATA", reply: "554 5.5.1 No valid recipients", code: .envelope, transient: false),
        Case(verb: ".", reply: "452 4.3.1 Insufficient storage", code: .message, transient: true),
        Case(verb: ".", reply: "554 5.7.1 Message rejected as spam", code: .message, transient: false),
    ])
    func failingReplies(_ fault: Case) async throws {
        let (outcome, server) = try await send(override: { line, _ in
            (fault.verb == "." ? line == "." : line.hasPrefix(fault.verb)) ? .reply(fault.reply) : nil
        })
        let error = try #require(failure(outcome))
        #expect(error.code == fault.code)
        #expect(error.isTransient == fault.transient)
        // Refused recipients carry their own replies; every other refusal carries the one reply.
        #expect((error.reply?.code ?? error.rejectedRecipients.first?.code) == Int(fault.reply.prefix(3)))
        #expect(server.messages.isEmpty)
    }

    @Test("one refused recipient of two is reported, not hidden, and the other gets the message")
    func partialRejection() async throws {
        let (outcome, server) = try await send(override: { line, _ in
            line.hasPrefix("RCPT TO:<carol@") ? .reply("550 5.1.1 <carol@example.com>: Recipient address rejected") : nil
        })
        let result = try outcome.get()
        #expect(result.outcome.accepted == ["bob@example.com"])
        #expect(result.outcome.rejected.map(\.address) == ["carol@example.com"])
        #expect(result.outcome.rejected.first?.code == 550)
        #expect(result.outcome.rejected.first?.enhancedCode?.description == "5.1.1")
        #expect(!result.isCompleteDelivery)
        #expect(server.messages.first?.recipients == ["bob@example.com"])
    }

    @Test("a disconnect before the final dot is transient", arguments: ["EHLO", "AUTH", "MAIL", "RCPT", "DATA"])
    func disconnectBeforeData(at verb: String) async throws {
        let (outcome, _) = try await send(override: { line, _ in line.hasPrefix(verb) ? .disconnect : nil })
        let error = try #require(failure(outcome))
        #expect(error.disposition == .transient)
    }

    @Test("a disconnect after the final dot is ambiguous: the message may have been delivered")
    func disconnectAfterFinalDot() async throws {
        let (outcome, _) = try await send(override: { line, _ in line == "." ? .disconnect : nil })
        let error = try #require(failure(outcome))
        #expect(error.disposition == .ambiguous)
    }

    @Test("no reply to the final dot within the timeout is ambiguous")
    func silentAfterFinalDot() async throws {
        let (outcome, _) = try await send(override: { line, _ in line == "." ? .silence : nil })
        let error = try #require(failure(outcome))
        #expect(error.code == .timeout)
        #expect(error.disposition == .ambiguous)
    }

    @Test("no reply to a command within the timeout is ETIMEDOUT")
    func silentCommand() async throws {
        let (outcome, _) = try await send(override: { line, _ in line.hasPrefix("MAIL") ? .silence : nil })
        let error = try #require(failure(outcome))
        #expect(error.code == .timeout)
        #expect(error.isTransient)
    }

    @Test("a message larger than the server's SIZE limit fails before DATA")
    func sizeLimit() async throws {
        let (outcome, server) = try await send(
            override: { _, _ in nil }, capabilities: ["PIPELINING", "SIZE 100", "AUTH PLAIN"])
        let error = try #require(failure(outcome))
        #expect(error.code == .message)
        #expect(!error.isTransient)
        #expect(server.sessions.first?.sent("MAIL") == false)
    }

    @Test("a non-ASCII address needs SMTPUTF8; without it the error says so and nothing is sent")
    func smtpUTF8Required() async throws {
        let message = try Harness.message(to: "jörg@example.com")
        let (outcome, server) = try await send(override: { _, _ in nil }, message: message)
        let error = try #require(failure(outcome))
        #expect(error.message.contains("SMTPUTF8"))
        #expect(server.sessions.first?.sent("MAIL") == false)
    }

    @Test("with SMTPUTF8 offered, a non-ASCII address is sent with the SMTPUTF8 parameter")
    func smtpUTF8Offered() async throws {
        let message = try Harness.message(to: "jörg@example.com")
        let (outcome, server) = try await send(
            override: { _, _ in nil }, capabilities: ["PIPELINING", "8BITMIME", "SMTPUTF8", "AUTH PLAIN"], message: message)
        _ = try outcome.get()
        let mail = server.sessions.first?.commands.first { $0.hasPrefix("MAIL") }
        #expect(mail?.contains("SMTPUTF8") == true)
        #expect(server.messages.first?.recipients == ["jörg@example.com"])
    }
}
