// The I/O glue around the pure policies: runs every distinct check at absolute deadlines (one queue, one timer), feeds
// results to CheckHealth, and hands each transition to every virtual server that uses the check. It blocks nothing
// and runs any number of checks concurrently on one reactor, on a thread of its own.
import Platform
import Reactor

/// A virtual server as the monitor sees it; the daemon builds it from the configuration.
public struct VirtualServerPlan<RealID: Hashable & Sendable>: Sendable {
    public var reals: [(RealID, RealServerPolicy<CheckSpec>)]
    public var quorum: QuorumPolicy
    public var sorryServer: SorryServerPolicy?

    public init(reals: [(RealID, RealServerPolicy<CheckSpec>)], quorum: QuorumPolicy = QuorumPolicy(),
                sorryServer: SorryServerPolicy? = nil) {
        self.reals = reals
        self.quorum = quorum
        self.sorryServer = sorryServer
    }

    /// Same reals (in the same order, with the same policies and checks), quorum and sorry server.
    func isSame(as other: VirtualServerPlan) -> Bool {
        quorum == other.quorum && sorryServer == other.sorryServer && reals.count == other.reals.count
            && zip(reals, other.reals).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }
}

/// One virtual server's new state after a check changed verdict.
public struct HealthUpdate<VirtualServerID: Hashable & Sendable, RealID: Hashable & Sendable>: Sendable {
    /// Increases with every update and every `apply`, in the order the event loop made them: a consumer that
    /// receives an apply's steps and updates through different paths keeps whichever is newer.
    public let sequence: UInt64
    public let virtualServer: VirtualServerID
    public let check: CheckSpec
    public let transition: CheckTransition
    public let step: VirtualServerStep<RealID>
}

public final class HealthMonitor<VirtualServerID: Hashable & Sendable, RealID: Hashable & Sendable>: Sendable {
    public typealias Update = HealthUpdate<VirtualServerID, RealID>

    /// The reactor the checks run on; nil when the caller drives `reactor` itself (tests on a manual clock).
    private let thread: ReactorThread?
    private let reactor: Reactor
    private let state: Confined<State>

    /// - Parameters:
    ///   - thread: the reactor thread the checks run on (nil: a new one, "directord-health"). With `driving`, the
    ///     caller runs that reactor's turns itself and calls the `…Now` methods on the thread that does.
    ///   - random: a fraction in [0, 1) for the warmup of each new check (injected for tests).
    ///   - maximumInFlight: checks that may run at once (each holds a socket); a check due while that many run waits
    ///     for one to finish, so thousands of slow reals never exhaust the process's descriptors. Fewer run at start
    ///     and while the reactor is late (see `ConcurrencyWindow`), down to `minimumInFlight`.
    ///   - startBatch: checks start on this grid of the clock, each at the first grid point at or after it is due,
    ///     so that those due close together start in one wake-up of the reactor (see `defaultStartBatch`).
    ///   - onUpdate: called on the reactor's thread for each virtual server a transition changes; keep it short.
    public convenience init(
        thread: ReactorThread? = nil,
        prober: any CheckProber = NetworkProber(),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        maximumInFlight: Int = 768,
        minimumInFlight: Int = 16,
        startBatch: Duration = HealthMonitor.defaultStartBatch,
        onUpdate: @escaping @Sendable (Update) -> Void
    ) throws(SystemError) {
        let owned: ReactorThread
        if let thread { owned = thread } else { owned = try ReactorThread(name: "directord-health") }
        let thread = owned
        self.init(thread: thread, reactor: thread.reactor, prober: prober, random: random, maximumInFlight: maximumInFlight,
                  minimumInFlight: minimumInFlight, startBatch: startBatch, onUpdate: onUpdate)
    }

    /// 10 ms: a check starts at most that much after it is due (1% of a delay_loop of 1 s, keepalived's smallest
    /// in practice). Without it the reactor woke once per check: at 1000 reals checked every second, 1000 timer
    /// wake-ups a second, each an epoll_wait and a trip through the scheduler.
    public static var defaultStartBatch: Duration { .milliseconds(10) }

