// Checks across objects once everything is parsed: references, duplicates, address families, reply paths.
// Pure: it reads the model (and adjusts what keepalived adjusts), reporting at each object's origin.
import Addresses

enum ConfigurationValidator {
    static func validate(_ config: inout Configuration, log: inout DiagnosticLog) {
        // After an error some objects are incomplete (a bad address is dropped), so warnings about what is
        // missing would only echo it.
        let complete = !log.hasErrors
        checkUniqueNames(config, log: &log)
        checkSyncGroups(&config, log: &log)
        checkTracking(config, log: &log)
        checkInstances(config, complete: complete, log: &log)
        checkSyncDaemon(config, log: &log)
        checkVirtualServers(config, complete: complete, log: &log)
    }

    private static func at(_ origin: SourceOrigin) -> SourceLocation {
        origin.location ?? SourceLocation(file: "<configuration>", line: 0, column: 0)
    }

    private static func checkUniqueNames(_ config: Configuration, log: inout DiagnosticLog) {
        func unique<T>(_ items: [T], _ what: String, name: (T) -> String, origin: (T) -> SourceOrigin, log: inout DiagnosticLog) {
            var seen: [String: SourceOrigin] = [:]
            for item in items {
                if let first = seen[name(item)] {
                    log.error(at(origin(item)), "\(what) '\(name(item))' is already defined at \(first)")
                } else {
                    seen[name(item)] = origin(item)
                }
            }
        }
        unique(config.vrrpScripts, "vrrp_script", name: \.name, origin: \.origin, log: &log)
        unique(config.vrrpInstances, "vrrp_instance", name: \.name, origin: \.origin, log: &log)
        unique(config.syncGroups, "vrrp_sync_group", name: \.name, origin: \.origin, log: &log)
        unique(config.virtualServerGroups, "virtual_server_group", name: \.name, origin: \.origin, log: &log)
    }

    private static func checkSyncGroups(_ config: inout Configuration, log: inout DiagnosticLog) {
        var groupOf: [String: String] = [:]
        for group in config.syncGroups {
            if group.members.isEmpty {
                log.error(at(group.origin), "vrrp_sync_group '\(group.name)' has no 'group { ... }' members")
            }
            for member in group.members {
                guard config.vrrpInstance(named: member.name) != nil else {
                    var message = "vrrp_sync_group '\(group.name)' names vrrp_instance '\(member.name)', which is not defined"
                    if let close = closestName(to: member.name, among: config.vrrpInstances.map(\.name)) {
                        message += "; did you mean '\(close)'?"
                    }
                    log.error(at(member.origin), message)
                    continue
                }
                if let other = groupOf[member.name] {
                    log.error(at(member.origin), "vrrp_instance '\(member.name)' is already in vrrp_sync_group '\(other)'; an instance belongs to one group")
                } else {
                    groupOf[member.name] = group.name
                }
            }
        }
        // keepalived zeroes tracking weights of grouped instances so members cannot disagree on priority.
        for i in config.vrrpInstances.indices where groupOf[config.vrrpInstances[i].name] != nil {
            for j in config.vrrpInstances[i].trackScripts.indices {
                let tracked = config.vrrpInstances[i].trackScripts[j]
                let weight = tracked.weight ?? config.vrrpScript(named: tracked.name)?.weight ?? 0
                if weight != 0 {
                    log.warning(
                        at(tracked.origin),
                        "track_script '\(tracked.name)' weight \(weight) is set to 0: instance '\(config.vrrpInstances[i].name)' is in a sync group (as keepalived does); track the script in the vrrp_sync_group instead")
                    config.vrrpInstances[i].trackScripts[j].weight = 0
                }
            }
            for j in config.vrrpInstances[i].trackProcesses.indices {
                let tracked = config.vrrpInstances[i].trackProcesses[j]
                let weight = tracked.weight ?? config.trackProcesses.first { $0.name == tracked.name }?.weight ?? 0
                if weight != 0 {
                    log.warning(
                        at(tracked.origin),
                        "track_process '\(tracked.name)' weight \(weight) is set to 0: instance '\(config.vrrpInstances[i].name)' is in a sync group (as keepalived does); track the process in the vrrp_sync_group instead")
                    config.vrrpInstances[i].trackProcesses[j].weight = 0
                }
            }
            for j in config.vrrpInstances[i].trackFiles.indices {
                let tracked = config.vrrpInstances[i].trackFiles[j]
                let weight = tracked.weight ?? config.trackFiles.first { $0.name == tracked.name }?.weight ?? 0
                if weight != 0 {
                    log.warning(
                        at(tracked.origin),
                        "track_file '\(tracked.name)' weight \(weight) is set to 0: instance '\(config.vrrpInstances[i].name)' is in a sync group (keepalived requires weight 0 there); track the file in the vrrp_sync_group instead")
                    config.vrrpInstances[i].trackFiles[j].weight = 0
                }
            }
        }
    }

