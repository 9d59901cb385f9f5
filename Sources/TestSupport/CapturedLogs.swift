public import Logging
import Synchronization

/// Captures every log record at every level, message and metadata rendered as one line each, so
/// tests can assert what a trace-level log does and does not contain.
public final class CapturedLogs: Sendable {
    private let lines = Mutex<[String]>([])

    /// An empty capture.
    public init() {}

    /// Everything captured, one record a line.
    public var text: String { lines.withLock { $0.joined(separator: "\n") } }

    /// A handler writing into this capture.
    public var handler: Handler { Handler(sink: self) }

    /// A trace-level logger writing into this capture.
    public func logger(label: String) -> Logger {
        var logger = Logger(label: label) { _ in self.handler }
        logger.logLevel = .trace
        return logger
    }

    func append(_ line: String) { lines.withLock { $0.append(line) } }

    /// Renders `level message key=value…` with metadata sorted by key.
    public struct Handler: LogHandler {
        let sink: CapturedLogs
        public var metadata: Logger.Metadata = [:]
        public var logLevel: Logger.Level = .trace

        public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        public func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            sink.append("\(event.level) \(event.message) \(merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
        }
    }
}
