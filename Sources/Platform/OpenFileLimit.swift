import Glibc

/// The process's open-file limit (RLIMIT_NOFILE). systemd and most shells start services with a soft limit of 1024
/// and a much higher hard limit, expecting a program that needs more to raise its own soft limit: thousands of
/// health checks in flight need a descriptor each.
public enum OpenFileLimit {
    /// Descriptors kept free of health checks, for netlink, VRRP sockets, scripts' pipes, control connections and
    /// the runtimes' own (libdispatch stops the process when it cannot get one).
    public static let reserve = 256

    /// The soft limit now, or nil when it cannot be read.
    public static func current() -> Int? {
        var limit = rlimit()
        guard getrlimit(resourceNumber, &limit) == 0 else { return nil }
        return Int(clamping: limit.rlim_cur)
    }

    /// Raises the soft limit to the hard limit (capped at `ceiling`); answers the limits before and after, or the
    /// error. Nothing changes when the soft limit is already there.
    public static func raise(ceiling: Int = 1 << 20) -> Result<(before: Int, after: Int), SystemError> {
        var limit = rlimit()
        guard getrlimit(resourceNumber, &limit) == 0 else { return .failure(SystemError(call: "getrlimit", errno: errno)) }
        let before = limit.rlim_cur
        let target = min(limit.rlim_max, rlim_t(ceiling))
        guard target > before else { return .success((Int(clamping: before), Int(clamping: before))) }
        limit.rlim_cur = target
        guard setrlimit(resourceNumber, &limit) == 0 else { return .failure(SystemError(call: "setrlimit", errno: errno)) }
        return .success((Int(clamping: before), Int(clamping: target)))
    }

    /// Health checks in flight at most, whatever the limit: each holds about 8 KB besides its socket (measured with
    /// bench-checker against a server that never answers), and a farm needs this many only when that many reals
    /// are slow or dead at once; the others wait their turn, oldest first.
    public static let checksInFlightCeiling = 1024

    /// How many health checks may hold a socket at once under a soft limit of `limit`.
    public static func checkBudget(limit: Int?) -> Int {
        max(16, min(checksInFlightCeiling, (limit ?? 1024) - reserve))
    }

    private static var resourceNumber: __rlimit_resource_t { __rlimit_resource_t(RLIMIT_NOFILE.rawValue) }
}
