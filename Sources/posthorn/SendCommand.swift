import ArgumentParser
import DKIM
import Secrets
import Workspaces
import Server
import Foundation
import Egress
import Logging
import MIME
import Flows
import Nodes
import SMTP
import SMTPCore

/// `posthorn send`: compose one message from flags. With `--dry-run` the exact message bytes go to
/// standard output and nothing is sent.
struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Compose and send one email.",
        discussion: """
            With --dry-run, prints the exact bytes an SMTP server would receive (CRLF line endings, \
            before dot-stuffing) and sends nothing. Invalid input exits with status 1 and one line \
            naming the field and the rule.
            """
    )

    @OptionGroup var message: MessageOptions
    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Send with this stored credential (name or id) instead of the connection flags.")
    var credential: String?

    @OptionGroup var data: DataOptions
    @OptionGroup var workspace: WorkspaceOption

    @Flag(help: "Print the rendered message instead of sending it.")
    var dryRun = false

    @Flag(help: "Print one JSON object: the result, or {\"error\": {…}}.")
    var json = false

    @Option(help: "Ask for delivery status notifications (RFC 3461) when the server offers DSN: comma-separated success, failure, delay, or never.")
    var dsn: String?

    @Option(name: .customLong("dkim-key-file"), help: "Sign with DKIM using this private key (RSA of 2048+ bits, or Ed25519; PEM).")
    var dkimKeyFile: String?

    @Option(name: .customLong("dkim-selector"), help: "The key's DKIM selector (its record is at SELECTOR._domainkey.DOMAIN).")
    var dkimSelector: String?

    @Option(name: .customLong("dkim-domain"), help: "The signing domain (d=); the From address's domain when not given. With --credential: the workspace's sending domain whose keys sign.")
    var dkimDomain: String?

    func run() async throws {
        var composed: RenderedMessage
        do {
            let request = try message.emailRequest()
            // A given Message-ID makes the boundaries reproducible too, so `--dry-run` with the same
            // --message-id and --date prints exactly the bytes a real send delivers.
            let identity = request.messageID.map { MessageIdentity.reproducible(seed: $0, now: request.date ?? Date()) } ?? .system
            let validated = try request.validated()
            composed = MessageComposer(identity: identity).compose(validated)
            if let signer = try dkimSigner(from: validated.from) {
                composed = try signer.sign(composed, at: request.date ?? Date())
            }
        } catch {
            fail(code: "EMESSAGE", error: error, transient: false)
        }
        if dryRun {
            var stream = composed.makeStream()
            do {
                while let chunk = try stream.next() { try FileHandle.standardOutput.write(contentsOf: chunk) }
            } catch {
                fail(code: "EMESSAGE", error: CommandFailure(message: "attachments: a file could not be read"), transient: false)
            }
            return
        }
        if let credential {
            await sendWithStoredCredential(credential)
            return
        }
        let configuration: SMTPConfiguration
        let policy: EgressPolicy
        let dsnRequest: DSNRequest?
        do {
            policy = try connection.egressPolicy()
            configuration = try connection.configuration()
            dsnRequest = try dsn.map(Self.parseDSN)
        } catch {
            fail(code: "EPOLICY", error: error, transient: false)
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = connection.logLevel.level
            return handler
        }
        let client = SMTPClient(
            egress: EgressGuard(policy: policy, resolver: SystemResolver()), logger: Logger(label: "posthorn.smtp"))
        do {
            let result = try await client.send(composed, using: configuration, dsn: dsnRequest)
            report(result)
        } catch {
            if json {
                print(JSONOutput.error(error))
            } else {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                if let hint = error.code.troubleshootingHint {
                    FileHandle.standardError.write(Data("hint: \(hint)\n".utf8))
                }
            }
            Foundation.exit(1)
        }
    }

    /// The `--dkim-…` flags as a signer, or `nil` without `--dkim-key-file`.
    private func dkimSigner(from sender: MailboxAddress) throws -> DKIMSigner? {
        guard let dkimKeyFile else {
            // With --credential, the workspace's sending domains sign (--dkim-domain picks one).
            guard dkimSelector == nil, dkimDomain == nil || credential != nil else {
                throw CommandFailure(message: "dkim-key-file: --dkim-selector and --dkim-domain sign only with --dkim-key-file or --credential")
            }
            return nil
        }
        guard credential == nil else {
            throw CommandFailure(message: "dkim-key-file: signing with --credential comes with sending domains; use the connection flags")
        }
        guard let selector = dkimSelector, DKIMSigner.isValidSelector(selector) else {
            throw CommandFailure(message: "dkim-selector: a selector (letters, digits and hyphens, dot-separated) is required with --dkim-key-file")
        }
        let domain = dkimDomain ?? sender.domain
        guard DKIMSigner.isValidDomain(domain) else {
            throw CommandFailure(message: "dkim-domain: \(domain) is not a domain name")
        }
        let pem: String
        do {
            pem = try String(contentsOfFile: dkimKeyFile, encoding: .utf8)
        } catch {
            throw CommandFailure(message: "dkim-key-file: \(dkimKeyFile) could not be read")
        }
        do {
            let key = try DKIMKey(pem: Secret(pem))
            return DKIMSigner([DKIMSigner.Identity(domain: domain, selector: selector, key: key)])
        } catch {
            throw CommandFailure(message: "dkim-key-file: \(error.description)")
        }
    }

    /// `--credential`: the message goes through the Send SMTP Email node's own send path (the same
    /// rules, credential lookup, pool and output as a flow step), once.
    private func sendWithStoredCredential(_ credential: String) async {
        guard connection.host == nil, connection.port == nil, connection.username == nil,
            connection.passwordEnvironmentVariable == nil, connection.passwordFile == nil,
            connection.securityOption == .startTLS, connection.minimumTLS == .tls12, connection.ehloName == nil,
            connection.caFile == nil, !connection.acceptUnverifiedCertificates, dsn == nil
        else {
            fail(code: "EPOLICY", error: CommandFailure(message: "credential: give --credential or the connection flags (--host, --port, --username, --password-…, --security, --min-tls, --ehlo-name, --ca-file, --accept-unverified-certs, --dsn), not both"), transient: false)
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = connection.logLevel.level
            return handler
        }
        let logger = Logger(label: "posthorn.smtp")
        let outcome: Result<JSONValue, NodeError>
        do {
            let request = try message.emailRequest()
            let identity = request.messageID.map { MessageIdentity.reproducible(seed: $0, now: request.date ?? Date()) } ?? .system
            outcome = try await data.withEnvironment(egress: try connection.egressPolicy()) { environment in
                let workspace = try await workspace.resolve(in: environment)
                let stored = try await environment.services.credentials.credential(credential, in: workspace.id)
                let egress = EgressGuard(policy: environment.configuration.egressPolicy, resolver: SystemResolver())
                let pool = SMTPPool(egress: egress, logger: logger)
                let node = SendSMTPEmailNode(
                    credentials: environment.services.credentials, domains: environment.services.domains, transport: pool,
                    fetcher: GuardedHTTPFetcher(egress: egress, logger: logger), identity: identity)
                return await withTaskGroup(of: Void.self, returning: Result<JSONValue, NodeError>.self) { group in
                    group.addTask { await pool.run() }
                    let result: Result<JSONValue, NodeError>
                    do throws(NodeError) {
                        result = .success(try await node.send(
                            request, credentialID: stored.id, workspaceID: workspace.id, dkimDomain: dkimDomain?.lowercased() ?? "",
                            allowPartialDelivery: false, logger: logger))
                    } catch {
                        result = .failure(error)
                    }
                    await pool.shutdown()
                    return result
                }
            }
        } catch {
            fail(code: "EMESSAGE", error: error, transient: false)
        }
        switch outcome {
        case .success(let output):
            print(json ? output.compactJSON : "sent \(output[path: [.key("messageId")]]?.textValue ?? "")")
        case .failure(let error):
            if json {
                print(JSONValue.object([
                    "error": .object(["code": .string(error.code), "message": .string(error.message),
                                      "disposition": .string(error.disposition.rawValue), "details": error.details ?? .null]),
                ]).compactJSON)
            } else {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                if case .object(let details)? = error.details, case .string(let hint)? = details["hint"] {
                    FileHandle.standardError.write(Data("hint: \(hint)\n".utf8))
                }
            }
            Foundation.exit(1)
        }
    }

    /// `success,failure,delay` or `never`, as RFC 3461's NOTIFY parameter spells them.
    static func parseDSN(_ text: String) throws -> DSNRequest {
        let values = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
        let allowed: Set<String> = ["SUCCESS", "FAILURE", "DELAY"]
        guard !values.isEmpty, values == ["NEVER"] || values.allSatisfy(allowed.contains) else {
            throw CommandFailure(message: "dsn: use success, failure and delay (comma-separated), or never")
        }
        return DSNRequest(notify: values)
    }

    /// Prints the result; exits 1 unless every recipient was accepted.
    private func report(_ result: SMTPSendResult) {
        if json {
            print(JSONOutput.result(result))
        } else {
            print("sent \(result.messageID): \(result.outcome.accepted.count) accepted, \(result.outcome.rejected.count) rejected")
            print("server: \(result.outcome.response.description)")
            for rejection in result.outcome.rejected {
                print("rejected \(rejection.address): \(rejection.code) \(rejection.enhancedCode.map { "\($0) " } ?? "")\(rejection.text)")
            }
        }
        if !result.isCompleteDelivery { Foundation.exit(1) }
    }

    private func fail(code: String, error: any Error, transient: Bool) -> Never {
        if json {
            print(JSONOutput.error(code: code, message: "\(error)", transient: transient))
            Foundation.exit(1)
        }
        CommandFailure.exit(with: error)
    }
}

/// A failure reported as one line on standard error, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

extension CommandFailure {
    /// Prints `error: …` and exits; ArgumentParser would add usage text for a plain error.
    static func exit(with error: any Error) -> Never {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        Foundation.exit(1)
    }
}