    /// A monitor on `reactor`, whose turns the caller runs (a test on a manual clock).
    public convenience init(
        driving reactor: Reactor,
        prober: any CheckProber,
        random: @escaping @Sendable () -> Double = { 0 },
        maximumInFlight: Int = 768,
        minimumInFlight: Int = 16,
        startBatch: Duration = .zero,
        onUpdate: @escaping @Sendable (Update) -> Void
    ) {
        self.init(thread: nil, reactor: reactor, prober: prober, random: random, maximumInFlight: maximumInFlight,
                  minimumInFlight: minimumInFlight, startBatch: startBatch, onUpdate: onUpdate)
    }

    private init(thread: ReactorThread?, reactor: Reactor, prober: any CheckProber, random: @escaping @Sendable () -> Double,
                 maximumInFlight: Int, minimumInFlight: Int, startBatch: Duration, onUpdate: @escaping @Sendable (Update) -> Void) {
        self.thread = thread
        self.reactor = reactor
        // Built here, then only touched on the reactor's thread.
        state = Confined(State(reactor: reactor, prober: prober, random: random,
                               window: ConcurrencyWindow(ceiling: maximumInFlight, floor: minimumInFlight), startBatch: startBatch,
                               onUpdate: onUpdate))
    }

    /// Runs `body` with the state on the reactor's thread and returns its answer (`fallback` once it has stopped).
    private func onReactor<T: Sendable>(_ fallback: T, _ body: @escaping @Sendable (State) -> T) async -> T {
        let state = self.state
        return await withCheckedContinuation { (c: CheckedContinuation<T, Never>) in
            if !reactor.submit({ c.resume(returning: body(state.value)) }) { c.resume(returning: fallback) }
        }
    }

    /// Installs (or, on reload, replaces) the plans and answers every virtual server's starting table. Checks that
    /// stay keep their verdicts and timers; new ones start within their warmup.
    public func apply(_ plans: [VirtualServerID: VirtualServerPlan<RealID>]) async -> [VirtualServerID: VirtualServerStep<RealID>] {
        await applySequenced(plans).steps
    }

    /// `apply`, with the sequence number the steps were computed at (see `HealthUpdate.sequence`).
    public func applySequenced(_ plans: [VirtualServerID: VirtualServerPlan<RealID>]) async
        -> (steps: [VirtualServerID: VirtualServerStep<RealID>], sequence: UInt64)
    {
        await onReactor(([:], 0)) { $0.applyNow(plans) }
    }

    /// `apply` on the reactor's thread (a test driving the reactor).
    public func applyNow(_ plans: [VirtualServerID: VirtualServerPlan<RealID>]) -> [VirtualServerID: VirtualServerStep<RealID>] {
        state.value.applyNow(plans).steps
    }

    /// Replaces the plans of the virtual servers in `plans` and drops those in `removed`, leaving every other one
    /// (and its checks, verdicts and timers) as it is: a reload's work for what changed. Answers the steps of the
    /// replaced virtual servers, the sequence number, and the checks started and stopped.
    public func update(_ plans: [VirtualServerID: VirtualServerPlan<RealID>], removing removed: Set<VirtualServerID>) async
        -> (steps: [VirtualServerID: VirtualServerStep<RealID>], sequence: UInt64, started: Set<CheckSpec>, stopped: Set<CheckSpec>)
    {
        await onReactor(([:], 0, [], [])) { state in
            let result = state.update(plans, removing: removed)
            state.sequence += 1
            return (result.steps, state.sequence, result.started, result.stopped)
        }
    }

    /// `ha_suspend`: the virtual servers whose checks are suspended from now on (replacing the last set). A
    /// suspended check does not run, and its verdict and counters stay as they are until it runs again, at its
    /// next turn after the suspension ends; a check that another, unsuspended virtual server shares keeps running.
    public func suspend(_ servers: Set<VirtualServerID>) {
        let state = self.state
        reactor.submit { state.value.suspended = servers }
    }