    private static func checkTracking(_ config: Configuration, log: inout DiagnosticLog) {
        let names = config.vrrpScripts.map(\.name)
        let tracked = config.vrrpInstances.flatMap(\.trackScripts) + config.syncGroups.flatMap(\.trackScripts)
        for entry in tracked where !names.contains(entry.name) {
            var message = "track_script names vrrp_script '\(entry.name)', which is not defined"
            if let close = closestName(to: entry.name, among: names) { message += "; did you mean '\(close)'?" }
            log.error(at(entry.origin), message)
        }
        let processes = config.trackProcesses.map(\.name)
        for entry in config.vrrpInstances.flatMap(\.trackProcesses) + config.syncGroups.flatMap(\.trackProcesses) where !processes.contains(entry.name) {
            // keepalived ignores the entry ("not found, ignoring"); directord refuses, as for track_script.
            var message = "track_process names vrrp_track_process '\(entry.name)', which is not defined"
            if let close = closestName(to: entry.name, among: processes) { message += "; did you mean '\(close)'?" }
            log.error(at(entry.origin), message)
        }
        let files = config.trackFiles.map(\.name)
        for entry in config.vrrpInstances.flatMap(\.trackFiles) + config.syncGroups.flatMap(\.trackFiles) where !files.contains(entry.name) {
            // keepalived ignores the entry with a configuration error; directord refuses, as for track_script.
            var message = "track_file names track_file '\(entry.name)', which is not defined"
            if let close = closestName(to: entry.name, among: files) { message += "; did you mean '\(close)'?" }
            log.error(at(entry.origin), message)
        }
    }

    private static func checkInstances(_ config: Configuration, complete: Bool, log: inout DiagnosticLog) {
        var seen: [String: VRRPInstance] = [:]
        for instance in config.vrrpInstances {
            let key = "\(instance.interface)/\(instance.family.rawValue)/\(instance.virtualRouterID)"
            if let other = seen[key], !disjointUnicast(instance, other) {
                log.error(
                    at(instance.origin),
                    "vrrp_instance '\(instance.name)' uses virtual_router_id \(instance.virtualRouterID) on \(instance.interface), already used by '\(other.name)' at \(other.origin)")
            } else {
                seen[key] = instance
            }
            let family = instance.family
            for peer in instance.unicastPeers where peer.family != family {
                log.error(at(instance.origin), "vrrp_instance '\(instance.name)' has \(family.rawValue) addresses but unicast peer \(peer)")
            }
            if let source = instance.unicastSourceIP, !instance.unicastPeers.isEmpty, source.family != family {
                log.error(at(instance.origin), "vrrp_instance '\(instance.name)' has \(family.rawValue) addresses but unicast_src_ip \(source)")
            }
            if complete && instance.virtualAddresses.isEmpty {
                log.warning(at(instance.origin), "vrrp_instance '\(instance.name)' has no virtual_ipaddress")
            }
        }
    }

    /// keepalived allows a VRID twice on one interface when both are unicast with no peer in common.
    private static func disjointUnicast(_ a: VRRPInstance, _ b: VRRPInstance) -> Bool {
        !a.unicastPeers.isEmpty && !b.unicastPeers.isEmpty && Set(a.unicastPeers).isDisjoint(with: b.unicastPeers)
    }

    private static func checkSyncDaemon(_ config: Configuration, log: inout DiagnosticLog) {
        if let daemon = config.globals.syncDaemon, let name = daemon.instance, config.vrrpInstance(named: name) == nil {
            log.error(at(daemon.origin), "lvs_sync_daemon names vrrp_instance '\(name)', which is not defined")
        }
        let perInstance = config.vrrpInstances.filter { $0.lvsSyncDaemonInterface != nil }
        guard let chosen = config.effectiveSyncDaemon else { return }
        for instance in perInstance where config.globals.syncDaemon != nil || instance.name != chosen.instance {
            log.warning(
                at(instance.origin),
                "the sync daemon interface of vrrp_instance '\(instance.name)' is ignored: IPVS runs one sync daemon, already set to \(chosen.interface) by \(config.globals.syncDaemon != nil ? "lvs_sync_daemon" : "vrrp_instance '\(chosen.instance ?? "")'") (as keepalived does)")
        }
    }

