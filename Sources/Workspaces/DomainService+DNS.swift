public import DKIM
public import Foundation

/// *Check DNS*: what a domain has published, compared with what Posthorn recommends.
extension DomainService {
    // MARK: - Check DNS

    /// How one published record compares with what Posthorn expects.
    public struct DNSCheck: Sendable, Hashable {
        public enum Status: String, Sendable, Hashable {
            case match, missing, mismatch, error
        }

        /// `dkim`, `spf` or `dmarc`.
        public var record: String
        public var keyID: String?
        public var selector: String?
        public var name: String
        public var status: Status
        public var expected: String?
        public var found: [String]
        public var message: String
    }

    /// Looks up every key's record, SPF and DMARC through `resolver`, and says what matches.
    public func check(
        _ idOrName: String, in workspaceID: String, credential: SMTPCredential?, resolver: any TXTResolver
    ) async throws -> (domain: SendingDomain, checks: [DNSCheck]) {
        let domain = try await self.domain(idOrName, in: workspaceID)
        var checks: [DNSCheck] = []
        for key in domain.keys {
            let expected = key.dnsRecord(domain: domain.name)
            var check = DNSCheck(
                record: "dkim", keyID: key.id, selector: key.selector, name: expected.name, status: .error,
                expected: expected.value, found: [], message: "")
            switch await Self.lookup(expected.name, resolver) {
            case .failure(let message):
                check.message = message
            case .success(.noSuchName), .success(.noRecords):
                check.status = .missing
                check.message = "No TXT record at \(expected.name) yet: publish the value shown (DNS changes can take a while to appear)."
            case .success(.records(let records)):
                check.found = records
                let keys = records.compactMap(Self.dkimKey)
                if keys.contains(where: { $0.type == (key.algorithm == .rsaSHA256 ? "rsa" : "ed25519") && $0.publicKey == key.publicKey }) {
                    check.status = .match
                    check.message = "Published: receivers can verify mail signed with \(key.selector)."
                } else if keys.contains(where: { $0.publicKey.isEmpty }) {
                    check.status = .mismatch
                    check.message = "The record there revokes the key (empty p=): publish the value shown."
                } else if keys.isEmpty {
                    check.status = .mismatch
                    check.message = "A TXT record is there, but not a DKIM key (no v=DKIM1 with p=): publish the value shown."
                } else {
                    check.status = .mismatch
                    check.message = "A different key is published there: signatures made with this key would fail. Publish the value shown."
                }
            }
            checks.append(check)
        }

        let recommended = Self.recommendations(for: domain, credential: credential)
        var spf = DNSCheck(
            record: "spf", keyID: nil, selector: nil, name: domain.name, status: .error,
            expected: recommended.spf.record.value, found: [], message: "")
        switch await Self.lookup(domain.name, resolver) {
        case .failure(let message):
            spf.message = message
        case .success(.noSuchName):
            spf.status = .missing
            spf.message = "\(domain.name) does not exist in DNS."
        case .success(.noRecords):
            spf.status = .missing
            spf.message = "No SPF record: publish the one recommended."
        case .success(.records(let records)):
            let policies = records.filter { $0.lowercased().hasPrefix("v=spf1") && ($0.count == 6 || $0.dropFirst(6).first == " ") }
            spf.found = policies
            let mechanism = credential.flatMap { SPFProvider.of(host: $0.host)?.mechanism }
            if policies.isEmpty {
                spf.status = .missing
                spf.message = "No SPF record among the TXT records of \(domain.name): publish the one recommended."
            } else if policies.count > 1 {
                spf.status = .mismatch
                spf.message = "\(policies.count) SPF records: receivers treat more than one as an error (permerror). Merge them into one."
            } else if let mechanism, !policies[0].lowercased().split(separator: " ").contains(where: { $0 == mechanism || $0 == "+" + mechanism }) {
                spf.status = .mismatch
                spf.message = "The SPF record does not include \(mechanism): add it, or mail sent through \(credential?.name ?? "this credential") may fail SPF."
            } else {
                spf.status = .match
                spf.message = mechanism.map { "The SPF record includes \($0)." } ?? "An SPF record is published."
            }
        }
        checks.append(spf)

        let dmarcName = recommended.dmarc.record.name
        var dmarc = DNSCheck(
            record: "dmarc", keyID: nil, selector: nil, name: dmarcName, status: .error,
            expected: recommended.dmarc.record.value, found: [], message: "")
        switch await Self.lookup(dmarcName, resolver) {
        case .failure(let message):
            dmarc.message = message
        case .success(.noSuchName), .success(.noRecords):
            dmarc.status = .missing
            dmarc.message = "No DMARC record: large mailbox providers expect one from bulk senders. Publish the one recommended."
        case .success(.records(let records)):
            let policies = records.filter { $0.hasPrefix("v=DMARC1") }
            dmarc.found = policies
            if policies.count == 1 {
                dmarc.status = .match
                let policy = Self.tags(policies[0])["p"] ?? "none"
                dmarc.message = "A DMARC record is published (p=\(policy))."
            } else if policies.isEmpty {
                dmarc.status = .missing
                dmarc.message = "The TXT records there are not DMARC (v=DMARC1): publish the one recommended."
            } else {
                dmarc.status = .mismatch
                dmarc.message = "\(policies.count) DMARC records: receivers then apply none. Keep one."
            }
        }
        checks.append(dmarc)
        return (domain, checks)
    }

    private enum LookupOutcome {
        case success(TXTLookup)
        case failure(String)
    }

    private static func lookup(_ name: String, _ resolver: any TXTResolver) async -> LookupOutcome {
        do {
            return .success(try await resolver.lookupTXT(name))
        } catch {
            return .failure("The lookup of \(name) failed: \(error)")
        }
    }

    /// A DKIM key record's `k=` (default `rsa`) and `p=` (whitespace removed), or `nil` when the
    /// text is not one.
    static func dkimKey(_ text: String) -> (type: String, publicKey: String)? {
        let tags = tags(text)
        guard tags["v"].map({ $0 == "DKIM1" }) ?? true, let p = tags["p"] else { return nil }
        return ((tags["k"] ?? "rsa").lowercased(), p.filter { !$0.isWhitespace })
    }

    /// A tag=value list (RFC 6376 §3.2), names as written, values trimmed.
    static func tags(_ text: String) -> [String: String] {
        var tags: [String: String] = [:]
        for part in text.split(separator: ";") {
            guard let equals = part.firstIndex(of: "=") else { continue }
            let name = part[..<equals].trimmingCharacters(in: .whitespacesAndNewlines)
            guard !name.isEmpty, tags[name] == nil else { continue }
            tags[name] = part[part.index(after: equals)...].trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return tags
    }
}
