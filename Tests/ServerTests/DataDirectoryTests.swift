import Egress
import Foundation
import Logging
import Secrets
import Server
import Storage
import Testing
import Vault
import Workspaces

@Suite("The data directory: permissions, the master key, the rotation lock")
struct DataDirectoryTests {
    static func configuration(_ directory: URL, environment: [String: String] = [:]) -> ServerConfiguration {
        ServerConfiguration(dataDirectory: directory, environment: environment)
    }

    static func scratch() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("posthorn-data-\(UUID().uuidString)")
    }

    static func mode(_ url: URL) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int) ?? -1
    }

    static let logger = Logger(label: "test.data")

    @Test("everything is owner-only, the WAL included, and an existing open directory is tightened")
    func permissions() async throws {
        let directory = Self.scratch()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: directory) }
        let environment = try await PosthornEnvironment.open(configuration: Self.configuration(directory), logger: Self.logger)
        _ = try await environment.bootstrap()
        let workspace = try #require(try await environment.storage.store.workspace(named: "default"))
        _ = try await environment.services.credentials.create(
            CredentialInput(name: "relay", host: "smtp.example.com", username: .some("u"), password: .some(Secret("wal-canary-93d1"))),
            in: workspace.id)
        #expect(try Self.mode(directory) == 0o700)
        for name in ["master.key", "posthorn.sqlite", "posthorn.sqlite-wal", "posthorn.sqlite-shm", "posthorn.lock"] {
            let url = directory.appendingPathComponent(name)
            #expect(FileManager.default.fileExists(atPath: url.path), "\(name) exists while open")
            #expect(try Self.mode(url) & 0o077 == 0, "\(name) is owner-only")
        }
        // Scanned while open, before a checkpoint folds the WAL into the main file.
        var bytes = Data()
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
            bytes.append(FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) ?? Data())
        }
        #expect(bytes.range(of: Data("v1.k".utf8)) != nil, "the scan read the sealed password")
        #expect(bytes.range(of: Data("wal-canary-93d1".utf8)) == nil)
        try await environment.close()
    }

    @Test("a database whose key file is missing is refused, never given a new key")
    func missingKeyRefused() async throws {
        let directory = Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try await PosthornEnvironment.open(configuration: Self.configuration(directory), logger: Self.logger)
        try await first.close()
        try FileManager.default.removeItem(at: directory.appendingPathComponent("master.key"))
        await #expect(throws: WorkspaceError.self) {
            _ = try await PosthornEnvironment.open(configuration: Self.configuration(directory), logger: Self.logger)
        }
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("master.key").path))
    }

    @Test("passwords sealed under a key the ring does not hold stop the start with the key id")
    func unknownKeyRefused() async throws {
        let directory = Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let environment = try await PosthornEnvironment.open(configuration: Self.configuration(directory), logger: Self.logger)
        _ = try await environment.bootstrap()
        let workspace = try #require(try await environment.storage.store.workspace(named: "default"))
        let stored = try await environment.services.credentials.create(
            CredentialInput(name: "relay", host: "smtp.example.com", username: .some("u"), password: .some(Secret("pw"))), in: workspace.id)
        try await environment.close()
        try KeyRingFile.write(KeyRing(single: MasterKey.generate()), to: directory.appendingPathComponent("master.key"))
        do {
            _ = try await PosthornEnvironment.open(configuration: Self.configuration(directory), logger: Self.logger)
            Issue.record("opened with the wrong key")
        } catch let error as WorkspaceError {
            #expect(error.field == "masterKey")
            #expect(error.message.contains(try #require(stored.sealedPassword?.keyID)))
        }
    }

    @Test("key rotation needs the directory to itself: refused while a server has it open")
    func rotationLock() async throws {
        let directory = Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try await PosthornEnvironment.open(configuration: Self.configuration(directory), logger: Self.logger)
        do {
            _ = try await PosthornEnvironment.open(configuration: Self.configuration(directory), logger: Self.logger, exclusive: true)
            Issue.record("exclusive open succeeded while shared")
        } catch let error as WorkspaceError {
            #expect(error.message.contains("stop it before rotating"))
        }
        try await server.close()
        let rotation = try await PosthornEnvironment.open(configuration: Self.configuration(directory), logger: Self.logger, exclusive: true)
        await #expect(throws: WorkspaceError.self) {
            _ = try await PosthornEnvironment.open(configuration: Self.configuration(directory), logger: Self.logger)
        }
        try await rotation.close()
    }

    @Test("the configuration never prints the environment (master key, admin token)")
    func configurationRedacted() {
        let configuration = Self.configuration(Self.scratch(), environment: ["POSTHORN_ADMIN_TOKEN": "admin-secret-value-0123456789abcdef"])
        #expect(!"\(configuration)".contains("admin-secret"))
        #expect(!String(reflecting: configuration).contains("admin-secret"))
        var dumped = ""
        dump(configuration, to: &dumped)
        #expect(!dumped.contains("admin-secret"))
    }
}
