import Flows
public import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
public import Prometheus
import ServiceLifecycle

/// `GET /metrics` in the Prometheus text format, on its own listener (`serve --metrics-host
/// 127.0.0.1 --metrics-port 9464`), never on the API's port: an exporter is for the operator's
/// scraper, not for the internet the API may face.
///
/// Besides what the components record as they work, each scrape sets the runs by status (from the
/// store: the history's true counts, not a process's view) and the process basics from `/proc`.
struct MetricsEndpoint: Service, CustomStringConvertible {
    let host: String
    let port: Int
    let registry: PrometheusCollectorRegistry
    let runs: any RunStore
    let logger: Logger

    var description: String { "metrics" }

    func run() async throws {
        let router = Router()
        let registry = self.registry
        let runs = self.runs
        let collector = ProcessCollector(registry: registry)
        let statuses = Dictionary(uniqueKeysWithValues: RunStatus.allCases.map { status in
            (status, registry.makeGauge(name: "posthorn_runs", labels: [("status", status.rawValue)], help: "Runs in the history by status"))
        })
        router.get("metrics") { _, _ -> Response in
            if let counts = try? await runs.countByStatus() {
                for (status, gauge) in statuses { gauge.set(Double(counts[status] ?? 0)) }
            }
            collector.collect()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        var logger = self.logger
        logger[metadataKey: "posthorn.listener"] = "metrics"
        // The API's slow-client limits, and few connections: one scraper or two is the use.
        let limits = HTTPConnectionLimits(maximumConnections: 64)
        let application = Application(
            router: router, server: limits.serverBuilder(),
            configuration: ApplicationConfiguration(
                address: .hostname(host, port: port), serverName: "posthorn",
                availableConnectionsDelegate: MaximumAvailableConnections(limits.maximumConnections, logger: logger)),
            logger: logger)
        try await application.run()
    }
}

/// `process_*` metrics from `/proc/self`, as Prometheus's client libraries name them.
struct ProcessCollector: Sendable {
    let cpu: Gauge
    let resident: Gauge
    let virtualMemory: Gauge
    let openFiles: Gauge
    let maxFiles: Gauge
    let start: Gauge

    init(registry: PrometheusCollectorRegistry) {
        cpu = registry.makeGauge(name: "process_cpu_seconds_total", help: "User and system CPU time, in seconds")
        resident = registry.makeGauge(name: "process_resident_memory_bytes", help: "Resident memory size, in bytes")
        virtualMemory = registry.makeGauge(name: "process_virtual_memory_bytes", help: "Virtual memory size, in bytes")
        openFiles = registry.makeGauge(name: "process_open_fds", help: "Open file descriptors")
        maxFiles = registry.makeGauge(name: "process_max_fds", help: "The soft limit on open file descriptors")
        start = registry.makeGauge(name: "process_start_time_seconds", help: "Start time since the Unix epoch, in seconds")
    }

    func collect() {
        #if os(Linux)
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let afterName = stat.range(of: ") ")
        {
            // Fields after the command name: state is field 3; utime 14, stime 15, starttime 22,
            // vsize 23, rss 24 (proc(5)), so index = field − 3 here.
            let fields = stat[afterName.upperBound...].split(separator: " ")
            func field(_ number: Int) -> Double { fields.count > number - 3 ? Double(fields[number - 3]) ?? 0 : 0 }
            cpu.set((field(14) + field(15)) / ticks)
            virtualMemory.set(field(23))
            resident.set(field(24) * pageSize)
            if let uptime = try? String(contentsOfFile: "/proc/uptime", encoding: .utf8),
                let seconds = uptime.split(separator: " ").first.flatMap({ Double($0) })
            {
                start.set(Date().timeIntervalSince1970 - seconds + field(22) / ticks)
            }
        }
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            openFiles.set(Double(entries.count))
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { maxFiles.set(Double(limit.rlim_cur)) }
        #endif
    }
}
