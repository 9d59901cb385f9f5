import Foundation
import NIOSSL
import Testing
import TestSupport

/// The data-directory commands, run as the real binary against a real TLS SMTP server on loopback.
@Suite("posthorn workspace, credential, key rotate and send --credential")
struct CredentialCLITests {
    static let password = "cli-canary-Pa55w0rd-e41c"

    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
        var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any]) ?? [:] }
    }

    /// A scratch data directory and the CA file the credential trusts.
    struct Scratch {
        let directory: URL
        var dataDir: String { directory.appendingPathComponent("data").path }

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("posthorn-cli-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }

        func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Outcome {
            let process = Process()
            process.executableURL = SendDryRunTests.executable
            process.arguments = arguments + ["--data-dir", dataDir]
            process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("POSTHORN_") }
                .merging(environment) { $1 }
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Outcome(
                status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                stderr: String(decoding: stderr, as: UTF8.self))
        }

        func write(_ text: String, to name: String) throws -> String {
            let url = directory.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url.path
        }

        /// Every byte under the data directory.
        var dataBytes: Data {
            var data = Data()
            let enumerator = FileManager.default.enumerator(at: URL(fileURLWithPath: dataDir), includingPropertiesForKeys: nil)
            while let url = enumerator?.nextObject() as? URL {
                if let contents = FileManager.default.contents(atPath: url.path) { data.append(contents) }
            }
            return data
        }
    }

    @Test("a credential's whole life: add, list, show, test, send with it, rotate the key, delete")
    func lifecycle() async throws {
        let authority = try TestCertificateAuthority()
        var behaviour = FakeSMTPServer.Behaviour(tls: .startTLS(try authority.issueServerIdentity().serverConfiguration()))
        behaviour.logins = ["alice": Self.password]
        let server = try await FakeSMTPServer.start(behaviour)
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.directory) }
        let caFile = try scratch.write(authority.certificatePEM, to: "ca.pem")
        let env = ["RELAY_PASSWORD": Self.password]
        let allow = ["--allow-private-egress", "127.0.0.1/32"]

        let workspace = try scratch.run(["workspace", "create", "Team"])
        #expect(workspace.status == 0, "\(workspace.stderr)")
        #expect((workspace.json["token"] as? String)?.hasPrefix("ph_") == true)
        #expect(workspace.stderr.contains("Admin API token (shown once)"), "first use shows the admin token")

        let added = try scratch.run([
            "credential", "add", "--workspace", "Team", "--name", "Relay", "--host", "127.0.0.1", "--port", "\(server.port)",
            "--username", "alice", "--password-env", "RELAY_PASSWORD", "--ca-file", caFile, "--ehlo-name", "client.example.com",
        ], environment: env)
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.json["hasPassword"] as? Bool == true)
        #expect(!added.stdout.contains(Self.password))
        #expect(!added.stderr.contains("Admin API token"), "tokens are shown only on first use")

        let listed = try scratch.run(["credential", "list", "--workspace", "Team"])
        #expect((listed.json["credentials"] as? [[String: Any]])?.map { $0["name"] as? String } == ["Relay"])
        let shown = try scratch.run(["credential", "show", "Relay", "--workspace", "Team"])
        #expect(shown.json["port"] as? Int == server.port)
        let elsewhere = try scratch.run(["credential", "show", "Relay"])
        #expect(elsewhere.status == 1, "the default workspace does not see Team's credential")

        let tested = try scratch.run(["credential", "test", "Relay", "--workspace", "Team"] + allow)
        #expect(tested.status == 0, "\(tested.stdout) \(tested.stderr)")
        #expect(tested.json["ok"] as? Bool == true)
        #expect(tested.json["tlsVersion"] as? String == "TLSv1.3")

        let sent = try scratch.run([
            "send", "--credential", "Relay", "--workspace", "Team", "--from", "ann@example.com", "--to", "bob@example.com",
            "--subject", "Stored credential", "--body", "Hello", "--json",
        ] + allow)
        #expect(sent.status == 0, "\(sent.stdout) \(sent.stderr)")
        #expect(server.messages.count == 1)
        #expect(server.messages.first?.recipients == ["bob@example.com"])

        let keyFile = URL(fileURLWithPath: scratch.dataDir).appendingPathComponent("master.key")
        let keyBefore = try String(contentsOf: keyFile, encoding: .utf8)
        let rotated = try scratch.run(["key", "rotate"])
        #expect(rotated.status == 0, "\(rotated.stderr)")
        #expect(rotated.stdout.contains("\"resealedSecrets\" : 1"))
        let keyAfter = try String(contentsOf: keyFile, encoding: .utf8)
        #expect(keyAfter != keyBefore)
        let retestedAfterRotation = try scratch.run(["credential", "test", "Relay", "--workspace", "Team"] + allow)
        #expect(retestedAfterRotation.json["ok"] as? Bool == true, "\(retestedAfterRotation.stdout) \(retestedAfterRotation.stderr)")

        let data = scratch.dataBytes
        #expect(data.range(of: Data(Self.password.utf8)) == nil)
        #expect(data.range(of: Data(Data(Self.password.utf8).base64EncodedString().utf8)) == nil)

        let deleted = try scratch.run(["credential", "delete", "Relay", "--workspace", "Team"])
        #expect(deleted.status == 0)
        let gone = try scratch.run(["credential", "show", "Relay", "--workspace", "Team"])
        #expect(gone.status == 1)
        #expect(gone.stderr.contains("Credential not found"))
        await server.shutdown()
    }

    @Test("a broken rule exits 1 naming the field, and stores nothing", arguments: [
        (["--host", "smtp.example.com", "--port", "25"], "port: Port 25 is not allowed"),
        (["--host", "smtp example.com"], "host: Host must be a host name or an IP address"),
        (["--host", "smtp.example.com", "--username", "bob"], "password: Password is required when a username is set"),
        (["--host", "smtp.example.com", "--ehlo-name", "not valid"], "clientIdentifier:"),
    ])
    func refused(arguments: [String], message: String) throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.directory) }
        let outcome = try scratch.run(["credential", "add", "--name", "Bad"] + arguments)
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("error: \(message)"), "\(outcome.stderr)")
        let listed = try scratch.run(["credential", "list"])
        #expect((listed.json["credentials"] as? [Any])?.isEmpty == true)
    }

    @Test("send refuses --credential together with connection flags")
    func credentialAndFlags() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.directory) }
        let outcome = try scratch.run([
            "send", "--credential", "Relay", "--host", "smtp.example.com", "--from", "a@example.com", "--to", "b@example.com",
        ])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("credential: give --credential or the connection flags"))
    }

    @Test("key rotate is refused when the key comes from POSTHORN_MASTER_KEY")
    func rotateEnvironmentKey() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.directory) }
        let key = Data((0..<32).map { UInt8($0) }).base64EncodedString()
        let outcome = try scratch.run(["key", "rotate"], environment: ["POSTHORN_MASTER_KEY": key])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("POSTHORN_MASTER_KEY"))
        #expect(!outcome.stderr.contains(key))
        #expect(!FileManager.default.fileExists(atPath: URL(fileURLWithPath: scratch.dataDir).appendingPathComponent("master.key").path))
    }
}
