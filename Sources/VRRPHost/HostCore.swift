import Timeline
import ControlProtocol
import DirectorConfig
import Glibc
import IPVS
import Logging
import Platform
import VRRP

/// Work for the VRRP thread, given the core and the time it runs at.
typealias HostWork = @Sendable (HostCore, Moment) -> Void

/// Where an instance sends and receives: instances with the same key share one socket pair.
struct TransportKey: Hashable, CustomStringConvertible {
    var interface: String
    var family: Int32
    var source: IPAddress
    var multicast: Bool
    /// auth_type AH instances have their own IP protocol 51 socket, one per password.
    var ipsecAH: AuthPassword?
    var hopLimit: UInt8
    /// The group joined (mcast_dst_ip / vrrp_mcast_group4/6): instances in different groups need their own socket.
    var group: IPAddress?

    init(_ w: InstanceSpec.Wiring) {
        interface = w.interface
        family = w.family
        source = w.source
        multicast = w.multicast
        ipsecAH = w.ipsecAH
        hopLimit = w.hopLimit
        group = w.multicast ? w.destinations.first : nil
    }

    var description: String {
        "\(interface) \(multicast ? "multicast" : "unicast") from \(source)" + (hopLimit == 255 ? "" : " ttl \(hopLimit)")
            + (group.map { $0 == .multicastIPv4 || $0 == .multicastIPv6 ? "" : " to \($0)" } ?? "")
            + (ipsecAH == nil ? "" : " with IPsec AH")
    }
}

final class TransportRuntime {
    let transport: any VRRPTransport
    /// Set after a failed send, so a dead link logs once rather than at every advert.
    var failing = false
    /// auth_type AH: the sequence numbers and IP ids of this socket's virtual routers.
    var ipsecAH: IPsecAHState?

    init(_ transport: any VRRPTransport, ipsecAH: AuthPassword? = nil) {
        self.transport = transport
        self.ipsecAH = ipsecAH.map(IPsecAHState.init(password:))
    }
}

/// What the host keeps about one running vrrp_instance (its state machine and tracking are in the router).
final class InstanceRuntime {
    let id: Int
    var spec: InstanceSpec
    var sent: UInt64 = 0
    var received: UInt64 = 0
    var drops: [DropReason: UInt64] = [:]
    /// Wall-clock seconds when the current state began.
    var since: Double
    /// The deadline of each armed timer; heap entries that disagree are stale.
    var armed: [VRRP.VRRPInstance.TimerKind: Moment] = [:]
    var lastDropLog: Moment?

    init(id: Int, spec: InstanceSpec, since: Double) {
        self.id = id
        self.spec = spec
        self.since = since
    }

    var transportKey: TransportKey { TransportKey(spec.wiring) }
}

/// One vrrp_script's runner state (its rise/fall count is in the router).
final class ScriptRuntime {
    let spec: ScriptSpec
    let generation: Int
    /// nil when script security refused it: it is never run and counts as up.
    let script: Script?
    var running = false
    var lastStart: Moment?
    /// How the last run ended and when (wall clock), for `directorctl status`.
    var lastResult = ""
    var lastRun: Double?

    init(spec: ScriptSpec, generation: Int, script: Script?) {
        self.spec = spec
        self.generation = generation
        self.script = script
    }
}

/// All VRRP host state and the glue between the pure router (`VRRPRouter`: the decisions) and the host: it
/// performs the router's actions on sockets, timers, addresses and scripts, and feeds it what it reads. Confined to one thread (the VRRP loop,
/// or a test): nothing here blocks for long, and scripts run in tasks that post their results back.
// @unchecked: used by one thread at a time, handed over under HostBox/EventLoop locks (never shared concurrently).
final class HostCore: @unchecked Sendable {
    let dependencies: VRRPHostDependencies
    let logger: Logger
    /// Queues work for this core's thread (from script tasks).
    let post: @Sendable (@escaping HostWork) -> Void
    let emit: @Sendable (VRRPHostEvent) -> Void
    let wallClock: @Sendable () -> Double

