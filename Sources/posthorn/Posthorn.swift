import ArgumentParser

/// The `posthorn` command line: the server, one-off sends, workspaces, credentials, flows and
/// their runs, keys and benchmarks.
@main
struct Posthorn: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "posthorn",
        abstract: "Send email from automated workflows through your own SMTP server.",
        subcommands: [
            ServeCommand.self, SendCommand.self, WorkspaceCommand.self, UserCommand.self, TokenCommand.self, CredentialCommand.self, DomainCommand.self,
            SuppressionCommand.self, BounceCommand.self,
            FlowCommand.self, RunCommand.self, KeyCommand.self, DatabaseCommand.self, BenchCommand.self,
        ]
    )
}
