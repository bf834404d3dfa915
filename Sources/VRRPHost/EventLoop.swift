import Glibc
import Logging
import NIOConcurrencyHelpers
import Platform

/// The VRRP thread: poll() over the receive sockets and a wake-up pipe, timers from the core's heap of absolute
/// deadlines. Its own OS thread, so adverts leave on time whatever the Swift concurrency pool or NIO are doing.
final class EventLoop: @unchecked Sendable {
    private let lock = NIOLock()
    private var queue: [HostWork] = []
    private var stopRequested = false
    private let wakeup: WakeupPipe
    private var exited: [CheckedContinuation<Void, Never>] = []
    private var finished = false
    /// Set once the thread started.
    private var started = false
    private let logger: Logger

    init(logger: Logger) throws(SystemError) {
        wakeup = try WakeupPipe()
        self.logger = logger
    }

    /// Queues work for the loop thread; safe from any thread. False once the loop has exited (the caller then owns
    /// the core again).
    @discardableResult
    func submit(_ work: @escaping HostWork) -> Bool {
        lock.lock()
        guard !finished else {
            lock.unlock()
            return false
        }
        queue.append(work)
        lock.unlock()
        wakeup.signal()
        return true
    }

    /// Nice values the VRRP thread is favoured by (a nice step is about 1.25× the CPU share).
    static let favour: Int32 = 10

    /// Starts the thread that owns `core` from now on; top -H and /proc show it as directord-vrrp.
    func run(_ core: HostCore) throws(SystemError) {
        try OSThread.start(name: "directord-vrrp", stackSize: 1 << 20) { [self] in
            // Adverts and takeovers before health checks, drift dumps and the rest: keepalived's VRRP is a process
            // of its own, which the checker's load does not slow down; here the thread is favoured instead.
            if ThreadPriority.raiseCurrent(by: Self.favour) == nil {
                logger.debug("VRRP thread: its priority cannot be raised (no CAP_SYS_NICE); it runs at the process's")
            }
            self.loop(core)
        }
        lock.withLock { started = true }
    }

    /// Asks the loop to exit after the work queued so far; `waitForExit` returns when it has.
    func requestStop() {
        lock.lock()
        stopRequested = true
        lock.unlock()
        wakeup.signal()
    }

    func waitForExit() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            lock.lock()
            if finished || !started {
                lock.unlock()
                c.resume()
                return
            }
            exited.append(c)
            lock.unlock()
        }
    }

    private func takeWork() -> (work: [HostWork], stop: Bool) {
        lock.lock()
        defer { lock.unlock() }
        let work = queue
        queue.removeAll()
        return (work, stopRequested)
    }

    private func loop(_ core: HostCore) {
        var fds: [pollfd] = []
        var keys: [TransportKey] = []
        while true {
            let (work, stop) = takeWork()
            for item in work { item(core, .now) }
            if stop { break }
            core.fireDueTimers(now: .now)

            let targets = core.pollTargets
            keys = targets.map(\.key)
            fds = [pollfd(fd: wakeup.readFD, events: Int16(POLLIN), revents: 0)]
                + targets.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            var timeout: Int32 = -1
            if let deadline = core.nextDeadline {
                let left = ContinuousClock.now.duration(to: deadline)
                if left <= .zero { continue }
                // Rounded up: waking a fraction of a millisecond early would only spin.
                let c = left.components
                let ms = c.seconds * 1000 + (c.attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
                timeout = Int32(clamping: ms)
            }
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            if ready < 0 {
                if errno != EINTR { logger.error("VRRP loop: poll failed, errno \(errno)") }
                continue
            }
            if fds[0].revents != 0 { wakeup.drain() }
            let now = ContinuousClock.now
            for (index, fd) in fds.enumerated().dropFirst() where fd.revents != 0 {
                core.readable(keys[index - 1], now: now)
            }
        }
        lock.lock()
        finished = true
        let waiters = exited
        exited.removeAll()
        let late = queue
        queue.removeAll()
        lock.unlock()
        // Work queued between the stop request and now still runs, so no caller waits forever.
        for item in late { item(core, .now) }
        for c in waiters { c.resume() }
    }
}
