#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// What `posthorn serve` sets up about its own process before anything else runs.
enum ServerProcess {
    /// The crash-report settings the server runs with unless the operator chose others.
    ///
    /// Swift's backtracer prints a crashed process's registers and, with some presets, memory
    /// around them to the terminal — in a server, to its log, where a password or token in a
    /// register would stay. These settings keep the stack trace (which is what a bug report needs)
    /// and leave out registers, loaded images and unsanitized paths.
    static let backtraceSettings = "enable=yes,interactive=no,color=no,preset=friendly,registers=none,images=none,sanitize=yes,output-to=stderr"

    /// Re-executes the process with ``backtraceSettings`` in `SWIFT_BACKTRACE` when the variable is
    /// unset: the runtime reads it once, at process start, so setting it later would do nothing.
    /// An operator's own `SWIFT_BACKTRACE` is kept as it is.
    static func ensureSafeCrashReports() {
        #if os(Linux)
        guard getenv("SWIFT_BACKTRACE") == nil else { return }
        setenv("SWIFT_BACKTRACE", backtraceSettings, 1)
        let arguments = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", arguments)
        // Still here: exec failed (no /proc). Run on with the runtime's defaults.
        unsetenv("SWIFT_BACKTRACE")
        #endif
    }

    /// Raises the soft limit on open files to the hard limit, so the HTTP connection cap (1,000 by
    /// default) is reached before the process runs out of descriptors (a common soft limit is 1,024,
    /// and the database, the SMTP pool and attachment fetches need some too).
    static func raiseOpenFileLimit() {
        #if os(Linux)
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        #endif
    }
}