    var spec: HostSpec
    var policy: ScriptPolicy
    /// Instances, sync groups, tracking and vrrp_script counts: what decides.
    var router = VRRPRouter()
    var instances: [String: InstanceRuntime] = [:]
    var scripts: [String: ScriptRuntime] = [:]
    var transports: [TransportKey: TransportRuntime] = [:]
    var timers = TimerHeap()
    /// Addresses and routes directord added (AddOutcome.added) and has not removed since.
    var ownedAddresses: Set<InterfaceAddress> = []
    var ownedRoutes: Set<HostRoute> = []
    /// use_vmac interfaces directord created or adopted, by name, with their base interface.
    var ownedVirtualMACs: [String: String] = [:]
    /// arp_ignore and arp_filter of each base interface before its first macvlan, restored after its last.
    var savedBaseSettings: [String: [String: String]] = [:]
    var ownedRules: Set<HostRule> = []
    /// Interfaces whose promote_secondaries directord turned on (and turns off again when none asks for it).
    var promotedInterfaces: Set<String> = []
    var linkUp: [String: Bool] = [:]
    /// Each tracked vrrp_track_process's quorum, by name.
    var processQuorums: [String: ProcessQuorum] = [:]
    /// The last good number of each tracked track_file, by tracked name ("file:NAME").
    var fileValues: [String: Int64] = [:]
    var ipvsTable: (any IPVSTable)?
    /// The last task of each notify chain: a scope's scripts run one after another, in transition order.
    var notifyTails: [String: Task<Void, Never>] = [:]
    var nextID = 0
    var nextGeneration = 0
    private(set) var running = false
    /// Adverts that matched no instance on their socket (other routers on the segment).
    var foreignAdverts: UInt64 = 0
    /// vrrp_startup_delay: the end of the delay counted from start (instances started by a reload before then
    /// wait for it too, as keepalived's global delayed-start time makes them).
    var startupHold: Moment?

    init(
        spec: HostSpec, dependencies: VRRPHostDependencies, logger: Logger,
        post: @escaping @Sendable (@escaping HostWork) -> Void, emit: @escaping @Sendable (VRRPHostEvent) -> Void,
        wallClock: @escaping @Sendable () -> Double = HostCore.realTime
    ) {
        self.spec = spec
        self.dependencies = dependencies
        self.logger = logger
        self.post = post
        self.emit = emit
        self.wallClock = wallClock
        self.policy = ScriptPolicy(globals: spec.globals, files: dependencies.files)
    }

    @Sendable static func realTime() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    var nextDeadline: Moment? { timers.earliest }

    /// The sockets to poll, with their keys.
    var pollTargets: [(key: TransportKey, fd: Int32)] { transports.map { ($0.key, $0.value.transport.pollDescriptor) } }

    // MARK: - Start

    /// Opens every socket and starts every instance; on any problem nothing is left open and the error lists all.
    func start(now: Moment) throws(VRRPHostError) {
        guard !running else { return }
        if !spec.problems.isEmpty { throw VRRPHostError(spec.problems) }
        var problems: [String] = []
        for instance in spec.instances {
            if let problem = ensureVirtualMAC(for: instance) {
                problems.append(problem)
                continue
            }
            if let problem = openTransport(for: instance) { problems.append(problem) }
        }
        guard problems.isEmpty else {
            transports.removeAll()
            throw VRRPHostError(problems)
        }
        running = true
        if spec.globals.vrrpStartupDelay > .zero {
            startupHold = now + spec.globals.vrrpStartupDelay
            logger.info("VRRP: delaying startup for \(spec.globals.vrrpStartupDelay) (vrrp_startup_delay)")
        }
        for script in spec.scripts.values.sorted(by: { $0.name < $1.name }) { addScript(script, now: now) }
        for group in spec.groups { addGroup(group) }
        updatePromoteSecondaries()
        for instance in spec.instances { startInstance(instance, now: now, reason: "started") }
        if let daemon = spec.syncDaemon, daemon.controller == nil { switchSyncDaemon(.master, alsoBackup: true) }
        timers.insert(.linkPoll, at: now + dependencies.linkPollInterval)
        logger.info("VRRP running", metadata: ["instances": "\(spec.instances.count)", "sockets": "\(transports.count)"])
    }

