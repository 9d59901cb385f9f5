import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - The seam

/// Looks up TXT records: the seam "Check DNS" reads DKIM keys, SPF and DMARC policies through.
public protocol TXTResolver: Sendable {
    /// The TXT records of `name`, or why there are none.
    ///
    /// - Throws: ``DNSNameError`` for a name that cannot be asked about, ``DNSLookupError`` when no
    ///   server gave an answer.
    func lookupTXT(_ name: String) async throws -> TXTLookup
}

/// What a TXT lookup found.
public enum TXTLookup: Sendable, Equatable {
    /// The name's TXT records, each one's strings joined.
    case records([String])
    /// NXDOMAIN: the name does not exist.
    case noSuchName
    /// The name exists but has no TXT record.
    case noRecords
}

/// No DNS server gave an answer; the error describes the last one tried.
public struct DNSLookupError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Reason: Sendable, Equatable {
        /// No reply within every try's timeout; `after` is the total time waited.
        case timedOut(after: Duration)
        /// A reply with an RCODE other than NOERROR or NXDOMAIN (SERVFAIL, REFUSED, …).
        case responseCode(DNSResponseCode)
        /// Replies came from the server but none could be read as the answer to the query.
        case malformedReply(String)
        /// The socket failed: the system's reason.
        case network(String)
        /// The configured server address is not an IP address.
        case invalidServerAddress
    }

    /// The server, as `address` or `address:port`.
    public var server: String
    /// What went wrong.
    public var reason: Reason

    /// Creates an error.
    public init(server: String, reason: Reason) {
        self.server = server
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .timedOut(let after):
            let milliseconds = after.components.seconds * 1000 + after.components.attoseconds / 1_000_000_000_000_000
            let seconds = milliseconds % 1000 == 0 ? "\(milliseconds / 1000)" : "\(Double(milliseconds) / 1000)"
            return "the DNS server at \(server) did not answer in \(seconds) s"
        case .responseCode(let code): return "\(code) from \(server)"
        case .malformedReply(let detail): return "a malformed reply from the DNS server at \(server): \(detail)"
        case .network(let detail): return "could not reach the DNS server at \(server): \(detail)"
        case .invalidServerAddress: return "the DNS server address \(server) is not an IP address"
        }
    }
}

// MARK: - In memory

/// Answers from a table: the resolver tests and previews use. Names match case-insensitively and
/// with or without a trailing dot; a name in neither table gets `otherwise`.
public struct StaticTXTResolver: TXTResolver {
    private let answers: [String: TXTLookup]
    private let errors: [String: DNSLookupError]
    private let otherwise: TXTLookup

