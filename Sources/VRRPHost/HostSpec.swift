import DirectorConfig
import Glibc
import IPVS
import Platform
import VRRP

/// One vrrp_instance as the host runs it: the configuration translated into the core's types, plus the host
/// facts (source address, interface addresses and routes). Comparing two specs is how reload decides.
struct InstanceSpec: Equatable {
    /// A change here restarts the instance (it resigns and starts again); anything else is updated in place.
    struct Wiring: Equatable {
        var machine: VRRP.VRRPInstance.Configuration
        var interface: String
        var family: Int32
        var source: IPAddress
        /// The multicast group, or each unicast peer.
        var destinations: [IPAddress]
        var multicast: Bool
        /// TTL / hop limit of unicast adverts (unicast_ttl); multicast ones always carry 255.
        var hopLimit: UInt8
        /// The advert with the configured priority (the state machine picks the priority of each send).
        var advert: Advertisement
        var filter: AdvertisementFilter
        /// virtual_ipaddress then virtual_ipaddress_excluded: both are added, only the first are advertised.
        var addresses: [InterfaceAddress]
        var routes: [HostRoute]
        /// virtual_rules: added after the routes when MASTER, removed before them.
        var rules: [HostRule]
        var group: String?
        /// auth_type AH: adverts travel in an IPsec AH header keyed with this password (IPv4, VRRPv2 only).
        var ipsecAH: AuthPassword? = nil
        /// use_vmac: the macvlan to create on `base` before the socket opens, and remove when the instance goes.
        var virtualMAC: DirectorConfig.VirtualMAC? = nil
        /// The instance's configured interface (`interface` is the macvlan when adverts go through it).
        var base: String = ""
    }

    var name: String
    var wiring: Wiring
    /// promote_secondaries on the instance's interface.
    var promoteSecondaries: Bool
    var notify: NotifyScripts
    var notifyMasterRxLowerPriority: NotifyScript?
    /// Tracked objects, named "script:NAME", "interface:NAME" and "file:NAME".
    var tracked: [TrackedObject]
    /// "ADDR/PLEN dev IF" per address, for status.
    var addressText: [String]
}

struct GroupSpec: Equatable {
    var name: String
    var members: [String]
    var notify: NotifyScripts
    var tracked: [TrackedObject]
}

/// A vrrp_script without its source location (moving it in the file is no change).
struct ScriptSpec: Equatable {
    var name: String
    var command: String
    var interval: Duration
    var timeout: Duration
    var rise: Int
    var fall: Int
    var user: ScriptUser?
    var initFail: Bool

    init(_ s: VRRPScript) {
        name = s.name
        command = s.command
        interval = s.interval
        timeout = s.timeout
        rise = max(1, s.rise)
        fall = max(1, s.fall)
        user = s.user
        initFail = s.initFail
    }
}

/// The connection-sync daemon settings and who drives it.
struct SyncDaemonSpec: Equatable {
    /// Interface, sync id, maxlen, group, port, ttl (the state is filled in per switch).
    var settings: IPVSSyncDaemon
    /// The instance whose state it follows; nil runs master and backup all the time.
    var controller: String?

    func daemon(_ state: IPVSSyncState) -> IPVSSyncDaemon {
        var d = settings
        d.state = state
        return d
    }

    var description: String {
        "interface \(settings.interface) syncid \(settings.syncID)" + (controller.map { " following \($0)" } ?? "")
    }
}

/// Everything the host runs for one configuration.
struct HostSpec {
    var instances: [InstanceSpec] = []
    var groups: [GroupSpec] = []
    var scripts: [String: ScriptSpec] = [:]
    /// The path of each track_file an instance or group tracks, by name.
    var trackFiles: [String: String] = [:]
    /// The vrrp_track_process blocks something tracks, by name.
    var trackProcesses: [String: TrackProcess] = [:]
    var syncDaemon: SyncDaemonSpec?
    var globals: GlobalSettings
    /// Instances that cannot run on this host, one line each.
    var problems: [String] = []

    func instance(named name: String) -> InstanceSpec? { instances.first { $0.name == name } }
    func group(named name: String) -> GroupSpec? { groups.first { $0.name == name } }

