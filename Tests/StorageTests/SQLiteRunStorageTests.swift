import Flows
import Foundation
import SQLKit
import Storage
import TestSupport
import Workspaces
import Testing

/// What only the SQLite store of flows and runs has: the version 2 migration, the exact text of
/// its JSON columns, the file, the statement chunks and the query plans.
@Suite("SQLite flows and runs")
struct SQLiteRunStorageTests {
    // MARK: - Migration

    @Test("every later version applies on top of a version 1 database and keep its data; its token moves to api_tokens")
    func migrationOnVersion1() async throws {
        try await withTemporaryDirectory { directory in
            let workspace = Fixture.workspace("ws_1", name: "Acme")
            let credential = try Fixture.credential("cr_1", workspaceID: "ws_1", name: "Relay")
            try await withSQLiteStorage(dataDirectory: directory) { storage in
                try await storage.store.insertWorkspace(workspace, tokenHash: "hash-1")
                try await storage.store.insertCredential(credential)
                // Back to what a version 1 build left: its tables and data, no version 2.
                for statement: SQLQueryString in [
                    "DROP TABLE oauth_authorizations", "DROP TABLE intake_replays", "DROP TABLE idempotency_keys", "DROP TABLE step_deliveries", "DROP TABLE bounce_intakes", "DROP TABLE sent_messages", "DROP TABLE suppressions", "DROP TABLE rate_spends", "DROP TABLE dkim_keys", "DROP TABLE sending_domains", "DROP TABLE credential_tests", "DROP TABLE invites", "DROP TABLE sessions", "DROP TABLE memberships",
                    "DROP TABLE users", "DROP TABLE runs", "DROP TABLE cron_fires", "DROP TABLE flows", "DROP TABLE run_cancellations",
                    "UPDATE workspaces SET token_hash = (SELECT token_hash FROM api_tokens WHERE api_tokens.workspace_id = workspaces.id)",
                    "DROP TABLE api_tokens", "ALTER TABLE credentials DROP COLUMN version", "ALTER TABLE credentials DROP COLUMN rate_limits", "ALTER TABLE credentials DROP COLUMN delivery_notifications", "ALTER TABLE credentials DROP COLUMN oauth_provider", "ALTER TABLE credentials DROP COLUMN oauth_needs_reconnect", "ALTER TABLE workspaces DROP COLUMN rate_limits",
                    "DELETE FROM schema_migrations WHERE version > 1",
                ] {
                    try await storage.store.database.raw(statement).run()
                }
                let migrations = Migrations(database: storage.store.database, logger: testLogger)
                #expect(try await migrations.appliedVersions() == [1])
            }

            try await withSQLiteStorage(dataDirectory: directory) { storage in
                let store = storage.store
                let migrations = Migrations(database: store.database, logger: testLogger)
                #expect(try await migrations.appliedVersions() == Migrations.all.map(\.version))
                #expect(try await store.workspace(tokenHash: "hash-1") == workspace)
                #expect(try await store.tokens(workspaceID: "ws_1").map(\.name) == ["default"])
                let retired = try await store.database.raw("SELECT token_hash FROM workspaces").first()?.decode(column: "token_hash", as: String.self)
                #expect(retired == "migrated:ws_1", "the old column no longer holds a hash")
                #expect(try await store.allCredentials() == [credential])

                let flow = FlowFixture.flow("fl_1", workspaceID: "ws_1")
                try await store.insertFlow(flow)
                try await store.enqueue([FlowFixture.run("run_1")])
                #expect(try await store.flows(workspaceID: "ws_1") == [flow])
                #expect(try await store.countByStatus() == [.queued: 1])
            }
        }
    }