    /// Creates a resolver answering `answers`, failing with `errors`, and `otherwise` for the rest.
    public init(_ answers: [String: TXTLookup], errors: [String: DNSLookupError] = [:], otherwise: TXTLookup = .noSuchName) {
        self.answers = Dictionary(answers.map { (Self.key($0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
        self.errors = Dictionary(errors.map { (Self.key($0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
        self.otherwise = otherwise
    }

    public func lookupTXT(_ name: String) async throws -> TXTLookup {
        let key = Self.key(try DNSQuery.validatedName(name))
        if let error = errors[key] { throw error }
        return answers[key] ?? otherwise
    }

    private static func key(_ name: String) -> String {
        DNSResponse.comparable(name.hasSuffix(".") ? String(name.dropLast()) : name)
    }
}

// MARK: - Over the network

/// Asks the recursive servers of `/etc/resolv.conf` (or the ones given) over UDP, and over TCP when
/// a reply is truncated.
///
/// Each server gets `triesPerServer` tries of `timeout` each, then the next server is asked; an
/// NXDOMAIN or NOERROR reply ends the lookup, any other RCODE moves on. The sockets block, so each
/// lookup runs on a thread of its own, never on a Swift concurrency thread; it ends after at most
/// servers × tries × timeout (plus one TCP exchange per server), and is not cancellable sooner.
///
/// Against off-path spoofing a reply counts only when it comes from the server's address and port
/// to our random source port, echoes the random id, and repeats the question; anything else is
/// ignored while the try's time runs on.
public struct SystemTXTResolver: TXTResolver {
    /// The most servers read from `resolv.conf`, as the system resolver (`MAXNS`) reads.
    public static let maximumServers = 3

    struct Server: Sendable {
        var host: String
        var port: UInt16
        var label: String { port == 53 ? host : host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    let servers: [Server]
    /// How long each try waits for a reply.
    public let timeout: Duration
    /// How many UDP queries each server gets before the next one is asked.
    public let triesPerServer: Int

    /// The `nameserver` lines of `/etc/resolv.conf`, read now; 127.0.0.1 if there are none.
    public init() {
        let text = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
        let hosts = Self.nameservers(inResolvConf: text)
        self.init(servers: (hosts.isEmpty ? ["127.0.0.1"] : hosts).map { (host: $0, port: 53) })
    }

    /// Asks `servers` (IPv4 or IPv6 literals) in order.
    public init(servers: [(host: String, port: UInt16)], timeout: Duration = .seconds(2), triesPerServer: Int = 2) {
        self.servers = servers.map { Server(host: $0.host, port: $0.port) }
        self.timeout = timeout
        self.triesPerServer = max(1, triesPerServer)
    }

    /// The addresses of the `nameserver` lines of a `resolv.conf`, at most ``maximumServers``.
    static func nameservers(inResolvConf text: String) -> [String] {
        var hosts: [String] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, fields[0] == "nameserver", SocketAddress(host: String(fields[1]), port: 53) != nil
            else { continue }
            hosts.append(String(fields[1]))
        }
        return Array(hosts.prefix(Self.maximumServers))
    }

    public func lookupTXT(_ name: String) async throws -> TXTLookup {
        let name = try DNSQuery.validatedName(name)
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { () throws(DNSLookupError) in try self.lookUp(name) })
            }
            thread.name = "posthorn-dns"
            thread.start()
        }
    }

    // MARK: Driver

    func lookUp(_ name: String) throws(DNSLookupError) -> TXTLookup {
        var lastError = DNSLookupError(server: "(none)", reason: .network("no DNS server is configured"))
        for server in servers {
            do {
                return try ask(server, about: name)
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// One server: UDP tries until a reply, then TCP if that reply was truncated.
    func ask(_ server: Server, about name: String) throws(DNSLookupError) -> TXTLookup {
        func failure(_ reason: DNSLookupError.Reason) -> DNSLookupError { DNSLookupError(server: server.label, reason: reason) }
        guard let address = SocketAddress(host: server.host, port: server.port) else { throw failure(.invalidServerAddress) }
        var generator = SystemRandomNumberGenerator()
        var response: DNSResponse?
        var rejection: String?
        for _ in 0..<triesPerServer where response == nil {
            let query = DNSQuery(validatedName: name, id: .random(in: .min ... .max, using: &generator))
            do {
                let (reply, rejected) = try Self.exchangeUDP(query, with: address, timeout: timeout)
                (response, rejection) = (reply, rejected ?? rejection)
            } catch {
                throw failure(error.reason)
            }
        }
        guard var response else {
            throw failure(rejection.map { .malformedReply($0) } ?? .timedOut(after: timeout * triesPerServer))
        }
        if response.isTruncated {
            let query = DNSQuery(validatedName: name, id: .random(in: .min ... .max, using: &generator))
            let tcpTimeout = timeout * triesPerServer
            let bytes: [UInt8]?
            do {
                bytes = try Self.exchangeTCP(query, with: address, timeout: tcpTimeout)
            } catch {
                throw failure(error.reason)
            }
            guard let bytes else { throw failure(.timedOut(after: tcpTimeout)) }
            do {
                response = try DNSResponse(parsing: bytes)
            } catch {
                throw failure(.malformedReply(error.description))
            }
            if let problem = Self.mismatch(response, query: query) ?? (response.isTruncated ? "truncated even over TCP" : nil) {
                throw failure(.malformedReply(problem))
            }
        }
        return try Self.outcome(of: response, for: name, from: server.label)
    }

    /// Why `response` is not the reply to `query`, or nil if it is.
    static func mismatch(_ response: DNSResponse, query: DNSQuery) -> String? {
        guard response.isResponse else { return "a query, not a response" }
        guard response.id == query.id else { return "a reply with another id" }
        guard let question = response.question,
              DNSResponse.comparable(question.name) == DNSResponse.comparable(query.name),
              question.type == DNSRecordType.txt, question.recordClass == DNSRecordType.classIN
        else { return "a reply to another question" }
        return nil
    }

    /// What `server`'s reply to the query for `name` means.
    static func outcome(of response: DNSResponse, for name: String, from server: String) throws(DNSLookupError) -> TXTLookup {
        switch response.responseCode {
        case .noError:
            let records = response.txtRecords(for: name)
            return records.isEmpty ? .noRecords : .records(records)
        case .nameError:
            return .noSuchName
        default:
            throw DNSLookupError(server: server, reason: .responseCode(response.responseCode))
        }
    }

    // MARK: Sockets

    /// Sends `query` from a fresh socket (a fresh random source port) and waits up to `timeout` for
    /// the reply; returns nil on timeout, with why the last ignored datagram from the server was
    /// ignored.
    static func exchangeUDP(_ query: DNSQuery, with server: SocketAddress, timeout: Duration) throws(SocketFailure)
        -> (DNSResponse?, rejected: String?)
    {
        let socket = try SocketAddress.openSocket(family: server.family, type: SocketAddress.datagram)
        defer { close(socket) }
        let sent = query.bytes.withUnsafeBytes { bytes in
            server.withSocketAddress { sendto(socket, bytes.baseAddress, bytes.count, 0, $0, $1) }
        }
        guard sent == query.bytes.count else { throw SocketFailure(code: errno) }
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: DNSResponse.maximumMessageBytes)
        var rejected: String?
        while try SocketAddress.wait(socket, for: POLLIN, until: deadline) {
            var source = sockaddr_storage()
            var sourceLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &source) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(socket, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0, &sourceLength)
                    }
                }
            }
            if count < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
                throw SocketFailure(code: errno)
            }
            // A datagram from any other address or port is not the server's reply.
            guard server.matches(source) else { continue }
            do {
                let response = try DNSResponse(parsing: Array(buffer[..<count]))
                if let problem = mismatch(response, query: query) {
                    rejected = problem
                    continue
                }
                return (response, nil)
            } catch {
                rejected = error.description
            }
        }
        return (nil, rejected)
    }

    /// Sends `query` over TCP with its 2-byte length prefix (RFC 1035 §4.2.2) and reads the reply,
    /// all within `timeout`; nil on timeout.
    static func exchangeTCP(_ query: DNSQuery, with server: SocketAddress, timeout: Duration) throws(SocketFailure) -> [UInt8]? {
        let socket = try SocketAddress.openSocket(family: server.family, type: SocketAddress.stream)
        defer { close(socket) }
        let deadline = ContinuousClock.now + timeout
        if server.withSocketAddress({ connect(socket, $0, $1) }) != 0 {
            guard errno == EINPROGRESS else { throw SocketFailure(code: errno) }
            guard try SocketAddress.wait(socket, for: POLLOUT, until: deadline) else { return nil }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(socket, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else { throw SocketFailure(code: error) }
        }
        let message = [UInt8(query.bytes.count >> 8), UInt8(query.bytes.count & 0xFF)] + query.bytes
        var sent = 0
        while sent < message.count {
            guard try SocketAddress.wait(socket, for: POLLOUT, until: deadline) else { return nil }
            let count = message.withUnsafeBytes { send(socket, $0.baseAddress! + sent, $0.count - sent, SocketAddress.sendFlags) }
            if count < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
                throw SocketFailure(code: errno)
            }
            sent += count
        }
        guard let prefix = try receive(2, from: socket, until: deadline) else { return nil }
        return try receive(Int(prefix[0]) << 8 | Int(prefix[1]), from: socket, until: deadline)
    }

    private static func receive(_ wanted: Int, from socket: Int32, until deadline: ContinuousClock.Instant) throws(SocketFailure) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: wanted)
        var received = 0
        while received < wanted {
            guard try SocketAddress.wait(socket, for: POLLIN, until: deadline) else { return nil }
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress! + received, wanted - received, 0) }
            if count == 0 { throw SocketFailure(code: 0) }
            if count < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
                throw SocketFailure(code: errno)
            }
            received += count
        }
        return buffer
    }
}

