public import Bounces
public import Foundation
public import Nodes

/// What the SES intake needs from Amazon SNS: the certificate a message names, and confirming a
/// subscription. Only SNS URLs (``Bounces/SNSMessage/isSNSURL(_:pathSuffix:)``) are ever asked.
public protocol SNSEndpoint: Sendable {
    /// The PEM certificate at `url`.
    func certificate(at url: URL) async throws -> String
    /// Visits a subscription's `SubscribeURL`.
    func confirm(subscribeURL: URL) async throws
}

/// SNS over the network, through the egress guard (no redirects, a size cap, a timeout), with the
/// certificates kept once fetched. `pinnedCertificate` (`posthorn serve --trust-sns-certificate`)
/// replaces every fetched certificate: for tests and installations that cannot reach AWS. It is
/// set only on the command line — no request or token can change what is trusted.
public actor GuardedSNSEndpoint: SNSEndpoint {
    private let fetcher: any ResourceFetcher
    private let pinnedCertificate: String?
    private var cache: [URL: String] = [:]

    public init(fetcher: any ResourceFetcher, pinnedCertificate: String? = nil) {
        self.fetcher = fetcher
        self.pinnedCertificate = pinnedCertificate
    }

    public func certificate(at url: URL) async throws -> String {
        if let pinnedCertificate { return pinnedCertificate }
        guard SNSMessage.isSNSURL(url) else { throw IntakeVerificationError.badSignature("SigningCertURL is not an SNS certificate URL") }
        if let cached = cache[url] { return cached }
        let fetched = try await fetcher.fetch(FetchRequest(url: url.absoluteString, byteLimit: 16_384, timeout: .seconds(10)), field: "SigningCertURL")
        let pem = String(decoding: fetched.body, as: UTF8.self)
        if cache.count > 100 { cache.removeAll() }
        cache[url] = pem
        return pem
    }

    public func confirm(subscribeURL: URL) async throws {
        guard SNSMessage.isSNSURL(subscribeURL, pathSuffix: nil) else {
            throw IntakeVerificationError.badSignature("SubscribeURL is not an SNS URL")
        }
        _ = try await fetcher.fetch(FetchRequest(url: subscribeURL.absoluteString, byteLimit: 65_536, timeout: .seconds(10)), field: "SubscribeURL")
    }
}