    @Test("a sent message is found by its Message-ID with or without brackets; a second record replaces the first; retention deletes the old")
    func sentMessages() async throws {
        try await withInMemorySQLiteStorage { storage in
            let store = storage.store
            try await store.insertWorkspace(Fixture.workspace("ws_1"), tokenHash: "hash-1")
            let sent = SentMessage(
                messageID: "<m1@posthorn.example>", workspaceID: "ws_1", runID: "run_1", stepID: "send",
                recipients: ["ada@example.com", "grace@example.com"], sentAt: Fixture.date(1_000))
            try await store.recordSentMessage(sent)
            #expect(try await store.sentMessage(messageID: "<m1@posthorn.example>") == sent)
            #expect(try await store.sentMessage(messageID: "m1@posthorn.example") == sent)
            #expect(try await store.sentMessage(messageID: "<m2@posthorn.example>") == nil)
            var again = sent
            again.runID = "run_2"
            try await store.recordSentMessage(again)
            #expect(try await store.sentMessage(messageID: "m1@posthorn.example")?.runID == "run_2")
            // Retention forgets what was sent before the cutoff, with the runs.
            var later = sent
            later.messageID = "<m3@posthorn.example>"
            later.sentAt = Fixture.date(5_000)
            try await store.recordSentMessage(later)
            #expect(try await store.deleteSentMessages(before: Fixture.date(2_000)) == 1)
            #expect(try await store.sentMessage(messageID: "m1@posthorn.example") == nil)
            #expect(try await store.sentMessage(messageID: "m3@posthorn.example") == later)
        }
    }

    @Test("deliveries are kept beside the run: a later write of the run (the executor's, without them) keeps them; retention deletes them with the run")
    func deliveriesBesideTheRun() async throws {
        try await withInMemorySQLiteStorage { storage in
            let store = storage.store
            try await store.insertWorkspace(Fixture.workspace("ws_1"), tokenHash: "hash-1")
            var run = FlowFixture.detailedRun("run_d")
            run.restore(status: .running)
            try await store.enqueue([run])
            let bounce = StepRecord.Delivery(status: "bounced", recipient: "Gone@Example.com", code: "5.1.1", diagnostic: "550 5.1.1 unknown", at: Fixture.date(1_700_000_001_000))
            let started = FlowFixture.run("run_started")
            try await store.recordDeliveries([bounce], runID: "run_d", stepID: "second", inserting: [started])
            #expect(try await store.run(id: "run_started", workspaceID: "ws_1") != nil)
            // The executor, which never saw the bounce, finishes the run.
            run.restore(status: .failed)
            try await store.save(run)
            let stored = try #require(try await store.run(id: "run_d", workspaceID: "ws_1"))
            #expect(stored.status == .failed)
            #expect(stored.steps.first { $0.stepID == "second" }?.delivery == [bounce])
            // A later report for the same address, in another case, replaces it.
            let delivered = StepRecord.Delivery(status: "delivered", recipient: "gone@example.com", code: "2.0.0", diagnostic: nil, at: Fixture.date(1_700_000_002_000))
            try await store.recordDeliveries([delivered], runID: "run_d", stepID: "second", inserting: [])
            #expect(try await store.run(id: "run_d", workspaceID: "ws_1")?.steps.first { $0.stepID == "second" }?.delivery == [delivered])
            try await store.database.raw("UPDATE runs SET finished_at = 1 WHERE id = 'run_d'").run()
            #expect(try await store.deleteFinishedRuns(before: Fixture.date(1_000)) == 1)
            #expect(try await store.database.raw("SELECT run_id FROM step_deliveries").all().isEmpty)
        }
    }

    @Test("a flow needs an existing workspace and goes when its workspace goes; its runs stay")
    func flowForeignKeys() async throws {
        try await withInMemorySQLiteStorage { storage in
            let store = storage.store
            await #expect(throws: (any Error).self) { try await store.insertFlow(FlowFixture.flow("fl_orphan", workspaceID: "ws_missing")) }

            try await store.insertWorkspace(Fixture.workspace("ws_1"), tokenHash: "hash-1")
            try await store.insertFlow(FlowFixture.flow("fl_1", trigger: FlowFixture.cron()))
            #expect(try await store.enqueueCronFire(FlowFixture.run("run_1", flowID: "fl_1"), flowID: "fl_1", dueAt: Fixture.date(60_000)))
            try await store.database.raw("DELETE FROM workspaces WHERE id = \(bind: "ws_1")").run()

            #expect(try await store.flow(id: "fl_1") == nil)
            #expect(try await store.lastCronFire(flowID: "fl_1") == nil)
            #expect(try await store.run(id: "run_1", workspaceID: "ws_1") != nil, "run history is not foreign-keyed")
        }
    }

