import Flows

/// Runs a fetch against one deadline for the whole exchange.
///
/// AsyncHTTPClient's own deadline ends when the response head arrives, and its read timeout is an
/// idle timeout, so a server that drips one byte every few seconds would hold a step forever. Here
/// the operation races a timer in a task group; whichever finishes first wins and the other is
/// cancelled (cancelling the operation drops its body stream, which cancels the request).
enum FetchDeadline {
    static func run<Value: Sendable>(
        within timeout: Duration,
        onTimeout: @escaping @Sendable () -> NodeError,
        operation: @escaping @Sendable () async throws(NodeError) -> Value
    ) async -> Result<Value, NodeError> {
        await withTaskGroup(of: Result<Value, NodeError>?.self) { group in
            group.addTask {
                do throws(NodeError) {
                    return .success(try await operation())
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                do {
                    try await Task.sleep(for: timeout)
                } catch {
                    return nil  // cancelled: the operation finished first, or the caller went away
                }
                return .failure(onTimeout())
            }
            while let next = await group.next() {
                if let outcome = next {
                    group.cancelAll()
                    return outcome
                }
            }
            preconditionFailure("the operation child always yields an outcome")
        }
    }
}
