import ControlProtocol
import DirectorConfig
import FoundationEssentials
import IPVS

/// A real's connections as the kernel counts them, summed over its virtual server's kernel services.
public struct IPVSConnectionCount: Hashable, Sendable {
    public var active: UInt32
    public var inactive: UInt32
}

/// A real a reload removed while its virtual server stayed, under `drain_on_removal`: kept in the table at weight
/// 0 so its established connections go on, and deleted when they end or the deadline passes.
struct Lingering: Hashable, Sendable {
    var destination: IPVSDestination
    var virtualServer: String
    var endpoint: Endpoint
    var deadline: Date
}

extension Engine {
    /// `rules` with each lingering real added, at weight 0, to the services it lingers in (unless it is back).
    static func adding(_ lingering: [IPVSServiceKey: [Lingering]], to rules: [IPVSServiceRules]) -> [IPVSServiceRules] {
        guard !lingering.isEmpty else { return rules }
        return rules.map { rules in
            guard let extra = lingering[rules.key] else { return rules }
            var rules = rules
            for entry in extra where !rules.destinations.contains(where: { $0.endpoint == entry.destination.endpoint }) {
                rules.destinations.append(entry.destination)
            }
            return rules
        }
    }

    /// What lingers once `next` runs: what lingered already and is still removed, and the reals `next` removes from a
    /// virtual server that stays and has a `drain_on_removal` time, where the kernel holds them now.
    func lingering(after next: Configuration) -> [IPVSServiceKey: [Lingering]] {
        lingering(after: next, examining: next.virtualServers)
    }

    /// `lingering(after:)` when only `examined` can have lost reals (a reload's changed virtual servers).
    func lingering(after next: Configuration, examining examined: [VirtualServer]) -> [IPVSServiceKey: [Lingering]] {
        // Only what already lingers needs the new configuration's servers by name.
        let servers = lingering.isEmpty ? [:] : Dictionary(next.virtualServers.map { ($0.identity, $0) }, uniquingKeysWith: { a, _ in a })
        var result: [IPVSServiceKey: [Lingering]] = [:]
        for (key, entries) in lingering {
            let still = entries.filter { entry in
                guard let vs = servers[entry.virtualServer] else { return false }
                return !vs.realServers.contains { $0.endpoint == entry.endpoint }
            }
            if !still.isEmpty { result[key] = still }
        }
        let groups = DesiredTable.groupsByName(next)
        let now = dependencies.now()
        for vs in examined {
            let timeout = vs.drainOnRemoval ?? next.globals.drainOnRemoval
            guard timeout > .zero, let old = index.virtualServers[vs.identity] else { continue }
            let kept = Set(vs.realServers.map(\.endpoint))
            let removed = old.realServers.filter { !kept.contains($0.endpoint) }
            guard !removed.isEmpty else { continue }
            let deadline = now.addingTimeInterval(Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
            for key in DesiredTable.serviceKeys(for: vs, groups: groups) {
                guard let rules = applied[key] else { continue }
                for real in removed {
                    let endpoint = real.endpoint
                    guard var destination = rules.destinations.first(where: { $0.endpoint == endpoint }),
                          !(result[key]?.contains { $0.destination.endpoint == endpoint } ?? false)
                    else { continue }
                    destination.weight = 0
                    result[key, default: []].append(
                        Lingering(destination: destination, virtualServer: vs.identity, endpoint: real.endpoint, deadline: deadline))
                }
            }
        }
        return result
    }

    /// Deletes each lingering real whose active connections have ended, or whose deadline has passed; the daemon
    /// calls it every second. Answers what it deleted, one line each.
    @discardableResult
    public func reapRemoved() -> [String] {
        guard !lingering.isEmpty, let table else { return [] }
        let now = dependencies.now()
        var done: [String] = []
        var touched: Set<String> = []
        for (key, entries) in lingering {
            // A service the kernel no longer has (or cannot show) holds no connections to wait for.
            let kernel = try? table.service(key)
            let remaining = entries.filter { entry in
                let active = kernel?.destinations.first { $0.destination.endpoint == entry.destination.endpoint }?.activeConnections ?? 0
                guard active > 0, now < entry.deadline else {
                    done.append("real \(entry.endpoint) of virtual_server \(entry.virtualServer) deleted: "
                        + (active == 0 ? "no active connection left" : "drain_on_removal time is up with \(active) active connections"))
                    touched.insert(entry.virtualServer)
                    return false
                }
                return true
            }
            lingering[key] = remaining.isEmpty ? nil : remaining
        }
        for identity in touched { updateDestinations(for: identity, healthDestinations[identity] ?? Self.configured(index.virtualServers[identity])) }
        for line in done { logger.notice("\(line)") }
        return done
    }

    private static func configured(_ vs: VirtualServer?) -> [DesiredDestination] {
        vs?.realServers.map(DesiredDestination.init(real:)) ?? []
    }

    /// Each real's connections in the kernel now, summed over the virtual server's services (several for a group);
    /// reals the kernel does not show are absent.
    public func connections(of identity: String) -> [Endpoint: IPVSConnectionCount] {
        guard let table, let vs = index.virtualServers[identity] else { return [:] }
        var names: [Endpoint: Endpoint] = [:]
        for real in vs.realServers {
            names[real.endpoint] = real.endpoint
        }
        for entries in lingering.values { for entry in entries where entry.virtualServer == identity { names[entry.destination.endpoint] = entry.endpoint } }
        var counts: [Endpoint: IPVSConnectionCount] = [:]
        for key in DesiredTable.serviceKeys(for: vs, groups: index.groups) {
            guard let entry = try? table.service(key) else { continue }
            for d in entry.destinations {
                guard let name = names[d.destination.endpoint] else { continue }
                var count = counts[name] ?? IPVSConnectionCount(active: 0, inactive: 0)
                count.active += d.activeConnections
                count.inactive += d.inactiveConnections
                counts[name] = count
            }
        }
        return counts
    }

    /// The lingering reals of one virtual server as status shows them.
    func removingStatus(of identity: String) -> [RealServerStatus] {
        var seen: Set<Endpoint> = []
        let entries = lingering.values.flatMap { $0 }.filter { $0.virtualServer == identity && seen.insert($0.endpoint).inserted }
        guard !entries.isEmpty else { return [] }
        let counts = connections(of: identity)
        return entries.sorted { $0.endpoint < $1.endpoint }.map { entry in
            RealServerStatus(
                address: entry.endpoint.description, up: false, since: configLoadedAtSeconds,
                lastResult: "removed by the last reload; deleted when its connections end, at the latest \(entry.deadline)",
                kernelWeight: 0, removing: true, activeConnections: counts[entry.endpoint]?.active,
                inactiveConnections: counts[entry.endpoint]?.inactive)
        }
    }
}
