import Foundation
import Secrets

/// Removes a session's secrets from server text: the password or token, and every base64 form the
/// session may have sent (a server that echoes an AUTH line would otherwise put a password in a
/// log, an error or the run history).
struct SecretScrubber: Sendable {
    private let needles: [String]

    init(credentials: SMTPCredentials?) {
        var needles: [String] = []
        switch credentials {
        case .password(let username, let password):
            password.withRevealedValue { value in
                needles += [value, SASLPayload.base64(value)]
            }
            needles.append(SASLPayload.plain(username: username, password: password).revealedValue)
        case .oauth2(let username, let token):
            token.withRevealedValue { value in
                needles += [value, SASLPayload.base64(value)]
            }
            needles.append(SASLPayload.xoauth2(username: username, token: token).revealedValue)
        case nil:
            break
        }
        // Short values would scrub ordinary words; a password of one or two characters is not
        // worth protecting at the cost of unreadable errors.
        self.needles = needles.filter { $0.count >= 3 }.sorted { $0.count > $1.count }
    }

    func scrub(_ text: String) -> String {
        needles.reduce(text) { $0.replacingOccurrences(of: $1, with: "<redacted>") }
    }

    func scrub(_ reply: SMTPReply) -> SMTPReply {
        needles.isEmpty ? reply : SMTPReply(code: reply.code, lines: reply.lines.map(scrub))
    }
}
