import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The operating system's resolver (`getaddrinfo`), called on a Dispatch queue so a slow DNS server
/// never blocks a Swift concurrency thread.
public struct SystemResolver: HostResolver {
    /// Creates a resolver.
    public init() {}

    public func addresses(of host: String) async throws(ResolutionError) -> [IPAddress] {
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Result<[IPAddress], ResolutionError>, Never>) in
            DispatchQueue.global().async {
                continuation.resume(returning: Self.lookUp(host))
            }
        }
        return try outcome.get()
    }

    static func lookUp(_ host: String) -> Result<[IPAddress], ResolutionError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Darwin)
        hints.ai_socktype = SOCK_STREAM
        #else
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0 else {
            let transient = status == EAI_AGAIN || status == EAI_SYSTEM || status == EAI_MEMORY
            return .failure(ResolutionError(isTransient: transient, reason: String(cString: gai_strerror(status))))
        }
        defer { freeaddrinfo(list) }
        var addresses: [IPAddress] = []
        var cursor = list
        while let entry = cursor {
            if let address = IPAddress(socketAddress: entry.pointee.ai_addr), !addresses.contains(address) {
                addresses.append(address)
            }
            cursor = entry.pointee.ai_next
        }
        return .success(addresses)
    }
}

extension IPAddress {
    /// Reads an `AF_INET` or `AF_INET6` socket address; `nil` for other families.
    init?(socketAddress: UnsafeMutablePointer<sockaddr>?) {
        guard let socketAddress else { return nil }
        switch Int32(socketAddress.pointee.sa_family) {
        case AF_INET:
            let value = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
            self = .v4(UInt32(bigEndian: value))
        case AF_INET6:
            let bytes = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
            }
            self = .v6(bytes.reduce(UInt128(0)) { $0 << 8 | UInt128($1) })
        default:
            return nil
        }
    }
}
