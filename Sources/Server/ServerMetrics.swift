public import CoreMetrics
import Foundation

/// The HTTP side's metrics, with bounded labels (a status class, an error kind; never a path,
/// id, token or address).
///
/// - `posthorn_webhook_requests_total{status}`: webhook calls by answer class (`2xx`, `4xx`, `5xx`).
/// - `posthorn_webhook_ack_duration_seconds`: from the request to its 202 (the run is stored).
/// - `posthorn_errors_total{kind}`: `database` (a store call failed under a request or the
///   engine), `vault` (a stored secret could not be opened), `internal` (anything else unexpected).
public struct ServerMetrics: Sendable {
    private let factory: any MetricsFactory
    private let acknowledgements: CoreMetrics.Timer

    /// Metrics through `factory`.
    public init(factory: any MetricsFactory) {
        self.factory = factory
        acknowledgements = CoreMetrics.Timer(label: "posthorn_webhook_ack_duration_seconds", factory: factory)
    }

    func webhook(status: Int, duration: Duration) {
        Counter(label: "posthorn_webhook_requests_total", dimensions: [("status", "\(status / 100)xx")], factory: factory).increment()
        if status == 202 { acknowledgements.recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000) }
    }

    /// Counts an unexpected failure of `kind` (`database`, `vault`, `internal`).
    /// An OAuth access token refresh: `ok`, `refused` (the credential needs reconnecting) or `failed`.
    func oauthRefreshed(outcome: String) {
        Counter(label: "posthorn_oauth_refreshes_total", dimensions: [("outcome", outcome)], factory: factory).increment()
    }

    public func error(_ kind: String) {
        Counter(label: "posthorn_errors_total", dimensions: [("kind", kind)], factory: factory).increment()
    }
}