    // MARK: - Round trips

    @Test("a run round trips every field exactly through the file, and reopening keeps it")
    func runRoundTripAndReopen() async throws {
        try await withTemporaryDirectory { directory in
            let detailed = FlowFixture.detailedRun()
            let queued = FlowFixture.run("run_queued", workspaceID: "ws_2", createdAt: -1_234)
            let flow = FlowFixture.detailedFlow()
            let due = Fixture.date(1_700_000_060_000)
            try await withSQLiteStorage(dataDirectory: directory) { storage in
                try await storage.store.insertWorkspace(Fixture.workspace("ws_1"), tokenHash: "hash-1")
                try await storage.store.insertFlow(flow)
                try await storage.store.enqueue([detailed, queued])
                #expect(try await storage.store.enqueueCronFire(FlowFixture.run("run_cron"), flowID: flow.id, dueAt: due))
                #expect(try await storage.store.run(id: detailed.id, workspaceID: "ws_1") == detailed)
            }
            try await withSQLiteStorage(dataDirectory: directory) { storage async throws in
                let stored = try #require(try await storage.store.run(id: detailed.id, workspaceID: "ws_1"))
                #expect(stored == detailed)
                // `==` on JSON values equates 3 and 3.0; the cases must survive too.
                #expect(stored.trigger.body.compactJSON == detailed.trigger.body.compactJSON)
                #expect(stored.steps.map { $0.output?.compactJSON } == detailed.steps.map { $0.output?.compactJSON })
                #expect(try await storage.store.run(id: queued.id, workspaceID: "ws_2") == queued)
                #expect(try await storage.store.flow(id: flow.id) == flow)
                #expect(try await storage.store.lastCronFire(flowID: flow.id) == due)
                #expect(try await storage.store.countByStatus() == [.failed: 1, .queued: 2])
            }
        }
    }

    @Test("JSON columns hold sorted-key JSON with integers written exactly and dates in milliseconds")
    func storedJSONText() async throws {
        try await withInMemorySQLiteStorage { storage in
            var run = FlowFixture.run("run_1")
            run.trigger = TriggerPayload(kind: "webhook", body: ["b": .integer(9_007_199_254_740_993), "a": "ü"])
            run.steps = [StepRecord(
                stepID: "s", type: "debug.echo", status: .succeeded, parameters: nil, output: ["n": 1], error: nil,
                attempts: 1, startedAt: Fixture.date(1_700_000_000_123), finishedAt: nil)]
            try await storage.store.enqueue([run])

            let row = try #require(try await storage.store.database.raw("SELECT trigger, steps, error FROM runs").first())
            let trigger = try row.decode(column: "trigger", as: String.self)
            let steps = try row.decode(column: "steps", as: String.self)
            #expect(trigger == #"{"body":{"a":"ü","b":9007199254740993},"headers":{},"kind":"webhook","query":{}}"#)
            #expect(steps == #"[{"attempts":1,"output":{"n":1},"startedAt":1700000000123,"status":"succeeded","stepID":"s","type":"debug.echo"}]"#)
            #expect(try row.decodeNil(column: "error"))
        }
    }

    @Test("reading tolerates unknown keys and absent optional keys in stored JSON")
    func tolerantReading() async throws {
        try await withInMemorySQLiteStorage { storage in
            let store = storage.store
            try await store.enqueue([FlowFixture.run("run_1")])
            try await store.database.raw("""
                UPDATE runs SET trigger = \(bind: #"{"kind":"cron","body":{},"headers":{},"query":{},"addedLater":true}"#),
                steps = \(bind: #"[{"stepID":"s","type":"t","status":"running","attempts":1,"startedAt":1700000000000.5}]"#)
                """).run()

            let run = try #require(try await store.run(id: "run_1", workspaceID: "ws_1"))
            #expect(run.trigger.kind == "cron")
            #expect(run.steps.first?.output == nil)
            #expect(run.steps.first?.startedAt == Date(timeIntervalSince1970: 1_700_000_000.0005))
        }
    }

