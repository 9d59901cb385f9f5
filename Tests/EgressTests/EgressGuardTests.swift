import Testing
import Egress

/// A resolver that answers from a script, one entry per call (the last entry repeats), and records
/// every name it was asked for.
actor ScriptedResolver: HostResolver {
    private var script: [Result<[IPAddress], ResolutionError>]
    private(set) var lookups: [String] = []

    init(_ script: Result<[IPAddress], ResolutionError>...) {
        self.script = script
    }

    /// Answers every call with `addresses`.
    init(answering addresses: [String]) throws {
        self.script = [.success(try addresses.map { try address($0) })]
    }

    func addresses(of host: String) throws(ResolutionError) -> [IPAddress] {
        lookups.append(host)
        let answer = script.count > 1 ? script.removeFirst() : script.first ?? .success([])
        return try answer.get()
    }
}

extension EgressGuard {
    /// Vets `host`, returning the refusal instead of throwing it.
    func outcome(of host: String) async -> Result<PinnedHost, EgressError> {
        do {
            return .success(try await vet(host: host))
        } catch {
            return .failure(error)
        }
    }
}

extension Result {
    var error: Failure? {
        if case .failure(let error) = self { error } else { nil }
    }
}

@Suite("Egress guard")
struct EgressGuardTests {
    // MARK: - Literals never reach the resolver

    @Test("non-canonical literals are refused before any lookup", arguments: LiteralParsingTests.nonCanonical.filter { !$0.isEmpty })
    func nonCanonicalLiteral(_ host: String) async throws {
        let resolver = try ScriptedResolver(answering: ["8.8.8.8"])
        let egress = EgressGuard(policy: EgressPolicy(), resolver: resolver)

        let error = try #require(await egress.outcome(of: host).error)
        #expect(error == .nonCanonicalAddress(host: host))
        #expect(error.isPolicyRefusal)
        #expect(await resolver.lookups.isEmpty)
    }

    @Test("a refused literal names its range and is never looked up", arguments: [
        ("127.0.0.1", "127.0.0.1", "loopback (127.0.0.0/8)"),
        ("169.254.169.254", "169.254.169.254", "link-local (169.254.0.0/16)"),
        ("::ffff:127.0.0.1", "::ffff:127.0.0.1", "IPv4-mapped (::ffff:0.0.0.0/96)"),
        ("::1", "::1", "loopback (::1/128)"),
        ("[::1]", "::1", "loopback (::1/128)"),
        ("[fd00:ec2::254]", "fd00:ec2::254", "unique-local (fc00::/7)"),
    ])
    func refusedLiteral(_ host: String, address text: String, range: String) async throws {
        let resolver = try ScriptedResolver(answering: ["8.8.8.8"])
        let egress = EgressGuard(policy: EgressPolicy(), resolver: resolver)

        let error = try #require(await egress.outcome(of: host).error)
        guard case .refused(let refusedHost, let refusedAddress, let refusedRange) = error else {
            Issue.record("expected a refusal, got \(error)")
            return
        }
        #expect(refusedHost == host)
        #expect(refusedAddress == (try address(text)))
        #expect(refusedRange.description == range)
        #expect(error.isPolicyRefusal)
        #expect(!error.isTransient)
        #expect(await resolver.lookups.isEmpty)
    }

    @Test("a public or allowlisted literal is pinned as given without a lookup", arguments: [
        ("8.8.8.8", "8.8.8.8"),
        ("2606:4700::1111", "2606:4700::1111"),
        ("[2606:4700::1111]", "2606:4700::1111"),
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
    ])
    func permittedLiteral(_ host: String, address text: String) async throws {
        let resolver = try ScriptedResolver(answering: ["8.8.4.4"])
        let policy = try EgressPolicy(allowlist: EgressPolicy.parseAllowlist("127.0.0.1, ::1"))
        let pinned = try await EgressGuard(policy: policy, resolver: resolver).vet(host: host)

        #expect(pinned.hostName == host)
        #expect(pinned.address == (try address(text)))
        #expect(pinned.allAddresses == [pinned.address])
        #expect(await resolver.lookups.isEmpty)
    }

    // MARK: - Names: resolve once, vet every answer, pin the first

    @Test("a name with only public answers is pinned to the first, after exactly one lookup")
    func publicName() async throws {
        let resolver = try ScriptedResolver(answering: ["203.0.114.5", "2606:4700::1111", "8.8.8.8"])
        let pinned = try await EgressGuard(policy: EgressPolicy(), resolver: resolver).vet(host: "smtp.example.com")

        #expect(pinned.hostName == "smtp.example.com")
        #expect(pinned.address == (try address("203.0.114.5")))
        #expect(pinned.allAddresses == (try ["203.0.114.5", "2606:4700::1111", "8.8.8.8"].map { try address($0) }))
        #expect(await resolver.lookups == ["smtp.example.com"])
    }

