// Director: the engine — configuration → health + VRRP → desired IPVS table → reconciler → kernel; reload, drift.
import DirectorConfig
import IPVS

/// One destination as the health side wants it in the kernel now (a live real, an inhibited one at weight 0,
/// or the sorry server).
public struct DesiredDestination: Hashable, Sendable {
    public var endpoint: Endpoint
    public var weight: Int
    public var forwarding: ForwardingMethod
    public var upperThreshold: UInt32
    public var lowerThreshold: UInt32

    public init(endpoint: Endpoint, weight: Int, forwarding: ForwardingMethod, upperThreshold: UInt32 = 0,
                lowerThreshold: UInt32 = 0) {
        self.endpoint = endpoint
        self.weight = weight
        self.forwarding = forwarding
        self.upperThreshold = upperThreshold
        self.lowerThreshold = lowerThreshold
    }

    /// A real server at its configured weight.
    public init(real: RealServer) {
        self.init(endpoint: real.endpoint, weight: real.weight, forwarding: real.forwarding,
                  upperThreshold: real.upperThreshold, lowerThreshold: real.lowerThreshold)
    }
}

/// Configuration objects → kernel rules (level 1 → level 2 of the model). Pure.
public enum DesiredTable {
    /// The kernel services one virtual server stands for: one, or one per member of its virtual_server_group.
    public static func serviceKeys(for vs: VirtualServer, groups: [String: VirtualServerGroup]) -> [IPVSServiceKey] {
        let proto = ipvsProtocol(vs.protocolType)
        switch vs.key {
        case .endpoint(let e):
            return [.address(proto, e.address, port: e.port)]
        case .fwmark(let mark):
            let family: AddressFamily = vs.realServers.first.map { $0.endpoint.address.family == .ipv6 ? .ipv6 : .ipv4 } ?? .ipv4
            return [.firewallMark(mark, family: family)]
        case .group(let name):
            guard let group = groups[name] else { return [] }
            var keys: [IPVSServiceKey] = []
            for member in group.members {
                switch member {
                case .range(let first, let last, let port):
                    for address in addresses(from: first, to: last) {
                        keys.append(.address(proto, address, port: port))
                    }
                case .fwmark(let mark, let family):
                    keys.append(.firewallMark(mark, family: family == .ipv6 ? .ipv6 : .ipv4))
                }
            }
            return keys
        }
    }

    /// The rule for one kernel service of a virtual server (scheduler, flags, persistence).
    public static func service(_ key: IPVSServiceKey, for vs: VirtualServer) -> IPVSService {
        var flags: IPVSServiceFlags = []
        var timeout: UInt32 = 0
        if let persistence = vs.persistenceTimeout {
            flags.insert(.persistent)
            timeout = persistence
        }
        if vs.onePacketScheduling { flags.insert(.onePacket) }
        let f = vs.schedulerFlags
        if f.shFallback || f.mhFallback || f.flag1 { flags.insert(.scheduler1) }
        if f.shPort || f.mhPort || f.flag2 { flags.insert(.scheduler2) }
        if f.flag3 { flags.insert(.scheduler3) }
        var netmask: UInt32? = nil
        if let length = vs.persistenceGranularity {
            netmask = key.family == .ipv4
                ? (length == 0 ? 0 : UInt32.max << UInt32(32 - min(32, length)))
                : UInt32(length)
        }
        return IPVSService(key: key, scheduler: vs.scheduler.rawValue, flags: flags, timeout: timeout, netmask: netmask,
                           persistenceEngine: vs.persistenceTimeout != nil ? vs.persistenceEngine : nil)
    }

    public static func destination(_ d: DesiredDestination) -> IPVSDestination {
        IPVSDestination(
            address: d.endpoint.address, port: d.endpoint.port,
            forwarding: d.forwarding == .nat ? .masquerade : .route,
            weight: Int32(clamping: d.weight), upperThreshold: d.upperThreshold, lowerThreshold: d.lowerThreshold)
    }

    /// The whole desired table: every virtual server's services with the destinations the health side wants.
    public static func rules(
        for configuration: Configuration, destinations: (VirtualServer) -> [DesiredDestination]
    ) -> [IPVSServiceRules] {
        let groups = groupsByName(configuration)
        return configuration.virtualServers.flatMap { rules(for: $0, groups: groups, destinations: destinations($0)) }
    }

    /// One virtual server's services (several for a virtual_server_group) with the given destinations.
    public static func rules(
        for vs: VirtualServer, groups: [String: VirtualServerGroup], destinations: [DesiredDestination]
    ) -> [IPVSServiceRules] {
        let wanted = destinations.map(destination)
        return serviceKeys(for: vs, groups: groups).map { IPVSServiceRules(service: service($0, for: vs), destinations: wanted) }
    }

    public static func groupsByName(_ configuration: Configuration) -> [String: VirtualServerGroup] {
        Dictionary(configuration.virtualServerGroups.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    public static func ipvsProtocol(_ p: TransportProtocol) -> IPVSProtocol {
        switch p {
        case .tcp: .tcp
        case .udp: .udp
        case .sctp: .sctp
        }
    }

    /// An inclusive address range; the validator bounds its size, and this walk refuses anything larger too.
    static func addresses(from first: IPAddress, to last: IPAddress) -> [IPAddress] {
        switch (first, last) {
        case (.v4(let a), .v4(let b)) where a.value <= b.value && b.value - a.value < 65536:
            return (a.value...b.value).map { .v4(IPv4Address($0)) }
        case (.v6(let a), .v6(let b)) where a.high == b.high && a.low <= b.low && b.low - a.low < 65536:
            return (a.low...b.low).map { .v6(IPv6Address(high: a.high, low: $0)) }
        default:
            return [first]
        }
    }
}
