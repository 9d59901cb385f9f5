import ArgumentParser
import Bounces
import Foundation
import Server
import Storage

/// `posthorn bounce ingest < message.eml`: a bounce piped from a mailbox (a `.forward`, procmail,
/// fetchmail) matched to the step that sent the message.
struct BounceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bounce", abstract: "Take in bounce messages.", subcommands: [Ingest.self])

    struct Ingest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read one bounce message from standard input and apply it.",
            discussion: "Records each recipient's fate on the step that sent the message (by its Message-ID) and suppresses addresses that bounced for good (5.1.x, 5.2.1). Prints what it did; exits 1 when the input is not a bounce.")

        @OptionGroup var data: DataOptions

        func run() async throws {
            do {
                var bytes: [UInt8] = []
                while bytes.count <= BounceParser.maximumSize, let chunk = try FileHandle.standardInput.read(upToCount: 65_536), !chunk.isEmpty {
                    bytes += chunk
                }
                let input = bytes
                print(try await data.withEnvironment { environment in
                    do {
                        return JSONRendering.bounceOutcome(try await environment.services.bounces.ingest(input))
                    } catch let error as BounceParseError {
                        throw CommandFailure(message: "message: \(error)")
                    }
                })
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }
}