    /// nil when the instance's use_vmac interface is up (or it has none).
    func ensureVirtualMAC(for instance: InstanceSpec) -> String? {
        guard let vmac = instance.wiring.virtualMAC else { return nil }
        let base = instance.wiring.base
        if ownedVirtualMACs[vmac.interface] == base { return nil }
        let macText = vmac.address.map { String($0, radix: 16).leftPadded(2) }.joined(separator: ":")
        do {
            if savedBaseSettings[base] == nil { savedBaseSettings[base] = try dependencies.virtualMACs.prepareBase(base) }
            let outcome = try dependencies.virtualMACs.create(vmac.interface, on: base, address: vmac.address)
            ownedVirtualMACs[vmac.interface] = base
            logger.notice("vrrp_instance \(instance.name): VMAC interface \(vmac.interface) (\(macText)) on \(base) \(outcome)")
            return nil
        } catch {
            return "vrrp_instance \(instance.name): cannot set up the VMAC interface \(vmac.interface) on \(base): \(error)"
        }
    }

    /// Removes the macvlans no instance uses any more, then restores the base interfaces that have none left.
    func removeVirtualMACs(keeping: Set<String>) {
        for (name, base) in ownedVirtualMACs where !keeping.contains(name) {
            do {
                try dependencies.virtualMACs.delete(name)
                logger.notice("VMAC interface \(name) on \(base) removed")
            } catch {
                report("VMAC interface \(name) on \(base) not removed: \(error)")
            }
            ownedVirtualMACs[name] = nil
        }
        let bases = Set(ownedVirtualMACs.values)
        for (base, saved) in savedBaseSettings where !bases.contains(base) {
            do { try dependencies.virtualMACs.restoreBase(base, saved) } catch {
                report("\(base): arp_ignore and arp_filter not restored: \(error)")
            }
            savedBaseSettings[base] = nil
        }
    }

    /// nil when the instance's socket is open (or already was).
    func openTransport(for instance: InstanceSpec) -> String? {
        let key = TransportKey(instance.wiring)
        guard transports[key] == nil else { return nil }
        let w = instance.wiring
        let group: [UInt8]? = w.multicast ? w.destinations.first?.bytes : nil
        do {
            let t = try dependencies.transports.open(
                family: w.family, interface: w.interface, source: w.source.bytes, multicastGroup: group,
                hopLimit: w.hopLimit,
                ipProtocol: w.ipsecAH == nil ? VRRPSocket.protocolNumber : Int32(IPsecAHState.ipProtocol))
            transports[key] = TransportRuntime(t, ipsecAH: w.ipsecAH)
            return nil
        } catch {
            return "vrrp_instance \(instance.name): cannot open the VRRP socket on \(key): \(error)"
        }
    }

    func addGroup(_ group: GroupSpec) {
        router.addGroup(SyncGroupPolicy(name: group.name, members: group.members), tracking: seededTracking(group.tracked))
    }

    /// Tracking for `objects` with what is known now: scripts' and links' states, files' numbers.
    func seededTracking(_ objects: [TrackedObject]) -> TrackingState {
        var tracking = TrackingState(objects: objects, initiallyUp: [])
        for object in objects {
            if object.tracksValue {
                tracking.set(object.name, value: fileValue(object.name))
            } else {
                tracking.set(object.name, up: initialStatus(object.name))
            }
        }
        return tracking
    }

    /// A tracked file's number: the last one read, else read now (keepalived reads every file at start).
    func fileValue(_ trackedName: String) -> Int64 {
        if let known = fileValues[trackedName] { return known }
        let value = readFile(trackedName) ?? 0
        fileValues[trackedName] = value
        return value
    }

    func readFile(_ trackedName: String) -> Int64? {
        guard let path = spec.trackFiles[String(trackedName.dropFirst(5))] else { return nil }
        return dependencies.trackFileValue(path)
    }

    /// Scripts start as keepalived's do (up unless init_fail); interfaces as their link is now.
    func initialStatus(_ trackedName: String) -> Bool {
        if trackedName.hasPrefix("config:") { return false }
        if trackedName.hasPrefix("process:") {
            let name = String(trackedName.dropFirst(8))
            if let up = processQuorums[name]?.up { return up }
            return scanProcesses(now: .now)[name] ?? false
        }
        if trackedName.hasPrefix("script:") {
            return router.scripts[String(trackedName.dropFirst(7))]?.up ?? true
        }
        let name = String(trackedName.dropFirst(10))
        if let known = linkUp[name] { return known }
        let up = readLink(name)
        linkUp[name] = up
        return up
    }

