import Foundation
import MIME
import SMTP
import SMTPCore

/// The `--json` shapes of `posthorn send`: one object on standard output.
enum JSONOutput {
    struct Result: Encodable {
        struct Rejected: Encodable {
            var address: String
            var code: Int
            var enhancedCode: String?
            var text: String
        }
        struct EnvelopeJSON: Encodable {
            var from: String
            var to: [String]
        }
        /// Milliseconds per phase.
        struct Timings: Encodable {
            var connectMs, tlsMs, authMs, envelopeMs, dataMs: Double
        }
        var messageId: String
        var accepted: [String]
        var rejected: [Rejected]
        var response: String
        var envelope: EnvelopeJSON
        var size: Int?
        var tlsVersion: String?
        var timings: Timings
    }

    struct Failure: Encodable {
        struct Body: Encodable {
            var code: String
            var message: String
            var transient: Bool
            var disposition: String?
            var responseCode: Int?
            var enhancedCode: String?
            var response: String?
            var hint: String?
            var rejected: [Result.Rejected]?
        }
        var error: Body
    }

    static func result(_ result: SMTPSendResult) -> String {
        let rejected = result.outcome.rejected.map {
            Result.Rejected(address: $0.address, code: $0.code, enhancedCode: $0.enhancedCode?.description, text: $0.text)
        }
        let timings = result.timings
        return encode(Result(
            messageId: result.messageID, accepted: result.outcome.accepted, rejected: rejected,
            response: result.outcome.response.description,
            envelope: .init(from: result.envelope.mailFrom, to: result.envelope.recipients),
            size: result.size, tlsVersion: result.tlsVersion,
            timings: .init(connectMs: milliseconds(timings.connect), tlsMs: milliseconds(timings.tls), authMs: milliseconds(timings.auth),
                           envelopeMs: milliseconds(timings.envelope), dataMs: milliseconds(timings.data))))
    }

    static func error(_ error: SMTPError) -> String {
        encode(Failure(error: .init(
            code: error.code.rawValue, message: error.message, transient: error.isTransient,
            disposition: error.disposition.rawValue, responseCode: error.reply?.code,
            enhancedCode: error.reply?.enhancedCode?.description, response: error.reply?.description,
            hint: error.code.troubleshootingHint,
            rejected: error.rejectedRecipients.isEmpty ? nil : error.rejectedRecipients.map {
                Result.Rejected(address: $0.address, code: $0.code, enhancedCode: $0.enhancedCode?.description, text: $0.text)
            })))
    }

    static func error(code: String, message: String, transient: Bool) -> String {
        encode(Failure(error: .init(code: code, message: message, transient: transient)))
    }

    private static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return (Double(seconds) * 1000 + Double(attoseconds) / 1e15).rounded(toPlaces: 3)
    }

    private static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(value)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

extension Double {
    fileprivate func rounded(toPlaces places: Int) -> Double {
        let factor = pow(10, Double(places))
        return (self * factor).rounded() / factor
    }
}
