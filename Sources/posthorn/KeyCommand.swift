import ArgumentParser
import Storage
import Foundation
import Server
import Vault
import Workspaces

/// `posthorn key rotate`: a new master key, every stored secret re-sealed under it, the old key retired.
struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key", abstract: "Manage the master key.", subcommands: [Rotate.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a new master key, re-seal every secret under it, then retire the old keys.",
            discussion: """
                Crash-safe: the key file first holds the old and the new key, so every secret opens \
                whichever key it is sealed under; only when all are re-sealed are the old keys removed. \
                Needs the data directory to itself: stop `posthorn serve` first. Refused when the key \
                comes from POSTHORN_MASTER_KEY (rotate it where that variable is set).
                """)

        @OptionGroup var data: DataOptions

        func run() async throws {
            do {
                // Exclusive: no server or other command may seal with the old key meanwhile.
                let output = try await data.withEnvironment(exclusive: true) { environment in
                    guard case .file(let url, _) = environment.keySource else {
                        throw CommandFailure(
                            message: "key: the master key comes from POSTHORN_MASTER_KEY, which this command cannot rewrite; use a key file (POSTHORN_MASTER_KEY_FILE) to rotate")
                    }
                    let old = environment.vault.keyRing
                    let ring = old.adding(MasterKey.generate(), makeActive: true)
                    try KeyRingFile.write(ring, to: url)
                    let vault = Vault(keyRing: ring)
                    let moved = try await CredentialService(store: environment.storage.store, vault: vault).resealAll()
                        + DomainService(store: environment.storage.store, vault: vault).resealAll()
                        + IntakeService(store: environment.storage.store, credentials: environment.storage.store, vault: vault).resealAll()
                        + OAuthClientSettings(store: environment.storage.store, vault: vault).resealAll()
                    try KeyRingFile.write(ring.retainingOnlyActive(), to: url)
                    return RotationReport(
                        activeKeyId: ring.active.id, retiredKeyIds: old.keys.map(\.id), resealedSecrets: moved)
                }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                print(String(decoding: try encoder.encode(output), as: UTF8.self))
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }

    struct RotationReport: Encodable {
        var activeKeyId: String
        var retiredKeyIds: [String]
        var resealedSecrets: Int
    }
}
