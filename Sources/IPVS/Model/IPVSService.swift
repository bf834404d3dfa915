/// Layer-4 protocols IPVS balances (IPPROTO_* numbers).
public enum IPVSProtocol: UInt16, Sendable, Hashable, Codable, CaseIterable {
    case tcp = 6
    case udp = 17
    case sctp = 132

    /// The name ipvsadm prints in listings.
    public var listName: String {
        switch self {
        case .tcp: "TCP"
        case .udp: "UDP"
        case .sctp: "SCTP"
        }
    }
}

/// What identifies a virtual service in the kernel: protocol+address+port, or a firewall mark (per family).
public enum IPVSServiceKey: Hashable, Sendable, CustomStringConvertible {
    case address(IPVSProtocol, IPAddress, port: UInt16)
    case firewallMark(UInt32, family: AddressFamily)

    public var family: AddressFamily {
        switch self {
        case .address(_, let address, _): address.family
        case .firewallMark(_, let family): family
        }
    }

    /// The spelling an operator types to ipvsadm, used in error messages.
    public var description: String {
        switch self {
        case .address(let proto, let address, let port):
            let host = address.family == .ipv6 ? "[\(address)]" : address.description
            return "\(proto.listName) \(host):\(port)"
        case .firewallMark(let mark, let family):
            return family == .ipv6 ? "FWM \(mark) IPv6" : "FWM \(mark)"
        }
    }
}

/// Virtual service flags (IP_VS_SVC_F_*). The scheduler flags mean different things per scheduler.
public struct IPVSServiceFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let persistent = IPVSServiceFlags(rawValue: 0x0001)
    /// Set by the kernel on every listed service; never meaningful to write.
    public static let hashed = IPVSServiceFlags(rawValue: 0x0002)
    public static let onePacket = IPVSServiceFlags(rawValue: 0x0004)
    public static let scheduler1 = IPVSServiceFlags(rawValue: 0x0008)
    public static let scheduler2 = IPVSServiceFlags(rawValue: 0x0010)
    public static let scheduler3 = IPVSServiceFlags(rawValue: 0x0020)

    public static let shFallback = scheduler1
    public static let shPort = scheduler2
    public static let mhFallback = scheduler1
    public static let mhPort = scheduler2

    /// Flags that userspace may set; `hashed` is kernel state.
    public static let writable: IPVSServiceFlags = [.persistent, .onePacket, .scheduler1, .scheduler2, .scheduler3]
}

/// A virtual service rule as the kernel holds it (level 2 of the model: kernel rule values, no counters).
public struct IPVSService: Hashable, Sendable {
    public var key: IPVSServiceKey
    public var scheduler: String
    public var flags: IPVSServiceFlags
    /// Persistence timeout in seconds (meaningful with `.persistent`).
    public var timeout: UInt32
    /// Persistence granularity: for IPv4 the mask in host order (0xFFFFFFFF = per client), for IPv6 a prefix length.
    public var netmask: UInt32
    /// Persistence engine ("sip"), nil when none.
    public var persistenceEngine: String?

    public init(
        key: IPVSServiceKey, scheduler: String = "wlc", flags: IPVSServiceFlags = [], timeout: UInt32 = 0,
        netmask: UInt32? = nil, persistenceEngine: String? = nil
    ) {
        self.key = key
        self.scheduler = scheduler
        self.flags = flags
        self.timeout = timeout
        self.netmask = netmask ?? IPVSService.defaultNetmask(key.family)
        self.persistenceEngine = persistenceEngine
    }

    /// What ipvsadm sends when no -M is given: a whole IPv4 address or a /128.
    public static func defaultNetmask(_ family: AddressFamily) -> UInt32 {
        family == .ipv4 ? 0xFFFF_FFFF : 128
    }

    /// The fields userspace controls, used when comparing desired with dumped rules.
    public var normalized: IPVSService {
        var copy = self
        copy.flags = flags.intersection(.writable)
        if copy.persistenceEngine == "" { copy.persistenceEngine = nil }
        return copy
    }
}

/// A dumped service: the rule, its counters and its destinations.
public struct IPVSServiceEntry: Hashable, Sendable {
    public var service: IPVSService
    public var stats: IPVSStats
    public var destinations: [IPVSDestinationEntry]

    public init(service: IPVSService, stats: IPVSStats = IPVSStats(), destinations: [IPVSDestinationEntry] = []) {
        self.service = service
        self.stats = stats
        self.destinations = destinations
    }
}