    static func build(_ config: Configuration, addresses lookup: any InterfaceAddressLookup) -> HostSpec {
        var spec = HostSpec(globals: config.globals)
        var groupOf: [String: String] = [:]
        for group in config.syncGroups {
            for member in group.members { groupOf[member.name] = group.name }
        }
        let daemon = config.effectiveSyncDaemon
        if let daemon {
            spec.syncDaemon = SyncDaemonSpec(
                settings: IPVSSyncDaemon(
                    state: .master, interface: daemon.interface,
                    syncID: UInt32(daemon.syncID ?? 0), maxLength: UInt16(clamping: daemon.maxLength ?? 0),
                    // Defaults are left to the kernel, so `ipvsadm -Ln --daemon` reads as with keepalived.
                    group: daemon.group == LVSSyncDaemon.defaultGroup ? nil : daemon.group,
                    port: daemon.port == LVSSyncDaemon.defaultPort ? 0 : daemon.port, ttl: daemon.ttl ?? 0),
                controller: daemon.instance.flatMap { config.vrrpInstance(named: $0) == nil ? nil : $0 })
        }
        var trackedScripts = Set<String>()
        for instance in config.vrrpInstances {
            switch instanceSpec(instance, config: config, group: groupOf[instance.name], lookup: lookup) {
            case .success(let s):
                spec.instances.append(s)
                for t in instance.trackScripts { trackedScripts.insert(t.name) }
            case .failure(let problem):
                spec.problems.append(problem.description)
            }
        }
        let running = Set(spec.instances.map(\.name))
        for group in config.syncGroups {
            let members = group.members.map(\.name).filter { running.contains($0) }
            guard !members.isEmpty else { continue }
            spec.groups.append(
                GroupSpec(
                    name: group.name, members: members, notify: group.notify,
                    tracked: tracked(
                        scripts: group.trackScripts, interfaces: group.trackInterfaces, files: group.trackFiles,
                        processes: group.trackProcesses, implicit: nil, config: config)))
            for t in group.trackScripts { trackedScripts.insert(t.name) }
        }
        let trackedFiles = config.vrrpInstances.filter { running.contains($0.name) }.flatMap(\.trackFiles)
            + config.syncGroups.flatMap(\.trackFiles)
        for t in trackedFiles {
            if let file = config.trackFiles.first(where: { $0.name == t.name }) { spec.trackFiles[t.name] = file.path }
        }
        let trackedProcesses = config.vrrpInstances.filter { running.contains($0.name) }.flatMap(\.trackProcesses)
            + config.syncGroups.flatMap(\.trackProcesses)
        for t in trackedProcesses {
            if let p = config.trackProcesses.first(where: { $0.name == t.name }) { spec.trackProcesses[t.name] = p }
        }
        for name in trackedScripts {
            if let script = config.vrrpScript(named: name) { spec.scripts[name] = ScriptSpec(script) }
        }
        return spec
    }

    static func tracked(
        scripts: [TrackedScript], interfaces: [TrackedInterface], files: [TrackedFile] = [],
        processes: [TrackedProcess] = [], implicit: String?, config: Configuration
    ) -> [TrackedObject] {
        var result: [TrackedObject] = []
        // keepalived tracks the instance's own interface (link down → FAULT) unless dont_track_primary.
        if let implicit, !interfaces.contains(where: { $0.name == implicit }) {
            result.append(TrackedObject(name: "interface:" + implicit))
        }
        for i in interfaces {
            result.append(TrackedObject(name: "interface:" + i.name, weight: i.weight, reverse: i.reverse))
        }
        for t in scripts {
            let script = config.vrrpScript(named: t.name)
            result.append(
                TrackedObject(
                    name: "script:" + t.name, weight: t.weight ?? script?.weight ?? 0,
                    reverse: t.reverse ?? script?.reverse ?? false))
        }
        for t in files {
            let file = config.trackFiles.first { $0.name == t.name }
            result.append(
                TrackedObject(
                    name: "file:" + t.name, weight: t.weight ?? file?.weight ?? 1, reverse: t.reverse ?? file?.reverse ?? false,
                    tracksValue: true))
        }
        for t in processes {
            let p = config.trackProcesses.first { $0.name == t.name }
            result.append(
                TrackedObject(name: "process:" + t.name, weight: t.weight ?? p?.weight ?? 0, reverse: t.reverse ?? p?.reverse ?? false))
        }
        return result
    }

