import Secrets
import Crypto
public import Foundation

/// Creates and changes flows (assigning ids and webhook ids), and starts runs: what the API and
/// the CLI share.
public struct FlowService: Sendable {
    private let flows: any FlowStore
    let runs: any RunStore
    private let writer: RunWriter
    public let registry: NodeRegistry
    let now: @Sendable () -> Date
    private let onFlowsChanged: @Sendable () -> Void

    /// `onFlowsChanged` runs after a flow was created, replaced or deleted (it wakes the cron
    /// scheduler and clears the executor's flow cache).
    public init(
        flows: any FlowStore, runs: any RunStore, writer: RunWriter, registry: NodeRegistry,
        now: @escaping @Sendable () -> Date = { Date() }, onFlowsChanged: @escaping @Sendable () -> Void = {}
    ) {
        self.onFlowsChanged = onFlowsChanged
        self.flows = flows
        self.runs = runs
        self.writer = writer
        self.registry = registry
        self.now = { Date(timeIntervalSince1970: (now().timeIntervalSince1970 * 1000).rounded(.down) / 1000) }
    }

    // MARK: Flows

    /// Checks and stores a new flow. A webhook flow gets a fresh unguessable webhook id. A
    /// disabled flow is stored with its problems (a draft); an enabled one must have none
    /// (``FlowProblems``).
    public func create(_ definition: FlowDefinition, in workspaceID: String) async throws -> Flow {
        let checked = try Self.requiringNoProblemsWhenEnabled(definition.checked(registry: registry))
        let timestamp = now()
        let flow = Flow(
            id: RandomID.make(prefix: "flow"), workspaceID: workspaceID, name: checked.name,
            trigger: Self.trigger(checked.trigger, keeping: nil), steps: checked.steps, enabled: checked.enabled,
            retry: checked.retry, createdAt: timestamp, updatedAt: timestamp, sampleBody: checked.sampleBody)
        do {
            try await flows.insertFlow(flow)
        } catch FlowStoreError.duplicateName {
            throw FlowValidationError(field: "name", message: "A flow with this name already exists in this workspace")
        }
        onFlowsChanged()
        return flow
    }

    /// Replaces a flow's definition. A webhook flow keeps its webhook id (and its secret when the
    /// definition gives none), so callers' URLs keep working. With `version`, the change is refused
    /// (``FlowStoreError/versionConflict``) unless the stored flow is still that version; without,
    /// it applies to the latest.
    public func replace(_ id: String, in workspaceID: String, with definition: FlowDefinition, version: Int? = nil) async throws -> Flow? {
        let checked = try Self.requiringNoProblemsWhenEnabled(definition.checked(registry: registry))
        guard var flow = try await flows.flow(id: id, workspaceID: workspaceID) else { return nil }
        if let version, version != flow.version { throw FlowStoreError.versionConflict }
        flow.name = checked.name
        flow.trigger = Self.trigger(checked.trigger, keeping: flow.trigger)
        flow.steps = checked.steps
        flow.enabled = checked.enabled
        flow.retry = checked.retry
        flow.sampleBody = checked.sampleBody
        flow.updatedAt = now()
        flow.version += 1
        do {
            guard try await flows.updateFlow(flow) else { return nil }
            onFlowsChanged()
            return flow
        } catch FlowStoreError.duplicateName {
            throw FlowValidationError(field: "name", message: "A flow with this name already exists in this workspace")
        }
    }

    /// What keeps a stored flow from running, by today's nodes (a draft's missing parameters;
    /// for an enabled flow, nothing, unless a node's rules changed since it was saved).
    public func problems(of flow: Flow) -> [FlowValidationError] {
        do {
            return try FlowDefinition(flow).checked(registry: registry).problems
        } catch {
            return [error]
        }
    }

    private static func requiringNoProblemsWhenEnabled(_ checked: ValidatedFlowDefinition) throws -> ValidatedFlowDefinition {
        guard checked.enabled, !checked.problems.isEmpty else { return checked }
        throw FlowProblems(problems: checked.problems)
    }

    /// Deletes a flow; `false` when the workspace has none with this id. Its runs' history stays.
    public func delete(_ id: String, in workspaceID: String) async throws -> Bool {
        guard try await flows.deleteFlow(id: id, workspaceID: workspaceID) else { return false }
        onFlowsChanged()
        return true
    }

    private static func trigger(_ trigger: ValidatedFlowDefinition.ValidatedTrigger, keeping old: FlowTrigger?) -> FlowTrigger {
        switch trigger {
        case .webhook(let secret, let removeSecret):
            var existing: WebhookTrigger?
            if case .webhook(let webhook)? = old { existing = webhook }
            return .webhook(WebhookTrigger(
                id: existing?.id ?? RandomID.make(prefix: "wh", length: 26),
                secretHash: secret.map(Self.hash) ?? (removeSecret ? nil : existing?.secretHash)))
        case .cron(let cron):
            return .cron(cron)
        case .manual:
            return .manual
        case .email(let event):
            return .email(event)
        }
    }

    // MARK: Runs

    /// Starts a run of `flow` with `payload`; returns once the run is durably queued. (A flow
    /// with problems is never enabled, so its triggers cannot start it; a manual start checks
    /// ``problems(of:)`` first.)
    public func start(_ flow: Flow, payload: TriggerPayload) async throws -> Run {
        let run = Run(id: Self.makeRunID(), workspaceID: flow.workspaceID, flowID: flow.id, trigger: payload, createdAt: now())
        try await writer.insert(run)
        return run
    }

    /// Starts a run of `flow` unless it already has one for `key` made from the same raw body
    /// (compared by SHA-256): the run and whether it is that earlier one. Throws
    /// ``IdempotencyKeyReused`` when the key came with another body.
    public func start(_ flow: Flow, payload: TriggerPayload, idempotencyKey key: String, rawBody: Data) async throws -> (runID: String, replayed: Bool) {
        let run = Run(id: Self.makeRunID(), workspaceID: flow.workspaceID, flowID: flow.id, trigger: payload, createdAt: now())
        let digest = SHA256.hash(data: rawBody).hexString
        switch try await writer.insert(run, idempotencyKey: IdempotencyKey(key: key, bodyDigest: digest, createdAt: now())) {
        case .inserted: return (run.id, false)
        case .replayed(let runID): return (runID, true)
        case .conflict: throw IdempotencyKeyReused()
        }
    }

    /// A new run id.
    public static func makeRunID() -> String { RandomID.make(prefix: "run") }

    /// Whether `secret` is the webhook's shared secret (compared as hashes, in constant time).
    public static func webhookSecretMatches(_ secret: String?, _ webhook: WebhookTrigger) -> Bool {
        guard let expected = webhook.secretHash else { return true }
        guard let secret else { return false }
        let given = Array(hash(secret).utf8)
        let wanted = Array(expected.utf8)
        guard given.count == wanted.count else { return false }
        var difference: UInt8 = 0
        for index in given.indices { difference |= given[index] ^ wanted[index] }
        return difference == 0
    }

    static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).hexString
    }
}

/// Random identifiers: `prefix_` and lower-case base32 from the system's secure generator.
enum RandomID {
    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    static func make(prefix: String, length: Int = 20) -> String {
        var generator = SystemRandomNumberGenerator()
        var characters = Array(prefix.utf8) + [UInt8(ascii: "_")]
        for _ in 0..<length { characters.append(alphabet[Int(generator.next() & 31)]) }
        return String(decoding: characters, as: UTF8.self)
    }
}

/// An `Idempotency-Key` sent again with another body.
public struct IdempotencyKeyReused: Error, Sendable, Hashable {
    public init() {}
}
