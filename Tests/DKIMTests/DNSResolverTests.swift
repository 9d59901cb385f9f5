@testable import DKIM
import Dispatch
import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("DNS: TXT resolvers, the system one against a fake server on loopback")
struct DNSResolverTests {
    // MARK: Pure parts

    @Test("resolv.conf: nameserver lines in order, IPv4 and IPv6, comments and junk skipped, at most 3")
    func resolvConf() {
        let text = """
            # generated
            search example.com
            nameserver 10.0.0.1
            ; nameserver 10.0.0.9
            nameserver\tfd00::53 # inline comment
            nameserver not-an-address
            nameserver fe80::1%lo
            nameserver 10.0.0.4
            options edns0
            """
        #expect(SystemTXTResolver.nameservers(inResolvConf: text) == ["10.0.0.1", "fd00::53", "fe80::1%lo"])
        #expect(SystemTXTResolver.nameservers(inResolvConf: "").isEmpty)
    }

    @Test("server addresses: IP literals only", arguments: [
        ("127.0.0.1", true), ("::1", true), ("[::1]", true), ("fe80::1%1", true), ("dns.example", false), ("1.2.3", false), ("", false),
    ])
    func serverAddresses(host: String, valid: Bool) {
        #expect((SocketAddress(host: host, port: 53) != nil) == valid)
    }

    @Test("errors say which server did what")
    func errorDescriptions() {
        #expect(DNSLookupError(server: "10.0.0.1", reason: .timedOut(after: .seconds(4))).description
            == "the DNS server at 10.0.0.1 did not answer in 4 s")
        #expect(DNSLookupError(server: "10.0.0.1", reason: .timedOut(after: .milliseconds(500))).description
            == "the DNS server at 10.0.0.1 did not answer in 0.5 s")
        #expect(DNSLookupError(server: "[::1]:5353", reason: .responseCode(.serverFailure)).description == "SERVFAIL from [::1]:5353")
        #expect(DNSLookupError(server: "10.0.0.1", reason: .responseCode(.refused)).description == "REFUSED from 10.0.0.1")
    }

    @Test("the static resolver matches names case-insensitively, with or without the trailing dot")
    func staticResolver() async throws {
        let failure = DNSLookupError(server: "10.0.0.1", reason: .responseCode(.serverFailure))
        let resolver = StaticTXTResolver(
            ["_dmarc.Example.com.": .records(["v=DMARC1; p=reject"]), "example.com": .noRecords],
            errors: ["broken.example": failure])
        #expect(try await resolver.lookupTXT("_DMARC.example.COM") == .records(["v=DMARC1; p=reject"]))
        #expect(try await resolver.lookupTXT("example.com.") == .noRecords)
        #expect(try await resolver.lookupTXT("other.example") == .noSuchName)
        await #expect(throws: failure) { try await resolver.lookupTXT("Broken.Example") }
        await #expect(throws: DNSNameError.emptyLabel) { try await resolver.lookupTXT("a..b") }
    }

    @Test("a name that is not a DNS name is refused before anything is sent")
    func invalidNameNotSent() async {
        let resolver = SystemTXTResolver(servers: [(host: "127.0.0.1", port: 9)], timeout: .milliseconds(1))
        await #expect(throws: DNSNameError.invalidCharacter(" ")) { try await resolver.lookupTXT("exa mple.com") }
    }

    // MARK: Against a fake server

    static let dkim = ["v=DKIM1; k=ed25519; ", "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="]

    @Test("a TXT answer over UDP")
    func udpAnswer() async throws {
        let server = try FakeDNSServer(.answer(records: [Self.dkim, ["second"]]))
        defer { server.stop() }
        let lookup = try await server.resolver().lookupTXT("S1._domainkey.example.com.")
        #expect(lookup == .records([Self.dkim.joined(), "second"]))
        #expect(server.counts == (udp: 1, tcp: 0))
    }

    @Test("NXDOMAIN is no such name; NOERROR without TXT is no records")
    func emptyAnswers() async throws {
        let nx = try FakeDNSServer(.answer(code: 3, records: []))
        defer { nx.stop() }
        #expect(try await nx.resolver().lookupTXT("nope.example") == .noSuchName)
        let empty = try FakeDNSServer(.answer(records: []))
        defer { empty.stop() }
        #expect(try await empty.resolver().lookupTXT("example.com") == .noRecords)
    }

    @Test("a truncated UDP reply is asked again over TCP on the same port")
    func truncatedThenTCP() async throws {
        let server = try FakeDNSServer(.truncateThenTCP(records: [Self.dkim]))
        defer { server.stop() }
        #expect(try await server.resolver().lookupTXT("s1._domainkey.example.com") == .records([Self.dkim.joined()]))
        #expect(server.counts == (udp: 1, tcp: 1))
    }

    @Test("replies with another id or from another port are ignored; the server's own reply counts")
    func spoofedRepliesIgnored() async throws {
        let server = try FakeDNSServer(.spoofFirst(records: [["v=spf1 -all"]]))
        defer { server.stop() }
        #expect(try await server.resolver().lookupTXT("example.com") == .records(["v=spf1 -all"]))
    }

    @Test("a server that never answers times out after its tries, within bounds")
    func silentServer() async throws {
        let server = try FakeDNSServer(.silent)
        defer { server.stop() }
        let resolver = server.resolver(timeout: .milliseconds(300))
        let started = ContinuousClock.now
        let error = await #expect(throws: DNSLookupError.self) { try await resolver.lookupTXT("example.com") }
        #expect(error?.reason == .timedOut(after: .milliseconds(600)))
        #expect(error?.description == "the DNS server at 127.0.0.1:\(server.port) did not answer in 0.6 s")
        // No hang: two tries of 0.3 s, on a machine that may be busy running every other suite.
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    @Test("garbage from the server is a malformed reply, not an answer")
    func garbage() async throws {
        let server = try FakeDNSServer(.garbage)
        defer { server.stop() }
        // Each try waits its full time for a reply that reads; the garbage arrives in microseconds,
        // the generous timeout only keeps a loaded machine from turning it into a timeout.
        let resolver = server.resolver(timeout: .milliseconds(1500))
        let error = await #expect(throws: DNSLookupError.self) { try await resolver.lookupTXT("example.com") }
        guard case .malformedReply? = error?.reason else {
            Issue.record("expected a malformed reply, got \(String(describing: error))")
            return
        }
    }

    @Test("SERVFAIL moves on to the next server; from the only server it is the error")
    func failover() async throws {
        let failing = try FakeDNSServer(.answer(code: 2, records: []))
        defer { failing.stop() }
        let working = try FakeDNSServer(.answer(records: [["v=spf1 -all"]]))
        defer { working.stop() }
        let both = SystemTXTResolver(servers: [(failing.host, failing.port), (working.host, working.port)], timeout: .seconds(10))
        #expect(try await both.lookupTXT("example.com") == .records(["v=spf1 -all"]))
        await #expect(throws: DNSLookupError(server: "127.0.0.1:\(failing.port)", reason: .responseCode(.serverFailure))) {
            try await failing.resolver().lookupTXT("example.com")
        }
    }

    @Test("IPv6 loopback", .enabled(if: FakeDNSServer.loopbackIPv6Available))
    func ipv6() async throws {
        let server = try FakeDNSServer(.answer(records: [["v=DMARC1; p=none"]]), host: "::1")
        defer { server.stop() }
        #expect(try await server.resolver().lookupTXT("_dmarc.example.com") == .records(["v=DMARC1; p=none"]))
    }
}

