import Flows
import Foundation
import Testing

/// What every ``Flows/FlowStore`` must do, run against each ``StoreKind``: the SQL store behaves as
/// ``Flows/InMemoryFlowStore`` does.
@Suite("FlowStore contract")
struct FlowStoreContractTests {
    @Test("a flow is found by id in its workspace, by id alone and by webhook id, and nothing else is", arguments: StoreKind.allCases)
    func lookups(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            let hooked = FlowFixture.flow("fl_hook", trigger: FlowFixture.webhook("wh_1", secretHash: "hash"))
            let other = FlowFixture.flow("fl_other", workspaceID: "ws_2", trigger: FlowFixture.webhook("wh_2"), enabled: false)
            try await stores.flows.insertFlow(hooked)
            try await stores.flows.insertFlow(other)

            #expect(try await stores.flows.flow(id: "fl_hook", workspaceID: "ws_1") == hooked)
            #expect(try await stores.flows.flow(id: "fl_hook", workspaceID: "ws_2") == nil, "scoped to its workspace")
            #expect(try await stores.flows.flow(id: "fl_other") == other, "the executor looks across workspaces")
            #expect(try await stores.flows.flow(webhookID: "wh_1") == hooked)
            #expect(try await stores.flows.flow(webhookID: "wh_2") == other, "disabled flows are found; the caller decides")
            #expect(try await stores.flows.flow(webhookID: "WH_1") == nil, "webhook ids match exactly")
            #expect(try await stores.flows.flow(id: "fl_missing") == nil)
        }
    }

    @Test("every field of a flow round trips: trigger, steps, parameters, error modes, retry policy", arguments: StoreKind.allCases)
    func roundTrip(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            let flows = [
                FlowFixture.detailedFlow(),
                FlowFixture.flow("fl_cron", trigger: FlowFixture.cron("0 9 * * MON-FRI", timeZone: "America/New_York"), steps: []),
                FlowFixture.flow("fl_manual", createdAt: -1_234, updatedAt: 0),
            ]
            for flow in flows {
                try await stores.flows.insertFlow(flow)
                let stored = try #require(try await stores.flows.flow(id: flow.id))
                #expect(stored == flow)
                #expect(stored.steps.map(\.parameters) == flow.steps.map(\.parameters))
            }
        }
    }

    @Test("a workspace's flows list by name, then id, and only its own", arguments: StoreKind.allCases)
    func listing(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            #expect(try await stores.flows.flows(workspaceID: "ws_1").isEmpty)
            let beta = FlowFixture.flow("fl_a", name: "beta")
            let alpha = FlowFixture.flow("fl_b", name: "alpha")
            let upper = FlowFixture.flow("fl_c", name: "Zeta")
            let foreign = FlowFixture.flow("fl_d", workspaceID: "ws_2", name: "aardvark")
            for flow in [beta, alpha, upper, foreign] { try await stores.flows.insertFlow(flow) }

            #expect(try await stores.flows.flows(workspaceID: "ws_1") == [upper, alpha, beta], "byte order: upper case first")
            #expect(try await stores.flows.flows(workspaceID: "ws_2") == [foreign])
        }
    }

    @Test("a taken name in the workspace is a duplicate; another workspace may use it", arguments: StoreKind.allCases)
    func duplicateNames(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            let first = FlowFixture.flow("fl_1", name: "Welcome")
            try await stores.flows.insertFlow(first)

            await #expect(throws: FlowStoreError.duplicateName) {
                try await stores.flows.insertFlow(FlowFixture.flow("fl_2", name: "Welcome"))
            }
            let elsewhere = FlowFixture.flow("fl_3", workspaceID: "ws_2", name: "Welcome")
            try await stores.flows.insertFlow(elsewhere)

            #expect(try await stores.flows.flows(workspaceID: "ws_1") == [first])
            #expect(try await stores.flows.flows(workspaceID: "ws_2") == [elsewhere])
        }
    }

    @Test("of concurrent inserts with one name, exactly one wins and the rest are duplicates", arguments: StoreKind.allCases)
    func concurrentInserts(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores async throws in
            let flows = stores.flows
            let outcomes = await withTaskGroup(of: FlowInsertOutcome.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        await FlowInsertOutcome { try await flows.insertFlow(FlowFixture.flow("fl_\(index)", name: "Contested")) }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }

            #expect(outcomes.filter { $0 == .inserted }.count == 1)
            #expect(outcomes.filter { $0 == .duplicate }.count == 7)
            #expect(try await flows.flows(workspaceID: "ws_1").count == 1)
        }
    }

    @Test("an update replaces the whole flow, trigger included, and is scoped to the workspace", arguments: StoreKind.allCases)
    func update(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            let original = FlowFixture.flow("fl_1", name: "Original", trigger: FlowFixture.webhook("wh_1"))
            try await stores.flows.insertFlow(original)
            try await stores.flows.insertFlow(FlowFixture.flow("fl_2", name: "Taken"))

            var changed = FlowFixture.detailedFlow("fl_1")
            changed.trigger = FlowFixture.cron()
            changed.name = "Renamed"
            changed.version = 2
            #expect(try await stores.flows.updateFlow(changed))
            #expect(try await stores.flows.flow(id: "fl_1") == changed)
            #expect(try await stores.flows.flow(webhookID: "wh_1") == nil, "the old webhook is gone")

            var sameName = changed
            sameName.enabled = true
            sameName.version = 3
            #expect(try await stores.flows.updateFlow(sameName), "keeping its own name is not a duplicate")

            var clash = sameName
            clash.version = 4
            clash.name = "Taken"
            await #expect(throws: FlowStoreError.duplicateName) { try await stores.flows.updateFlow(clash) }

            var foreign = clash
            foreign.name = "Renamed"
            foreign.workspaceID = "ws_2"
            #expect(try await stores.flows.updateFlow(foreign) == false, "another workspace's flow is not found")
            #expect(try await stores.flows.updateFlow(FlowFixture.flow("fl_missing")) == false)
            #expect(try await stores.flows.flow(id: "fl_1") == sameName)
        }
    }

    @Test("an update made from an older version is a conflict and changes nothing", arguments: StoreKind.allCases)
    func staleUpdate(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            let original = FlowFixture.flow("fl_1", name: "Original")
            try await stores.flows.insertFlow(original)
            var first = original
            first.name = "First tab"
            first.version = 2
            #expect(try await stores.flows.updateFlow(first))
            var second = original
            second.name = "Second tab"
            second.version = 2
            await #expect(throws: FlowStoreError.versionConflict) { try await stores.flows.updateFlow(second) }
            #expect(try await stores.flows.flow(id: "fl_1")?.name == "First tab")
        }
    }

    @Test("a delete is scoped to the workspace and takes the flow's cron fires with it", arguments: StoreKind.allCases)
    func delete(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            let flow = FlowFixture.flow("fl_1", trigger: FlowFixture.cron())
            try await stores.flows.insertFlow(flow)
            let due = Fixture.date(1_700_000_300_000)
            #expect(try await stores.runs.enqueueCronFire(FlowFixture.run("run_1"), flowID: "fl_1", dueAt: due))
            #expect(try await stores.flows.lastCronFire(flowID: "fl_1") == due)

            #expect(try await stores.flows.deleteFlow(id: "fl_1", workspaceID: "ws_2") == false)
            #expect(try await stores.flows.flow(id: "fl_1") == flow)

            #expect(try await stores.flows.deleteFlow(id: "fl_1", workspaceID: "ws_1"))
            #expect(try await stores.flows.flow(id: "fl_1") == nil)
            #expect(try await stores.flows.lastCronFire(flowID: "fl_1") == nil)
            #expect(try await stores.flows.deleteFlow(id: "fl_1", workspaceID: "ws_1") == false)
            #expect(try await stores.runs.run(id: "run_1", workspaceID: "ws_1") != nil, "runs outlive their flow")
        }
    }

    @Test("cron flows are the enabled cron flows of every workspace, by id", arguments: StoreKind.allCases)
    func cronFlows(_ kind: StoreKind) async throws {
        try await kind.withFlowStores { stores in
            let second = FlowFixture.flow("fl_b", trigger: FlowFixture.cron())
            let first = FlowFixture.flow("fl_a", workspaceID: "ws_2", trigger: FlowFixture.cron("@daily", timeZone: "UTC"))
            let disabled = FlowFixture.flow("fl_c", trigger: FlowFixture.cron(), enabled: false)
            let manual = FlowFixture.flow("fl_d")
            let hooked = FlowFixture.flow("fl_e", trigger: FlowFixture.webhook("wh_e"))
            for flow in [second, first, disabled, manual, hooked] { try await stores.flows.insertFlow(flow) }

            #expect(try await stores.flows.cronFlows() == [first, second])
        }
    }
}

/// How one of several racing flow inserts ended.
enum FlowInsertOutcome: Equatable, Sendable {
    case inserted
    case duplicate
    case failed(String)

    /// Runs `write` and classifies the result.
    init(_ write: () async throws -> Void) async {
        do {
            try await write()
            self = .inserted
        } catch FlowStoreError.duplicateName {
            self = .duplicate
        } catch {
            self = .failed(String(describing: error))
        }
    }
}
