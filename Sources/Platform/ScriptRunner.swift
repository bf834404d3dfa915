import CPlatform
import Glibc

/// A script as keepalived runs it: a command line for `/bin/sh -c`, extra arguments, an optional user.
public struct Script: Hashable, Sendable, CustomStringConvertible {
    public var command: String
    /// Appended as "$1", "$2"... (notify scripts get GROUP|INSTANCE, name, state, priority).
    public var arguments: [String]
    /// Run as this user instead of root; nil keeps directord's own identity.
    public var user: String?
    /// Run with this group (else the user's primary group) as the only group, as keepalived does.
    public var group: String?
    /// Exec the command's words directly when it has no shell syntax (MISC_CHECK, as keepalived execs it); a
    /// command with quotes, variables, globs, redirections or operators still goes through `/bin/sh -c`.
    public var avoidShell: Bool

    public init(command: String, arguments: [String] = [], user: String? = nil, group: String? = nil,
                avoidShell: Bool = false) {
        self.command = command
        self.arguments = arguments
        self.user = user
        self.group = group
        self.avoidShell = avoidShell
    }

    /// The command's words when the shell would only split it on blanks, else nil.
    public static func plainWords(_ command: String) -> [String]? {
        let special = Set("|&;<>()$`\\\"'*?[]#~{}!\n")
        guard !command.contains(where: { special.contains($0) }) else { return nil }
        let words = command.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        // `VAR=value cmd` is an assignment to the shell.
        guard let first = words.first, !first.contains("=") else { return nil }
        return words
    }

    public var description: String { ([command] + arguments).joined(separator: " ") }
}

/// How a script ended.
public enum ScriptOutcome: Equatable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case signalled(Int32)
    /// Killed (with its whole process group) after running past its timeout.
    case timedOut
    case failedToStart(String)

    public var succeeded: Bool { self == .exited(0) }

    public var description: String {
        switch self {
        case .exited(let code): return "exited with status \(code)"
        case .signalled(let sig): return "killed by signal \(sig)"
        case .timedOut: return "timed out and was killed"
        case .failedToStart(let why): return "could not start: \(why)"
        }
    }
}

public struct ScriptResult: Equatable, Sendable {
    public var outcome: ScriptOutcome
    /// The first bytes the script wrote to stdout and stderr, for the log when it fails.
    public var output: String
}

struct ScriptStartError: Error {
    let reason: String
}

/// Runs scripts; a protocol so the VRRP and health logic that calls scripts is tested with a fake.
public protocol ScriptRunning: Sendable {
    func run(_ script: Script, timeout: Duration) async -> ScriptResult
}

/// Spawns `/bin/sh -c` in its own process group, so a timeout kills the script and everything it started; waits on
/// a pidfd so a hung script never blocks anything but its own waiting thread.
public struct ProcessScriptRunner: ScriptRunning {
    static let outputCap = 4096

    public init() {}

    public func run(_ script: Script, timeout: Duration) async -> ScriptResult {
        await withCheckedContinuation { continuation in
            // One short-lived thread per script: scripts are rare events, and blocking here keeps every
            // event loop (VRRP timers above all) free.
            do {
                try OSThread.start(name: "directord-script", stackSize: 256 * 1024) {
                    continuation.resume(returning: Self.runBlocking(script, timeout: timeout))
                }
            } catch {
                // No thread to spare (the process is at its limit): run it here rather than not at all.
                continuation.resume(returning: Self.runBlocking(script, timeout: timeout))
            }
        }
    }

    /// The command line to spawn, or why there is none (an unknown user).
    static func argv(for script: Script) -> Result<[String], ScriptStartError> {
        // `sh -c 'CMD "$@"' sh ARGS...` passes the arguments through untouched by the shell.
        let shell: [String]
        if script.avoidShell, let words = Script.plainWords(script.command) {
            shell = words + script.arguments
        } else {
            shell = script.arguments.isEmpty
                ? ["/bin/sh", "-c", script.command]
                : ["/bin/sh", "-c", script.command + " \"$@\"", "sh"] + script.arguments
        }
        let user = script.user == "root" ? nil : script.user
        let group = script.group == "root" && user == nil ? nil : script.group
        guard user != nil || group != nil else { return .success(shell) }
        var drop: [String] = ["setpriv"]
        var gid: gid_t?
        if let user {
            guard let entry = getpwnam(user) else { return .failure(ScriptStartError(reason: "no such user \(user)")) }
            drop.append("--reuid=\(entry.pointee.pw_uid)")
            gid = entry.pointee.pw_gid
        }
        if let group {
            guard let entry = getgrnam(group) else { return .failure(ScriptStartError(reason: "no such group \(group)")) }
            gid = entry.pointee.gr_gid
        }
        // keepalived's identity for a script: the uid, the gid, and that gid as the only supplementary group.
        // setpriv (util-linux) drops to it after exec, which posix_spawn cannot do by itself.
        if let gid { drop += ["--regid=\(gid)", "--groups=\(gid)"] }
        return .success(drop + ["--"] + shell)
    }

