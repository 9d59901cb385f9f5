import Foundation
import Secrets
import Testing
import Vault

/// Fixed keys and contexts, so failures reproduce.
enum Fixtures {
    /// A key of 32 copies of `byte`.
    static func key(_ byte: UInt8) -> MasterKey {
        // 32 bytes cannot fail; `try!` keeps fixtures usable from static lets.
        try! MasterKey(rawBytes: [UInt8](repeating: byte, count: 32))
    }

    static let k1 = key(0x11)
    static let k2 = key(0x22)

    static let contextA = SealContext(workspaceID: "ws_alpha", credentialID: "cred_1")
    static let contextB = SealContext(workspaceID: "ws_beta", credentialID: "cred_2")

    /// A plaintext whose appearance anywhere in output is a leak.
    static let canary = "canary-Pa55w0rd-7f3e91"
}

extension VaultError {
    /// The reason of an `invalidKey` or `keyFile` error, or `nil`.
    var reason: String? {
        switch self {
        case .invalidKey(let reason), .keyFile(_, let reason): reason
        case .unknownKey, .openFailed, .malformed: nil
        }
    }
}

/// Runs `body` with a fresh empty directory, removed afterwards.
func withTemporaryDirectory<Result>(_ body: (URL) throws -> Result) throws -> Result {
    let directory = FileManager.default.temporaryDirectory
        .appending(component: "posthorn-vault-tests-\(UUID().uuidString)", directoryHint: .isDirectory)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

/// The POSIX permission bits of the file at `url`.
func permissions(of url: URL) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: url.path(percentEncoded: false))
    return try #require((attributes[.posixPermissions] as? NSNumber)?.intValue)
}

/// `value`'s description, debug description and `dump`, concatenated.
func everyRendering(of value: some Any) -> String {
    var dumped = ""
    dump(value, to: &dumped)
    return [String(describing: value), String(reflecting: value), "\(value)", dumped].joined(separator: "\n")
}
