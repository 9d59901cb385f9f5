public import Foundation

extension KeyRingFile {
    /// Environment variable holding one base64 master key.
    public static let keyVariable = "POSTHORN_MASTER_KEY"
    /// Environment variable holding the path of a key ring file (or a single-key file).
    public static let keyFileVariable = "POSTHORN_MASTER_KEY_FILE"

    /// Finds the key ring `posthorn serve` runs with, in this order:
    ///
    /// 1. `POSTHORN_MASTER_KEY`: one base64 key (32 bytes); source ``KeySource/environment``.
    /// 2. `POSTHORN_MASTER_KEY_FILE`: a path, which must exist; source `.file(url, created: false)`.
    /// 3. `defaultURL`, created with a fresh key if missing; source `.file(defaultURL, created:)`.
    ///
    /// A variable that is set but empty (or only whitespace) is an error rather than "unset": an
    /// operator who meant to supply a key must not silently get a newly generated one.
    ///
    /// - Throws: ``VaultError/invalidKey(reason:)`` for a bad or empty variable,
    ///   ``VaultError/keyFile(path:reason:)`` for a file that cannot be read, parsed or created.
    public static func resolve(
        environment: [String: String], defaultURL: URL
    ) throws(VaultError) -> (ring: KeyRing, source: KeySource) {
        if let value = environment[keyVariable] {
            guard !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw .invalidKey(reason: "\(keyVariable) is set but empty")
            }
            do {
                return (KeyRing(single: try MasterKey(base64: value)), .environment)
            } catch {
                throw .invalidKey(reason: "\(keyVariable): \(error.reasonText)")
            }
        }
        if let path = environment[keyFileVariable] {
            guard !path.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw .invalidKey(reason: "\(keyFileVariable) is set but empty")
            }
            let url = URL(fileURLWithPath: path)
            return (try load(from: url), .file(url, created: false))
        }
        let (ring, created) = try loadOrCreate(at: defaultURL)
        return (ring, .file(defaultURL, created: created))
    }
}
