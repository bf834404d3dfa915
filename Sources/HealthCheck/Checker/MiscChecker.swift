// MISC_CHECK's and FILE_CHECK's I/O: run the script (through an injected runner, so the process handling lives
// in Platform) with a bound on how many run at once, and read the tracked file. Verdicts come from MiscCheck's and
// FileCheck's pure rules.
import Glibc
import Reactor
import Synchronization

/// Runs a check script: the daemon injects Platform's process runner (process groups killed at the timeout).
public protocol CheckScriptRunning: Sendable {
    func run(command: String, user: String?, group: String?, timeout: Duration) async -> ScriptExit
}

/// Runs MISC_CHECK scripts, at most `maximumRunning` at once; the others wait their turn (the timeout counts from
/// the start). The health monitor never starts a check whose previous run is still going, and the runner kills a
/// script at its timeout, so hung scripts cannot pile up (keepalived issue #2653).
public final class MiscChecker: Sendable {
    public static let defaultMaximumRunning = 32

    private let runner: (any CheckScriptRunning)?
    private let slots: ScriptSlots

    public init(runner: (any CheckScriptRunning)?, maximumRunning: Int = MiscChecker.defaultMaximumRunning) {
        self.runner = runner
        self.slots = ScriptSlots(limit: max(1, maximumRunning))
    }

    /// Runs the script in a task of the concurrency pool (the runner waits on the process there) and hands the
    /// verdict back to the reactor's thread.
    public func check(_ check: MiscCheck, on reactor: Reactor, done: @escaping (CheckResult) -> Void) {
        if let refusal = check.refusal { return done(.down(.scriptFailed(refusal))) }
        guard let runner else { return done(.down(.scriptFailed("could not start: no script runner in this process"))) }
        let slots = self.slots
        let done = Confined(done)
        Task {
            await slots.acquire()
            let exit = await runner.run(command: check.command, user: check.user, group: check.group, timeout: check.timeout)
            await slots.release()
            let result = MiscCheck.result(of: exit, dynamic: check.dynamic)
            // Refused only once the reactor has stopped, when nobody waits for the answer.
            reactor.submit { done.value(result) }
        }
    }

    public func check(_ check: MiscCheck, on thread: ReactorThread) async -> CheckResult {
        await thread.check { self.check(check, on: $0, done: $1) }
    }

    /// Scripts running now (for tests and status).
    public func running() async -> Int { await slots.inUse }
}

/// A counting semaphore for script runs, first come first served.
actor ScriptSlots {
    private let limit: Int
    private(set) var inUse = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { self.limit = limit }

    func acquire() async {
        if inUse < limit {
            inUse += 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            inUse -= 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}

/// FILE_CHECK: reads the file at every check (polling at delay_loop). A value keepalived would ignore (out of
/// range) keeps the last good one, as keepalived keeps its last status.
public final class FileChecker: Sendable {
    private let lastGood = Mutex<[String: Int64]>([:])

    public init() {}

    /// Reads the file now (O_NONBLOCK: a FIFO in its place cannot block the reactor) and answers at once.
    public func check(_ check: FileCheck) -> CheckResult {
        let bytes = Self.read(check.path)
        let value: Int64
        if let parsed = FileCheck.parseValue(bytes) {
            value = parsed
            lastGood.withLock { $0[check.path] = parsed }
        } else {
            value = lastGood.withLock { $0[check.path] } ?? 0
        }
        return check.result(for: value)
    }

    /// At most `FileCheck.readLimit` bytes; a missing or unreadable file reads as empty (value 0, as keepalived).
    /// O_NONBLOCK so a FIFO put in the file's place cannot block the event loop.
    public static func read(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: FileCheck.readLimit)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        return n > 0 ? Array(buffer.prefix(n)) : []
    }
}