/// A socket call failed with `code` (0: the peer closed the connection early).
struct SocketFailure: Error {
    var code: Int32

    var reason: DNSLookupError.Reason {
        code == 0 ? .malformedReply("the server closed the TCP connection early") : .network(String(cString: strerror(code)))
    }
}

/// An IPv4 or IPv6 address and port as the socket calls take it.
struct SocketAddress {
    private var storage = sockaddr_storage()
    private let length: socklen_t
    let family: Int32

    #if canImport(Darwin)
    static let datagram = SOCK_DGRAM
    static let stream = SOCK_STREAM
    static let sendFlags: Int32 = 0
    #else
    static let datagram = Int32(SOCK_DGRAM.rawValue)
    static let stream = Int32(SOCK_STREAM.rawValue)
    static let sendFlags = Int32(MSG_NOSIGNAL)
    #endif

    /// Reads an IPv4 or IPv6 literal (with an optional `%zone`, and optionally in brackets).
    init?(host: String, port: UInt16) {
        var host = Substring(host)
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        var v4 = sockaddr_in()
        if inet_pton(AF_INET, String(host), &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
            (family, length) = (AF_INET, socklen_t(MemoryLayout<sockaddr_in>.size))
            withUnsafeBytes(of: v4) { source in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: source) } }
            return
        }
        let parts = host.split(separator: "%", maxSplits: 1)
        var v6 = sockaddr_in6()
        guard let address = parts.first, inet_pton(AF_INET6, String(address), &v6.sin6_addr) == 1 else { return nil }
        v6.sin6_family = sa_family_t(AF_INET6)
        v6.sin6_port = port.bigEndian
        if parts.count == 2 { v6.sin6_scope_id = UInt32(parts[1]) ?? if_nametoindex(String(parts[1])) }
        (family, length) = (AF_INET6, socklen_t(MemoryLayout<sockaddr_in6>.size))
        withUnsafeBytes(of: v6) { source in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: source) } }
    }

    func withSocketAddress<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        withUnsafeBytes(of: storage) { body($0.baseAddress!.assumingMemoryBound(to: sockaddr.self), length) }
    }

    /// Whether `source` (from `recvfrom`) is this address and port.
    func matches(_ source: sockaddr_storage) -> Bool {
        guard Int32(source.ss_family) == family else { return false }
        return withUnsafeBytes(of: storage) { mine in
            withUnsafeBytes(of: source) { theirs in
                if family == AF_INET {
                    let (a, b) = (mine.load(as: sockaddr_in.self), theirs.load(as: sockaddr_in.self))
                    return a.sin_port == b.sin_port && a.sin_addr.s_addr == b.sin_addr.s_addr
                }
                let (a, b) = (mine.load(as: sockaddr_in6.self), theirs.load(as: sockaddr_in6.self))
                return a.sin6_port == b.sin6_port && withUnsafeBytes(of: a.sin6_addr) { x in withUnsafeBytes(of: b.sin6_addr) { x.elementsEqual($0) } }
            }
        }
    }

    static func openSocket(family: Int32, type: Int32) throws(SocketFailure) -> Int32 {
        #if canImport(Darwin)
        let socket = Darwin.socket(family, type, 0)
        guard socket >= 0 else { throw SocketFailure(code: errno) }
        _ = fcntl(socket, F_SETFL, O_NONBLOCK)
        var on: Int32 = 1
        setsockopt(socket, SOL_SOCKET, SO_NOSIGPIPE, &on, socklen_t(MemoryLayout<Int32>.size))
        #else
        let socket = Glibc.socket(family, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw SocketFailure(code: errno) }
        #endif
        return socket
    }

    /// Waits until `socket` is ready for `events` (true) or `deadline` passes (false).
    static func wait(_ socket: Int32, for events: Int32, until deadline: ContinuousClock.Instant) throws(SocketFailure) -> Bool {
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { return false }
            let milliseconds = left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1
            var entry = pollfd(fd: socket, events: Int16(events), revents: 0)
            let ready = poll(&entry, 1, Int32(clamping: milliseconds))
            if ready > 0 { return true }
            if ready < 0, errno != EINTR { throw SocketFailure(code: errno) }
        }
    }
}
