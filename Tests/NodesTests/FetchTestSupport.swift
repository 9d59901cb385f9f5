import Egress
import Flows
import Logging
@testable import Nodes
import Synchronization
import Testing
import TestSupport

/// A resolver with fixed answers per host, counting lookups, so no test touches real DNS.
final class FetchStaticResolver: HostResolver {
    private let answers: [String: Result<[IPAddress], ResolutionError>]
    private let calls = Mutex<[String]>([])

    init(_ answers: [String: [String]] = [:], failing: [String: ResolutionError] = [:]) {
        var table: [String: Result<[IPAddress], ResolutionError>] = [:]
        for (host, addresses) in answers {
            table[host] = .success(addresses.map { IPAddress($0)! })
        }
        for (host, error) in failing {
            table[host] = .failure(error)
        }
        self.answers = table
    }

    /// Every host looked up, in order.
    var lookups: [String] { calls.withLock { $0 } }

    func addresses(of host: String) async throws(ResolutionError) -> [IPAddress] {
        calls.withLock { $0.append(host) }
        guard let answer = answers[host] else {
            throw ResolutionError(isTransient: false, reason: "Name or service not known")
        }
        return try answer.get()
    }
}

/// Builds fetchers for the tests: loopback is refused unless a test opens it.
enum FetchFixtures {
    /// A fetcher whose guard resolves with `resolver` and allows `allowlist` (e.g. `127.0.0.1/32`).
    static func fetcher(
        allowlist: String = "", resolver: FetchStaticResolver = FetchStaticResolver(["localhost": ["127.0.0.1"]]),
        logs: CapturedLogs = CapturedLogs(), trustedCertificatePEM: String? = nil
    ) throws -> GuardedHTTPFetcher {
        let policy = EgressPolicy(allowlist: try EgressPolicy.parseAllowlist(allowlist))
        let egress = EgressGuard(policy: policy, resolver: resolver)
        guard let trustedCertificatePEM else {
            return GuardedHTTPFetcher(egress: egress, logger: logs.logger(label: "fetch-test"))
        }
        return try GuardedHTTPFetcher(
            egress: egress, logger: logs.logger(label: "fetch-test"), additionalTrustedCertificatesPEM: trustedCertificatePEM)
    }

    /// Runs `fetch` and returns its error, recording an issue if it succeeded.
    static func failure(
        _ fetcher: some ResourceFetcher, _ request: FetchRequest, field: String = "attachments[0].url",
        sourceLocation: SourceLocation = #_sourceLocation
    ) async -> NodeError? {
        do {
            let resource = try await fetcher.fetch(request, field: field)
            Issue.record("expected a failure, got status \(resource.status)", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }
}