    @Test("a name with any private answer is refused, naming that answer", arguments: [
        ["8.8.8.8", "10.0.0.1"],
        ["10.0.0.1", "8.8.8.8"],
        ["2606:4700::1111", "8.8.8.8", "10.0.0.1"],
    ])
    func mixedAnswers(_ answers: [String]) async throws {
        let resolver = try ScriptedResolver(answering: answers)
        let error = try #require(await EgressGuard(policy: EgressPolicy(), resolver: resolver).outcome(of: "relay.example").error)

        guard case .refused(let host, let refused, let range) = error else {
            Issue.record("expected a refusal, got \(error)")
            return
        }
        #expect(host == "relay.example")
        #expect(refused == (try address("10.0.0.1")))
        #expect(range.description == "private-use (10.0.0.0/8)")
        #expect(error.isPolicyRefusal)
        #expect(await resolver.lookups == ["relay.example"])
    }

    @Test("a name resolving into an allowlisted range is pinned")
    func allowlistedName() async throws {
        let resolver = try ScriptedResolver(answering: ["10.1.2.3", "8.8.8.8"])
        let policy = try EgressPolicy(allowlist: EgressPolicy.parseAllowlist("10.0.0.0/8"))
        let pinned = try await EgressGuard(policy: policy, resolver: resolver).vet(host: "relay.internal")
        #expect(pinned.address == (try address("10.1.2.3")))
    }

    @Test("a name with no addresses is a DNS failure, not a policy refusal")
    func noAddresses() async throws {
        let resolver = ScriptedResolver(.success([]))
        let error = try #require(await EgressGuard(policy: EgressPolicy(), resolver: resolver).outcome(of: "empty.example").error)
        #expect(error == .noAddresses(host: "empty.example"))
        #expect(!error.isPolicyRefusal)
        #expect(!error.isTransient)
        #expect(error.description.contains(#""empty.example""#))
    }

    @Test("a failed lookup carries the resolver's reason and whether to retry", arguments: [true, false])
    func resolutionFailed(transient: Bool) async throws {
        let failure = ResolutionError(isTransient: transient, reason: "Temporary failure in name resolution")
        let resolver = ScriptedResolver(.failure(failure))
        let error = try #require(await EgressGuard(policy: EgressPolicy(), resolver: resolver).outcome(of: "slow.example").error)

        #expect(error == .resolutionFailed(host: "slow.example", failure))
        #expect(error.isTransient == transient)
        #expect(!error.isPolicyRefusal)
        #expect(error.description == #"Could not resolve "slow.example": Temporary failure in name resolution"#)
        #expect(await resolver.lookups == ["slow.example"])
    }

    @Test("a rebinding name is judged and pinned on its one answer")
    func rebinding() async throws {
        let resolver = try ScriptedResolver(.success([address("203.0.114.5")]), .success([address("127.0.0.1")]))
        let pinned = try await EgressGuard(policy: EgressPolicy(), resolver: resolver).vet(host: "rebind.example")

        #expect(pinned.address == (try address("203.0.114.5")))
        #expect(pinned.allAddresses == [try address("203.0.114.5")])
        #expect(await resolver.lookups == ["rebind.example"])
    }

    // MARK: - Messages

    @Test("a refusal names the host, the resolved address, the range and the way to open it")
    func refusalMessage() async throws {
        let resolver = try ScriptedResolver(answering: ["127.0.0.1"])
        let error = try #require(await EgressGuard(policy: EgressPolicy(), resolver: resolver).outcome(of: "relay.example").error)
        let message = error.description

        for part in [#""relay.example""#, "resolved to 127.0.0.1", "loopback", "127.0.0.0/8", "--allow-private-egress"] {
            #expect(message.contains(part), "\(message) should mention \(part)")
        }
    }

    @Test("a refused literal is not said to resolve to itself")
    func literalRefusalMessage() async throws {
        let error = try #require(await EgressGuard(policy: EgressPolicy(), resolver: ScriptedResolver()).outcome(of: "169.254.169.254").error)
        #expect(error.description.hasPrefix(#"Outbound connection to "169.254.169.254" refused: the address is in the link-local (169.254.0.0/16) range"#))
    }

    @Test("a non-canonical literal's message names it and the canonical form")
    func nonCanonicalMessage() {
        let message = EgressError.nonCanonicalAddress(host: "0x7f.1").description
        #expect(message.contains(#""0x7f.1""#))
        #expect(message.contains("192.0.2.1"))
    }

    @Test("hosts in messages cannot forge log lines or run on")
    func hostileHostInMessage() async throws {
        let resolver = try ScriptedResolver(answering: ["127.0.0.1"])
        let host = "relay.example\r\nlevel=info msg=\"sent\"" + String(repeating: "a", count: 500)
        let error = try #require(await EgressGuard(policy: EgressPolicy(), resolver: resolver).outcome(of: host).error)
        let message = error.description

        #expect(!message.contains("\r") && !message.contains("\n"))
        #expect(message.contains(#"relay.example\u{d}\u{a}level=info msg=\"sent\""#))
        #expect(message.count < 400)
    }

    // MARK: - The system resolver (hosts file only)

    @Test("the system resolver finds localhost on loopback, and the guard refuses it")
    func systemLocalhost() async throws {
        let addresses = try await SystemResolver().addresses(of: "localhost")
        #expect(!addresses.isEmpty)
        for address in addresses {
            #expect(address.addressClass.range?.name == "loopback", "\(address)")
        }

        let error = try #require(await EgressGuard(policy: EgressPolicy()).outcome(of: "localhost").error)
        guard case .refused(host: "localhost", _, let range) = error else {
            Issue.record("expected a refusal, got \(error)")
            return
        }
        #expect(range.name == "loopback")
    }
}
