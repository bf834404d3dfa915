import Logging
import Platform
import Reactor
import Synchronization

/// The VRRP thread: a reactor of its own over the receive sockets, with one reactor timer kept at the earliest of
/// the core's deadlines. Its own OS thread, so adverts leave on time whatever the health checker, the Swift
/// concurrency pool or the serving thread are doing.
final class EventLoop: @unchecked Sendable {
    private let reactor: Reactor
    private let lock = Mutex(())
    private var exited: [CheckedContinuation<Void, Never>] = []
    private var finished = false
    /// Set once the thread started.
    private var started = false
    private let logger: Logger

    // The loop thread's own.
    private var core: HostCore?
    private var watched: [TransportKey: ReactorWatch] = [:]
    private var armed: (deadline: Moment, timer: ReactorTimer)?

    init(logger: Logger) throws(SystemError) {
        reactor = try Reactor()
        self.logger = logger
    }

    /// Queues work for the loop thread; safe from any thread. False once the loop has exited (the caller then owns
    /// the core again).
    @discardableResult
    func submit(_ work: @escaping HostWork) -> Bool {
        reactor.submit { [self] in
            guard let core else { return }
            work(core, .now)
            follow(core)
        }
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
        lock.withLock { _ in started = true }
    }

    /// Asks the loop to exit after the work queued so far; `waitForExit` returns when it has.
    func requestStop() {
        reactor.stop()
    }

    func waitForExit() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = lock.withLock { _ in
                if finished || !started { return true }
                exited.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    private func loop(_ core: HostCore) {
        self.core = core
        core.fireDueTimers(now: .now)
        follow(core)
        // Work queued between the stop request and the loop's end still runs in `run`, so no caller waits forever.
        reactor.run()
        let waiters = lock.withLock { _ in
            finished = true
            defer { exited.removeAll() }
            return exited
        }
        for c in waiters { c.resume() }
    }

    /// After anything the core did: watch the sockets it has now, and keep the one timer at its earliest deadline.
    private func follow(_ core: HostCore) {
        let targets = core.pollTargets
        if targets.count != watched.count || targets.contains(where: { watched[$0.key]?.fd != $0.fd }) {
            let current = Dictionary(targets.map { ($0.key, $0.fd) }, uniquingKeysWith: { first, _ in first })
            // Dropped first: a closed socket's number may already belong to a new one.
            for (key, watch) in watched where current[key] != watch.fd {
                reactor.unwatch(watch)
                watched[key] = nil
            }
            for (key, fd) in current where watched[key] == nil {
                do {
                    watched[key] = try reactor.watch(fd, for: .readable) { [unowned self] _ in
                        core.readable(key, now: .now)
                        follow(core)
                    }
                } catch {
                    logger.error("VRRP loop: socket \(key) cannot be watched: \(error)")
                }
            }
        }
        let next = core.nextDeadline
        guard next != armed?.deadline else { return }
        if let armed { reactor.cancel(armed.timer) }
        armed = nil
        guard let next else { return }
        let timer = reactor.schedule(at: next) { [unowned self] in
            armed = nil
            core.fireDueTimers(now: .now)
            follow(core)
        }
        armed = (next, timer)
    }
}
