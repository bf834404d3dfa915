// The I/O glue around the pure policies: runs every distinct check at absolute deadlines (one queue, one timer), feeds
// results to CheckHealth, and hands each transition to every virtual server that uses the check. It blocks nothing
// and runs any number of checks concurrently on one event loop.
import NIOCore

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

    public let eventLoop: any EventLoop
    private let state: NIOLoopBoundBox<State>

    /// - Parameters:
    ///   - random: a fraction in [0, 1) for the warmup of each new check (injected for tests).
    ///   - maximumInFlight: checks that may run at once (each holds a socket); a check due while that many run waits
    ///     for one to finish, so thousands of slow reals never exhaust the process's descriptors. Fewer run at start
    ///     and while the event loop is late (see `ConcurrencyWindow`), down to `minimumInFlight`.
    ///   - onUpdate: called on `eventLoop` for each virtual server a transition changes; keep it short.
    public init(
        eventLoop: any EventLoop,
        prober: any CheckProber = NetworkProber(),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        maximumInFlight: Int = 768,
        minimumInFlight: Int = 16,
        onUpdate: @escaping @Sendable (Update) -> Void
    ) {
        self.eventLoop = eventLoop
        // Built off the loop, then only touched on it.
        state = NIOLoopBoundBox.makeBoxSendingValue(
            State(prober: prober, random: random, window: ConcurrencyWindow(ceiling: maximumInFlight, floor: minimumInFlight),
                  onUpdate: onUpdate),
            eventLoop: eventLoop)
    }

    /// Installs (or, on reload, replaces) the plans and answers every virtual server's starting table. Checks that
    /// stay keep their verdicts and timers; new ones start within their warmup.
    public func apply(_ plans: [VirtualServerID: VirtualServerPlan<RealID>]) -> EventLoopFuture<[VirtualServerID: VirtualServerStep<RealID>]> {
        applySequenced(plans).map(\.steps)
    }

    /// `apply`, with the sequence number the steps were computed at (see `HealthUpdate.sequence`).
    public func applySequenced(_ plans: [VirtualServerID: VirtualServerPlan<RealID>])
        -> EventLoopFuture<(steps: [VirtualServerID: VirtualServerStep<RealID>], sequence: UInt64)>
    {
        eventLoop.submit { [state, eventLoop] in
            let steps = state.value.apply(plans, monitor: state, eventLoop: eventLoop)
            state.value.sequence += 1
            return (steps, state.value.sequence)
        }
    }

    /// Replaces the plans of the virtual servers in `plans` and drops those in `removed`, leaving every other one
    /// (and its checks, verdicts and timers) as it is: a reload's work for what changed. Answers the steps of the
    /// replaced virtual servers, the sequence number, and the checks started and stopped.
    public func update(_ plans: [VirtualServerID: VirtualServerPlan<RealID>], removing removed: Set<VirtualServerID>)
        -> EventLoopFuture<(steps: [VirtualServerID: VirtualServerStep<RealID>], sequence: UInt64, started: Set<CheckSpec>, stopped: Set<CheckSpec>)>
    {
        eventLoop.submit { [state, eventLoop] in
            let result = state.value.update(plans, removing: removed, monitor: state, eventLoop: eventLoop)
            state.value.sequence += 1
            return (result.steps, state.value.sequence, result.started, result.stopped)
        }
    }

    /// `ha_suspend`: the virtual servers whose checks are suspended from now on (replacing the last set). A
    /// suspended check does not run, and its verdict and counters stay as they are until it runs again, at its
    /// next turn after the suspension ends; a check that another, unsuspended virtual server shares keeps running.
    public func suspend(_ servers: Set<VirtualServerID>) {
        eventLoop.execute { [state] in state.value.suspended = servers }
    }

    /// The checks that are suspended now (every virtual server using them is), for tests.
    public func suspendedChecks() -> EventLoopFuture<Set<CheckSpec>> {
        eventLoop.submit { [state] in Set(state.value.running.keys.filter { state.value.isSuspended($0) }) }
    }

    /// Stops every check; answers what omega virtual servers report at shutdown.
    public func stop() -> EventLoopFuture<[VirtualServerID: [HealthEvent<RealID>]]> {
        eventLoop.submit { [state] in state.value.stop() }
    }

    /// How many checks may run at once now (the window adapted to the loop's lateness), and its ceiling.
    public func concurrency() -> EventLoopFuture<ConcurrencyWindow> {
        eventLoop.submit { [state] in state.value.window }
    }

    /// Each running check's state, for status output.
    public func checks() -> EventLoopFuture<[CheckSpec: CheckHealth]> {
        eventLoop.submit { [state] in state.value.running.mapValues(\.health) }
    }

    final class Running {
        let spec: CheckSpec
        var health: CheckHealth
        /// Bumped whenever the check is scheduled: queue entries of older generations are stale.
        var generation: UInt64 = 0
        var inFlight = false
        /// Due, and waiting for a free slot among the checks in flight.
        var queued = false
        init(spec: CheckSpec, health: CheckHealth) {
            self.spec = spec
            self.health = health
        }
    }

    /// Lives on the event loop; a class so a probe that completes synchronously can re-enter it.
    final class State {
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
        /// Measures the loop's lateness for the window while checks run.
        var lagProbe: Scheduled<Void>?
        /// Probes started and not yet answered (including those of checks a reload dropped meanwhile).
        var inFlightCount = 0
        /// Checks that came due while `maximumInFlight` probes ran, oldest first.
        var waiting = CircularBuffer<CheckSpec>()
        /// When each running check is due next, and the one loop timer for the earliest of them.
        var due = DueQueue<Running>()
        var wake: (deadline: NIODeadline, task: Scheduled<Void>)?

        init(prober: any CheckProber, random: @escaping @Sendable () -> Double, window: ConcurrencyWindow,
             onUpdate: @escaping @Sendable (Update) -> Void) {
            self.prober = prober
            self.random = random
            self.window = window
            self.onUpdate = onUpdate
        }

        func apply(_ plans: [VirtualServerID: VirtualServerPlan<RealID>], monitor: NIOLoopBoundBox<State>,
                   eventLoop: any EventLoop) -> [VirtualServerID: VirtualServerStep<RealID>] {
            let removed = Set(self.plans.keys).subtracting(plans.keys)
            return update(plans, removing: removed, monitor: monitor, eventLoop: eventLoop).steps
        }

        /// Replaces the plans of some virtual servers and drops others; the rest are not looked at. Answers the
        /// steps of the replaced ones and the checks started and stopped.
        func update(_ plans: [VirtualServerID: VirtualServerPlan<RealID>], removing removed: Set<VirtualServerID>,
                    monitor: NIOLoopBoundBox<State>, eventLoop: any EventLoop)
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
            for spec in stop { running[spec] = nil }
            let now = NIODeadline.now()
            for spec in start {
                let entry = Running(spec: spec, health: CheckHealth(timing: spec.timing))
                running[spec] = entry
                schedule(spec, at: entry.health.firstCheck(at: now, randomFraction: random()), monitor: monitor, eventLoop: eventLoop)
            }
            if lagProbe == nil, !running.isEmpty { probeLag(expected: .now() + Self.lagProbeInterval, monitor: monitor, eventLoop: eventLoop) }
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
            wake?.task.cancel()
            wake = nil
            lagProbe?.cancel()
            lagProbe = nil
            running = [:]
            suspended = []
            waiting.removeAll()
            registry = CheckRegistry()
            plans = [:]
            return servers.mapValues { $0.shutdownEvents() }.filter { !$0.value.isEmpty }
        }

        private func schedule(_ spec: CheckSpec, at deadline: NIODeadline, monitor: NIOLoopBoundBox<State>, eventLoop: any EventLoop) {
            guard let entry = running[spec] else { return }
            entry.generation += 1
            due.insert(entry, at: deadline, generation: entry.generation)
            armWake(monitor: monitor, eventLoop: eventLoop)
        }

        /// Keeps the loop's one timer at the earliest deadline of the queue.
        private func armWake(monitor: NIOLoopBoundBox<State>, eventLoop: any EventLoop) {
            guard let earliest = due.earliest else {
                wake?.task.cancel()
                wake = nil
                return
            }
            if let wake, wake.deadline <= earliest { return }
            wake?.task.cancel()
            let task = eventLoop.scheduleTask(deadline: earliest) {
                monitor.value.wake = nil
                monitor.value.fireDue(monitor: monitor, eventLoop: eventLoop)
            }
            wake = (earliest, task)
        }

        /// Fires every check that is due (skipping entries a reschedule or stop made stale), then re-arms the timer.
        private func fireDue(monitor: NIOLoopBoundBox<State>, eventLoop: any EventLoop) {
            let now = NIODeadline.now()
            while let entry = due.popDue(by: now) {
                let running = entry.value
                guard running.generation == entry.generation, self.running[running.spec] === running else { continue }
                fire(running.spec, monitor: monitor, eventLoop: eventLoop)
            }
            armWake(monitor: monitor, eventLoop: eventLoop)
        }

        /// Every virtual server that uses the check is suspended.
        func isSuspended(_ spec: CheckSpec) -> Bool {
            guard !suspended.isEmpty else { return false }
            let users = registry.subscribers(of: spec)
            return !users.isEmpty && users.isSubset(of: suspended)
        }

        private func fire(_ spec: CheckSpec, monitor: NIOLoopBoundBox<State>, eventLoop: any EventLoop) {
            guard let entry = running[spec], !entry.inFlight, !entry.queued else { return }
            if isSuspended(spec) {
                // Its turn passes: asked again at the next one, as keepalived's disabled checker is.
                schedule(spec, at: .now() + spec.timing.delayLoop.timeAmount, monitor: monitor, eventLoop: eventLoop)
                return
            }
            guard inFlightCount < window.limit else {
                entry.queued = true
                waiting.append(spec)
                return
            }
            entry.inFlight = true
            inFlightCount += 1
            let entryBox = NIOLoopBound(entry, eventLoop: eventLoop)
            prober.probe(spec.probe, on: eventLoop).hop(to: eventLoop).whenComplete { result in
                let entry = entryBox.value
                entry.inFlight = false
                monitor.value.inFlightCount -= 1
                monitor.value.startWaiting(monitor: monitor, eventLoop: eventLoop)
                // A reload may have dropped or replaced this check while it ran.
                guard monitor.value.running[spec] === entry else { return }
                let checkResult = (try? result.get()) ?? .down(.ioError("prober failed: \((result.failureValue).map { "\($0)" } ?? "")"))
                monitor.value.record(spec, checkResult, monitor: monitor, eventLoop: eventLoop)
            }
        }

        /// Starts the checks that waited for a slot, oldest first, while slots are free.
        private func startWaiting(monitor: NIOLoopBoundBox<State>, eventLoop: any EventLoop) {
            while inFlightCount < window.limit, let spec = waiting.popFirst() {
                // A check a reload dropped (or replaced) meanwhile is not started.
                guard let entry = running[spec], entry.queued else { continue }
                entry.queued = false
                fire(spec, monitor: monitor, eventLoop: eventLoop)
            }
        }

        static var lagProbeInterval: TimeAmount { .milliseconds(100) }

        /// A timer due at `expected`: how late it runs is how late the loop handles everything else.
        private func probeLag(expected: NIODeadline, monitor: NIOLoopBoundBox<State>, eventLoop: any EventLoop) {
            lagProbe = eventLoop.scheduleTask(deadline: expected) {
                let state = monitor.value
                let now = NIODeadline.now()
                let lateness = Duration.nanoseconds((now - expected).nanoseconds)
                if state.window.observe(lateness: lateness, inFlight: state.inFlightCount, waiting: state.waiting.count) {
                    state.startWaiting(monitor: monitor, eventLoop: eventLoop)
                }
                guard !state.running.isEmpty else {
                    state.lagProbe = nil
                    return
                }
                state.probeLag(expected: now + Self.lagProbeInterval, monitor: monitor, eventLoop: eventLoop)
            }
        }

        private func record(_ spec: CheckSpec, _ result: CheckResult, monitor: NIOLoopBoundBox<State>, eventLoop: any EventLoop) {
            guard let entry = running[spec] else { return }
            let step = entry.health.record(result, at: .now())
            schedule(spec, at: step.nextCheck, monitor: monitor, eventLoop: eventLoop)
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

extension Result {
    var failureValue: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