    /// The tracked object of unicast_fault_no_peer without peers; always down.
    static let noUnicastPeer = "config:unicast_fault_no_peer"

    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    static func instanceSpec(
        _ instance: DirectorConfig.VRRPInstance, config: Configuration, group: String?,
        lookup: any InterfaceAddressLookup
    ) -> Result<InstanceSpec, Problem> {
        let name = instance.name
        func problem(_ text: String) -> Result<InstanceSpec, Problem> { .failure(Problem(description: "vrrp_instance \(name): \(text)")) }
        let family = instance.family
        let af = family == .ipv4 ? AF_INET : AF_INET6
        let version: VRRP.VRRPVersion = instance.version == .v2 ? .v2 : .v3
        let vips = instance.virtualAddresses.map(\.prefix.address)
        let unicast = !instance.unicastPeers.isEmpty
        let source: IPAddress
        if let configured = unicast ? instance.unicastSourceIP : instance.multicastSourceIP {
            source = configured
        } else {
            let candidates: [[UInt8]]
            do {
                candidates = try lookup.addresses(of: instance.interface, family: af)
            } catch {
                return problem("cannot read the addresses of \(instance.interface): \(error)")
            }
            let vipSet = Set(vips)
            let usable = candidates.compactMap { IPAddress(bytes: $0) }.filter { !vipSet.contains($0) }
            // RFC 5798 §5.1.2.1: IPv6 adverts come from the link-local address.
            let preferred = family == .ipv6 ? (usable.first(where: \.isIPv6LinkLocal) ?? usable.first) : usable.first
            guard let chosen = preferred else {
                return problem(
                    "interface \(instance.interface) has no \(family == .ipv4 ? "IPv4" : "IPv6") address to send adverts from "
                        + "(add one, or set \(unicast ? "unicast_src_ip" : "mcast_src_ip"))")
            }
            source = chosen
        }
        let destinations: [IPAddress] =
            unicast
            ? instance.unicastPeers
            : [instance.multicastGroup ?? (family == .ipv4 ? .multicastIPv4 : .multicastIPv6)]
        let authentication: Authentication
        switch instance.authentication?.type {
        case nil: authentication = .none
        case .pass?: authentication = version == .v2 ? .password(AuthPassword(instance.authentication?.password ?? "")) : .none
        case .ah?: authentication = version == .v2 ? .ipsecAH : .none
        }
        let ipsecAH = authentication == .ipsecAH ? AuthPassword(instance.authentication?.password ?? "") : nil
        let interval = centiseconds(instance.advertInterval)
        let advert: Advertisement
        do {
            advert = try Advertisement(
                version: version, family: family, virtualRouterID: instance.virtualRouterID, priority: instance.priority,
                addresses: vips, advertIntervalCentiseconds: interval, authentication: authentication)
        } catch {
            return problem(error.description)
        }
        let garp = instance.garp
        var machine = VRRP.VRRPInstance.Configuration(
            name: name, version: version, priority: instance.priority, advertIntervalCentiseconds: interval,
            // keepalived clears an initial MASTER state under AH: the anti-replay counter must first be learnt.
            primaryAddress: source, initialState: instance.initialState == .master && ipsecAH == nil ? .master : .backup,
            preempt: instance.preempt, preemptDelay: instance.preemptDelay, downTimerAdverts: instance.downTimerAdverts,
            lowerPriorityNoAdvert: instance.lowerPriorityNoAdvert, higherPrioritySendAdvert: instance.higherPrioritySendAdvert,
            gratuitous: VRRP.VRRPInstance.GratuitousPolicy(
                masterDelay: garp.masterDelay, masterRepeat: garp.masterRepeat, lowerPriorityDelay: garp.lowerPriorityDelay,
                lowerPriorityRepeat: garp.lowerPriorityRepeat, refreshInterval: garp.masterRefresh, refreshRepeat: garp.masterRefreshRepeat),
            inSyncGroup: group != nil,
            controlsSyncDaemon: config.effectiveSyncDaemon?.instance == name)
        machine.reportsLowerPriority = instance.notifyMasterRxLowerPriority != nil
        machine.notifyDeleted = instance.notify.notifyDeleted
        do {
            _ = try VRRP.VRRPInstance(machine)
        } catch {
            return .failure(Problem(description: error.description))
        }
        let filter = AdvertisementFilter(
            version: version, virtualRouterID: instance.virtualRouterID, advertIntervalCentiseconds: interval,
            authentication: authentication, addresses: instance.checksAdvertAddresses ? vips : nil, localPriority: instance.priority,
            // keepalived checks the TTL of multicast adverts only; unicast peers may be routed.
            hopLimit: unicast ? .any : .exactly255,
            // check_unicast_src: keepalived drops adverts from an address that is not a unicast_peer.
            allowedSources: instance.checkUnicastSource ? Set(destinations) : nil,
            sourceHopLimits: Dictionary(
                instance.unicastPeerTTLs.map { peer, ttl in (peer, AdvertisementFilter.SourceHopLimit(lower: ttl.min, upper: ttl.max)) },
                uniquingKeysWith: { a, _ in a }))
        let all = instance.virtualAddresses + instance.excludedAddresses
        // With use_vmac the addresses go on the macvlan, so the neighbours learn the virtual router's MAC for them.
        let vmac = instance.virtualMAC
        let addresses = all.map { interfaceAddress($0, defaultDevice: vmac?.interface ?? instance.interface) }
        let socketInterface = vmac.map { $0.transmitOnBase ? instance.interface : $0.interface } ?? instance.interface
        let routes = instance.virtualRoutes.map(hostRoute)
        let rules = instance.virtualRules.map(HostObjects.rule)
        let wiring = InstanceSpec.Wiring(
            machine: machine, interface: socketInterface, family: af, source: source, destinations: destinations,
            multicast: !unicast, hopLimit: unicast ? instance.unicastTTL ?? 255 : 255, advert: advert, filter: filter, addresses: addresses, routes: routes, rules: rules,
            group: group, ipsecAH: ipsecAH, virtualMAC: vmac, base: instance.interface)
        return .success(
            InstanceSpec(
                name: name, wiring: wiring, promoteSecondaries: instance.promoteSecondaries, notify: instance.notify,
                notifyMasterRxLowerPriority: instance.notifyMasterRxLowerPriority,
                tracked: tracked(
                    scripts: instance.trackScripts, interfaces: instance.trackInterfaces, files: instance.trackFiles,
                    processes: instance.trackProcesses, implicit: instance.tracksPrimary ? instance.interface : nil, config: config)
                    // A condition that never clears: FAULT for as long as this configuration runs.
                    + (instance.faultsWithoutPeers ? [TrackedObject(name: HostSpec.noUnicastPeer)] : []),
                addressText: zip(all, addresses).map { "\($0.0.prefix) dev \($0.1.interface)" }))
    }