    func readLink(_ name: String) -> Bool {
        do {
            return try dependencies.network.link(name).isUp
        } catch {
            // A missing interface is a down one (keepalived puts the instance in FAULT).
            return false
        }
    }

    func startInstance(_ spec: InstanceSpec, now: Moment, reason: String) {
        var machine: VRRP.VRRPInstance
        do {
            machine = try VRRP.VRRPInstance(spec.wiring.machine)
        } catch {
            // HostSpec.build validated this configuration already.
            report("vrrp_instance \(spec.name): \(error)")
            return
        }
        if let hold = startupHold, now < hold { machine.startupHold = hold }
        nextID += 1
        let runtime = InstanceRuntime(id: nextID, spec: spec, since: wallClock())
        instances[spec.name] = runtime
        router.add(machine, group: spec.wiring.group, tracking: seededTracking(spec.tracked))
        if let summary = router.summary(of: spec.name) {
            dispatch(runtime, .trackingChanged(summary), now: now, reason: "initial tracking")
        }
        dispatch(runtime, .start, now: now, reason: reason)
    }

    /// The instance's state machine.
    func machine(_ runtime: InstanceRuntime) -> VRRP.VRRPInstance? { router.members[runtime.spec.name]?.machine }

    // MARK: - Events through the router

    /// Feeds one event to an instance through the router and performs what it, and its sync group, do about it.
    func dispatch(_ runtime: InstanceRuntime, _ event: VRRP.VRRPInstance.Event, now: Moment, reason: String) {
        perform(router.handle(.instance(runtime.spec.name, event), now: now, reason: reason))
    }

    func perform(_ actions: [VRRPRouter.Action]) {
        for action in actions {
            switch action {
            case .instance(let name, let step, let context):
                guard let runtime = instances[name] else { continue }
                perform(step, for: runtime, context)
            case .groupState(let group, let from, let to, let member, let reason):
                logger.info(
                    "sync group \(group): \(from.rawValue) → \(to.rawValue)",
                    metadata: ["member": "\(member)", "reason": "\(reason)"])
                emit(.groupState(group: group, from: from.rawValue, to: to.rawValue))
            case .groupNotify(let group, let event):
                guard let notify = spec.group(named: group)?.notify else { continue }
                runNotify(notify, event, key: "group:" + group)
            case .switchSyncDaemon(let role):
                switchSyncDaemon(role)
            case .scriptStatus:
                // Logged by checkFinished, with the run's output.
                break
            }
        }
    }

    func perform(_ action: VRRP.VRRPInstance.Action, for runtime: InstanceRuntime, _ context: VRRPRouter.Context) {
        let name = runtime.spec.name
        switch action {
        case .stateChanged(let from, let to):
            runtime.since = wallClock()
            let priority = Int(context.priority)
            logger.notice(
                "vrrp_instance \(name): \(from.rawValue) → \(to.rawValue)",
                metadata: ["reason": "\(context.reason)", "priority": "\(priority)"])
            emit(.instanceState(instance: name, from: from.rawValue, to: to.rawValue, priority: priority, reason: context.reason))
        case .sendAdvert(let priority):
            sendAdvert(runtime, priority: priority)
        case .armTimer(let kind, let deadline):
            runtime.armed[kind] = deadline
            timers.insert(.instance(id: runtime.id, kind), at: deadline)
        case .cancelTimer(let kind):
            runtime.armed[kind] = nil
        case .addVirtualAddresses:
            addAddresses(runtime)
        case .removeVirtualAddresses:
            removeAddresses(runtime, leftovers: context.starting)
        case .sendGratuitous(let count):
            announce(runtime, count: count)
        case .notify(let event):
            runNotify(runtime.spec.notify, event, key: "instance:" + name)
        case .switchSyncDaemon(let role):
            switchSyncDaemon(role)
        case .masterReceivedLowerPriority:
            if let script = runtime.spec.notifyMasterRxLowerPriority {
                run(script, arguments: [], key: "instance:" + name)
            }
        }
    }

    // MARK: - Timers

