/// Counters and rates of a service or destination. Kept 64-bit: the kernel's STATS64 where present.
public struct IPVSStats: Hashable, Sendable, Codable {
    public var connections: UInt64 = 0
    public var inPackets: UInt64 = 0
    public var outPackets: UInt64 = 0
    public var inBytes: UInt64 = 0
    public var outBytes: UInt64 = 0
    public var connectionRate: UInt64 = 0
    public var inPacketRate: UInt64 = 0
    public var outPacketRate: UInt64 = 0
    public var inByteRate: UInt64 = 0
    public var outByteRate: UInt64 = 0

    public init() {}
}

/// GET_INFO: the IPVS version and the connection hash table size.
public struct IPVSInfo: Hashable, Sendable {
    public var version: UInt32
    public var connectionTableSize: UInt32

    public init(version: UInt32, connectionTableSize: UInt32) {
        self.version = version
        self.connectionTableSize = connectionTableSize
    }

    /// "1.2.1", as ipvsadm's NVERSION() splits it.
    public var versionString: String {
        "\((version >> 16) & 0xFF).\((version >> 8) & 0xFF).\(version & 0xFF)"
    }
}

/// Connection timeouts in seconds (GET/SET_CONFIG). On SET, 0 keeps the current value.
public struct IPVSTimeouts: Hashable, Sendable, Codable {
    public var tcp: UInt32
    public var tcpFin: UInt32
    public var udp: UInt32

    public init(tcp: UInt32, tcpFin: UInt32, udp: UInt32) {
        self.tcp = tcp
        self.tcpFin = tcpFin
        self.udp = udp
    }
}

/// The role of a connection synchronization daemon (IP_VS_STATE_*).
public enum IPVSSyncState: UInt32, Sendable, Hashable, Codable {
    case master = 1
    case backup = 2

    public var name: String { self == .master ? "master" : "backup" }
}

/// A sync daemon as started or listed. Zero/nil optional fields mean "kernel default" when starting.
public struct IPVSSyncDaemon: Hashable, Sendable {
    public var state: IPVSSyncState
    public var interface: String
    public var syncID: UInt32
    public var maxLength: UInt16
    public var group: IPAddress?
    public var port: UInt16
    public var ttl: UInt8

    public init(
        state: IPVSSyncState, interface: String, syncID: UInt32 = 0, maxLength: UInt16 = 0,
        group: IPAddress? = nil, port: UInt16 = 0, ttl: UInt8 = 0
    ) {
        self.state = state
        self.interface = interface
        self.syncID = syncID
        self.maxLength = maxLength
        self.group = group
        self.port = port
        self.ttl = ttl
    }
}
