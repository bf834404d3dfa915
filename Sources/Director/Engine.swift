import ControlProtocol
import DirectorConfig
import FoundationEssentials
import Glibc
import IPVS
import Logging
import Platform

/// Why the engine refused to start or to reload: every diagnostic, each with its file:line:col.
public struct ConfigurationRejected: Error, CustomStringConvertible {
    public let diagnostics: [Diagnostic]
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// What the engine needs from the outside world; production values talk to the kernel, tests pass fakes.
public struct EngineDependencies: Sendable {
    public var loadConfiguration: @Sendable (String) -> LoadResult
    /// Opens the IPVS table (the kernel's, or a fake). Called once at start.
    public var openIPVS: @Sendable () throws -> any IPVSTable
    public var sysctl: any SysctlAccess
    public var notifier: SystemdNotifier
    public var now: @Sendable () -> Date
    /// Host routes for `announce` (rtnetlink, or a fake).
    public var network: any HostNetworking
    /// The record of the services directord owns, kept across a crash (nil: none kept; the daemon keeps one beside
    /// its state file).
    public var ownership: (any OwnershipStore)?
    /// Every address on this host's interfaces, for `ha_suspend` (nil when they cannot be read).
    public var localAddresses: @Sendable () -> Set<IPAddress>?

    public init(
        loadConfiguration: @escaping @Sendable (String) -> LoadResult = { ConfigurationLoader().load(path: $0) },
        openIPVS: @escaping @Sendable () throws -> any IPVSTable = { try KernelIPVSTable() },
        sysctl: any SysctlAccess = ProcSysctl(),
        notifier: SystemdNotifier = SystemdNotifier(environment: ProcessInfo.processInfo.environment),
        now: @escaping @Sendable () -> Date = { Date() },
        network: any HostNetworking = RouteNetlink(),
        ownership: (any OwnershipStore)? = nil,
        localAddresses: @escaping @Sendable () -> Set<IPAddress>? = HASuspend.systemAddresses
    ) {
        self.loadConfiguration = loadConfiguration
        self.openIPVS = openIPVS
        self.sysctl = sysctl
        self.notifier = notifier
        self.now = now
        self.network = network
        self.ownership = ownership
        self.localAddresses = localAddresses
    }
}

/// The kernel-table side of the engine: it owns the desired table, applies the smallest plan, remembers what it
/// applied (so health changes need no dump), repairs drift, reloads as a plan and cleans up on stop.
public actor Engine {
    public let configFile: String
    let logger: Logger
    let dependencies: EngineDependencies

    /// The running configuration; `index` follows it (set both with `adopt`).
    private(set) var configuration: Configuration
    /// The running configuration's virtual servers by identity, and its groups: a health change touches one.
    var index: Index

    struct Index {
        var virtualServers: [String: VirtualServer]
        var groups: [String: VirtualServerGroup]

        init(_ configuration: Configuration) {
            virtualServers = Dictionary(configuration.virtualServers.map { ($0.identity, $0) }, uniquingKeysWith: { a, _ in a })
            groups = DesiredTable.groupsByName(configuration)
        }
    }
    private var configLoadedAt: Date
    var configLoadedAtSeconds: Double { configLoadedAt.timeIntervalSince1970 }
    private var lastReload: ReloadResult?
    var table: (any IPVSTable)?
    /// Services directord created or adopted: the only ones it changes or deletes (unless lvs_flush).
    private var owned: Set<IPVSServiceKey> = []
    /// What the ownership record on disk holds (nil: unknown, rewritten at the next change).
    private var recorded: Set<IPVSServiceKey>?
    private var recordFailing = false
    /// What the kernel holds for the owned services as far as directord knows (refreshed by every dump).
    var applied: [IPVSServiceKey: IPVSServiceRules] = [:]
    /// Health verdicts: the destinations each virtual server wants now, keyed by VirtualServer.identity.
    var healthDestinations: [String: [DesiredDestination]] = [:]
    /// Reals a reload removed under `drain_on_removal`, kept at weight 0 in their services until their
    /// connections end or their deadline passes (`reapRemoved`).
    var lingering: [IPVSServiceKey: [Lingering]] = [:]
    /// The kernel's timeouts as directord found them, for `lvs_timeouts`.
    var timeoutKeeper = TimeoutKeeper()
    /// What the kernel refused, by service, until an operation on that service succeeds (status shows it).
    var refused: [IPVSServiceKey: String] = [:]
    /// Counters for status and metrics.
    private(set) var operationsApplied = 0
    private(set) var driftRepairs = 0

    let metrics: Metrics?

    public init(configFile: String, configuration: Configuration, logger: Logger, dependencies: EngineDependencies,
                metrics: Metrics? = nil) {
        self.metrics = metrics
        self.configFile = configFile
        self.configuration = configuration
        self.index = Index(configuration)
        self.logger = logger
        self.dependencies = dependencies
        self.configLoadedAt = dependencies.now()
    }

    /// Loads and validates; returns the configuration or every error (warnings are logged either way).
    public static func load(_ path: String, dependencies: EngineDependencies, logger: Logger) throws(ConfigurationRejected) -> Configuration {
        let result = dependencies.loadConfiguration(path)
        for warning in result.warnings { logger.warning("\(warning)") }
        guard result.errors.isEmpty, let configuration = result.configuration else {
            throw ConfigurationRejected(diagnostics: result.errors)
        }
        return configuration
    }

    // MARK: Start

    /// Forwarding, then the IPVS table adopted and reconciled: entries that already match are kept untouched.
    public func start() throws {
        // IPVS first: a host without it should be left exactly as it was.
        let table = try dependencies.openIPVS()
        self.table = table
        enableForwarding(for: configuration)
        enableSloppyTCP(for: configuration)
        applyTimeouts(configuration.globals.lvsTimeouts, reason: "start")
        // Services an earlier directord created (it may have been killed in the middle of a reload that dropped
        // them) are directord's too: those the configuration no longer has are removed.
        let previous = loadOwnership()
        let (desired, plan) = try readBack(table) { .services(Set($0.map(\.key)).union(previous)) }
        let desiredKeys = Set(desired.map(\.key))
        let deleted = Set(plan.operations.compactMap { if case .deleteService(let key) = $0 { key } else { nil } })
        for key in previous.subtracting(desiredKeys) where deleted.contains(key) {
            logger.notice("removing IPVS service \(key): an earlier directord created it and the configuration no longer has it")
        }
        recordAhead(desiredKeys)
        let kept = desired.count - Set(plan.operations.filter { if case .addService = $0 { true } else { false } }.map(\.serviceKey)).count
        do {
            try apply(plan.operations, reason: "start")
            remember(desired)
            record(owned)
        } catch IPVSError.batch {
            // A service the kernel refuses (a scheduler module missing) must not keep the others from running: as
            // keepalived does, the rest is programmed, and status and the drift check follow the refused part.
            rememberAfterRefusal(desired)
            record(owned)
        }
        logger.notice(
            "IPVS table adopted: \(desired.count) services, \(kept) kept as they were, \(plan.operations.count) operations, \(plan.foreignServices.count) foreign services left alone")
        for foreign in plan.foreignServices {
            logger.notice("leaving alone a service directord does not own: \(foreign)")
        }
    }

    /// Active-active directors: when a director leaves, the routers send its flows to another, which sees them
    /// mid-stream. IPVS schedules only a SYN unless sloppy_tcp is on; with it (and `mh`, which picks the same real
    /// on every director) the flow reaches the same real and survives. Set once, never turned off.
    func enableSloppyTCP(for configuration: Configuration) {
        guard configuration.virtualServers.contains(where: \.announce) else { return }
        let key = "net.ipv4.vs.sloppy_tcp"
        do {
            guard try dependencies.sysctl.read(key).trimmingWhitespace() != "1" else { return }
            try dependencies.sysctl.write(key, "1")
            logger.notice("enabled \(key)=1 for announced virtual servers: a flow another director started is scheduled here too")
        } catch {
            logger.error("cannot set \(key)=1 (flows moved here from another director will be reset): \(error)")
        }
    }

    /// NAT needs the director to route replies: ip_forward on (never turned off), as keepalived leaves it to us.
    func enableForwarding(for configuration: Configuration) {
        enableForwarding(for: configuration.virtualServers)
    }

    /// `enableForwarding(for:)` for some virtual servers (a reload's changed ones: the others had their turn).
    func enableForwarding(for servers: [VirtualServer]) {
        var ipv4 = false, ipv6 = false
        for vs in servers where vs.realServers.contains(where: { $0.forwarding == .nat }) || vs.forwarding == .nat {
            let family = vs.realServers.first?.endpoint.address.family
            if family == .ipv6 { ipv6 = true } else { ipv4 = true }
        }
        guard ipv4 || ipv6 else { return }
        do {
            for key in try Forwarding.enable(ipv4: ipv4, ipv6: ipv6, sysctl: dependencies.sysctl) {
                logger.notice("enabled forwarding for NAT: \(key)=1")
            }
        } catch {
            logger.error("cannot enable forwarding for NAT (replies from real servers will not be routed): \(error)")
        }
    }

    // MARK: Desired table

    /// The table `configuration` (default: the running one) wants with the given health verdicts (default: the
    /// current ones); a virtual server without a verdict has all its reals at their configured weights.
    func desiredRules(for configuration: Configuration? = nil, verdicts: [String: [DesiredDestination]]? = nil,
                      lingering: [IPVSServiceKey: [Lingering]]? = nil) -> [IPVSServiceRules] {
        let config = configuration ?? self.configuration
        let verdicts = verdicts ?? healthDestinations
        return Self.adding(lingering ?? self.lingering, to: DesiredTable.rules(for: config) { vs in
            verdicts[vs.identity] ?? vs.realServers.map(DesiredDestination.init(real:))
        })
    }

    /// Verdicts known before the table is (re)programmed: at start and before a reload's plan.
    public func seedDestinations(_ destinations: [String: [DesiredDestination]]) {
        healthDestinations.merge(destinations) { _, new in new }
    }

    /// The health side's verdict for one virtual server changed: apply just that difference, no dump, and look at
    /// that virtual server's services only (a whole-table plan per transition made every health change cost as much
    /// as the table's size).
    public func updateDestinations(for identity: String, _ destinations: [DesiredDestination]) {
        healthDestinations[identity] = destinations
        guard let vs = index.virtualServers[identity] else { return }
        let desired = Self.adding(lingering, to: DesiredTable.rules(for: vs, groups: index.groups, destinations: destinations))
        let actual = desired.compactMap { applied[$0.key] }.map(\.asEntry)
        let plan = IPVSReconciler.plan(desired: desired, actual: actual, ownership: .services(Set(desired.map(\.key))))
        guard !plan.operations.isEmpty else { return }
        do {
            try apply(plan.operations, reason: "health")
            for rules in desired { applied[rules.key] = rules }
        } catch {
            logger.error("applying the health change failed: \(error); the next drift check will repair it")
        }
    }

    private func remember(_ desired: [IPVSServiceRules]) {
        applied = Dictionary(desired.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        owned = Set(desired.map(\.key))
    }

    // MARK: Ownership record

    private func loadOwnership() -> Set<IPVSServiceKey> {
        guard let store = dependencies.ownership else { return [] }
        switch store.load() {
        case .success(let keys):
            recorded = keys
            return keys
        case .failure(let failure):
            logger.error("\(failure); directord owns the configuration's services only")
            return []
        }
    }

    /// Writes the record when it differs from `keys`. A failure is logged once, until a write succeeds again.
    private func record(_ keys: Set<IPVSServiceKey>) {
        guard let store = dependencies.ownership, keys != recorded else { return }
        switch store.save(keys) {
        case .success:
            recorded = keys
            if recordFailing { logger.notice("the record of the IPVS services directord owns is written again") }
            recordFailing = false
        case .failure(let failure):
            if !recordFailing {
                logger.error("cannot record the IPVS services directord owns: \(failure); if directord dies before this is mended, a service a reload removed may be left in the kernel")
            }
            recordFailing = true
            recorded = nil
        }
    }

    /// Before operations that may create the services `keys`: the record grows first, so that it never holds
    /// less than the kernel has of directord's.
    private func recordAhead(_ keys: some Sequence<IPVSServiceKey>) {
        guard dependencies.ownership != nil else { return }
        guard let recorded else { return record(owned.union(keys)) }
        // A reload that creates no service (weights, reals) writes nothing.
        guard keys.contains(where: { !recorded.contains($0) }) else { return }
        record(recorded.union(keys))
    }

    private func apply(_ operations: [IPVSOperation], reason: String) throws {
        guard !operations.isEmpty, let table else { return }
        if changedDuringDump != nil { changedDuringDump?.formUnion(operations.map(\.serviceKey)) }
        let failures = try table.apply(operations)
        operationsApplied += operations.count - failures.count
        metrics?.operations.increment(by: Int64(operations.count - failures.count))
        for operation in operations.prefix(50) where !failures.contains(where: { $0.operation == operation }) {
            logger.debug("\(reason): \(operation)")
        }
        for failure in failures {
            logger.error("\(reason): \(failure)")
        }
        let failed = Dictionary(failures.map { ($0.operation.serviceKey, "\($0)") }, uniquingKeysWith: { a, b in a + "; " + b })
        for operation in operations where failed[operation.serviceKey] == nil { refused[operation.serviceKey] = nil }
        refused.merge(failed) { _, new in new }
        if !failures.isEmpty { throw IPVSError.batch(failures) }
    }

    /// After a batch the kernel refused in part: what directord applied is right for every other service, and the
    /// services with a refused operation are read back (one get each), so the next plan starts from the truth.
    private func rememberAfterRefusal(_ desired: [IPVSServiceRules], keys: Set<IPVSServiceKey>? = nil) {
        if let keys {
            for key in keys { applied[key] = nil }
            for rules in desired { applied[rules.key] = rules }
            owned.subtract(keys)
            owned.formUnion(desired.map(\.key))
        } else {
            remember(desired)
        }
        guard let table else { return }
        for key in refused.keys {
            do {
                applied[key] = IPVSServiceRules(entry: try table.service(key))
                owned.insert(key)
            } catch {
                // Not there (the add was refused): nothing of it is applied.
                applied[key] = nil
            }
        }
    }

    /// After a reload's batch failed: refusals are known one by one; a transport that failed part-way leaves
    /// the kernel unknown until the next drift check reads it, so every service of before and after stays
    /// directord's, in memory and in the record.
    private func rememberAfterFailure(_ error: any Error, _ desired: [IPVSServiceRules], keys: Set<IPVSServiceKey>? = nil) {
        let before = owned
        rememberAfterRefusal(desired, keys: keys)
        if case IPVSError.batch = error {} else { owned.formUnion(before) }
        record(owned)
    }

    // MARK: Drift

    /// How long the last full read-back of the table and its comparison took (at start or in a drift check): the
    /// cost of one drift check, from which `DriftSchedule` spaces them.
    public private(set) var lastReadBack: Duration = .zero

    /// Dumps the kernel table and plans it against the running configuration's desired table: the start's adoption
    /// and every drift check. `ownership` is what directord owns when `lvs_flush` does not make it the whole table.
    /// Records the cost in `lastReadBack`.
    private func readBack(
        _ table: any IPVSTable, ownership: ([IPVSServiceRules]) -> IPVSOwnership
    ) throws -> (desired: [IPVSServiceRules], plan: IPVSPlan) {
        let started = ContinuousClock.now
        let actual = try table.services()
        let desired = desiredRules()
        let plan = IPVSReconciler.plan(
            desired: desired, actual: actual,
            ownership: configuration.globals.lvsFlush ? .wholeTable : ownership(desired))
        lastReadBack = started.duration(to: .now)
        return (desired, plan)
    }

    /// The table drift checks dump through: a socket of their own, so that the dump runs off the actor. A reload or
    /// a health change that comes meanwhile is applied at once instead of waiting for a dump of the whole table
    /// (seconds, on a large table and a slow machine).
    private var dumpTable: DumpTable?
    /// While a drift check's dump is in flight, the services changed since it began: their dumped state is stale.
    private var changedDuringDump: Set<IPVSServiceKey>?

    final class DumpTable: @unchecked Sendable {
        /// Used by one drift check at a time.
        let table: any IPVSTable
        init(_ table: any IPVSTable) { self.table = table }

        /// The dump, on a thread of its own: it blocks in recvmsg for as long as the kernel takes, which must hold
        /// neither the actor nor a thread of the concurrency pool.
        func services() async throws -> [IPVSServiceEntry] {
            try await withCheckedThrowingContinuation { continuation in
                do {
                    try OSThread.start(name: "directord-dump") { continuation.resume(with: Result { try self.table.services() }) }
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Dumps the kernel and repairs whatever differs from the desired table in the services directord owns.
    /// Returns what was found, one line per operation (empty when the table was right). Services that a reload or a
    /// health change touched while the dump was in flight are left to the next check.
    @discardableResult
    public func repairDrift() async -> [String] {
        guard table != nil else { return [] }
        let dumper: DumpTable
        if let dumpTable {
            dumper = dumpTable
        } else {
            do { dumper = DumpTable(try dependencies.openIPVS()) } catch {
                logger.error("drift check failed: \(error)")
                return []
            }
            dumpTable = dumper
        }
        let started = ContinuousClock.now
        changedDuringDump = []
        let dumped: [IPVSServiceEntry]
        do {
            dumped = try await dumper.services()
        } catch {
            changedDuringDump = nil
            logger.error("drift check failed: \(error)")
            return []
        }
        let changed = changedDuringDump ?? []
        changedDuringDump = nil
        let desired = desiredRules().filter { !changed.contains($0.key) }
        let actual = dumped.filter { !changed.contains($0.service.key) }
        let plan = IPVSReconciler.plan(
            desired: desired, actual: actual,
            ownership: configuration.globals.lvsFlush ? .wholeTable : .services(owned.subtracting(changed)))
        lastReadBack = started.duration(to: .now)
        guard !plan.operations.isEmpty else { return [] }
        let found = plan.operations.map(\.description)
        logger.warning("the kernel table drifted from the configuration; repairing", metadata: [
            "operations": "\(found.count)", "found": "\(found.prefix(20).joined(separator: "; "))",
        ])
        driftRepairs += 1
        metrics?.driftRepairs.increment()
        let deleted = Set(plan.operations.compactMap { if case .deleteService(let key) = $0 { key } else { nil } })
        let keys = Set(desired.map(\.key)).union(deleted)
        do {
            try apply(plan.operations, reason: "drift repair")
            for key in deleted { applied[key] = nil }
            for rules in desired { applied[rules.key] = rules }
            owned.subtract(deleted)
            owned.formUnion(desired.map(\.key))
        } catch IPVSError.batch {
            rememberAfterRefusal(desired, keys: keys)
        } catch {
            logger.error("drift repair failed: \(error)")
        }
        record(owned)
        return found
    }

    // MARK: Reload

    /// The IPVS part of a reload to `next`, as a plan (nothing applied); `verdicts` are the health side's
    /// prospective destinations under `next` (nil: every real at its configured weight).
    public func plan(for next: Configuration, verdicts: [String: [DesiredDestination]]? = nil) -> ChangePlan {
        changePlan(to: next, verdicts: verdicts ?? [:]).plan
    }

    func changePlan(to next: Configuration, verdicts: [String: [DesiredDestination]]? = nil)
        -> (plan: ChangePlan, operations: [IPVSOperation], desired: [IPVSServiceRules], lingering: [IPVSServiceKey: [Lingering]])
    {
        let lingering = lingering(after: next)
        let desired = desiredRules(for: next, verdicts: verdicts, lingering: lingering)
        let actual = applied.values.map(\.asEntry)
        let ownership: IPVSOwnership = next.globals.lvsFlush ? .wholeTable : .services(owned.union(desired.map(\.key)))
        let plan = IPVSReconciler.plan(desired: desired, actual: actual, ownership: ownership)
        var descriptions = plan.operations.map(\.description)
        if next.globals.lvsTimeouts != configuration.globals.lvsTimeouts { descriptions.append(TimeoutKeeper.describe(next.globals.lvsTimeouts)) }
        return (ChangePlan(ipvsOperations: descriptions), plan.operations, desired, lingering)
    }

    /// The IPVS part of a reload that changes only some virtual servers (`changes.isolated`): the services of the
    /// changed and removed ones are planned against what directord applied to them; the rest are not looked at.
    func changePlan(to next: Configuration, changes: ReloadChanges)
        -> (plan: ChangePlan, operations: [IPVSOperation], desired: [IPVSServiceRules], lingering: [IPVSServiceKey: [Lingering]], keys: Set<IPVSServiceKey>)
    {
        let lingering = lingering(after: next, examining: changes.changed)
        var desired: [IPVSServiceRules] = []
        for vs in changes.changed {
            desired += DesiredTable.rules(for: vs, groups: index.groups,
                                          destinations: healthDestinations[vs.identity] ?? vs.realServers.map(DesiredDestination.init(real:)))
        }
        desired = Self.adding(lingering, to: desired)
        var keys = Set(desired.map(\.key))
        for vs in changes.removed { keys.formUnion(DesiredTable.serviceKeys(for: vs, groups: index.groups)) }
        let actual = keys.compactMap { applied[$0] }.map(\.asEntry)
        let plan = IPVSReconciler.plan(desired: desired, actual: actual, ownership: .services(keys))
        return (ChangePlan(ipvsOperations: plan.operations.map(\.description)), plan.operations, desired, lingering, keys)
    }

    /// Applies the IPVS difference to an already validated configuration, which becomes the running one.
    /// Returns the plan and, when the kernel refused part of it, why (the next drift check retries).
    /// With `changes` that are isolated, only the changed and removed virtual servers' services are planned.
    public func adopt(_ next: Configuration) -> (plan: ChangePlan, error: String?) {
        adopt(next, changes: nil)
    }

    func adopt(_ next: Configuration, changes: ReloadChanges?) -> (plan: ChangePlan, error: String?) {
        if let changes, changes.isolated, !next.globals.lvsFlush {
            // Verdicts of virtual servers that no longer exist would leak; the health side re-sent the changed ones.
            for vs in changes.removed {
                healthDestinations[vs.identity] = nil
                index.virtualServers[vs.identity] = nil
            }
            for vs in changes.changed { index.virtualServers[vs.identity] = vs }
            let change = changePlan(to: next, changes: changes)
            announceLingering(change.lingering)
            lingering = change.lingering
            enableForwarding(for: changes.changed)
            enableSloppyTCP(for: next)
            configuration = next
            configLoadedAt = dependencies.now()
            recordAhead(change.desired.map(\.key))
            do {
                try apply(change.operations, reason: "reload")
                for key in change.keys { applied[key] = nil }
                for rules in change.desired { applied[rules.key] = rules }
                owned.subtract(change.keys)
                owned.formUnion(change.desired.map(\.key))
                record(owned)
                return (change.plan, nil)
            } catch {
                rememberAfterFailure(error, change.desired, keys: change.keys)
                return (change.plan, "\(error)")
            }
        }
        let identities = Set(next.virtualServers.map(\.identity))
        healthDestinations = healthDestinations.filter { identities.contains($0.key) }
        let change = changePlan(to: next)
        announceLingering(change.lingering)
        lingering = change.lingering
        enableForwarding(for: next)
        enableSloppyTCP(for: next)
        if next.globals.lvsTimeouts != configuration.globals.lvsTimeouts { applyTimeouts(next.globals.lvsTimeouts, reason: "reload") }
        configuration = next
        index = Index(next)
        configLoadedAt = dependencies.now()
        recordAhead(change.desired.map(\.key))
        do {
            try apply(change.operations, reason: "reload")
            remember(change.desired)
            record(owned)
            return (change.plan, nil)
        } catch {
            rememberAfterFailure(error, change.desired)
            return (change.plan, "\(error)")
        }
    }

    private func announceLingering(_ next: [IPVSServiceKey: [Lingering]]) {
        for (key, entries) in next {
            for entry in entries where !(lingering[key]?.contains { $0.destination.endpoint == entry.destination.endpoint } ?? false) {
                logger.notice("real \(entry.endpoint) removed from virtual_server \(entry.virtualServer): at weight 0 until its connections end (drain_on_removal, at most until \(entry.deadline))")
            }
        }
    }

    public func recordReload(ok: Bool, message: String) {
        lastReload = ReloadResult(at: dependencies.now().timeIntervalSince1970, ok: ok, message: message)
    }

    // MARK: Stop

    /// What stop does to the kernel table, by configuration.
    public enum StopMode: Sendable {
        /// Delete the services directord owns (keepalived's default), whole services at a time.
        case removeOwned
        /// lvs_flush_on_stop: flush the whole table.
        case flushAll
        /// Leave every entry in place (a restart adopts them with zero operations).
        case keep
    }

    public func stop(mode: StopMode) {
        guard let table else { return }
        // Whatever the mode, the kernel gets its own timeouts back (keepalived's ipvs_stop does it too).
        applyTimeouts(LVSTimeouts(), reason: "stop")
        do {
            switch mode {
            case .keep:
                logger.notice("leaving \(owned.count) IPVS services in place on stop")
            case .flushAll:
                try table.flush()
                record([])
                logger.notice("flushed the IPVS table on stop")
            case .removeOwned:
                // A service delete takes its destinations with it: one operation per service, sent in batches
                // without dumping the table first; a service someone already removed answers "not found", which
                // is what we wanted.
                let deletes = owned.map(IPVSOperation.deleteService)
                let failures = try table.apply(deletes).filter { $0.error.kernelErrno != ESRCH }
                operationsApplied += deletes.count - failures.count
                for failure in failures { logger.error("stop: \(failure)") }
                record(Set(failures.map(\.operation.serviceKey)))
                logger.notice("removed \(deletes.count - failures.count) IPVS services on stop")
            }
        } catch {
            logger.error("cleaning the IPVS table on stop failed: \(error)")
        }
    }

    // MARK: Status

    /// The health policy's state of one virtual server, as status shows it: the one source of each real's health,
    /// and of quorum with its hysteresis (the engine alone can only count what is in the table).
    public struct HealthView: Sendable {
        public struct Real: Sendable {
            public var up: Bool
            public var since: Date
            public var lastResult: String
        }

        public var reals: [Endpoint: Real]
        public var quorumUp: Bool?
        public var liveWeight: Int?
    }

    /// The table's side of status, with each virtual server's health taken from `health` where the health side has
    /// a view of it (without one, as the table holds it: every real at its weight is up).
    public func status(health: [String: HealthView] = [:]) -> DaemonStatus {
        DaemonStatus(
            pid: getpid(), configFile: configFile, configLoadedAt: configLoadedAt.timeIntervalSince1970,
            lastReload: lastReload,
            virtualServers: configuration.virtualServers.map { vs in
                let view = health[vs.identity]
                let destinations = healthDestinations[vs.identity] ?? vs.realServers.map(DesiredDestination.init(real:))
                let byEndpoint = Dictionary(destinations.map { ($0.endpoint, $0) }, uniquingKeysWith: { a, _ in a })
                let sorry = vs.sorryServer.map { byEndpoint[$0.endpoint] != nil } ?? false
                let counted = vs.realServers.reduce(0) { $0 + max(0, byEndpoint[$1.endpoint]?.weight ?? 0) }
                let liveWeight = view?.liveWeight ?? counted
                var status = VirtualServerStatus(
                    name: vs.identity, quorumUp: view?.quorumUp ?? (liveWeight >= Int(vs.quorum)),
                    liveWeight: liveWeight, quorum: Int(vs.quorum), sorryServerActive: sorry,
                    sorryServer: vs.sorryServer.map { $0.endpoint.description },
                    reals: vs.realServers.map { real in
                        let inKernel = byEndpoint[real.endpoint]
                        let state = view?.reals[real.endpoint]
                        return RealServerStatus(
                            address: real.endpoint.description, up: state?.up ?? ((inKernel?.weight ?? 0) > 0),
                            since: (state?.since ?? configLoadedAt).timeIntervalSince1970,
                            lastResult: state?.lastResult ?? (real.checks.isEmpty ? "no checker" : ""),
                            kernelWeight: inKernel?.weight, configuredWeight: real.weight)
                    } + removingStatus(of: vs.identity))
                let refusals = refused.isEmpty ? [] : DesiredTable.serviceKeys(for: vs, groups: index.groups).compactMap { refused[$0] }
                if !refusals.isEmpty { status.notInForce = refusals.joined(separator: "; ") }
                return status
            })
    }

    func statusLine() -> String {
        "\(owned.count) IPVS services, \(operationsApplied) operations applied, \(driftRepairs) drift repairs"
    }
}

/// When the next drift check runs. Each check dumps the whole table: on a big table and a slow machine one check can
/// take seconds, so the wait stretches to `costFactor` times the last check's duration, which keeps the checks
/// under about 1/costFactor of a CPU whatever the table's size.
public enum DriftSchedule {
    public static let costFactor = 20

    public static func nextWait(interval: Duration, lastCheck: Duration) -> Duration {
        max(interval, lastCheck * costFactor)
    }

    /// How long until the next check, `elapsed` after the last one (or after drift repair was turned on); nil
    /// while it is off (interval 0). The daemon asks again at least every second with the running configuration's
    /// interval, so a reload that changes drift_check_interval, or turns it on or off, takes effect at once.
    public static func remaining(interval: Duration, lastCheck: Duration, elapsed: Duration) -> Duration? {
        guard interval > .zero else { return nil }
        return max(.zero, nextWait(interval: interval, lastCheck: lastCheck) - elapsed)
    }
}

extension IPVSServiceRules {
    /// These rules as a dump would show them: what directord applied stands in for the kernel's answer.
    var asEntry: IPVSServiceEntry {
        IPVSServiceEntry(service: service, destinations: destinations.map { IPVSDestinationEntry(destination: $0) })
    }
}
