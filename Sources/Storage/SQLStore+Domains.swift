import DKIM
public import Foundation
import SQLKit
import Vault
public import Workspaces

extension SQLStore: DomainStore {
    /// Stores a new domain; ``Workspaces/StoreError/duplicate(_:)`` (`"domain"`) when the
    /// workspace has it.
    public func insertDomain(_ domain: SendingDomain) async throws {
        try await mappingUniqueViolation(column: "domain", table: "sending_domains") {
            try await database.raw("""
                INSERT INTO sending_domains (id, workspace_id, name, created_at)
                VALUES (\(bind: domain.id), \(bind: domain.workspaceID), \(bind: domain.name), \(bind: domain.createdAt.millisecondsSince1970))
                """).run()
        }
    }

    public func domain(id: String, workspaceID: String) async throws -> SendingDomain? {
        try await domains(where: "id = \(bind: id) AND workspace_id = \(bind: workspaceID)").first
    }

    public func domain(named name: String, workspaceID: String) async throws -> SendingDomain? {
        try await domains(where: "workspace_id = \(bind: workspaceID) AND name = \(bind: name)", from: reads).first
    }

    public func domains(workspaceID: String) async throws -> [SendingDomain] {
        try await domains(where: "workspace_id = \(bind: workspaceID)")
    }

    /// Deletes the domain; its keys go with it (`ON DELETE CASCADE`).
    public func deleteDomain(id: String, workspaceID: String) async throws -> Bool {
        let deleted = try await database.raw("""
            DELETE FROM sending_domains WHERE id = \(bind: id) AND workspace_id = \(bind: workspaceID) RETURNING id
            """).all()
        return !deleted.isEmpty
    }

    /// Adds a key; ``Workspaces/StoreError/duplicate(_:)`` (`"selector"`) when its domain has the
    /// selector. The insert selects the domain, so a key for another workspace's domain adds nothing.
    public func insertDKIMKey(_ key: DKIMKeyRecord) async throws {
        let inserted = try await mappingUniqueViolation(column: "selector", table: "dkim_keys") {
            try await database.raw("""
                INSERT INTO dkim_keys (id, domain_id, workspace_id, selector, algorithm, private_key_sealed, public_key, \
                active, created_at, activated_at)
                SELECT \(bind: key.id), id, workspace_id, \(bind: key.selector), \(bind: key.algorithm.rawValue), \
                \(bind: key.sealedPrivateKey.encoded), \(bind: key.publicKey), \(bind: key.active), \
                \(bind: key.createdAt.millisecondsSince1970), \(bind: key.activatedAt?.millisecondsSince1970)
                FROM sending_domains WHERE id = \(bind: key.domainID) AND workspace_id = \(bind: key.workspaceID)
                RETURNING id
                """).all()
        }
        if inserted.isEmpty { throw StoreError.duplicate("domain") }
    }

    /// Writes the keys' `active`, `activated_at` and sealed private key in one transaction.
    public func updateDKIMKeys(_ keys: [DKIMKeyRecord]) async throws {
        try await transaction { session in
            for key in keys {
                try await session.raw("""
                    UPDATE dkim_keys SET active = \(bind: key.active), activated_at = \(bind: key.activatedAt?.millisecondsSince1970), \
                    private_key_sealed = \(bind: key.sealedPrivateKey.encoded)
                    WHERE id = \(bind: key.id) AND workspace_id = \(bind: key.workspaceID)
                    """).run()
            }
        }
    }

    public func deleteDKIMKey(id: String, domainID: String, workspaceID: String) async throws -> Bool {
        let deleted = try await database.raw("""
            DELETE FROM dkim_keys WHERE id = \(bind: id) AND domain_id = \(bind: domainID) AND workspace_id = \(bind: workspaceID) RETURNING id
            """).all()
        return !deleted.isEmpty
    }

    public func allDKIMKeys() async throws -> [DKIMKeyRecord] {
        try await database.raw("SELECT \(Self.dkimKeyColumns) FROM dkim_keys ORDER BY created_at, id").all().map(Self.dkimKey(from:))
    }

    // MARK: - Queries

    private static let dkimKeyColumns: SQLQueryString =
        "id, domain_id, workspace_id, selector, algorithm, private_key_sealed, public_key, active, created_at, activated_at"

    /// The domains matching `condition`, by name, each with its keys (oldest first).
    private func domains(where condition: SQLQueryString, from source: (any SQLDatabase)? = nil) async throws -> [SendingDomain] {
        let database = source ?? self.database
        let rows = try await database.raw("""
            SELECT id, workspace_id, name, created_at FROM sending_domains WHERE \(condition) ORDER BY name, id
            """).all()
        var domains = try rows.map { row throws(StorageError) in
            let stored = StoredRow(row, table: "sending_domains")
            return SendingDomain(
                id: try stored.value("id"), workspaceID: try stored.value("workspace_id"), name: try stored.value("name"),
                createdAt: try stored.date("created_at"))
        }
        guard !domains.isEmpty else { return [] }
        let ids = domains.map(\.id)
        let keyRows = try await database.raw("""
            SELECT \(Self.dkimKeyColumns) FROM dkim_keys WHERE domain_id IN (\(binds: ids)) ORDER BY created_at, id
            """).all()
        let keys = Dictionary(grouping: try keyRows.map(Self.dkimKey(from:)), by: \.domainID)
        for index in domains.indices { domains[index].keys = keys[domains[index].id] ?? [] }
        return domains
    }

    private static func dkimKey(from row: any SQLRow) throws(StorageError) -> DKIMKeyRecord {
        let stored = StoredRow(row, table: "dkim_keys")
        let sealedText: String = try stored.value("private_key_sealed")
        let sealed: SealedSecret
        do {
            sealed = try SealedSecret(encoded: sealedText)
        } catch {
            throw stored.invalid("private_key_sealed")
        }
        return DKIMKeyRecord(
            id: try stored.value("id"), workspaceID: try stored.value("workspace_id"), domainID: try stored.value("domain_id"),
            selector: try stored.value("selector"), algorithm: try stored.rawValue("algorithm"), sealedPrivateKey: sealed,
            publicKey: try stored.value("public_key"), active: try stored.value("active"), createdAt: try stored.date("created_at"),
            activatedAt: try stored.optional("activated_at", as: Int64.self).map(Date.init(millisecondsSince1970:)))
    }
}
