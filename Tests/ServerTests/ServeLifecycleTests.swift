import Foundation
import Hummingbird
import Logging
import Server
import Synchronization
import Testing

@Suite("posthorn serve: the service group")
struct ServeLifecycleTests {
    @Test("on the embedded database every service keeps running until the server is stopped (a service that returned ended serve at once)")
    func servicesKeepRunning() async throws {
        try await APIHarness.run({ configuration in
            configuration.port = 0
            configuration.metricsPort = 0
        }) { harness in
            let app = buildApplication(environment: harness.environment, logger: Logger(label: "test.serve"))
            let ended = Mutex<String?>(nil)
            let serving = Task {
                do {
                    try await app.runService(gracefulShutdownSignals: [])
                    ended.withLock { $0 = "returned" }
                } catch {
                    ended.withLock { $0 = "\(error)" }
                }
            }
            try await Task.sleep(for: .seconds(1.5))
            #expect(ended.withLock { $0 } == nil, "serve stopped by itself: \(ended.withLock { $0 } ?? "")")
            serving.cancel()
            await serving.value
        }
    }
}
