import ControlProtocol
import DirectorConfig
import FoundationEssentials
import HealthCheck
import Logging
import Platform
import Synchronization
import VRRPHost

/// Coordinates the parts of a running director — the IPVS engine, the health monitor and the VRRP host — for the
/// operations that span them: reload (validate once, then each part applies its own difference), diff, status, stop.
public actor Supervisor {
    typealias Monitor = HealthMonitor<String, Endpoint>

    /// A real server's health as status shows it.
    typealias RealState = Engine.HealthView.Real

    let engine: Engine
    let logger: Logger
    let dependencies: EngineDependencies
    let makeVRRP: @Sendable (Configuration) -> VRRPHost
    let scripts: any ScriptRunning
    var configuration: Configuration?
    /// The configuration in force (the last one started or reloaded).
    public var runningConfiguration: Configuration? { configuration }
    private var vrrp: VRRPHost?
    /// For the stop signal's thread, which cannot wait for this actor: the VRRP host to resign at once, or nil when
    /// there is none or announced routes must be withdrawn first (VRRP then resigns after announce_withdraw_delay).
    public nonisolated let signalResign = LockedValue<VRRPHost?>(nil)
    private var vrrpEvents: Task<Void, Never>?
    /// Set once VRRP has resigned (shutdown): a stop must not resign twice.
    private var vrrpResigned = false
    private var health: Monitor?
    private var healthUpdates: Task<Void, Never>?
    /// ha_suspend: reads the host's addresses while some virtual server uses it.
    private var addressWatch: Task<Void, Never>?
    /// The virtual servers whose checks are suspended now (ha_suspend).
    private(set) var suspendedServers: Set<String> = []
    private var checkSpecs: Set<CheckSpec> = []
    var realStates: [String: [Endpoint: RealState]] = [:]
    /// The monitor's sequence number of the newest verdict applied per virtual server: an apply's starting steps
    /// must not overwrite an update that the event loop produced after them (actor reentrancy lets it overtake).
    private var verdictSequence: [String: UInt64] = [:]

    /// The operator's drains and weights, kept in `stateFile` across restarts.
    var overrides = Overrides()
    /// Quorum per virtual server as the health policy holds it (with hysteresis): what announcement and status
    /// follow.
    var quorumUp: [String: Bool] = [:]
    /// The policy's live weight per virtual server, for status.
    var liveWeight: [String: Int] = [:]
    /// Set once the table is programmed (`start`): which VIPs are announced through the routing table.
    var announcer: AnnouncePolicy?
    /// Virtual servers whose override gauges are set (so a removed override sets them back once).
    var reportedOverrides: Set<String> = []
    let stateFile: OverrideStateFile?
    /// static_ipaddress, static_routes, static_rules: what is held, and what of it this run added.
    var staticNetwork = StaticNetworkLedger()

    let metrics: Metrics?
    let scriptFiles: any ScriptPathInspecting
    /// The last health notify script started: the next one waits for it, so they run in the order of the events.
    var notifyTail: Task<Void, Never>?

    /// - Parameter stateFile: where the operator's overrides are kept (nil: nowhere, they end with the process).
    public init(engine: Engine, logger: Logger, dependencies: EngineDependencies, scripts: any ScriptRunning = ProcessScriptRunner(),
                scriptFiles: any ScriptPathInspecting = SystemScriptPaths(),
                metrics: Metrics? = nil, stateFile: String? = nil, makeVRRP: @escaping @Sendable (Configuration) -> VRRPHost) {
        self.scriptFiles = scriptFiles
        self.metrics = metrics
        self.stateFile = stateFile.map(OverrideStateFile.init(path:))
        self.engine = engine
        self.logger = logger
        self.dependencies = dependencies
        self.scripts = scripts
        self.makeVRRP = makeVRRP
    }

    /// Health verdicts first (alpha reals start down), then IPVS (so the table is programmed before this director
    /// can become MASTER), then VRRP.
    /// `healthChecks`: run the configuration's checks (on the monitor's own reactor thread); `prober` nil: the
    /// network's.
    public func start(_ configuration: Configuration, healthChecks: Bool = false, prober: (any CheckProber)? = nil) async throws {
        self.configuration = configuration
        loadOverrides(for: configuration)
        try Self.prepareTLS(configuration)
        if healthChecks {
            let (stream, continuation) = AsyncStream.makeStream(of: HealthUpdate<String, Endpoint>.self)
            let monitor = try Monitor(prober: prober ?? NetworkProber(scripts: PlatformCheckScripts()),
                                      maximumInFlight: OpenFileLimit.checkBudget(limit: OpenFileLimit.current())) {
                continuation.yield($0)
            }
            health = monitor
            healthUpdates = Task { [weak self] in
                for await update in stream { await self?.handle(update) }
            }
            followAddresses()
            try await applyHealth(configuration)
        }
        try await engine.start()
        startAnnouncements(configuration)
        applyStaticNetwork(configuration)
        if !configuration.vrrpInstances.isEmpty { try startVRRP(configuration) }
        updateSignalResign()
        // The parse and the first plan were transient: give their memory back.
        Memory.returnFreed()
    }

    // MARK: Health

    /// ha_suspend, now and then every `HASuspend.pollInterval`, with the running configuration (a reload that adds
    /// or removes it, or changes the addresses, takes effect at the next reading).
    private func followAddresses() {
        updateSuspension()
        addressWatch = Task { [weak self] in
            while (try? await Task.sleep(for: HASuspend.pollInterval)) != nil {
                await self?.updateSuspension()
            }
        }
    }

    func updateSuspension() {
        guard let health, let configuration else { return }
        var next = Set<String>()
        if HASuspend.isUsed(by: configuration) {
            guard let present = dependencies.localAddresses() else { return }  // unreadable: leave it as it is
            next = HASuspend.suspended(configuration, present: present)
        }
        guard next != suspendedServers else { return }
        for identity in next.subtracting(suspendedServers).sorted() {
            logger.notice("virtual_server \(identity): its address is not on this director, health checks suspended (ha_suspend)")
        }
        for identity in suspendedServers.subtracting(next).sorted() where configuration.virtualServers.contains(where: { $0.identity == identity && $0.haSuspend }) {
            logger.notice("virtual_server \(identity): its address is on this director, health checks resumed")
        }
        suspendedServers = next
        health.suspend(next)
    }

    /// Installs the configuration's checks (keeping the verdicts of those that stay) with the operator's overrides,
    /// and seeds the engine; answers the destinations seeded, by virtual server.
    /// With isolated `changes` (a reload), only the changed and removed virtual servers are looked at: the others
    /// keep their checks, verdicts, states and seeded destinations untouched.
    @discardableResult
    func applyHealth(_ configuration: Configuration, changes: ReloadChanges? = nil) async throws -> [String: [DesiredDestination]] {
        guard let health else { return [:] }
        TrackFileInitializer.prepare(configuration.trackFiles, logger: logger)
        let only = changes.flatMap { $0.isolated ? $0 : nil }
        let (plans, problems) = only.map { HealthPlans.plans(for: $0.changed, of: configuration, overrides: overrides) }
            ?? HealthPlans.plans(for: configuration, overrides: overrides)
        for problem in problems { logger.error("health check not started: \(problem)") }
        let steps: [String: VirtualServerStep<Endpoint>]
        let sequence: UInt64
        if let only {
            let result = await health.update(plans, removing: Set(only.removed.map(\.identity)))
            (steps, sequence) = (result.steps, result.sequence)
            checkSpecs.subtract(result.stopped)
            checkSpecs.formUnion(result.started)
        } else {
            (steps, sequence) = await health.applySequenced(plans)
            checkSpecs = Set(plans.values.flatMap { $0.reals.flatMap(\.1.checks) })
        }
        var seeded: [String: [DesiredDestination]] = [:]
        var states: [String: [Endpoint: RealState]] = only == nil ? [:] : realStates
        for vs in only?.changed ?? configuration.virtualServers {
            guard let step = steps[vs.identity] else { continue }
            guard verdictSequence[vs.identity, default: 0] < sequence else {
                // A newer update already came through while we waited: it stands, with its states.
                states[vs.identity] = realStates[vs.identity]
                continue
            }
            seeded[vs.identity] = HealthPlans.destinations(step.desired, of: vs)
            verdictSequence[vs.identity] = sequence
            quorumUp[vs.identity] = step.quorumUp
            liveWeight[vs.identity] = step.liveWeight
            for real in vs.realServers {
                let previous = realStates[vs.identity]?[real.endpoint]
                // Up by its checks: a drained or inhibited real is in the table at 0 either way.
                let up = step.live.contains(real.endpoint)
                states[vs.identity, default: [:]][real.endpoint] = previous?.up == up ? previous
                    : RealState(up: up, since: dependencies.now(), lastResult: real.checks.isEmpty ? "no checker"
                        : up ? "up until a check fails" : "down until its first successful check (alpha)")
            }
            report(step.events, of: vs)
        }
        if let only {
            for vs in only.removed {
                states[vs.identity] = nil
                quorumUp[vs.identity] = nil
                liveWeight[vs.identity] = nil
            }
        } else {
            let identities = Set(configuration.virtualServers.map(\.identity))
            quorumUp = quorumUp.filter { identities.contains($0.key) }
            liveWeight = liveWeight.filter { identities.contains($0.key) }
        }
        realStates = states
        for vs in only?.changed ?? configuration.virtualServers {
            for (real, state) in states[vs.identity] ?? [:] { metrics?.realServer(vs.identity, real.description, up: state.up) }
        }
        await engine.seedDestinations(seeded)
        refreshAnnouncements()
        return seeded
    }

    private func handle(_ update: HealthUpdate<String, Endpoint>) async {
        guard let vs = configuration?.virtualServers.first(where: { $0.identity == update.virtualServer }),
              verdictSequence[vs.identity, default: 0] < update.sequence
        else { return }
        verdictSequence[vs.identity] = update.sequence
        for event in update.step.events {
            switch event {
            case .realUp(let endpoint, let cause), .realDown(let endpoint, let cause):
                let up: Bool = if case .realUp = event { true } else { false }
                realStates[vs.identity, default: [:]][endpoint] = RealState(up: up, since: dependencies.now(), lastResult: "\(cause)")
                metrics?.realServer(vs.identity, endpoint.description, up: up)
            default:
                break
            }
        }
        report(update.step.events, of: vs)
        if update.step.events.isEmpty, update.transition.isUp, update.step.desiredChanged {
            // misc_dynamic or FILE_CHECK moved a live real's weight: no up/down event, but the operator should know.
            logger.notice("virtual_server \(vs.identity): \(update.check.probe) asks for \(update.transition.result.weight.map { "\($0)" } ?? "the configured weight")")
        }
        if update.step.desiredChanged {
            await engine.updateDestinations(for: vs.identity, HealthPlans.destinations(update.step.desired, of: vs))
        }
        liveWeight[vs.identity] = update.step.liveWeight
        if quorumUp[vs.identity] != update.step.quorumUp {
            quorumUp[vs.identity] = update.step.quorumUp
            if vs.announce { refreshAnnouncements() }
        }
    }

    /// Logs each health event once and runs its notify script (never waiting for it).
    private func report(_ events: [HealthEvent<Endpoint>], of vs: VirtualServer) {
        for event in events {
            var script: NotifyScript?
            switch event {
            case .realUp(let endpoint, let cause):
                logger.notice("real_server \(endpoint) of virtual_server \(vs.identity) is up: \(cause)")
                script = vs.realServers.first { $0.endpoint == endpoint }?.notifyUp
            case .realDown(let endpoint, let cause):
                logger.warning("real_server \(endpoint) of virtual_server \(vs.identity) is down: \(cause)")
                script = vs.realServers.first { $0.endpoint == endpoint }?.notifyDown
            case .quorumUp(let live, let threshold):
                logger.notice("virtual_server \(vs.identity): quorum up (live weight \(live), quorum \(threshold))")
                script = vs.quorumUp
            case .quorumDown(let live, let threshold):
                logger.warning("virtual_server \(vs.identity): quorum down (live weight \(live), quorum \(threshold))")
                script = vs.quorumDown
            case .sorryServerActive:
                logger.warning("virtual_server \(vs.identity): sorry server \(vs.sorryServer.map { "\($0.endpoint)" } ?? "") enters the table")
            case .sorryServerInactive:
                logger.notice("virtual_server \(vs.identity): sorry server leaves the table")
            }
            if let script { run(script) }
        }
    }

    /// Runs a health notify script under the rules VRRP scripts follow (ScriptPolicy: the script user as keepalived
    /// picks it, refused as root when writable by others and enable_script_security is set), one after another
    /// in the order of the events, each killed with its process group at the notify timeout.
    private func run(_ notify: NotifyScript) {
        let prepared = Self.prepare(notify, globals: configuration?.globals ?? GlobalSettings(), files: scriptFiles)
        if let problem = prepared.problem {
            if prepared.script == nil { logger.error("\(problem)") } else { logger.warning("\(problem)") }
        }
        guard let script = prepared.script else { return }
        let scripts = self.scripts
        let logger = self.logger
        let previous = notifyTail
        let timeout = Self.notifyTimeout
        notifyTail = Task.detached {
            await previous?.value
            let result = await scripts.run(script, timeout: timeout)
            if !result.outcome.succeeded {
                logger.warning("notify script \(script) \(result.outcome)\(result.output.isEmpty ? "" : ": \(result.output)")")
            }
        }
    }

    /// The script to run for a health notify (nil when enable_script_security refuses it) and what to log.
    static func prepare(_ notify: NotifyScript, globals: GlobalSettings, files: any ScriptPathInspecting) -> (script: Script?, problem: String?) {
        ScriptPolicy(globals: globals, files: files).prepare(command: notify.command, user: notify.user)
    }

    /// As the VRRP host's notify scripts (keepalived has no limit; a hung script must not pile up).
    static let notifyTimeout: Duration = .seconds(30)
    /// How long a stop waits for health notify scripts to finish.
    static let stopScriptWait: Duration = .seconds(10)

    private func startVRRP(_ configuration: Configuration) throws {
        let host = makeVRRP(configuration)
        try host.start()
        vrrp = host
        let notifier = dependencies.notifier
        let metrics = self.metrics
        for instance in configuration.vrrpInstances { metrics?.instanceState(instance.name, "INIT") }
        vrrpEvents = Task {
            for await event in host.events {
                switch event {
                // The VRRP host logs its transitions itself; systemd's STATUS= line follows them.
                case .instanceState(let instance, _, let to, _, _):
                    notifier.status("vrrp_instance \(instance) \(to)")
                    metrics?.instanceState(instance, to)
                case .groupState(let group, _, let to):
                    notifier.status("vrrp_sync_group \(group) \(to)")
                case .problem(let text):
                    logger.error("VRRP: \(text)")
                }
            }
        }
    }

    // MARK: Reload and diff

    public func reload(file: String) async -> ControlResponse {
        dependencies.notifier.reloading()
        defer {
            updateSignalResign()
            dependencies.notifier.send("READY=1")
            // The parse and the plan were transient (and a rejected configuration is all garbage).
            Memory.returnFreed()
        }
        let next: Configuration
        do { next = try Engine.load(file, dependencies: dependencies, logger: logger) } catch {
            let message = "reload rejected, the running configuration is unchanged:\n\(error.description)"
            logger.error("\(message)")
            await engine.recordReload(ok: false, message: message)
            metrics?.failedReloads.increment()
            return ControlResponse(ok: false, message: message)
        }
        let runningNamespace = configuration?.globals.netNamespace
        if let configuration, next.globals.netNamespace != configuration.globals.netNamespace {
            // As in keepalived: the namespace is where the process and all its sockets are; only a restart moves them.
            let message = "reload rejected, the running configuration is unchanged: net_namespace changes from \(runningNamespace ?? "none") to \(next.globals.netNamespace ?? "none"), which needs a restart"
            logger.error("\(message)")
            await engine.recordReload(ok: false, message: message)
            metrics?.failedReloads.increment()
            return ControlResponse(ok: false, message: message)
        }
        do { try Self.prepareTLS(next) } catch {
            let message = "reload rejected, the running configuration is unchanged:\n\(error)"
            logger.error("\(message)")
            await engine.recordReload(ok: false, message: message)
            metrics?.failedReloads.increment()
            return ControlResponse(ok: false, message: message)
        }
        let previousChecks = checkSpecs
        let changes = configuration.map { ReloadChanges(from: $0, to: next) }
        configuration = next
        pruneOverrides(to: next)
        // Before the new checks start, so a new ha_suspend service away from here runs none.
        updateSuspension()
        var problems: [String] = []
        do { try await applyHealth(next, changes: changes) } catch { problems.append("health checks: \(error)") }
        var (plan, failure) = await engine.adopt(next, changes: changes)
        if let failure { problems.append(failure) }
        plan.healthChanges = Self.checkChanges(from: previousChecks, to: checkSpecs)
        let statics = applyStaticNetwork(next)
        problems += statics.problems
        if let vrrp {
            plan.vrrpChanges = vrrp.reload(to: next)
        } else if !next.vrrpInstances.isEmpty {
            do {
                try startVRRP(next)
                plan.vrrpChanges = next.vrrpInstances.map { "start vrrp_instance \($0.name)" }
            } catch {
                problems.append("VRRP could not start: \(error)")
            }
        }
        plan.vrrpChanges += statics.changes
        let ok = problems.isEmpty
        let message = ok
            ? (plan.isEmpty ? "reloaded: nothing changed" : "reloaded: \(plan.ipvsOperations.count) IPVS operations, \(plan.vrrpChanges.count) VRRP changes")
            : "reload applied with errors:\n" + problems.joined(separator: "\n")
        if ok { logger.notice("\(message)") } else { logger.error("\(message)") }
        await engine.recordReload(ok: ok, message: message)
        if ok { metrics?.reloads.increment() } else { metrics?.failedReloads.increment() }
        return ControlResponse(ok: ok, message: message, plan: plan)
    }

    /// Loads the `SSL` block's certificate, key and CA files when an SSL_GET uses them; a file that cannot be read
    /// stops the start or rejects the reload (keepalived's checker exits), rather than failing every check.
    static func prepareTLS(_ configuration: Configuration) throws(TLSIdentityUnusable) {
        guard let identity = HealthPlans.requiredIdentity(configuration) else { return }
        do throws(CheckFailure) { try TLSClientContexts.prepare(identity) } catch {
            throw TLSIdentityUnusable(origin: configuration.ssl?.origin, failure: error)
        }
    }

    public func diff(file: String) async -> ControlResponse {
        let next: Configuration
        do { next = try Engine.load(file, dependencies: dependencies, logger: logger) } catch {
            return ControlResponse(ok: false, message: error.description)
        }
        var plan = await engine.plan(for: next, verdicts: await prospectiveVerdicts(for: next))
        let nextChecks = Set(HealthPlans.plans(for: next).plans.values.flatMap { $0.reals.flatMap(\.1.checks) })
        plan.healthChanges = Self.checkChanges(from: checkSpecs, to: nextChecks)
        if let vrrp {
            plan.vrrpChanges = vrrp.plan(for: next)
        } else {
            plan.vrrpChanges = next.vrrpInstances.map { "start vrrp_instance \($0.name)" }
        }
        plan.vrrpChanges += staticNetworkChanges(for: next)
        return ControlResponse(ok: true, plan: plan)
    }

    /// What the health side would want under `next`: each check keeps its current verdict (a new one starts up
    /// unless alpha), exactly as `HealthMonitor.apply` would decide it.
    private func prospectiveVerdicts(for next: Configuration) async -> [String: [DesiredDestination]] {
        guard let health else { return [:] }
        let running = await health.checks()
        var verdicts: [String: [DesiredDestination]] = [:]
        var kept = overrides
        _ = kept.prune(to: next)
        let plans = HealthPlans.plans(for: next, overrides: kept).plans
        for vs in next.virtualServers {
            guard let plan = plans[vs.identity] else { continue }
            var policy = VirtualServerHealth<Endpoint, CheckSpec>(
                reals: plan.reals, quorum: plan.quorum, sorryServer: plan.sorryServer,
                initiallyUp: { running[$0]?.isUp ?? !$0.timing.alpha }, initialWeight: { running[$0]?.weight })
            verdicts[vs.identity] = HealthPlans.destinations(policy.start().desired, of: vs)
        }
        return verdicts
    }

    static func checkChanges(from old: Set<CheckSpec>, to new: Set<CheckSpec>) -> [String] {
        new.subtracting(old).map { "start \($0)" }.sorted() + old.subtracting(new).map { "stop \($0)" }.sorted()
    }

    public func status() async -> DaemonStatus {
        // Health as the policy holds it (per real, and quorum with its hysteresis), handed to the engine once.
        var views: [String: Engine.HealthView] = [:]
        for identity in Set(realStates.keys).union(quorumUp.keys) {
            views[identity] = Engine.HealthView(
                reals: realStates[identity] ?? [:],
                quorumUp: quorumUp[identity], liveWeight: liveWeight[identity])
        }
        var status = await engine.status(health: views)
        await addOverrides(to: &status)
        addAnnouncements(to: &status)
        for i in status.virtualServers.indices where suspendedServers.contains(status.virtualServers[i].name) {
            status.virtualServers[i].checksSuspended = true
        }
        if let vrrp {
            let vrrpStatus = vrrp.status()
            status.instances = vrrpStatus.instances
            status.syncGroups = vrrpStatus.syncGroups
            status.scripts = vrrpStatus.scripts.isEmpty ? nil : vrrpStatus.scripts
        }
        return status
    }

    /// What the stop signal's thread may resign: nothing while an announce policy runs, whose routes go first
    /// (`withdrawAnnouncements` keeps serving for announce_withdraw_delay before VRRP resigns).
    func updateSignalResign() {
        signalResign.withLock { $0 = announcer == nil ? vrrp : nil }
    }

    /// Every VRRP instance resigns (priority 0: the peer takes over after skew time) and releases its addresses;
    /// the first step of a stop, which `stop` does too if nobody did it before.
    public func resignVRRP(deadline: Duration = .seconds(5)) async {
        guard let vrrp, !vrrpResigned else { return }
        vrrpResigned = true
        await vrrp.shutdown(deadline: deadline)
    }

    /// VRRP resigns first (priority 0: the peer takes over after skew time), then the table is cleaned up.
    public func stop(mode: Engine.StopMode, vrrpDeadline: Duration = .seconds(5)) async {
        await resignVRRP(deadline: vrrpDeadline)
        vrrpEvents?.cancel()
        if let health {
            let omega = await health.stop()
            // omega: notify_down and quorum_down run on shutdown for the virtual servers that ask for it.
            for (identity, events) in omega {
                if let vs = configuration?.virtualServers.first(where: { $0.identity == identity }) { report(events, of: vs) }
            }
        }
        // The scripts started by the stop (omega) and any still running get a little time before the process ends.
        if let tail = notifyTail {
            let finished = ScriptsFinished()
            Task.detached {
                await tail.value
                finished.set()
            }
            let deadline = ContinuousClock.now + Self.stopScriptWait
            while !finished.isSet && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        }
        healthUpdates?.cancel()
        addressWatch?.cancel()
        await engine.stop(mode: mode)
        removeStaticNetwork()
    }
}

/// Set once the health notify scripts a stop started have ended.
final class ScriptsFinished: @unchecked Sendable {
    private let lock = Mutex(())
    private var done = false

    var isSet: Bool { lock.withLock { _ in done } }
    func set() { lock.withLock { _ in done = true } }
}

/// The `SSL` block's files could not be loaded.
public struct TLSIdentityUnusable: Error, CustomStringConvertible {
    public var origin: SourceOrigin?
    public var failure: CheckFailure
    public var description: String { "\(origin.map { "\($0): " } ?? "")SSL block: \(failure)" }
}