// MARK: - The fake server

/// A DNS server on a loopback address and an ephemeral port, UDP and TCP on the same port, run on
/// a thread of its own until `stop()`. It answers every query for TXT as `behavior` says.
final class FakeDNSServer: Sendable {
    enum Behavior: Sendable {
        /// Reply over UDP with `code` and one TXT record per element of `records`.
        case answer(code: UInt16 = 0, records: [[String]])
        /// Reply over UDP with TC=1 and nothing else, over TCP with the records.
        case truncateThenTCP(records: [[String]])
        /// First a spoof from another port and one with a wrong id, then the real reply.
        case spoofFirst(records: [[String]])
        /// Reply with bytes that are not a DNS message.
        case garbage
        /// Never reply.
        case silent
    }

    let host: String
    let port: UInt16
    private let behavior: Behavior
    private let udp: Int32
    private let tcp: Int32
    private let wake: (read: Int32, write: Int32)
    private let received = Mutex<(udp: Int, tcp: Int)>((0, 0))
    private let finished = DispatchSemaphore(value: 0)

    static let loopbackIPv6Available: Bool = {
        guard let (udp, tcp, _) = try? bindPair(host: "::1") else { return false }
        close(udp)
        close(tcp)
        return true
    }()

    init(_ behavior: Behavior, host: String = "127.0.0.1") throws {
        (udp, tcp, port) = try Self.bindPair(host: host)
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw POSIXError(.EMFILE) }
        wake = (fds[0], fds[1])
        self.host = host
        self.behavior = behavior
        let thread = Thread { [self] in
            serve()
            finished.signal()
        }
        thread.start()
    }

    /// The queries received so far.
    var counts: (udp: Int, tcp: Int) { received.withLock { $0 } }

    func resolver(timeout: Duration = .seconds(10)) -> SystemTXTResolver {
        SystemTXTResolver(servers: [(host: host, port: port)], timeout: timeout)
    }

    func stop() {
        _ = write(wake.write, [1], 1)
        finished.wait()
        for fd in [udp, tcp, wake.read, wake.write] { close(fd) }
    }

    /// A UDP socket on an ephemeral port and a TCP listener on the same port.
    private static func bindPair(host: String) throws -> (Int32, Int32, UInt16) {
        for _ in 0..<20 {
            guard let any = SocketAddress(host: host, port: 0) else { throw POSIXError(.EINVAL) }
            let udp = socket(any.family, SocketAddress.datagram, 0)
            guard udp >= 0, any.withSocketAddress({ bind(udp, $0, $1) }) == 0 else { close(udp); throw POSIXError(.EADDRNOTAVAIL) }
            var bound = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(udp, $0, &length) } }
            let port = withUnsafeBytes(of: bound) { raw in
                UInt16(bigEndian: any.family == AF_INET ? raw.load(as: sockaddr_in.self).sin_port : raw.load(as: sockaddr_in6.self).sin6_port)
            }
            let tcp = socket(any.family, SocketAddress.stream, 0)
            if let same = SocketAddress(host: host, port: port), same.withSocketAddress({ bind(tcp, $0, $1) }) == 0, listen(tcp, 8) == 0 {
                return (udp, tcp, port)
            }
            close(udp)
            close(tcp)
        }
        throw POSIXError(.EADDRINUSE)
    }

    // MARK: Serving

    private func serve() {
        while true {
            var entries = [udp, tcp, wake.read].map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard poll(&entries, 3, -1) >= 0 || errno == EINTR else { return }
            if entries[2].revents != 0 { return }
            if entries[0].revents != 0 { serveDatagram() }
            if entries[1].revents != 0 { serveConnection() }
        }
    }

    private func serveDatagram() {
        var buffer = [UInt8](repeating: 0, count: 2048)
        var source = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let count = buffer.withUnsafeMutableBytes { bytes in
            withUnsafeMutablePointer(to: &source) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(udp, bytes.baseAddress, bytes.count, 0, $0, &length) }
            }
        }
        guard count >= 12 else { return }
        received.withLock { $0.udp += 1 }
        let query = Array(buffer[..<count])
        func reply(_ bytes: [UInt8], from socket: Int32? = nil) {
            _ = bytes.withUnsafeBytes { raw in
                withUnsafePointer(to: &source) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(socket ?? udp, raw.baseAddress, raw.count, 0, $0, length) }
                }
            }
        }
        switch behavior {
        case .answer(let code, let records):
            reply(Self.response(to: query, flags: 0x8180 | code, records: records))
        case .truncateThenTCP:
            reply(Self.response(to: query, flags: 0x8380, records: []))
        case .spoofFirst(let records):
            let other = socket(Int32(source.ss_family), SocketAddress.datagram, 0)
            reply(Self.response(to: query, flags: 0x8180, records: [["spoofed from another port"]]), from: other)
            close(other)
            var wrongID = query
            wrongID[1] ^= 0xFF
            reply(Self.response(to: wrongID, flags: 0x8180, records: [["spoofed with another id"]]))
            reply(Self.response(to: query, flags: 0x8180, records: records))
        case .garbage:
            reply(Array(query.prefix(2)) + [0x81, 0x80, 0xFF, 0xFF])
        case .silent:
            break
        }
    }

    private func serveConnection() {
        let connection = accept(tcp, nil, nil)
        guard connection >= 0 else { return }
        defer { close(connection) }
        var limit = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard let prefix = Self.read(2, from: connection),
              let query = Self.read(Int(prefix[0]) << 8 | Int(prefix[1]), from: connection)
        else { return }
        received.withLock { $0.tcp += 1 }
        guard case .truncateThenTCP(let records) = behavior else { return }
        let response = Self.response(to: query, flags: 0x8180, records: records)
        let framed = DNSWire.uint16(UInt16(response.count)) + response
        _ = framed.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    private static func read(_ count: Int, from connection: Int32) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress! + filled, count - filled, 0) }
            guard got > 0 else { return nil }
            filled += got
        }
        return buffer
    }

    /// A reply echoing the query's id and question, with one TXT record per element of `records`
    /// owned by the question's name.
    static func response(to query: [UInt8], flags: UInt16, records: [[String]]) -> [UInt8] {
        var end = 12
        while end < query.count, query[end] != 0 { end += Int(query[end]) + 1 }
        let question = Array(query[12..<min(end + 5, query.count)])
        let answers = records.flatMap { DNSWire.record(owner: [0xC0, 12], type: 16, data: DNSWire.txt($0)) }
        return Array(query.prefix(2)) + DNSWire.uint16(flags) + DNSWire.uint16(1) + DNSWire.uint16(UInt16(records.count))
            + DNSWire.uint16(0) + DNSWire.uint16(0) + question + answers
    }
}