    /// The checks that are suspended now (every virtual server using them is), for tests.
    public func suspendedChecks() async -> Set<CheckSpec> {
        await onReactor([]) { state in Set(state.running.keys.filter { state.isSuspended($0) }) }
    }

    /// Stops every check; answers what omega virtual servers report at shutdown. The reactor thread ends with it.
    public func stop() async -> [VirtualServerID: [HealthEvent<RealID>]] {
        let omega = await onReactor([:]) { $0.stop() }
        thread?.stop()
        return omega
    }

    /// `stop` on the reactor's thread (a test driving the reactor).
    public func stopNow() -> [VirtualServerID: [HealthEvent<RealID>]] {
        state.value.stop()
    }

    /// `concurrency` on the reactor's thread (a test driving the reactor).
    public func concurrencyNow() -> ConcurrencyWindow {
        state.value.window
    }

    /// How many checks may run at once now (the window adapted to the reactor's lateness), and its ceiling.
    public func concurrency() async -> ConcurrencyWindow? {
        await onReactor(nil) { $0.window }
    }

    /// Each running check's state, for status output.
    public func checks() async -> [CheckSpec: CheckHealth] {
        await onReactor([:]) { $0.running.mapValues(\.health) }
    }

    /// `checks` on the reactor's thread (a test driving the reactor).
    public func checksNow() -> [CheckSpec: CheckHealth] {
        state.value.running.mapValues(\.health)
    }

    final class Running {
        let spec: CheckSpec
        var health: CheckHealth
        /// Bumped whenever the check is scheduled: queue entries of older generations are stale.
        var generation: UInt64 = 0
        var inFlight = false
        /// Due, and waiting for a free slot among the checks in flight.
        var queued = false
        /// False once a reload or the stop dropped it: its queued turns and a probe still running go nowhere.
        /// (Checked on the entry itself: looking the spec up again would hash the whole definition each turn.)
        var active = true
        /// Its place in `State.slots`, which the due queue names (plain integers move through the heap faster
        /// than references, which every swap would retain and release).
        var slot = 0
        init(spec: CheckSpec, health: CheckHealth) {
            self.spec = spec
            self.health = health
        }
    }

    /// Lives on the reactor's thread; a class so a probe that completes synchronously can re-enter it.
    final class State {
        let reactor: Reactor
        let prober: any CheckProber
        let random: @Sendable () -> Double
        let onUpdate: @Sendable (Update) -> Void
        var registry = CheckRegistry<VirtualServerID>()
        var running: [CheckSpec: Running] = [:]
        var servers: [VirtualServerID: VirtualServerHealth<RealID, CheckSpec>] = [:]
        /// The plan each server was built from: a reload that leaves a plan as it was keeps its server as it is.
        var plans: [VirtualServerID: VirtualServerPlan<RealID>] = [:]
        var sequence: UInt64 = 0
        /// `ha_suspend`: virtual servers whose address is not on this director.
        var suspended: Set<VirtualServerID> = []

        var window: ConcurrencyWindow
        /// Measures the reactor's lateness for the window while checks run.
        var lagProbe: ReactorTimer?
        /// Probes started and not yet answered (including those of checks a reload dropped meanwhile).
        var inFlightCount = 0
        /// Checks that came due while `maximumInFlight` probes ran, oldest first.
        var waiting: [Running] = []
        var waitingHead = 0
        /// When each running check is due next, as its slot and the generation it was scheduled at (slot << 32 |
        /// generation), and the one reactor timer for the earliest of them.
        var due = Deadlines<Moment, UInt64>()
        var slots: [Running?] = []
        var freeSlots: [Int] = []
        var wake: (deadline: Moment, timer: ReactorTimer)?
        /// The grid checks start on (zero: each when it is due).
        let startBatch: Duration

        init(reactor: Reactor, prober: any CheckProber, random: @escaping @Sendable () -> Double, window: ConcurrencyWindow,
             startBatch: Duration, onUpdate: @escaping @Sendable (Update) -> Void) {
            self.reactor = reactor
            self.prober = prober
            self.random = random
            self.window = window
            self.startBatch = startBatch
            self.onUpdate = onUpdate
        }

