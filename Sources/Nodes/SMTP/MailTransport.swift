public import MIME
public import SMTP
public import SMTPCore

/// Delivers a composed message with a credential's connection settings: the SMTP pool in
/// production, a recording fake in node tests.
public protocol MailTransport: Sendable {
    func send(_ message: RenderedMessage, key: PoolKey, configuration: SMTPConfiguration) async throws(SMTPError) -> SMTPSendResult
}

extension SMTPPool: MailTransport {
    public func send(_ message: RenderedMessage, key: PoolKey, configuration: SMTPConfiguration) async throws(SMTPError) -> SMTPSendResult {
        try await send(message, key: key, configuration: configuration, dsn: nil)
    }
}
