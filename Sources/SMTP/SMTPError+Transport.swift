import NIOCore
import NIOPosix
import NIOSSL
import SMTPCore

extension SMTPError {
    /// Classifies an error from the network or TLS stack. The texts name what went wrong in the
    /// user's terms; library detail that helps an operator (BoringSSL's reason) is kept short.
    static func transport(_ error: any Error) -> SMTPError {
        if let error = error as? SMTPError { return error }
        if let violation = error as? SMTPProtocolViolation {
            return SMTPError(.protocol, .permanent, "the server broke the protocol: \(violation)")
        }
        if let error = error as? ChannelError, case .connectTimeout = error {
            return SMTPError(.timeout, .transient, "connecting timed out")
        }
        if error is NIOConnectionError || error is ChannelError {
            return SMTPError(.connection, .transient, "could not connect to the server")
        }
        if let error = error as? IOError {
            return SMTPError(.connection, .transient, "the connection failed (\(error.errnoCode == 0 ? "I/O error" : String(cString: strerror(error.errnoCode))))")
        }
        if let error = error as? NIOSSLError {
            return tls(String(describing: error))
        }
        if error is BoringSSLError || error is NIOSSLExtraError || error is NIOSSLCloseTimedOutError {
            return tls(String(describing: error))
        }
        return SMTPError(.connection, .transient, "the connection failed")
    }

    private static func tls(_ detail: String) -> SMTPError {
        let upper = detail.uppercased()
        if upper.contains("CERTIFICATE") || upper.contains("HOSTNAME") {
            return SMTPError(.tls, .permanent,
                "the server's certificate was not accepted: self-signed, issued by an unknown CA, expired, or for another host name")
        }
        if upper.contains("PROTOCOL_VERSION") || upper.contains("UNSUPPORTED_PROTOCOL") || upper.contains("NO_PROTOCOLS") {
            return SMTPError(.tls, .permanent, "the server does not support the minimum TLS version required")
        }
        if upper.contains("UNEXPECTEDEOF") || upper.contains("UNCLEANSHUTDOWN") {
            return SMTPError(.tls, .transient, "the TLS connection closed unexpectedly")
        }
        return SMTPError(.tls, .permanent, "the TLS handshake failed")
    }
}
