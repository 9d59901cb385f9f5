import Flows
import Foundation
import Logging
import Synchronization
import TestSupport

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        current = Mutex(start)
    }

    var now: Date { current.withLock { $0 } }

    func advance(_ seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// A node whose attempts follow a script: each entry is what the next call does.
final class ScriptedNode: Node, Sendable {
    enum Step: Sendable {
        case succeed(JSONValue)
        case fail(NodeError.Disposition)
    }

    let type: String
    let idempotent: Bool
    private let script: Mutex<[Step]>
    private let seen = Mutex<[NodeContext]>([])

    init(type: String = "test.scripted", idempotent: Bool = true, _ script: [Step]) {
        self.type = type
        self.idempotent = idempotent
        self.script = Mutex(script)
    }

    var calls: [NodeContext] { seen.withLock { $0 } }

    var descriptor: NodeDescriptor {
        NodeDescriptor(
            type: type, label: "Scripted", summary: "Test node",
            parameters: [NodeParameter(name: "password", label: "Password", kind: .string, isSecret: true)],
            acceptsOtherParameters: true, isIdempotent: idempotent)
    }

    func execute(_ context: NodeContext) async throws(NodeError) -> JSONValue {
        seen.withLock { $0.append(context) }
        let next = script.withLock { $0.isEmpty ? Step.succeed(.object([:])) : $0.removeFirst() }
        switch next {
        case .succeed(let value): return value
        case .fail(let disposition): throw NodeError(code: "ETEST", message: "scripted \(disposition.rawValue) failure", disposition: disposition)
        }
    }
}

enum Fixtures {
    static let logger = Logger(label: "test.flows")

    static func flow(_ steps: [FlowStep], retry: RetryPolicy = RetryPolicy(), trigger: FlowTrigger = .manual) -> Flow {
        Flow(
            id: "flow_1", workspaceID: "ws_1", name: "Test", trigger: trigger, steps: steps, enabled: true, retry: retry,
            createdAt: Date(timeIntervalSince1970: 1_800_000_000), updatedAt: Date(timeIntervalSince1970: 1_800_000_000))
    }

    static func run(body: JSONValue = .object([:]), at date: Date = Date(timeIntervalSince1970: 1_800_000_000)) -> Run {
        var run = Run(id: "run_1", workspaceID: "ws_1", flowID: "flow_1", trigger: TriggerPayload(kind: "manual", body: body), createdAt: date)
        run.restore(status: .running)
        return run
    }
}

/// Collects checkpoints.
final class Checkpoints: Sendable {
    private let runs = Mutex<[Run]>([])
    var all: [Run] { runs.withLock { $0 } }
    func append(_ run: Run) { runs.withLock { $0.append(run) } }
}