    private static func checkVirtualServers(_ config: Configuration, complete: Bool, log: inout DiagnosticLog) {
        // Once per load over every server (cached ones too): by index, so no server or real is copied to be read.
        let servers = config.virtualServers
        var seen: [VirtualServerIdentity: SourceOrigin] = [:]
        seen.reserveCapacity(servers.count)
        var vipAddresses = Set<IPAddress>(minimumCapacity: servers.count)
        for i in servers.indices {
            if case .endpoint(let e) = servers[i].key { vipAddresses.insert(e.address) }
        }
        let managedAddresses = config.vrrpInstances.flatMap { $0.virtualAddresses + $0.excludedAddresses }
        for i in servers.indices {
            let identity = servers[i].serviceIdentity
            if let other = seen[identity] {
                let vs = servers[i]
                log.error(at(vs.origin), "virtual_server \(vs.key) \(vs.protocolType.rawValue) is already defined at \(other)")
                continue
            }
            seen[identity] = servers[i].origin
            if case .group(let name) = servers[i].key, config.virtualServerGroup(named: name) == nil {
                log.error(at(servers[i].origin), "virtual_server group '\(name)': no virtual_server_group with that name")
                continue
            }
            guard complete else { continue }
            var natAddresses: [IPAddress] = []
            for r in servers[i].realServers.indices where servers[i].realServers[r].forwarding == .nat {
                natAddresses.append(servers[i].realServers[r].endpoint.address)
            }
            if let sorry = servers[i].sorryServer, sorry.forwarding == .nat { natAddresses.append(sorry.endpoint.address) }
            if !natAddresses.isEmpty && !hasReplyPath(for: natAddresses, managed: managedAddresses, vips: vipAddresses) {
                let vs = servers[i]
                let family: AddressFamily? = vs.family
                log.warning(
                    at(vs.origin),
                    "NAT virtual_server \(vs.key) has no VRRP-managed gateway address for its real servers: replies must be routed back through this director (its address must be their default gateway); directord turns on \(family == .ipv6 ? "net.ipv6.conf.all.forwarding" : "net.ipv4.ip_forward"), which keepalived leaves to the operator")
            }
        }
    }

    /// What one virtual server's own text decides (its reals against each other and against the service): run when
    /// it is resolved, so a block the parse cache holds brings these diagnostics with it. `complete`: the block
    /// resolved without an error (otherwise a dropped real would make the totals lie).
    static func checkWithin(_ vs: VirtualServer, complete: Bool, log: inout DiagnosticLog) {
        let family: AddressFamily? = vs.family
        var endpoints: [Endpoint: SourceOrigin] = [:]
        for real in vs.realServers {
            if let first = endpoints[real.endpoint] {
                log.error(at(real.origin), "real_server \(real.endpoint) appears twice in virtual_server \(vs.key) (first at \(first))")
            } else {
                endpoints[real.endpoint] = real.origin
            }
            if let family, real.endpoint.address.family != family {
                log.error(at(real.origin), "real_server \(real.endpoint.address) is \(real.endpoint.address.family.rawValue) but virtual_server \(vs.key) is \(family.rawValue); NAT and DR cannot mix address families")
            }
            if real.forwarding == .dr, case .endpoint(let e) = vs.key, real.endpoint.port != e.port {
                log.warning(at(real.origin), "real_server \(real.endpoint): DR cannot change the port; packets arrive on port \(e.port)")
            }
        }
        if let sorry = vs.sorryServer {
            if endpoints[sorry.endpoint] != nil {
                log.error(at(sorry.origin), "sorry_server \(sorry.endpoint) is also a real_server of this virtual_server")
            }
            if let family, sorry.endpoint.address.family != family {
                log.error(at(sorry.origin), "sorry_server \(sorry.endpoint.address) is \(sorry.endpoint.address.family.rawValue) but virtual_server \(vs.key) is \(family.rawValue)")
            }
        }
        let totalWeight = vs.realServers.reduce(0) { $0 + $1.weight }
        if complete && !vs.realServers.isEmpty && UInt64(vs.quorum) > UInt64(totalWeight) {
            log.warning(at(vs.origin), "virtual_server \(vs.key): quorum \(vs.quorum) is more than the total weight \(totalWeight) of its real servers, so it is never met")
        }
    }

    /// A VRRP address that is not itself a service address and, when it has a subnet, covers a real server.
    private static func hasReplyPath(for reals: [IPAddress], managed: [VirtualAddress], vips: Set<IPAddress>) -> Bool {
        managed.contains { candidate in
            let address = candidate.prefix.address
            // A virtual service's own address is the reals' gateway only when they are on its subnet (one-armed NAT).
            if vips.contains(address) { return reals.contains { candidate.prefix.length < address.family.maximumPrefixLength && candidate.prefix.contains($0) } }
            if candidate.prefix.length == address.family.maximumPrefixLength {
                return reals.contains { $0.family == address.family }
            }
            return reals.contains { candidate.prefix.contains($0) }
        }
    }
}

extension VirtualServerGroup {
    /// The family of the group's addresses (or of its first fwmark that names one).
    var family: AddressFamily? {
        for member in members {
            switch member {
            case .range(let first, _, _): return first.family
            case .fwmark(_, let family): if let family { return family }
            }
        }
        return nil
    }
}
