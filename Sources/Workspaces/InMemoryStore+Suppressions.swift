import Foundation

extension InMemoryStore {
    private func storeKey(_ address: String, _ workspaceID: String) -> String { "\(workspaceID) \(Suppression.key(of: address))" }

    public func insertSuppression(_ suppression: Suppression) -> Bool {
        let key = storeKey(suppression.address, suppression.workspaceID)
        guard suppressionsByKey[key] == nil else { return false }
        suppressionsByKey[key] = suppression
        return true
    }

    public func suppression(address: String, workspaceID: String) -> Suppression? {
        suppressionsByKey[storeKey(address, workspaceID)]
    }

    public func suppressions(workspaceID: String, limit: Int) -> [Suppression] {
        Array(suppressionsByKey.values.filter { $0.workspaceID == workspaceID }
            .sorted { ($0.createdAt, Suppression.key(of: $0.address)) > ($1.createdAt, Suppression.key(of: $1.address)) }
            .prefix(max(0, limit)))
    }

    public func suppressedKeys(workspaceID: String, among addresses: [String]) -> Set<String> {
        Set(addresses.map(Suppression.key(of:)).filter { suppressionsByKey["\(workspaceID) \($0)"] != nil })
    }

    public func deleteSuppression(address: String, workspaceID: String) -> Bool {
        suppressionsByKey.removeValue(forKey: storeKey(address, workspaceID)) != nil
    }
}
