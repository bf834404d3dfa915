/// How IPVS forwards to a real server (IP_VS_CONN_F_FWD_MASK values). directord writes only masq and route.
public enum IPVSForwarding: Sendable, Hashable {
    case masquerade
    case local
    case tunnel
    case route
    case bypass
    case other(UInt32)

    public init(connectionFlags: UInt32) {
        switch connectionFlags & 0x7 {
        case 0: self = .masquerade
        case 1: self = .local
        case 2: self = .tunnel
        case 3: self = .route
        case 4: self = .bypass
        default: self = .other(connectionFlags & 0x7)
        }
    }

    public var connectionFlags: UInt32 {
        switch self {
        case .masquerade: 0
        case .local: 1
        case .tunnel: 2
        case .route: 3
        case .bypass: 4
        case .other(let raw): raw
        }
    }

    /// ipvsadm's fwd_name(); bypass has no name there (glibc prints a NULL %s as "(null)").
    public var listName: String {
        switch self {
        case .masquerade: "Masq"
        case .local: "Local"
        case .tunnel: "Tunnel"
        case .route: "Route"
        case .bypass, .other: "(null)"
        }
    }
}

/// A real server rule inside a virtual service.
public struct IPVSDestination: Hashable, Sendable {
    public var address: IPAddress
    public var port: UInt16
    public var forwarding: IPVSForwarding
    public var weight: Int32
    public var upperThreshold: UInt32
    public var lowerThreshold: UInt32

    public init(
        address: IPAddress, port: UInt16, forwarding: IPVSForwarding = .route, weight: Int32 = 1,
        upperThreshold: UInt32 = 0, lowerThreshold: UInt32 = 0
    ) {
        self.address = address
        self.port = port
        self.forwarding = forwarding
        self.weight = weight
        self.upperThreshold = upperThreshold
        self.lowerThreshold = lowerThreshold
    }

    public var endpoint: Endpoint { Endpoint(address: address, port: port) }
}

/// A dumped destination: the rule plus the kernel's connection counters and statistics.
public struct IPVSDestinationEntry: Hashable, Sendable {
    public var destination: IPVSDestination
    public var activeConnections: UInt32
    public var inactiveConnections: UInt32
    public var persistentConnections: UInt32
    public var stats: IPVSStats

    public init(
        destination: IPVSDestination, activeConnections: UInt32 = 0, inactiveConnections: UInt32 = 0,
        persistentConnections: UInt32 = 0, stats: IPVSStats = IPVSStats()
    ) {
        self.destination = destination
        self.activeConnections = activeConnections
        self.inactiveConnections = inactiveConnections
        self.persistentConnections = persistentConnections
        self.stats = stats
    }
}
