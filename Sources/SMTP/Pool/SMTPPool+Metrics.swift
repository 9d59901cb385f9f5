public import CoreMetrics
import Metrics

/// The pool's metrics, created once with bounded labels: states and outcomes only, never a key,
/// host, address or message id.
struct PoolMetrics: Sendable {
    let idle: Gauge
    let leased: Gauge
    let connecting: Gauge
    let waiting: Gauge
    let leases: Counter
    let waits: Timer
    let connectFailures: Counter
    let retries: Counter

    init(factory: any MetricsFactory) {
        let connections = "posthorn_smtp_pool_connections"
        idle = Gauge(label: connections, dimensions: [("state", "idle")], factory: factory)
        leased = Gauge(label: connections, dimensions: [("state", "leased")], factory: factory)
        connecting = Gauge(label: connections, dimensions: [("state", "connecting")], factory: factory)
        waiting = Gauge(label: "posthorn_smtp_pool_waiting", factory: factory)
        leases = Counter(label: "posthorn_smtp_pool_leases_total", factory: factory)
        waits = Timer(label: "posthorn_smtp_pool_wait_duration", factory: factory)
        connectFailures = Counter(label: "posthorn_smtp_pool_connect_failures_total", factory: factory)
        retries = Counter(label: "posthorn_smtp_pool_retries_total", factory: factory)
    }

    func record(_ statistics: (idle: Int, leased: Int, connecting: Int, waiting: Int)) {
        idle.record(statistics.idle)
        leased.record(statistics.leased)
        connecting.record(statistics.connecting)
        waiting.record(statistics.waiting)
    }
}