    /// Fires every timer due at `now` (each one is fed the time it runs at).
    func fireDueTimers(now: Moment) {
        while let entry = timers.popDue(by: now) {
            switch entry.value {
            case .instance(let id, let kind):
                guard let runtime = instances.values.first(where: { $0.id == id }),
                    runtime.armed[kind] == entry.deadline
                else { continue }
                runtime.armed[kind] = nil
                dispatch(runtime, .timerFired(kind), now: now, reason: timerReason(kind, runtime))
            case .script(let name, let generation):
                guard let script = scripts[name], script.generation == generation else { continue }
                runCheck(script, now: now)
            case .linkPoll:
                pollLinks(now: now)
                timers.insert(.linkPoll, at: now + dependencies.linkPollInterval)
            }
        }
    }

    func timerReason(_ kind: VRRP.VRRPInstance.TimerKind, _ runtime: InstanceRuntime) -> String {
        switch kind {
        case .masterDown:
            let state = machine(runtime)
            let master = state?.masterAddress.map { " from \($0)" } ?? ""
            return "no advert\(master) for \(state?.masterDownInterval ?? .zero)"
        case .advert: return "advert timer"
        case .garpDelay, .garpRefresh: return "gratuitous ARP timer"
        }
    }

    // MARK: - Adverts out

    func sendAdvert(_ runtime: InstanceRuntime, priority: UInt8) {
        let w = runtime.spec.wiring
        guard let transport = transports[runtime.transportKey] else { return }
        let advert = w.advert.with(priority: priority)
        var failure: String?
        for destination in w.destinations {
            do {
                var bytes = try advert.encoded(source: w.source, destination: destination)
                if transport.ipsecAH != nil {
                    bytes = transport.ipsecAH?.seal(bytes, source: w.source.bytes, destination: destination.bytes,
                                                    unicast: !w.multicast) ?? bytes
                }
                try transport.transport.send(bytes, to: destination.bytes)
                runtime.sent += 1
            } catch {
                failure = "vrrp_instance \(runtime.spec.name): advert to \(destination) not sent: \(error)"
            }
        }
        if let failure {
            if !transport.failing { report(failure) }
            transport.failing = true
        } else if transport.failing {
            transport.failing = false
            logger.notice("vrrp_instance \(runtime.spec.name): adverts go out again on \(runtime.transportKey)")
        }
    }

    // MARK: - Addresses and routes

    func addAddresses(_ runtime: InstanceRuntime) {
        let name = runtime.spec.name
        for address in runtime.spec.wiring.addresses {
            do {
                switch try dependencies.network.add(address) {
                case .added:
                    ownedAddresses.insert(address)
                case .alreadyPresent:
                    if !ownedAddresses.contains(address) {
                        logger.warning("vrrp_instance \(name): \(address) was already present; it is not directord's and will be left in place")
                    }
                }
            } catch {
                report("vrrp_instance \(name): cannot add \(address): \(error)")
            }
        }
        for route in runtime.spec.wiring.routes {
            do {
                switch try dependencies.network.add(route) {
                case .added:
                    ownedRoutes.insert(route)
                case .alreadyPresent:
                    if !ownedRoutes.contains(route) {
                        logger.warning("vrrp_instance \(name): route \(route) was already present; it is not directord's and will be left in place")
                    }
                }
            } catch {
                report("vrrp_instance \(name): cannot add route \(route): \(error)")
            }
        }
        for rule in runtime.spec.wiring.rules {
            do {
                switch try dependencies.network.add(rule) {
                case .added:
                    ownedRules.insert(rule)
                case .alreadyPresent:
                    if !ownedRules.contains(rule) {
                        logger.warning("vrrp_instance \(name): rule \(rule) was already present; it is not directord's and will be left in place")
                    }
                }
            } catch {
                report("vrrp_instance \(name): cannot add rule \(rule): \(error)")
            }
        }
    }

