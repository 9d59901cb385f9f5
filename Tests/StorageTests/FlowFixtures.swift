import Flows
import Foundation
import TestSupport

/// Flows and runs with deterministic ids and millisecond-precision dates.
enum FlowFixture {
    /// A manual flow with one `debug.echo` step unless told otherwise.
    static func flow(
        _ id: String, workspaceID: String = "ws_1", name: String? = nil, trigger: FlowTrigger = .manual,
        steps: [FlowStep] = [FlowStep(id: "echo", type: "debug.echo", parameters: ["text": "hi"])],
        enabled: Bool = true, retry: RetryPolicy = RetryPolicy(),
        createdAt: Int64 = 1_700_000_000_123, updatedAt: Int64 = 1_700_000_111_999
    ) -> Flow {
        Flow(
            id: id, workspaceID: workspaceID, name: name ?? "Flow \(id)", trigger: trigger, steps: steps, enabled: enabled,
            retry: retry, createdAt: Fixture.date(createdAt), updatedAt: Fixture.date(updatedAt))
    }

    static func webhook(_ id: String, secretHash: String? = nil) -> FlowTrigger {
        .webhook(WebhookTrigger(id: id, secretHash: secretHash))
    }

    static func cron(_ expression: String = "*/5 * * * *", timeZone: String = "Europe/Berlin") -> FlowTrigger {
        .cron(CronTrigger(expression: expression, timeZone: timeZone))
    }

    /// A flow with every part exercised: a secret-protected webhook, steps with nested, unicode and
    /// integer parameters, both error modes, and a non-default retry policy.
    static func detailedFlow(_ id: String = "fl_detailed", workspaceID: String = "ws_1") -> Flow {
        flow(
            id, workspaceID: workspaceID, name: "Grüße 📬 \"quoted\"",
            trigger: webhook("wh_ABCDEFGHIJKLMNOPQRSTUVWXYZ", secretHash: String(repeating: "ab", count: 32)),
            steps: [
                FlowStep(id: "first", type: "debug.echo", parameters: nestedJSON, onError: .continue),
                FlowStep(id: "second", type: "smtp.send", parameters: [
                    "to": "{{steps.first.output.items.0.email}}", "subject": "Hällo {{run.id}}",
                ], onError: .stop),
                FlowStep(id: "empty", type: "debug.echo", parameters: [:]),
            ],
            enabled: false, retry: RetryPolicy(maxAttempts: 7, initialDelay: .milliseconds(250), maxDelay: .seconds(90)))
    }

    /// JSON with the values that trip a careless round trip: integers beyond 2⁵³, fractions,
    /// large exponents, nesting, unicode, escapes, `null` and empty containers.
    static let nestedJSON: JSONValue = [
        "id": .integer(9_007_199_254_740_993),
        "negative": .integer(-17),
        "ratio": .number(0.1),
        "large": .number(1.5e300),
        "flag": true,
        "nothing": .null,
        "text": "Grüße, 世界 🚀 \"quotes\" \\ back\\slash\nnew line\t/slash",
        "items": [["email": "a@example.com", "tags": ["x", "y"]], ["email": "b@example.com", "tags": []]],
        "empty": [:],
    ]

    /// A queued run; `notBefore` defaults to the creation time.
    static func run(
        _ id: String, workspaceID: String = "ws_1", flowID: String = "fl_1", createdAt: Int64 = 1_700_000_000_000,
        notBefore: Int64? = nil, status: RunStatus = .queued
    ) -> Run {
        var run = Run(
            id: id, workspaceID: workspaceID, flowID: flowID,
            trigger: TriggerPayload(kind: "manual", body: ["n": .integer(1)]), createdAt: Fixture.date(createdAt))
        run.restore(notBefore: Fixture.date(notBefore ?? createdAt))
        run.restore(status: status)
        return run
    }

    /// A finished run with every field set: step records with parameters, outputs and errors.
    static func detailedRun(_ id: String = "run_detailed", workspaceID: String = "ws_1") -> Run {
        var run = Run(
            id: id, workspaceID: workspaceID, flowID: "fl_detailed",
            trigger: TriggerPayload(
                kind: "webhook", body: nestedJSON,
                headers: ["content-type": "application/json", "x-trace": "ünïcode"],
                query: ["page": "2", "q": "a b&c"]),
            createdAt: Fixture.date(1_700_000_000_001))
        run.restore(status: .failed)
        run.steps = [
            StepRecord(
                stepID: "first", type: "debug.echo", status: .failed, parameters: ["password": "<redacted>", "n": .integer(3)],
                output: ["error": ["code": "timeout", "message": "took too long"]],
                error: RunError(code: "timeout", message: "took too long", stepID: "first", details: ["attempt": .integer(2)]),
                attempts: 2, startedAt: Fixture.date(1_700_000_000_010), finishedAt: Fixture.date(1_700_000_000_020)),
            StepRecord(
                stepID: "second", type: "smtp.send", status: .succeeded, parameters: nestedJSON, output: nestedJSON,
                error: nil, attempts: 1, startedAt: Fixture.date(1_700_000_000_030), finishedAt: Fixture.date(1_700_000_000_040)),
            StepRecord(
                stepID: "third", type: "smtp.send", status: .running, parameters: nil, output: nil, error: nil,
                attempts: 1, startedAt: Fixture.date(1_700_000_000_050), finishedAt: nil),
        ]
        run.restore(error: RunError(code: "step_failed", message: "Step “third” failed: ✉️", stepID: "third", details: nestedJSON))
        run.restore(startedAt: Fixture.date(1_700_000_000_005))
        run.restore(finishedAt: Fixture.date(1_700_000_000_060))
        run.restore(notBefore: Fixture.date(1_700_000_000_003))
        run.restore(leaseOwner: "worker-ü")
        run.restore(leaseExpiresAt: Fixture.date(1_700_000_030_005))
        return run
    }
}