        func applyNow(_ plans: [VirtualServerID: VirtualServerPlan<RealID>]) -> (steps: [VirtualServerID: VirtualServerStep<RealID>], sequence: UInt64) {
            let removed = Set(self.plans.keys).subtracting(plans.keys)
            let steps = update(plans, removing: removed).steps
            sequence += 1
            return (steps, sequence)
        }

        /// Replaces the plans of some virtual servers and drops others; the rest are not looked at. Answers the
        /// steps of the replaced ones and the checks started and stopped.
        func update(_ plans: [VirtualServerID: VirtualServerPlan<RealID>], removing removed: Set<VirtualServerID>)
            -> (steps: [VirtualServerID: VirtualServerStep<RealID>], started: Set<CheckSpec>, stopped: Set<CheckSpec>)
        {
            var touched = Set<CheckSpec>()
            for id in removed.union(plans.keys) {
                guard let previous = self.plans[id] else { continue }
                let specs = previous.reals.flatMap(\.1.checks)
                registry.remove(id, specs)
                touched.formUnion(specs)
            }
            for (id, plan) in plans {
                let specs = plan.reals.flatMap(\.1.checks)
                registry.add(id, specs)
                touched.formUnion(specs)
            }
            let start = touched.filter { self.running[$0] == nil && !registry.subscribers(of: $0).isEmpty }
            let stop = touched.filter { self.running[$0] != nil && registry.subscribers(of: $0).isEmpty }
            // Their queued deadlines go stale: `fireDue` fires only checks that are still running.
            for spec in stop {
                guard let entry = running.removeValue(forKey: spec) else { continue }
                entry.active = false
                slots[entry.slot] = nil
                freeSlots.append(entry.slot)
            }
            let now = reactor.now
            for spec in start {
                let entry = Running(spec: spec, health: CheckHealth(timing: spec.timing))
                running[spec] = entry
                if let free = freeSlots.popLast() {
                    entry.slot = free
                    slots[free] = entry
                } else {
                    entry.slot = slots.count
                    slots.append(entry)
                }
                schedule(entry, at: entry.health.firstCheck(at: now, randomFraction: random()))
            }
            if lagProbe == nil, !running.isEmpty { probeLag(expected: now + Self.lagProbeInterval) }
            for id in removed {
                servers[id] = nil
                self.plans[id] = nil
            }
            var steps: [VirtualServerID: VirtualServerStep<RealID>] = [:]
            let current = self.running
            for (id, plan) in plans {
                // Unchanged plan: its checks kept running, so its state is current; rebuilding 2000 of them on every
                // reload was most of a big reload's cost.
                if let previous = self.plans[id], previous.isSame(as: plan), let vs = servers[id] {
                    steps[id] = VirtualServerStep(events: [], desired: vs.desired, desiredChanged: false, live: vs.liveReals,
                                                  quorumUp: vs.quorumUp, liveWeight: vs.liveWeight)
                    continue
                }
                var vs = VirtualServerHealth(reals: plan.reals, quorum: plan.quorum, sorryServer: plan.sorryServer,
                                             initiallyUp: { current[$0]?.health.isUp ?? !$0.timing.alpha },
                                             initialWeight: { current[$0]?.health.weight })
                steps[id] = vs.start(replacing: servers[id])
                servers[id] = vs
                self.plans[id] = plan
            }
            return (steps, start, stop)
        }

        func stop() -> [VirtualServerID: [HealthEvent<RealID>]] {
            due.removeAll()
            if let wake { reactor.cancel(wake.timer) }
            wake = nil
            if let lagProbe { reactor.cancel(lagProbe) }
            lagProbe = nil
            for entry in running.values { entry.active = false }
            running = [:]
            slots = []
            freeSlots = []
            suspended = []
            waiting.removeAll()
            waitingHead = 0
            registry = CheckRegistry()
            plans = [:]
            return servers.mapValues { $0.shutdownEvents() }.filter { !$0.value.isEmpty }
        }

