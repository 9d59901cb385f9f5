import ArgumentParser
import Foundation
import Server
import Workspaces

/// `posthorn user create|list|reset-password`: accounts for the web app, for operators (a lost
/// password, an instance set up from a script).
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage the people who sign in to the web app.",
        subcommands: [Create.self, List.self, ResetPassword.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an account. The first account becomes the instance owner (admin of every workspace).")

        @OptionGroup var data: DataOptions

        @Option(help: "Email address to sign in with.")
        var email: String

        @Option(help: "Name shown in the app (default: the part of the email before @).")
        var name: String?

        @Option(name: .customLong("password-env"), help: "Read the password from this environment variable (12 to 72 bytes).")
        var passwordEnvironmentVariable: String?

        @Option(name: .customLong("password-file"), help: "Read the password from this file (one line).")
        var passwordFile: String?

        @Option(help: "Workspace name or id to join (not for the first account, which joins every workspace).")
        var workspace: String?

        @Option(help: "Role in --workspace: admin or member.")
        var role: String = "member"

        func run() async throws {
            do {
                guard let password = try PasswordSource(environmentVariable: passwordEnvironmentVariable, file: passwordFile).read() else {
                    throw CommandFailure(message: "password: give --password-env or --password-file")
                }
                guard let role = WorkspaceRole(rawValue: role) else { throw CommandFailure(message: "role: must be admin or member") }
                print(try await data.withEnvironment { environment in
                    var workspaceID: String?
                    if let workspace { workspaceID = try await WorkspaceOption.resolve(workspace, in: environment).id }
                    let user = try await environment.services.users.createAccount(
                        email: email, name: name ?? String(email.split(separator: "@").first ?? ""), password: password,
                        workspaceID: workspaceID, role: role)
                    return JSONRendering.user(user, memberships: try await environment.services.users.memberships(of: user.id))
                })
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the accounts and their workspaces.")

        @OptionGroup var data: DataOptions

        func run() async throws {
            do {
                print(try await data.withEnvironment { environment in
                    let users = environment.services.users
                    var rendered: [String] = []
                    for user in try await users.allUsers() {
                        rendered.append(JSONRendering.user(user, memberships: try await users.memberships(of: user.id)))
                    }
                    return "[" + rendered.joined(separator: ",\n") + "]"
                })
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }

    struct ResetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-password", abstract: "Set a new password for an account and sign it out everywhere.")

        @OptionGroup var data: DataOptions

        @Option(help: "The account's email address.")
        var email: String

        @Option(name: .customLong("password-env"), help: "Read the new password from this environment variable.")
        var passwordEnvironmentVariable: String?

        @Option(name: .customLong("password-file"), help: "Read the new password from this file (one line).")
        var passwordFile: String?

        func run() async throws {
            do {
                guard let password = try PasswordSource(environmentVariable: passwordEnvironmentVariable, file: passwordFile).read() else {
                    throw CommandFailure(message: "password: give --password-env or --password-file")
                }
                try await data.withEnvironment { environment in
                    try await environment.services.users.resetPassword(email: email, to: password)
                }
                print("password reset for \(email.lowercased()); its sessions have ended")
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }
}
