import Foundation
import Synchronization

/// Hands out message slots to the bench workers and collects their latencies.
final class BenchCounter: Sendable {
    private struct State {
        var claimed = 0
        var latencies: [Duration] = []
        var errors = 0
        var firstError: String?
    }

    private let total: Int
    private let state = Mutex(State())

    init(total: Int) {
        self.total = total
    }

    /// Takes the next message slot; `false` when all are taken.
    func claim() -> Bool {
        state.withLock { state in
            guard state.claimed < total else { return false }
            state.claimed += 1
            return true
        }
    }

    func record(latency: Duration, failed: Bool, error: String?) {
        state.withLock { state in
            state.latencies.append(latency)
            if failed {
                state.errors += 1
                if state.firstError == nil { state.firstError = error ?? "a recipient was refused" }
            }
        }
    }

    func summary(elapsed: Duration) -> Summary {
        state.withLock { state in
            let sorted = state.latencies.sorted()
            func percentile(_ p: Double) -> Double {
                guard !sorted.isEmpty else { return 0 }
                let index = min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)
                return sorted[max(0, index)].milliseconds
            }
            return Summary(
                messages: sorted.count, errors: state.errors, firstError: state.firstError,
                elapsedSeconds: elapsed.milliseconds / 1000, p50: percentile(0.50), p99: percentile(0.99))
        }
    }

    /// What `posthorn bench smtp` prints.
    struct Summary: Encodable {
        struct Latency: Encodable {
            var p50: Double
            var p99: Double
        }

        var messages: Int
        var errors: Int
        var firstError: String?
        var elapsedSeconds: Double
        var messagesPerSecond: Double
        var latencyMs: Latency

        init(messages: Int, errors: Int, firstError: String?, elapsedSeconds: Double, p50: Double, p99: Double) {
            self.messages = messages
            self.errors = errors
            self.firstError = firstError
            self.elapsedSeconds = elapsedSeconds
            self.messagesPerSecond = elapsedSeconds > 0 ? Double(messages - errors) / elapsedSeconds : 0
            self.latencyMs = Latency(p50: p50, p99: p99)
        }

        var json: String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
        }

        var table: String {
            var lines = [
                "messages        \(messages)",
                "errors          \(errors)",
                "elapsed         \(String(format: "%.3f s", elapsedSeconds))",
                "messages/s      \(String(format: "%.1f", messagesPerSecond))",
                "latency p50     \(String(format: "%.3f ms", latencyMs.p50))",
                "latency p99     \(String(format: "%.3f ms", latencyMs.p99))",
            ]
            if let firstError { lines.append("first error     \(firstError)") }
            return lines.joined(separator: "\n")
        }
    }
}

extension Duration {
    var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
