import IPVS
import Platform

/// One raw VRRP socket pair as the host glue uses it; `VRRPSocket` in production, a fake in tests.
public protocol VRRPTransport: AnyObject, Sendable {
    /// Polled for POLLIN; readable means `receive()` has something (or an error) to report.
    var pollDescriptor: Int32 { get }
    /// Sends one VRRP message (no IP header) to a group or a unicast peer.
    func send(_ payload: [UInt8], to destination: [UInt8]) throws(SystemError)
    /// The next queued packet, nil when none is waiting; never blocks.
    func receive() throws(SystemError) -> ReceivedPacket?
}

/// Opens transports (one per interface, family, source address, multicast/unicast mode and unicast TTL).
public protocol VRRPTransportOpening: Sendable {
    /// `hopLimit`: TTL / hop limit of unicast sends (multicast always goes out with 255).
    func open(family: Int32, interface: String, source: [UInt8], multicastGroup: [UInt8]?, hopLimit: UInt8)
        throws(SystemError) -> any VRRPTransport
    /// `ipProtocol` 51 (auth_type AH): packets are sent whole, IP header included, and received with it.
    func open(family: Int32, interface: String, source: [UInt8], multicastGroup: [UInt8]?, hopLimit: UInt8,
              ipProtocol: Int32) throws(SystemError) -> any VRRPTransport
}

extension VRRPTransportOpening {
    /// Fakes carry any protocol's bytes alike.
    public func open(family: Int32, interface: String, source: [UInt8], multicastGroup: [UInt8]?, hopLimit: UInt8,
                     ipProtocol: Int32) throws(SystemError) -> any VRRPTransport
    {
        try open(family: family, interface: interface, source: source, multicastGroup: multicastGroup, hopLimit: hopLimit)
    }
}

extension VRRPSocket: VRRPTransport {
    public var pollDescriptor: Int32 { receiveFD }
}

/// Raw IPPROTO_VRRP sockets.
public struct VRRPSocketOpener: VRRPTransportOpening {
    public init() {}

    public func open(family: Int32, interface: String, source: [UInt8], multicastGroup: [UInt8]?, hopLimit: UInt8)
        throws(SystemError) -> any VRRPTransport
    {
        try VRRPSocket(
            family: family, interface: interface, source: source, multicastGroup: multicastGroup, unicastHopLimit: hopLimit)
    }

    public func open(family: Int32, interface: String, source: [UInt8], multicastGroup: [UInt8]?, hopLimit: UInt8,
                     ipProtocol: Int32) throws(SystemError) -> any VRRPTransport
    {
        try VRRPSocket(family: family, interface: interface, source: source, multicastGroup: multicastGroup,
                       unicastHopLimit: hopLimit, ipProtocol: ipProtocol)
    }
}

/// Everything the VRRP host touches outside its own memory.
public struct VRRPHostDependencies: Sendable {
    /// Addresses, routes and link state.
    public var network: any HostNetworking
    /// Gratuitous ARP / unsolicited NA.
    public var announcer: any AddressAnnouncing
    /// vrrp_script checks and notify scripts.
    public var scripts: any ScriptRunning
    /// VRRP sockets.
    public var transports: any VRRPTransportOpening
    /// The advert source address when none is configured.
    public var interfaceAddresses: any InterfaceAddressLookup
    /// File ownership and modes, for enable_script_security.
    public var files: any ScriptPathInspecting
    /// Makes the IPVS table used for the sync daemon, lazily and only on the VRRP thread (a table is not
    /// thread-safe: give the host its own, not the engine's). nil: the sync daemon is never touched.
    public var ipvs: (@Sendable () throws -> any IPVSTable)?
    /// How long a notify script may run before it is killed (keepalived has no limit; a hung one must not pile up).
    public var notifyTimeout: Duration
    /// How often tracked interfaces' link state (and tracked files) are read.
    public var linkPollInterval: Duration
    /// use_vmac's macvlans.
    public var virtualMACs: any VirtualMACManaging
    /// The running processes, for vrrp_track_process.
    public var processes: any ProcessListing
    /// Kernel parameters (promote_secondaries).
    public var sysctl: any SysctlAccess
    /// The number in a track_file, nil when keepalived would ignore what it read (the last value stays; 0 before
    /// any). A missing or empty file is 0. The daemon passes FILE_CHECK's reader.
    public var trackFileValue: @Sendable (String) -> Int64?

    public init(
        network: any HostNetworking, announcer: any AddressAnnouncing, scripts: any ScriptRunning,
        transports: any VRRPTransportOpening, interfaceAddresses: any InterfaceAddressLookup,
        files: any ScriptPathInspecting = SystemScriptPaths(),
        ipvs: (@Sendable () throws -> any IPVSTable)?, notifyTimeout: Duration = .seconds(30),
        linkPollInterval: Duration = .seconds(1), sysctl: any SysctlAccess = ProcSysctl(), trackFileValue: @escaping @Sendable (String) -> Int64? = { _ in nil },
        virtualMACs: any VirtualMACManaging = SystemVirtualMACs(), processes: any ProcessListing = ProcProcesses()
    ) {
        self.processes = processes
        self.virtualMACs = virtualMACs
        self.network = network
        self.announcer = announcer
        self.scripts = scripts
        self.transports = transports
        self.interfaceAddresses = interfaceAddresses
        self.files = files
        self.ipvs = ipvs
        self.notifyTimeout = notifyTimeout
        self.linkPollInterval = linkPollInterval
        self.trackFileValue = trackFileValue
        self.sysctl = sysctl
    }

    /// The real host: rtnetlink, raw sockets, `/bin/sh -c` scripts, the kernel's IPVS table; `trackFileValue` reads
    /// track_files (without it they read as 0).
    public static func system(trackFileValue: @escaping @Sendable (String) -> Int64? = { _ in nil }) -> VRRPHostDependencies {
        let network = RouteNetlink()
        return VRRPHostDependencies(
            network: network, announcer: Announcer(network: network), scripts: ProcessScriptRunner(),
            transports: VRRPSocketOpener(), interfaceAddresses: SystemInterfaceAddresses(),
            ipvs: { try KernelIPVSTable() }, trackFileValue: trackFileValue)
    }
}

/// What happened, for logs, sd_notify STATUS= lines and metrics.
public enum VRRPHostEvent: Sendable, Hashable {
    /// An instance changed state; `reason` says which event caused it.
    case instanceState(instance: String, from: String, to: String, priority: Int, reason: String)
    /// A sync group changed state.
    case groupState(group: String, from: String, to: String)
    /// Something failed on the host side (address add, send, sync daemon, script security); VRRP keeps running.
    case problem(String)
}

/// Why the host cannot start (or an instance cannot be (re)started on reload).
public struct VRRPHostError: Error, Hashable, Sendable, CustomStringConvertible {
    /// One line per problem, each naming the instance.
    public var problems: [String]

    public init(_ problems: [String]) { self.problems = problems }

    public var description: String { problems.joined(separator: "\n") }
}
