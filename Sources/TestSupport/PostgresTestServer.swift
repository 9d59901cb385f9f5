import Foundation

/// A throwaway PostgreSQL cluster for the tests, started once per test process from Debian's
/// `postgresql` package: `initdb` into a temporary directory (as the `postgres` user when the
/// tests run as root — `initdb` refuses root), listening on 127.0.0.1 on a free port, with
/// `C` collation and durability off (it is thrown away), stopped and removed when the process exits.
///
/// `POSTHORN_TEST_POSTGRES_URL` names an existing server instead. Without either, ``url()``
/// throws naming what is missing: a test that needs PostgreSQL fails, it never skips.
public enum PostgresTestServer {
    /// Why no server could be had.
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    nonisolated(unsafe) private static var stopCommand: [String] = []
    nonisolated(unsafe) private static var directory = ""

    /// Started once, on first use, on a Dispatch thread: `initdb` and `pg_ctl` take seconds, and
    /// waiting for them on the tests' cooperative threads (two on a two-core machine) would stall
    /// every other test meanwhile.
    private static let started = Task<String, any Error> {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { () throws(Unavailable) -> String in try start() })
            }
        }
    }

    /// `postgres://posthorn@127.0.0.1:PORT/postgres?sslmode=disable`, the server started on first use.
    public static func url() async throws -> String {
        try await started.value
    }

    private static func start() throws(Unavailable) -> String {
        if let url = ProcessInfo.processInfo.environment["POSTHORN_TEST_POSTGRES_URL"], !url.isEmpty { return url }
        let files = FileManager.default
        let versions = ((try? files.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .compactMap(Int.init).sorted()
        guard let version = versions.last(where: { files.isExecutableFile(atPath: "/usr/lib/postgresql/\($0)/bin/initdb") }) else {
            throw Unavailable(description: "PostgreSQL is not installed (apt-get install postgresql), and POSTHORN_TEST_POSTGRES_URL is not set")
        }
        let bin = "/usr/lib/postgresql/\(version)/bin"
        let root = files.temporaryDirectory.appendingPathComponent("posthorn-pg-\(getpid())-\(UUID().uuidString.prefix(8))").path
        let data = root + "/data"
        do {
            try files.createDirectory(atPath: root, withIntermediateDirectories: true)
        } catch {
            throw Unavailable(description: "could not make \(root): \(error)")
        }
        var prefix: [String] = []
        if getuid() == 0 {
            guard let user = getpwnam("postgres") else { throw Unavailable(description: "running as root, but there is no postgres user to run initdb as") }
            chown(root, user.pointee.pw_uid, user.pointee.pw_gid)
            prefix = ["/usr/sbin/runuser", "-u", "postgres", "--"]
        }
        try run(log: root + "/commands.log", prefix + ["\(bin)/initdb", "-D", data, "-A", "trust", "-U", "posthorn", "--locale=C", "-E", "UTF8", "--no-sync"])
        let port = freePort()
        let options = "-c listen_addresses=127.0.0.1 -p \(port) -k \(root) -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=1000"
        try run(log: root + "/commands.log", prefix + ["\(bin)/pg_ctl", "-D", data, "-l", root + "/server.log", "-w", "-t", "60", "-o", options, "start"])
        stopCommand = prefix + ["\(bin)/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"]
        directory = root
        atexit {
            try? PostgresTestServer.run(log: "/dev/null", PostgresTestServer.stopCommand)
            try? FileManager.default.removeItem(atPath: PostgresTestServer.directory)
        }
        return "postgres://posthorn@127.0.0.1:\(port)/postgres?sslmode=disable"
    }

    /// Runs `command` to its end with its output in `<root>/commands.log`: posix_spawn and waitpid
    /// rather than Foundation's `Process`, whose `waitUntilExit` can wait forever for a child that
    /// already ended (its run loop is never told) when the child's own child lives on, as
    /// `pg_ctl start`'s server does.
    private static func run(log: String, _ command: [String]) throws(Unavailable) {
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var pid: pid_t = 0
        // Nothing else this process has open goes to the child: the server `pg_ctl` starts lives
        // on, and would hold, say, the write end of another test's pipe, so that test would never
        // read to its end. (glibc's posix_spawn_file_actions_addclosefrom_np is not visible to
        // Swift, so bash closes them before it becomes the command.)
        let closeInherited = #"for fd in /proc/$$/fd/*; do fd=${fd##*/}; if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null; fi; done; exec "$@""#
        let command = ["/bin/bash", "-c", closeInherited, "bash"] + command
        let arguments = command.map { strdup($0) } + [nil]
        defer { for argument in arguments { free(argument) } }
        let spawned = posix_spawn(&pid, command[0], &actions, nil, arguments, environ)
        guard spawned == 0 else { throw Unavailable(description: "\(command[0]) did not start (errno \(spawned))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exited = (status & 0x7f) == 0
        let code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw Unavailable(description: "\(command.joined(separator: " ")) failed (status \(status)): \(text.suffix(2_000))")
        }
    }

    /// A port nothing listens on now (bound to 0, read, released).
    private static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
