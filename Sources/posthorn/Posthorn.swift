import ArgumentParser

/// The `posthorn` command line: the server, one-off sends and (later) workspace administration.
@main
struct Posthorn: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "posthorn",
        abstract: "Send email from automated workflows through your own SMTP server.",
        subcommands: [SendCommand.self, BenchCommand.self]
    )
}
