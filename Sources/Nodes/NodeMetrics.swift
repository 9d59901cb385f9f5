public import CoreMetrics
import Flows

/// What the built-in nodes count, with bounded labels only (never a host, address or id).
///
/// - `posthorn_smtp_sends_total{outcome}`: `2xx` (every recipient accepted), `2xx_partial` (some
///   refused), `4xx` / `5xx` (the server's reply class), `throttled` (a 421/451 saying slow down:
///   the credential backs off and the run waits), `ambiguous` (a drop after the final dot),
///   or the error code in lower case (`econnection`, `etimedout`, `etls`, `eauth`, `epolicy`, …).
/// - `posthorn_http_fetches_total{outcome}`: attachment and `http.request` fetches: `2xx` or the
///   fetch error code (`ehttp`, `etoolarge`, `epolicy`, `etimedout`, …).
public struct NodeMetrics: Sendable {
    let factory: any MetricsFactory

    /// Metrics through `factory` (the process's `MetricsSystem` by default).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    func smtpSend(outcome: String) {
        Counter(label: "posthorn_smtp_sends_total", dimensions: [("outcome", outcome)], factory: factory).increment()
    }

    func fetch(outcome: String) {
        Counter(label: "posthorn_http_fetches_total", dimensions: [("outcome", outcome)], factory: factory).increment()
    }

    /// The outcome label of a failed send: the reply's class when the server answered, else the code.
    static func outcome(of error: NodeError) -> String {
        if error.disposition == .ambiguous { return "ambiguous" }
        if case .integer(let code)? = error.details?[path: [.key("responseCode")]], (400..<600).contains(code) {
            return "\(code / 100)xx"
        }
        return label(error.code)
    }

    /// A code as a label: lower-case letters only, at most 16 (codes are ours; this keeps them so).
    static func label(_ code: String) -> String {
        String(code.lowercased().unicodeScalars.filter { ("a"..."z").contains($0) }.prefix(16).map(Character.init))
    }
}
