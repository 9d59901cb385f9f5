import Flows
import Foundation
import Logging
import MIME
import Nodes
import Secrets
import SMTP
import SMTPCore
import Synchronization
import TestSupport
import Vault
import Workspaces

/// A transport that keeps what it was given and answers as told.
final class FakeTransport: MailTransport, Sendable {
    enum Answer: Sendable {
        case accept
        case reject([String: Int])
        case fail(SMTPError)
    }

    struct Sent: Sendable {
        var bytes: [UInt8]
        var envelope: Envelope
        var key: PoolKey
        var host: String
        var port: Int
        var dsn: DSNRequest?
    }

    private let answer: Mutex<Answer>
    private let log = Mutex<[Sent]>([])

    init(_ answer: Answer = .accept) {
        self.answer = Mutex(answer)
    }

    var sent: [Sent] { log.withLock { $0 } }

    /// Answers `new` from now on.
    func setAnswer(_ new: Answer) { answer.withLock { $0 = new } }

    func send(_ message: RenderedMessage, key: PoolKey, configuration: SMTPConfiguration, dsn: DSNRequest?) async throws(SMTPError) -> SMTPSendResult {
        var stream = message.makeStream()
        var bytes: [UInt8] = []
        while let chunk = try? stream.next() { bytes += chunk }
        log.withLock {
            $0.append(Sent(bytes: bytes, envelope: message.envelope, key: key, host: configuration.host, port: configuration.port, dsn: dsn))
        }
        switch answer.withLock({ $0 }) {
        case .accept:
            return SMTPSendResult(
                messageID: message.messageID, envelope: message.envelope,
                outcome: SMTPTransactionOutcome(accepted: message.envelope.recipients, rejected: [], response: SMTPReply(250, "2.0.0 Ok: queued")),
                size: bytes.count, tlsVersion: "TLSv1.3")
        case .reject(let refused):
            let rejected = refused.keys.sorted().map { RecipientRejection(address: $0, reply: SMTPReply(refused[$0]!, "5.1.1 No such user")) }
            return SMTPSendResult(
                messageID: message.messageID, envelope: message.envelope,
                outcome: SMTPTransactionOutcome(
                    accepted: message.envelope.recipients.filter { refused[$0] == nil }, rejected: rejected,
                    response: SMTPReply(250, "2.0.0 Ok: queued")),
                size: bytes.count, tlsVersion: "TLSv1.3")
        case .fail(let error):
            throw error
        }
    }
}

/// A fetcher answering from a table; unknown URLs are 404s. Counts calls.
final class FakeFetcher: ResourceFetcher, Sendable {
    private let table: [String: Result<FetchedResource, NodeError>]
    private let calls = Mutex<[FetchRequest]>([])

    init(_ table: [String: Result<FetchedResource, NodeError>] = [:]) {
        self.table = table
    }

    var requests: [FetchRequest] { calls.withLock { $0 } }

    func fetch(_ request: FetchRequest, field: String) async throws(NodeError) -> FetchedResource {
        calls.withLock { $0.append(request) }
        switch table[request.url] {
        case .success(let resource)?:
            guard resource.body.count <= request.byteLimit else {
                throw NodeError(code: "ETOOLARGE", message: "\(field): larger than \(request.byteLimit) bytes", disposition: .permanent)
            }
            return resource
        case .failure(let error)?: throw error
        case nil: throw NodeError(code: "EHTTP", message: "\(field): the server answered 404", disposition: .permanent)
        }
    }
}

/// Two workspaces with one credential each, and the node over a fake transport.
struct NodeHarness {
    let credentials: CredentialService
    let domains: DomainService
    let store: InMemoryStore
    let relay: SMTPCredential
    let otherWorkspacesRelay: SMTPCredential
    let transport: FakeTransport
    let fetcher: FakeFetcher
    let node: SendSMTPEmailNode

    static func make(
        _ answer: FakeTransport.Answer = .accept, fetcher: FakeFetcher = FakeFetcher(), attachmentLimit: Int = 25_000_000
    ) async throws -> NodeHarness {
        let store = InMemoryStore()
        try await store.insertWorkspace(Workspace(id: "ws_1", name: "one", createdAt: Date()), tokenHash: "h1")
        try await store.insertWorkspace(Workspace(id: "ws_2", name: "two", createdAt: Date()), tokenHash: "h2")
        let vault = Vault(keyRing: KeyRing(single: MasterKey.generate()))
        let credentials = CredentialService(store: store, vault: vault)
        let domains = DomainService(store: store, vault: vault)
        let relay = try await credentials.create(
            CredentialInput(name: "relay", host: "smtp.example.com", username: .some("sender@example.com"), password: .some(Secret("pw-canary"))),
            in: "ws_1")
        let other = try await credentials.create(
            CredentialInput(name: "relay", host: "smtp.other.example", username: .some("x@other.example"), password: .some(Secret("pw2"))),
            in: "ws_2")
        let transport = FakeTransport(answer)
        let node = SendSMTPEmailNode(
            credentials: credentials, domains: domains, transport: transport, fetcher: fetcher, identity: .deterministic(),
            attachmentLimit: attachmentLimit)
        return NodeHarness(
            credentials: credentials, domains: domains, store: store, relay: relay, otherWorkspacesRelay: other, transport: transport,
            fetcher: fetcher, node: node)
    }

    func run(_ parameters: [String: JSONValue], workspaceID: String = "ws_1") async throws(NodeError) -> JSONValue {
        var parameters = parameters
        if parameters["credential"] == nil { parameters["credential"] = .string(relay.id) }
        return try await node.execute(NodeContext(
            parameters: .object(parameters), stepOutputs: [:], workspaceID: workspaceID, flowID: "flow_1", runID: "run_1",
            stepID: "send", attempt: 1, logger: Logger(label: "test.nodes")))
    }

    /// Runs and returns the error, recording an issue if it succeeded.
    func failure(_ parameters: [String: JSONValue], workspaceID: String = "ws_1") async -> NodeError? {
        do {
            _ = try await run(parameters, workspaceID: workspaceID)
            return nil
        } catch {
            return error
        }
    }
}
