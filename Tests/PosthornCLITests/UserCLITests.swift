import Foundation
import Logging
import Secrets
import Storage
import Testing
import Workspaces

/// `posthorn user create|list|reset-password`, run as the real binary.
///
/// Not covered here: the setup link `posthorn serve` prints on a first start. No Swift test starts
/// `serve` (the Python checks in `scripts/` do); `prepareSetup()` is covered by the API tests.
@Suite("posthorn user")
struct UserCLITests {
    typealias Scratch = CredentialCLITests.Scratch

    static let ownerPassword = "owner-cli-password-01"
    static let memberPassword = "member-cli-password-01"

    @Test("the first account is the instance owner, admin of default; a later one joins with the role given; list shows both")
    func createAndList() async throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.directory) }
        let owner = try scratch.run(
            ["user", "create", "--email", "Ann@Example.com", "--password-env", "PW"], environment: ["PW": Self.ownerPassword])
        #expect(owner.status == 0, "\(owner.stderr)")
        let ownerUser = try #require(owner.json["user"] as? [String: Any], "\(owner.stdout)")
        #expect(ownerUser["email"] as? String == "ann@example.com")
        #expect(ownerUser["name"] as? String == "Ann", "the name defaults to the part before @")
        #expect(ownerUser["isOwner"] as? Bool == true)
        #expect((owner.json["workspaces"] as? [[String: Any]])?.map { [$0["name"] as? String, $0["role"] as? String] } == [["default", "admin"]])
        #expect(!owner.stdout.contains(Self.ownerPassword) && !owner.stderr.contains(Self.ownerPassword))

        let passwordFile = try scratch.write(Self.memberPassword + "\n", to: "password.txt")
        let member = try scratch.run(
            ["user", "create", "--email", "bob@example.com", "--name", "Bob B", "--password-file", passwordFile, "--workspace", "default", "--role", "member"])
        #expect(member.status == 0, "\(member.stderr)")
        #expect((member.json["user"] as? [String: Any])?["isOwner"] as? Bool == false)
        #expect((member.json["user"] as? [String: Any])?["name"] as? String == "Bob B")
        #expect((member.json["workspaces"] as? [[String: Any]])?.map { [$0["name"] as? String, $0["role"] as? String] } == [["default", "member"]])

        let loner = try scratch.run(["user", "create", "--email", "cy@example.com", "--password-env", "PW"], environment: ["PW": Self.memberPassword])
        #expect(loner.status == 0, "\(loner.stderr)")
        #expect((loner.json["workspaces"] as? [Any])?.isEmpty == true, "without --workspace a later account joins nothing")

        let bobSignsIn = try await Self.withUsers(scratch) { users in
            try await users.signIn(email: "bob@example.com", password: Secret(Self.memberPassword), address: "test").0.email
        }
        #expect(bobSignsIn == "bob@example.com", "the file's line ending is not part of the password")

        let listed = try scratch.run(["user", "list"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let items = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]], "\(listed.stdout)")
        #expect(items.compactMap { ($0["user"] as? [String: Any])?["email"] as? String } == ["ann@example.com", "bob@example.com", "cy@example.com"])
        #expect(items.compactMap { ($0["user"] as? [String: Any])?["isOwner"] as? Bool } == [true, false, false])
        #expect(!listed.stdout.contains("$2"), "no password hash")
    }

    @Test("a refused account exits 1 naming the field, and creates nothing", arguments: [
        (["--email", "dan@example.com", "--password-env", "PW"], "short", "password:"),
        (["--email", "dan@example.com", "--password-env", "PW"], String(repeating: "x", count: 73), "password:"),
        (["--email", "dan@example.com"], "long-enough-password", "password: give --password-env or --password-file"),
        (["--email", "dan@example.com", "--password-env", "UNSET_VARIABLE"], "long-enough-password", "password: the environment variable UNSET_VARIABLE is not set"),
        (["--email", "not-an-email", "--password-env", "PW"], "long-enough-password", "email:"),
        (["--email", "ann@example.com", "--password-env", "PW"], "long-enough-password", "email:"),
        (["--email", "dan@example.com", "--password-env", "PW", "--workspace", "default", "--role", "owner"], "long-enough-password", "role:"),
        (["--email", "dan@example.com", "--password-env", "PW", "--workspace", "nowhere"], "long-enough-password", "nowhere"),
    ])
    func refused(arguments: [String], password: String, message: String) throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.directory) }
        let first = try scratch.run(["user", "create", "--email", "ann@example.com", "--password-env", "PW"], environment: ["PW": Self.ownerPassword])
        try #require(first.status == 0, "\(first.stderr)")

        let refused = try scratch.run(["user", "create"] + arguments, environment: ["PW": password])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains(message), "\(refused.stderr)")
        if password.count >= 12 { #expect(!refused.stderr.contains(password), "the password is not echoed") }
        let listed = try scratch.run(["user", "list"])
        #expect(!listed.stdout.contains("dan@example.com"))
        #expect(listed.stdout.components(separatedBy: "\"email\"").count - 1 == 1)
    }

    @Test("a short password for the first account is refused too, and the instance still waits for its owner")
    func shortFirstPassword() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.directory) }
        let refused = try scratch.run(["user", "create", "--email", "ann@example.com", "--password-env", "PW"], environment: ["PW": "short"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("password: Password must be 12 to 72 bytes"), "\(refused.stderr)")
        #expect(try scratch.run(["user", "list"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
    }

    @Test("reset-password sets the new password and ends the account's sessions, and only that account's")
    func resetPassword() async throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.directory) }
        #expect(try scratch.run(["user", "create", "--email", "ann@example.com", "--password-env", "PW"], environment: ["PW": Self.ownerPassword]).status == 0)
        #expect(try scratch.run(
            ["user", "create", "--email", "bob@example.com", "--password-env", "PW", "--workspace", "default"], environment: ["PW": Self.memberPassword]).status == 0)
        let (annSession, bobSession) = try await Self.withUsers(scratch) { users in
            (try await users.signIn(email: "ann@example.com", password: Secret(Self.ownerPassword), address: "test").1,
             try await users.signIn(email: "bob@example.com", password: Secret(Self.memberPassword), address: "test").1)
        }

        let reset = try scratch.run(["user", "reset-password", "--email", "ANN@example.com", "--password-env", "NEW"], environment: ["NEW": "brand-new-password-01"])
        #expect(reset.status == 0, "\(reset.stderr)")
        #expect(reset.stdout.contains("sessions have ended"))
        #expect(!reset.stdout.contains("brand-new-password-01"))

        try await Self.withUsers(scratch) { users async throws in
            #expect(try await users.user(forSession: annSession) == nil)
            #expect(try await users.user(forSession: bobSession)?.email == "bob@example.com")
            await #expect(throws: WorkspaceError.self) {
                _ = try await users.signIn(email: "ann@example.com", password: Secret(Self.ownerPassword), address: "test")
            }
            #expect(try await users.signIn(email: "ann@example.com", password: Secret("brand-new-password-01"), address: "test").0.email == "ann@example.com")
        }

        let short = try scratch.run(["user", "reset-password", "--email", "ann@example.com", "--password-env", "NEW"], environment: ["NEW": "short"])
        #expect(short.status == 1)
        #expect(short.stderr.contains("password:"), "\(short.stderr)")
        let unknown = try scratch.run(["user", "reset-password", "--email", "nobody@example.com", "--password-env", "NEW"], environment: ["NEW": "brand-new-password-02"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("No account"), "\(unknown.stderr)")
    }

    /// The scratch directory's accounts, opened in this process as the server would.
    static func withUsers<Result: Sendable>(_ scratch: Scratch, _ body: (UserService) async throws -> Result) async throws -> Result {
        let storage = try await SQLiteStorage.open(dataDirectory: URL(fileURLWithPath: scratch.dataDir), logger: Logger(label: "test.cli"))
        do {
            let result = try await body(UserService(users: storage.store, workspaces: storage.store))
            try await storage.close()
            return result
        } catch {
            try? await storage.close()
            throw error
        }
    }
}