    @Test("a run whose stored JSON no longer decodes is still readable: the part is replaced by a note", arguments: [
        ("trigger", "{not json"),
        ("steps", #"[{"stepID":"s"}]"#),
        ("error", "[]"),
        ("steps", String(repeating: "[", count: 600) + String(repeating: "]", count: 600)),
    ])
    func unreadableJSON(column: String, value: String) async throws {
        try await withInMemorySQLiteStorage { storage in
            let store = storage.store
            try await store.enqueue([FlowFixture.run("run_1")])
            try await store.database.raw("UPDATE runs SET \(ident: column) = \(bind: value)").run()
            let run = try #require(try await store.run(id: "run_1", workspaceID: "ws_1"))
            switch column {
            case "trigger":
                #expect(run.trigger.body[path: [.key("$unreadable")]] != nil)
            case "steps":
                #expect(run.steps.isEmpty)
            default:
                #expect(run.error?.code == "EUNREADABLE")
                #expect(run.status == .queued, "an unreadable error alone does not stop a run")
            }
            if column != "error" {
                // Unfinished without its trigger or history, it must not run again from the start.
                #expect(run.status == .ambiguous)
                #expect(run.error?.code == "EUNREADABLE")
                #expect(try await store.claim(RunClaim(limit: 1, owner: "w", now: .distantFuture, leaseUntil: .distantFuture))
                    .allSatisfy(\.isFinished))
            }
        }
    }

    @Test("a column the model cannot hold is a clear error naming the column, never the value", arguments: [
        ("runs", "status", "paused"),
        ("flows", "trigger_kind", "email"),
        ("flows", "definition", #"{"steps":[{"id":"a","type":"t","onError":"retry"}]}"#),
        ("flows", "webhook_id", nil),
    ])
    func invalidValues(table: String, column: String, value: String?) async throws {
        try await withInMemorySQLiteStorage { storage in
            let store = storage.store
            try await store.insertWorkspace(Fixture.workspace("ws_1"), tokenHash: "hash-1")
            try await store.insertFlow(FlowFixture.flow("fl_1", trigger: FlowFixture.webhook("wh_1")))
            try await store.enqueue([FlowFixture.run("run_1")])

            try await store.database.raw("UPDATE \(ident: table) SET \(ident: column) = \(bind: value)").run()

            let rowID = table == "runs" ? "run_1" : "fl_1"
            let expected = StorageError.invalidValue(table: table, column: column, rowID: rowID)
            if table == "runs" {
                await #expect(throws: expected) { try await store.run(id: "run_1", workspaceID: "ws_1") }
            } else {
                await #expect(throws: expected) { try await store.flow(id: "fl_1") }
            }
            #expect(value.map { !String(describing: expected).contains($0) } ?? true)
        }
    }

    // MARK: - Batches

    @Test("a write larger than one statement's bind limit is chunked, in one transaction")
    func chunkedWrite() async throws {
        try await withInMemorySQLiteStorage { storage in
            let store = storage.store
            let runs = (0..<6_000).map { FlowFixture.run("run_\($0)", createdAt: 1_700_000_000_000 + Int64($0)) }
            try await store.enqueue(Array(runs[..<3_000]))
            let finished = runs[..<3_000].map { run -> Run in
                var run = run
                run.restore(status: .succeeded)
                run.restore(finishedAt: Fixture.date(1_800_000_000_000))
                return run
            }
            try await store.write(inserting: Array(runs[3_000...]), updating: finished)

            #expect(try await store.countByStatus() == [.succeeded: 3_000, .queued: 3_000])
            #expect(try await store.run(id: "run_2999", workspaceID: "ws_1") == finished[2_999])
            #expect(try await store.run(id: "run_5999", workspaceID: "ws_1") == runs[5_999])
        }
    }

    @Test("a write that fails stores nothing of its batch")
    func atomicWrite() async throws {
        try await withInMemorySQLiteStorage { storage in
            let store = storage.store
            let existing = FlowFixture.run("run_taken")
            try await store.enqueue([existing])
            var changed = existing
            changed.restore(status: .running)

            // The second chunk repeats an id the store has, after the first chunk went in.
            let fresh = (0..<3_000).map { FlowFixture.run("run_\($0)") }
            await #expect(throws: (any Error).self) {
                try await store.write(inserting: fresh + [existing], updating: [changed])
            }

            #expect(try await store.countByStatus() == [.queued: 1])
            #expect(try await store.run(id: "run_taken", workspaceID: "ws_1") == existing)
            // The connection is usable again: the transaction was rolled back, not left open.
            try await store.enqueue([FlowFixture.run("run_after")])
            #expect(try await store.countByStatus() == [.queued: 2])
        }
    }

