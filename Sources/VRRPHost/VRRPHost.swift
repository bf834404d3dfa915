// VRRPHost: runs the pure VRRP core on the host — sockets, timers, addresses, scripts and the sync daemon.
import Timeline
import ControlProtocol
import DirectorConfig
import Logging
import Platform
import Synchronization

/// VRRP for the daemon: one object per running configuration.
///
/// Everything that decides lives in the `VRRP` module; this runs it on a dedicated thread (a reactor over raw VRRP
/// sockets, absolute-deadline timers) and performs its actions: adverts, virtual addresses and routes, gratuitous
/// ARP, notify scripts (in tasks, with a timeout), vrrp_script tracking, link tracking and the IPVS sync daemon.
/// All methods are safe from any thread; `reload`, `plan` and `status` wait briefly for the VRRP thread.
public final class VRRPHost: Sendable {
    /// State changes with their reasons, and host-side problems. Finishes after `shutdown`.
    public let events: AsyncStream<VRRPHostEvent>
    private let box: HostBox

    /// Nothing touches the host until `start`.
    public init(
        configuration: Configuration, logger: Logger, dependencies: VRRPHostDependencies = .system()
    ) {
        let (stream, continuation) = AsyncStream.makeStream(
            of: VRRPHostEvent.self, bufferingPolicy: .bufferingNewest(1024))
        events = stream
        box = HostBox(configuration: configuration, logger: logger, dependencies: dependencies, events: continuation)
    }

    /// Opens the sockets and starts every instance (each in BACKUP, or FAULT, until elected). Throws, having
    /// changed nothing, when an instance cannot run here (no such interface, no source address, socket refused).
    public func start() throws {
        try box.start()
    }

    /// Graceful stop: MASTERs send priority 0 so the backup takes over after its skew time, addresses and routes
    /// directord added are removed, the sync daemon is stopped and notify_stop runs. Returns once the notify scripts
    /// are done or `deadline` has passed, whichever is first (a hung script is killed by its own timeout later).
    public func shutdown(deadline: Duration) async {
        await box.shutdown(deadline: deadline)
    }

    /// The first part of `shutdown`, started at once from any thread without waiting for it (the stop signal's
    /// thread calls it): MASTERs send priority 0, addresses and routes go, notify_stop starts. The thread keeps
    /// running; `shutdown` later finds the work done and waits for the scripts and the thread.
    public func resign() {
        box.resign()
    }

    /// Applies a new configuration: unchanged instances keep their state (no re-election), instances whose VRRP
    /// settings changed resign and start again, notify and tracking changes apply in place, removed instances
    /// resign. Returns what changed, one line each (empty when nothing did).
    @discardableResult
    public func reload(to configuration: Configuration) -> [String] {
        let spec = HostSpec.build(configuration, addresses: box.dependencies.interfaceAddresses)
        return box.withCore { core, now in core.reload(spec, now: now) }
    }

    /// What `reload(to:)` would do, without doing it.
    public func plan(for configuration: Configuration) -> [String] {
        let spec = HostSpec.build(configuration, addresses: box.dependencies.interfaceAddresses)
        return box.withCore { core, _ in core.plan(spec).lines }
    }

    /// Every instance, sync group and vrrp_script, for `directorctl status`.
    public func status() -> VRRPStatus {
        box.withCore { core, _ in core.status() }
    }
}

/// What `VRRPHost.status()` reports.
public struct VRRPStatus: Sendable {
    public var instances: [InstanceStatus]
    public var syncGroups: [SyncGroupStatus]
    public var scripts: [TrackedScriptStatus]
}

/// Owns the core: the caller's thread uses it (under `coreLock`) before start and after stop, the VRRP thread in
/// between.
final class HostBox: @unchecked Sendable {
    enum Phase { case idle, running, stopped }

    let dependencies: VRRPHostDependencies
    let logger: Logger
    let configuration: Configuration
    let events: AsyncStream<VRRPHostEvent>.Continuation
    private let lock = Mutex(())
    private let coreLock = Mutex(())
    private var phase = Phase.idle
    private var loop: EventLoop?
    private var core: HostCore!

    init(
        configuration: Configuration, logger: Logger, dependencies: VRRPHostDependencies,
        events: AsyncStream<VRRPHostEvent>.Continuation
    ) {
        self.dependencies = dependencies
        self.logger = logger
        self.configuration = configuration
        self.events = events
        let spec = HostSpec.build(configuration, addresses: dependencies.interfaceAddresses)
        core = HostCore(
            spec: spec, dependencies: dependencies, logger: logger,
            post: { [weak self] work in _ = self?.currentLoop?.submit(work) },
            emit: { event in events.yield(event) })
    }

    private var currentLoop: EventLoop? {
        lock.withLock { _ in phase == .running ? loop : nil }
    }

    func start() throws {
        try coreLock.withLock { _ in
            guard lock.withLock({ _ in phase }) == .idle else { return }
            let loop = try EventLoop(logger: logger)
            // Addresses may have changed since init.
            core.spec = HostSpec.build(configuration, addresses: dependencies.interfaceAddresses)
            try core.start(now: .now)
            lock.withLock { _ in
                self.loop = loop
                self.phase = .running
            }
            do {
                try loop.run(core)
            } catch {
                // The core stays with this thread (under coreLock) and the start is refused.
                setPhase(.stopped)
                throw error
            }
        }
    }

    /// Runs `body` on the VRRP thread while it runs, else here.
    func withCore<T: Sendable>(_ body: @escaping @Sendable (HostCore, Moment) -> T) -> T {
        if let loop = currentLoop {
            let result = HandOver<T>()
            if loop.submit({ core, now in result.fill(body(core, now)) }) {
                return result.wait()
            }
        }
        return coreLock.withLock { _ in body(core, .now) }
    }

    func resign() {
        // HostCore.shutdown does its work once; the later call returns the same notify scripts to wait for.
        _ = currentLoop?.submit { core, now in _ = core.shutdown(now: now) }
    }

    func shutdown(deadline: Duration) async {
        guard let loop = currentLoop else { return }
        let tasks: [Task<Void, Never>] = await withCheckedContinuation { c in
            let accepted = loop.submit { core, now in c.resume(returning: core.shutdown(now: now)) }
            if !accepted { c.resume(returning: []) }
        }
        loop.requestStop()
        await loop.waitForExit()
        setPhase(.stopped)
        let finished = await Self.waitAll(tasks, deadline: deadline)
        if !finished { logger.warning("notify scripts still running after \(deadline); not waiting for them") }
        events.finish()
    }

    private func setPhase(_ p: Phase) {
        lock.withLock { _ in phase = p }
    }

    /// True when every task finished within `deadline`.
    static func waitAll(_ tasks: [Task<Void, Never>], deadline: Duration) async -> Bool {
        guard !tasks.isEmpty else { return true }
        let slot = FirstResult()
        return await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            slot.set(c)
            Task {
                for task in tasks { await task.value }
                slot.resume(true)
            }
            Task {
                try? await Task.sleep(for: deadline)
                slot.resume(false)
            }
        }
    }
}

/// Resumes a continuation once, with whichever result comes first.
final class FirstResult: @unchecked Sendable {
    private let continuation = Mutex<CheckedContinuation<Bool, Never>?>(nil)

    func set(_ c: CheckedContinuation<Bool, Never>) {
        continuation.withLock { $0 = c }
    }

    func resume(_ value: Bool) {
        let c = continuation.withLock { slot in
            defer { slot = nil }
            return slot
        }
        c?.resume(returning: value)
    }
}