        private func schedule(_ entry: Running, at deadline: Moment) {
            guard entry.active else { return }
            entry.generation = (entry.generation + 1) & 0xFFFF_FFFF
            due.insert(UInt64(entry.slot) << 32 | entry.generation, at: deadline)
            armWake()
        }

        /// Keeps the reactor's one timer at the grid point of the earliest deadline of the queue.
        private func armWake() {
            guard let first = due.earliest else {
                if let wake { reactor.cancel(wake.timer) }
                wake = nil
                return
            }
            let earliest = first.roundedUp(toMultipleOf: startBatch)
            if let wake, wake.deadline <= earliest { return }
            if let wake { reactor.cancel(wake.timer) }
            let timer = reactor.schedule(at: earliest) { [self] in
                wake = nil
                fireDue()
            }
            wake = (earliest, timer)
        }

        /// Fires every check that is due (skipping entries a reschedule or stop made stale), then re-arms the timer.
        private func fireDue() {
            let now = reactor.now
            while let entry = due.popDue(by: now) {
                let slot = Int(entry.value >> 32)
                guard slot < slots.count, let running = slots[slot], running.generation == entry.value & 0xFFFF_FFFF, running.active
                else { continue }
                fire(running)
            }
            armWake()
        }

        /// Every virtual server that uses the check is suspended.
        func isSuspended(_ spec: CheckSpec) -> Bool {
            guard !suspended.isEmpty else { return false }
            let users = registry.subscribers(of: spec)
            return !users.isEmpty && users.allSatisfy(suspended.contains)
        }

        private func fire(_ entry: Running) {
            guard entry.active, !entry.inFlight, !entry.queued else { return }
            if isSuspended(entry.spec) {
                // Its turn passes: asked again at the next one, as keepalived's disabled checker is.
                schedule(entry, at: reactor.now + entry.spec.timing.delayLoop)
                return
            }
            guard inFlightCount < window.limit else {
                entry.queued = true
                waiting.append(entry)
                return
            }
            entry.inFlight = true
            inFlightCount += 1
            prober.probe(entry.spec.probe, on: reactor) { [self] result in
                entry.inFlight = false
                inFlightCount -= 1
                startWaiting()
                // A reload may have dropped or replaced this check while it ran.
                guard entry.active else { return }
                record(entry, result)
            }
        }

        /// Starts the checks that waited for a slot, oldest first, while slots are free.
        private func startWaiting() {
            while inFlightCount < window.limit, waitingHead < waiting.count {
                let entry = waiting[waitingHead]
                waitingHead += 1
                if waitingHead == waiting.count {
                    waiting.removeAll(keepingCapacity: true)
                    waitingHead = 0
                }
                // A check a reload dropped (or replaced) meanwhile is not started.
                guard entry.active, entry.queued else { continue }
                entry.queued = false
                fire(entry)
            }
        }

        var waitingCount: Int { waiting.count - waitingHead }

        static var lagProbeInterval: Duration { .milliseconds(100) }

        /// A timer due at `expected`: how late it runs is how late the reactor handles everything else.
        private func probeLag(expected: Moment) {
            lagProbe = reactor.schedule(at: expected) { [self] in
                let now = reactor.now
                let lateness = expected.duration(to: now)
                if window.observe(lateness: lateness, inFlight: inFlightCount, waiting: waitingCount) {
                    startWaiting()
                }
                guard !running.isEmpty else {
                    lagProbe = nil
                    return
                }
                probeLag(expected: now + Self.lagProbeInterval)
            }
        }

        private func record(_ entry: Running, _ result: CheckResult) {
            let spec = entry.spec
            let step = entry.health.record(result, at: reactor.now)
            schedule(entry, at: step.nextCheck)
            guard let transition = step.transition else { return }
            for id in registry.subscribers(of: spec) {
                guard var vs = servers[id] else { continue }
                let vsStep = vs.apply(check: spec, transition: transition)
                servers[id] = vs
                sequence += 1
                onUpdate(Update(sequence: sequence, virtualServer: id, check: spec, transition: transition, step: vsStep))
            }
        }
    }
}

/// A value only one thread touches (the reactor's), carried where Sendable is asked for.
final class Confined<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