    @Test("retention deletes in chunks and counts every chunk")
    func chunkedRetention() async throws {
        try await withInMemorySQLiteStorage { storage in
            let store = storage.store
            let old = (0..<2_500).map { index -> Run in
                var run = FlowFixture.run("run_old_\(index)", createdAt: 1_000, status: .succeeded)
                run.restore(finishedAt: Fixture.date(2_000))
                return run
            }
            try await store.enqueue(old + [FlowFixture.run("run_queued", createdAt: 1_000)])

            #expect(try await store.deleteFinishedRuns(before: Fixture.date(3_000)) == 2_500)
            #expect(try await store.countByStatus() == [.queued: 1])
        }
    }

    // MARK: - Two connections

    @Test("claims from two connections to one file (server and CLI) never return the same run")
    func claimsAcrossConnections() async throws {
        try await withTemporaryDirectory { directory in
            try await withSQLiteStorage(dataDirectory: directory) { first in
                try await withSQLiteStorage(dataDirectory: directory) { second in
                    let ids = (0..<200).map { "run_\($0)" }
                    try await first.store.enqueue(ids.map { FlowFixture.run($0) })
                    let now = Fixture.date(1_800_000_000_000)
                    let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
                        for store in [first.store, second.store] {
                            group.addTask {
                                var mine: [String] = []
                                while true {
                                    let batch = try await store.claim(RunClaim(limit: 9, owner: "w", now: now, leaseUntil: now))
                                    if batch.isEmpty { return mine }
                                    mine += batch.map(\.id)
                                }
                            }
                        }
                        return try await group.reduce(into: []) { $0 += $1 }
                    }
                    #expect(claimed.count == ids.count)
                    #expect(Set(claimed) == Set(ids))
                }
            }
        }
    }

    // MARK: - Query plans

    @Test("the claim, the history pages and the webhook lookup use their indexes, without a sort", arguments: [
        "SELECT DISTINCT workspace_id FROM runs WHERE status = 'queued'",
        "SELECT id, not_before, created_at FROM runs WHERE status = 'queued' AND workspace_id = 'w' AND not_before <= 5 ORDER BY not_before, created_at, id LIMIT 10",
        "SELECT workspace_id, COUNT(*) AS running FROM runs WHERE status = 'running' GROUP BY workspace_id",
        "SELECT id FROM runs WHERE workspace_id = 'w' AND (created_at < 5 OR (created_at = 5 AND id < 'r')) ORDER BY created_at DESC, id DESC LIMIT 10",
        "SELECT id FROM runs WHERE workspace_id = 'w' AND flow_id = 'f' ORDER BY created_at DESC, id DESC LIMIT 10",
        "SELECT id FROM flows WHERE webhook_id = 'h'",
    ])
    func queryPlans(query: String) async throws {
        try await withInMemorySQLiteStorage { storage in
            let rows = try await storage.store.database.raw(SQLQueryString("EXPLAIN QUERY PLAN " + query)).all()
            let plan = try rows.map { try $0.decode(column: "detail", as: String.self) }.joined(separator: "\n")
            #expect(plan.contains("USING INDEX") || plan.contains("USING COVERING INDEX"), "\(plan)")
            #expect(!plan.contains("TEMP B-TREE"), "\(plan)")
        }
    }
}
