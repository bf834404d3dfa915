import CPlatform
import Glibc

/// keepalived's `net_namespace`: the daemon moves into a named network namespace (`ip netns add NAME`) at start.
///
/// setns(2) moves only the calling thread, and a Swift process has more than one by the time the configuration is
/// read, so the caller re-executes itself once the thread is inside: a new image starts with one thread, in the
/// namespace its exec'ing thread was in, and every socket it opens is there.
public enum NetworkNamespace {
    /// Where `ip netns add` keeps its namespaces (keepalived's /var/run/netns is a link to it on Debian).
    public static let directory = "/run/netns"

    public enum Entry: Equatable, Sendable {
        /// The process already runs in the namespace: nothing to do.
        case alreadyInside
        /// The calling thread has moved into it; the process must re-execute itself.
        case entered
    }

    /// Moves the calling thread into `/run/netns/NAME` unless this thread is there already.
    public static func enter(_ name: String, directory: String = NetworkNamespace.directory) throws(SystemError) -> Entry {
        let path = "\(directory)/\(name)"
        let fd = try retryingEINTR("open", detail: path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var target = stat()
        var current = stat()
        try retryingEINTR("fstat", detail: path) { fstat(fd, &target) }
        try retryingEINTR("stat", detail: "/proc/thread-self/ns/net") { stat("/proc/thread-self/ns/net", &current) }
        if target.st_ino == current.st_ino && target.st_dev == current.st_dev { return .alreadyInside }
        try retryingEINTR("setns", detail: "\(path) (CLONE_NEWNET)") { directord_setns_net(fd) }
        return .entered
    }

    /// Replaces the process image with this program and these arguments; returns only on failure.
    public static func reexecute(arguments: [String]) -> SystemError {
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        defer { for p in argv { free(p) } }
        execv("/proc/self/exe", &argv)
        return SystemError(call: "execv", errno: errno, detail: "/proc/self/exe")
    }
}