    /// Removes what directord added. `leftovers` (at start): also the configured addresses found on the
    /// interface, as keepalived 2.2.7 does after an unclean stop; never the advert source address, never routes.
    func removeAddresses(_ runtime: InstanceRuntime, leftovers: Bool) {
        let name = runtime.spec.name
        for rule in runtime.spec.wiring.rules where ownedRules.contains(rule) {
            do {
                try dependencies.network.remove(rule)
                ownedRules.remove(rule)
            } catch {
                report("vrrp_instance \(name): cannot remove rule \(rule): \(error)")
            }
        }
        for route in runtime.spec.wiring.routes where ownedRoutes.contains(route) {
            do {
                try dependencies.network.remove(route)
                ownedRoutes.remove(route)
            } catch {
                report("vrrp_instance \(name): cannot remove route \(route): \(error)")
            }
        }
        let source = runtime.spec.wiring.source.bytes
        for address in runtime.spec.wiring.addresses {
            guard ownedAddresses.contains(address) || (leftovers && address.address != source) else { continue }
            do {
                try dependencies.network.remove(address)
                ownedAddresses.remove(address)
            } catch {
                report("vrrp_instance \(name): cannot remove \(address): \(error)")
            }
        }
    }

    func announce(_ runtime: InstanceRuntime, count: Int) {
        guard count > 0 else { return }
        var failed: String?
        for address in runtime.spec.wiring.addresses {
            for _ in 0..<count {
                do {
                    try dependencies.announcer.announce(address)
                } catch {
                    failed = "vrrp_instance \(runtime.spec.name): gratuitous ARP/NA for \(address) failed: \(error)"
                    break
                }
            }
        }
        if let failed { report(failed) }
    }

    // MARK: - Notify scripts

    func runNotify(_ scripts: NotifyScripts, _ event: NotifyEvent, key: String) {
        let invocations = event.invocations(
            master: scripts.master, backup: scripts.backup, fault: scripts.fault, stop: scripts.stop, any: scripts.any,
            deleted: scripts.deleted)
        for (notify, arguments) in invocations { run(notify, arguments: arguments, key: key) }
    }

    /// One notify script, after the earlier ones of its scope (`key`) have finished.
    func run(_ notify: NotifyScript, arguments: [String], key: String) {
        let prepared = policy.prepare(command: notify.command, arguments: arguments, user: notify.user)
        if let problem = prepared.problem {
            if prepared.script == nil { report(problem) } else { logger.warning("\(problem)") }
        }
        guard let script = prepared.script else { return }
        let previous = notifyTails[key]
        let runner = dependencies.scripts
        let timeout = dependencies.notifyTimeout
        let logger = self.logger
        notifyTails[key] = Task {
            await previous?.value
            let result = await runner.run(script, timeout: timeout)
            if result.outcome.succeeded {
                logger.debug("notify \(script) done")
            } else {
                logger.warning("notify \(script) \(result.outcome)", metadata: ["output": "\(result.output)"])
            }
        }
    }

    // MARK: - IPVS sync daemon

    func switchSyncDaemon(_ role: VRRP.VRRPInstance.SyncDaemonRole, alsoBackup: Bool = false) {
        guard let daemon = spec.syncDaemon, let make = dependencies.ipvs else { return }
        let table: any IPVSTable
        if let existing = ipvsTable {
            table = existing
        } else {
            do {
                table = try make()
                ipvsTable = table
            } catch {
                report("lvs_sync_daemon: IPVS is not available: \(error)")
                return
            }
        }
        let start: [IPVSSyncState]
        let stop: [IPVSSyncState]
        switch role {
        case .master: (start, stop) = alsoBackup ? ([.master, .backup], []) : ([.master], [.backup])
        case .backup: (start, stop) = ([.backup], [.master])
        case .stopped: (start, stop) = ([], [.master, .backup])
        }
        for state in stop {
            // ESRCH (not running) is the wanted outcome.
            try? table.stopSyncDaemon(state)
        }
        for state in start {
            do {
                try table.startSyncDaemon(daemon.daemon(state))
            } catch {
                // Left running by an unclean stop, maybe with other settings: restart it with ours.
                do {
                    try table.stopSyncDaemon(state)
                    try table.startSyncDaemon(daemon.daemon(state))
                } catch {
                    report("lvs_sync_daemon: cannot start the \(state.name) daemon on \(daemon.settings.interface): \(error)")
                    continue
                }
            }
        }
        logger.info("lvs_sync_daemon: \(role.rawValue)", metadata: ["interface": "\(daemon.settings.interface)", "syncid": "\(daemon.settings.syncID)"])
    }

    // MARK: - Stop

