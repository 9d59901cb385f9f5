import ArgumentParser
import Foundation
import MIME

/// `posthorn send`: compose one message from flags. With `--dry-run` the exact message bytes go to
/// standard output and nothing is sent.
struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Compose and send one email.",
        discussion: """
            With --dry-run, prints the exact bytes an SMTP server would receive (CRLF line endings, \
            before dot-stuffing) and sends nothing. Invalid input exits with status 1 and one line \
            naming the field and the rule.
            """
    )

    @OptionGroup var message: MessageOptions

    @Flag(help: "Print the rendered message instead of sending it.")
    var dryRun = false

    func run() async throws {
        let request: EmailRequest
        let composed: RenderedMessage
        do {
            request = try message.emailRequest()
            composed = MessageComposer().compose(try request.validated())
        } catch {
            CommandFailure.exit(with: error)
        }
        guard dryRun else {
            CommandFailure.exit(with: CommandFailure(
                message: "send: only --dry-run is available in this build (the SMTP transport is not built yet)"))
        }
        var stream = composed.makeStream()
        let output = FileHandle.standardOutput
        do {
            while let chunk = try stream.next() { try output.write(contentsOf: chunk) }
        } catch {
            CommandFailure.exit(with: CommandFailure(message: "attachments: a file could not be read while sending"))
        }
    }
}

/// A failure reported as one line on standard error, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

extension CommandFailure {
    /// Prints `error: …` and exits; ArgumentParser would add usage text for a plain error.
    static func exit(with error: any Error) -> Never {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        Foundation.exit(1)
    }
}