    static func centiseconds(_ d: Duration) -> UInt16 {
        let c = d.components
        return UInt16(clamping: c.seconds * 100 + c.attoseconds / 10_000_000_000_000_000)
    }

    /// IFA_F_NODAD.
    static let noDAD: UInt32 = 0x02

    static func interfaceAddress(_ v: VirtualAddress, defaultDevice: String) -> InterfaceAddress {
        let a = v.prefix.address
        return InterfaceAddress(
            family: a.family == .ipv4 ? AF_INET : AF_INET6, address: a.bytes,
            prefixLength: v.peer?.length ?? v.prefix.length, interface: v.device ?? defaultDevice, label: v.label, broadcast: v.broadcast?.bytes,
            scope: v.scope.map(scopeValue), peer: v.peer?.address.bytes,
            flags: v.flags.rawValue | (a.family == .ipv6 && !v.duplicateAddressDetection ? noDAD : 0),
            preferredLifetime: a.family == .ipv6 ? v.preferredLifetime : nil)
    }

    static func hostRoute(_ r: VirtualRoute) -> HostRoute {
        HostRoute(
            family: r.destination.address.family == .ipv4 ? AF_INET : AF_INET6, destination: r.destination.address.bytes,
            prefixLength: r.destination.length, gateway: r.gateway?.bytes, source: r.source?.bytes, interface: r.device,
            table: r.table, metric: r.metric, scope: r.scope.map(scopeValue), type: routeKind(r.type),
            routeProtocol: r.protocolNumber,
            nextHops: r.nextHops.map { HostNextHop(gateway: $0.gateway?.bytes, interface: $0.device, weight: $0.weight, onlink: $0.onlink) },
            tos: r.tos, onlink: r.onlink,
            metrics: Dictionary(r.metrics.map { ($0.kind, $0.value) }, uniquingKeysWith: { _, last in last }),
            lockedMetrics: r.metrics.filter(\.locked).reduce(0) { $0 | (1 << UInt32($1.kind)) }, append: r.append)
    }