    /// Resigns every instance (priority 0, addresses released, notify_stop), stops the sync daemon and closes the
    /// sockets. Returns the notify tasks still running, for the caller to wait on with its deadline.
    func shutdown(now: Moment) -> [Task<Void, Never>] {
        guard running else { return Array(notifyTails.values) }
        for name in spec.instances.map(\.name) {
            if let runtime = instances[name] { dispatch(runtime, .shutdown, now: now, reason: "stopping") }
        }
        if let daemon = spec.syncDaemon, daemon.controller == nil { switchSyncDaemon(.stopped) }
        releaseEverything()
        updatePromoteSecondaries(wanted: [])
        transports.removeAll()
        removeVirtualMACs(keeping: [])
        instances.removeAll()
        router = VRRPRouter()
        scripts.removeAll()
        transports.removeAll()
        timers.removeAll()
        running = false
        logger.info("VRRP stopped")
        return Array(notifyTails.values)
    }

    /// What is still owned after every instance resigned (an instance that failed mid-way): removed too.
    func releaseEverything() {
        for rule in ownedRules {
            try? dependencies.network.remove(rule)
        }
        ownedRules.removeAll()
        for route in ownedRoutes {
            try? dependencies.network.remove(route)
        }
        for address in ownedAddresses {
            try? dependencies.network.remove(address)
        }
        ownedRoutes.removeAll()
        ownedAddresses.removeAll()
    }

    /// keepalived's promote_secondaries: set to 1 where an instance asks for it and it is 0, put back to 0 where
    /// directord set it and no instance asks any more.
    func updatePromoteSecondaries(wanted: Set<String>? = nil) {
        let wanted = wanted ?? Set(spec.instances.filter(\.promoteSecondaries).map(\.wiring.interface))
        let sysctl = dependencies.sysctl
        for interface in wanted.subtracting(promotedInterfaces).sorted() {
            let key = "net/ipv4/conf/\(interface)/promote_secondaries"
            do {
                guard try sysctl.read(key) != "1" else { continue }
                try sysctl.write(key, "1")
                promotedInterfaces.insert(interface)
                logger.info("promote_secondaries set on \(interface)")
            } catch {
                report("promote_secondaries on \(interface): \(error)")
            }
        }
        for interface in promotedInterfaces.subtracting(wanted).sorted() {
            do {
                try sysctl.write("net/ipv4/conf/\(interface)/promote_secondaries", "0")
            } catch {
                report("promote_secondaries on \(interface) not put back: \(error)")
            }
            promotedInterfaces.remove(interface)
        }
    }

    func report(_ problem: String) {
        logger.error("\(problem)")
        emit(.problem(problem))
    }

    // MARK: - Status

    func status() -> VRRPStatus {
        let list = spec.instances.map { s -> InstanceStatus in
            let w = s.wiring
            let runtime = instances[s.name]
            let machine = router.members[s.name]?.machine
            return InstanceStatus(
                name: s.name, interface: w.base.isEmpty ? w.interface : w.base, virtualRouterID: Int(w.advert.virtualRouterID),
                version: Int(w.machine.version.rawValue), state: machine?.state.rawValue ?? "INIT",
                priority: Int(machine?.effectivePriority ?? w.machine.priority),
                configuredPriority: Int(w.machine.priority), masterAddress: machine?.masterAddress?.description,
                since: runtime?.since ?? 0, advertsSent: runtime?.sent ?? 0, advertsReceived: runtime?.received ?? 0,
                drops: Dictionary(uniqueKeysWithValues: (runtime?.drops ?? [:]).map { ($0.key.rawValue, $0.value) }),
                addresses: s.addressText)
        }
        let groupList = spec.groups.map { g in
            SyncGroupStatus(name: g.name, state: router.groups[g.name]?.policy.state.rawValue ?? "INIT", members: g.members)
        }
        let scriptList = scripts.values.sorted { $0.spec.name < $1.spec.name }.map { r in
            let count = router.scripts[r.spec.name]
            return TrackedScriptStatus(
                name: r.spec.name, command: r.spec.command, up: count?.up ?? true, running: r.running,
                successesInARow: count?.successes ?? 0, failuresInARow: count?.failures ?? 0, rise: r.spec.rise,
                fall: r.spec.fall,
                lastResult: r.script == nil ? "not run: refused by script security" : r.lastResult, lastRun: r.lastRun)
        }
        return VRRPStatus(instances: list, syncGroups: groupList, scripts: scriptList)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
