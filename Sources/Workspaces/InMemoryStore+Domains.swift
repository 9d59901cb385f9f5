import Foundation

extension InMemoryStore {
    public func insertDomain(_ domain: SendingDomain) throws {
        guard domainsByID[domain.id] == nil,
            !domainsByID.values.contains(where: { $0.workspaceID == domain.workspaceID && $0.name == domain.name })
        else { throw StoreError.duplicate("domain") }
        var stored = domain
        stored.keys = []
        domainsByID[domain.id] = stored
    }

    public func domain(id: String, workspaceID: String) -> SendingDomain? {
        guard let domain = domainsByID[id], domain.workspaceID == workspaceID else { return nil }
        return withKeys(domain)
    }

    public func domain(named name: String, workspaceID: String) -> SendingDomain? {
        domainsByID.values.first { $0.workspaceID == workspaceID && $0.name == name }.map(withKeys)
    }

    public func domains(workspaceID: String) -> [SendingDomain] {
        domainsByID.values.filter { $0.workspaceID == workspaceID }.sorted { ($0.name, $0.id) < ($1.name, $1.id) }.map(withKeys)
    }

    public func deleteDomain(id: String, workspaceID: String) -> Bool {
        guard domainsByID[id]?.workspaceID == workspaceID else { return false }
        domainsByID[id] = nil
        dkimKeysByID = dkimKeysByID.filter { $0.value.domainID != id }
        return true
    }

    public func insertDKIMKey(_ key: DKIMKeyRecord) throws {
        guard domainsByID[key.domainID]?.workspaceID == key.workspaceID else { throw StoreError.duplicate("domain") }
        guard dkimKeysByID[key.id] == nil,
            !dkimKeysByID.values.contains(where: { $0.domainID == key.domainID && $0.selector == key.selector })
        else { throw StoreError.duplicate("selector") }
        dkimKeysByID[key.id] = key
    }

    public func updateDKIMKeys(_ keys: [DKIMKeyRecord]) {
        for key in keys where dkimKeysByID[key.id]?.workspaceID == key.workspaceID {
            dkimKeysByID[key.id]?.active = key.active
            dkimKeysByID[key.id]?.activatedAt = key.activatedAt
            dkimKeysByID[key.id]?.sealedPrivateKey = key.sealedPrivateKey
        }
    }

    public func deleteDKIMKey(id: String, domainID: String, workspaceID: String) -> Bool {
        guard let key = dkimKeysByID[id], key.domainID == domainID, key.workspaceID == workspaceID else { return false }
        dkimKeysByID[id] = nil
        return true
    }

    public func allDKIMKeys() -> [DKIMKeyRecord] {
        dkimKeysByID.values.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    private func withKeys(_ domain: SendingDomain) -> SendingDomain {
        var domain = domain
        domain.keys = dkimKeysByID.values.filter { $0.domainID == domain.id }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        return domain
    }
}