    static func routeKind(_ t: RouteType) -> UInt8 {
        switch t {
        case .unicast: RouteKind.unicast
        case .blackhole: RouteKind.blackhole
        case .unreachable: RouteKind.unreachable
        case .prohibit: RouteKind.prohibit
        case .throw: RouteKind.throw
        }
    }

    /// RT_SCOPE_* values.
    static func scopeValue(_ s: AddressScope) -> UInt8 {
        switch s {
        case .global: return 0
        case .site: return 200
        case .link: return 253
        case .host: return 254
        case .nowhere: return 255
        }
    }
}

extension InstanceSpec.Wiring {
    /// What differs from `old`, in configuration words, for reload plans.
    func differences(from old: InstanceSpec.Wiring) -> [String] {
        var out: [String] = []
        let m = machine, o = old.machine
        if interface != old.interface { out.append("interface \(old.interface) → \(interface)") }
        if advert.virtualRouterID != old.advert.virtualRouterID {
            out.append("virtual_router_id \(old.advert.virtualRouterID) → \(advert.virtualRouterID)")
        }
        if m.version != o.version { out.append("version \(o.version.rawValue) → \(m.version.rawValue)") }
        if m.priority != o.priority { out.append("priority \(o.priority) → \(m.priority)") }
        if m.advertIntervalCentiseconds != o.advertIntervalCentiseconds {
            out.append("advert_int \(Double(o.advertIntervalCentiseconds) / 100) → \(Double(m.advertIntervalCentiseconds) / 100)")
        }
        if m.initialState != o.initialState { out.append("state \(o.initialState.rawValue) → \(m.initialState.rawValue)") }
        if m.preempt != o.preempt || m.preemptDelay != o.preemptDelay { out.append("preempt settings") }
        if m.gratuitous != o.gratuitous { out.append("garp settings") }
        if m.lowerPriorityNoAdvert != o.lowerPriorityNoAdvert || m.higherPrioritySendAdvert != o.higherPrioritySendAdvert {
            out.append("lower_prio_no_advert/higher_prio_send_advert")
        }
        if m.downTimerAdverts != o.downTimerAdverts { out.append("down_timer_adverts \(o.downTimerAdverts) → \(m.downTimerAdverts)") }
        if m.controlsSyncDaemon != o.controlsSyncDaemon { out.append("sync daemon control") }
        if source != old.source { out.append("source address \(old.source) → \(source)") }
        if destinations != old.destinations || multicast != old.multicast { out.append("multicast/unicast peers") }
        if hopLimit != old.hopLimit { out.append("unicast_ttl \(old.hopLimit) → \(hopLimit)") }
        if advert.authentication != old.advert.authentication { out.append("authentication") }
        if filter.allowedSources != old.filter.allowedSources { out.append("check_unicast_src") }
        if addresses != old.addresses { out.append("virtual addresses") }
        if routes != old.routes { out.append("virtual_routes") }
        if rules != old.rules { out.append("virtual_rules") }
        if group != old.group { out.append("sync group \(old.group ?? "none") → \(group ?? "none")") }
        if out.isEmpty { out.append("settings") }
        return out
    }
}

/// The kernel's form of configured addresses and routes, for the director's static blocks (the same conversion
/// VRRP's own addresses and routes go through).
public enum HostObjects {
    public static func address(_ v: VirtualAddress, defaultDevice: String) -> InterfaceAddress {
        HostSpec.interfaceAddress(v, defaultDevice: defaultDevice)
    }

    public static func route(_ r: VirtualRoute) -> HostRoute { HostSpec.hostRoute(r) }

    public static func rule(_ r: StaticRule) -> HostRule {
        let family = r.family == .ipv4 ? AF_INET : AF_INET6
        let action: HostRule.Action = switch r.action {
        case .table(let t): .table(t)
        case .goto(let t): .goto(t)
        case .nop: .nop
        case .blackhole: .blackhole
        case .unreachable: .unreachable
        case .prohibit: .prohibit
        }
        return HostRule(
            family: family, source: r.from?.address.bytes, sourceLength: r.from?.length ?? 0,
            destination: r.to?.address.bytes, destinationLength: r.to?.length ?? 0, invert: r.invert,
            priority: r.priority, tos: r.tos, mark: r.fwmark, mask: r.fwmask, inputInterface: r.inputInterface,
            outputInterface: r.outputInterface, action: action)
    }
}