    static func runBlocking(_ script: Script, timeout: Duration) -> ScriptResult {
        let arguments: [String]
        switch argv(for: script) {
        case .success(let a): arguments = a
        case .failure(let error): return ScriptResult(outcome: .failedToStart(error.reason), output: "")
        }
        var pipeFDs: [Int32] = [-1, -1]
        guard directord_pipe_cloexec(&pipeFDs) == 0 else {
            return ScriptResult(outcome: .failedToStart(SystemError(call: "pipe2", errno: errno).description), output: "")
        }
        let readEnd = pipeFDs[0], writeEnd = pipeFDs[1]
        defer { close(readEnd) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 2)
        // Nothing else of the daemon's: its health-check connections, listeners and netlink sockets are not
        // close-on-exec (SwiftNIO does not set it), and a script (or what it leaves running) would hold them open.
        directord_spawn_closefrom(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in cArguments { free(p) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, arguments[0], &actions, &attributes, &cArguments, Glibc.environ)
        close(writeEnd)
        guard spawned == 0 else {
            return ScriptResult(
                outcome: .failedToStart(SystemError(call: "posix_spawn", errno: spawned, detail: arguments[0]).description),
                output: "")
        }
        return wait(for: pid, output: readEnd, timeout: timeout)
    }

    static func wait(for pid: pid_t, output: Int32, timeout: Duration) -> ScriptResult {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var collected: [UInt8] = []
        var outputOpen = true
        let pidfd = directord_pidfd_open(pid)
        defer { if pidfd >= 0 { close(pidfd) } }
        var timedOut = false
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            if left <= .zero { timedOut = true; break }
            var fds = [pollfd(fd: output, events: Int16(POLLIN), revents: 0)]
            if pidfd >= 0 { fds.append(pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)) }
            if !outputOpen { fds[0].fd = -1 }
            // Without a pidfd (kernel < 5.3), fall back to polling the child every 50 ms.
            let slice = pidfd >= 0 ? left : min(left, .milliseconds(50))
            let ms = Int32(clamping: slice.components.seconds * 1000 + slice.components.attoseconds / 1_000_000_000_000_000 + 1)
            let ready = poll(&fds, nfds_t(fds.count), ms)
            if ready < 0 && errno != EINTR { break }
            if outputOpen && fds[0].revents != 0 {
                var chunk = [UInt8](repeating: 0, count: 1024)
                let n = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
                if n > 0 {
                    if collected.count < outputCap { collected += chunk[0..<min(Int(n), outputCap - collected.count)] }
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    outputOpen = false
                }
            }
            if pidfd >= 0 {
                if fds.count > 1 && fds[1].revents != 0 { break }
            } else {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid { return result(status: status, output: collected) }
            }
        }
        if timedOut {
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
        } else if outputOpen {
            drain(output, into: &collected)
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        if timedOut { return ScriptResult(outcome: .timedOut, output: text(collected)) }
        return result(status: status, output: collected)
    }

    /// What the script wrote just before exiting; a grandchild holding the pipe must not block us.
    static func drain(_ fd: Int32, into collected: inout [UInt8]) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var chunk = [UInt8](repeating: 0, count: 1024)
        while collected.count < outputCap {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            collected += chunk[0..<min(Int(n), outputCap - collected.count)]
        }
    }

    static func result(status: Int32, output: [UInt8]) -> ScriptResult {
        if directord_wifexited(status) != 0 {
            return ScriptResult(outcome: .exited(directord_wexitstatus(status)), output: text(output))
        }
        return ScriptResult(outcome: .signalled(directord_wtermsig(status)), output: text(output))
    }

    static func text(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
    }
}
