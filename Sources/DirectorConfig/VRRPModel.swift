// VRRP side of the model: tracking scripts, sync groups and instances.
import Addresses

public enum VRRPVersion: Int, Hashable, Sendable {
    case v2 = 2
    case v3 = 3
}

public enum VRRPInitialState: String, Hashable, Sendable {
    case master = "MASTER"
    case backup = "BACKUP"
}

public struct VRRPScript: Hashable, Sendable {
    public var name: String
    public var command: String
    public var interval: Duration
    /// keepalived: a script that has not finished after `timeout` has failed (default: the interval).
    public var timeout: Duration
    /// -253...253; zero means "FAULT on failure" rather than a priority change.
    public var weight: Int
    public var reverse: Bool
    public var rise: Int
    public var fall: Int
    public var user: ScriptUser?
    public var initFail: Bool
    public var origin: SourceOrigin

    public init(
        name: String, command: String, interval: Duration = .seconds(1), timeout: Duration? = nil, weight: Int = 0,
        reverse: Bool = false, rise: Int = 1, fall: Int = 1, user: ScriptUser? = nil, initFail: Bool = false,
        origin: SourceOrigin = SourceOrigin(nil)
    ) {
        self.name = name
        self.command = command
        self.interval = interval
        self.timeout = timeout ?? interval
        self.weight = weight
        self.reverse = reverse
        self.rise = rise
        self.fall = fall
        self.user = user
        self.initFail = initFail
        self.origin = origin
    }
}

/// A `track_script` entry; weight and reverse override the script's own when given.
public struct TrackedScript: Hashable, Sendable {
    public var name: String
    public var weight: Int?
    public var reverse: Bool?
    public var origin: SourceOrigin

    public init(name: String, weight: Int? = nil, reverse: Bool? = nil, origin: SourceOrigin = SourceOrigin(nil)) {
        self.name = name
        self.weight = weight
        self.reverse = reverse
        self.origin = origin
    }
}

/// keepalived's `unicast_peer { ADDR min_ttl N max_ttl N }`: the TTL / hop limit an advert from that peer must
/// arrive with (checked with check_unicast_src, which these options turn on). min > max drops everything.
public struct UnicastPeerTTL: Hashable, Sendable {
    public var min: UInt8
    public var max: UInt8

    public init(min: UInt8 = 0, max: UInt8 = 255) {
        self.min = min
        self.max = max
    }
}

/// A `track_file` entry of an instance or sync group, naming a top-level track_file; weight (-254..254) and
/// reverse override the track_file's own when given.
public struct TrackedFile: Hashable, Sendable {
    public var name: String
    public var weight: Int?
    public var reverse: Bool?
    public var origin: SourceOrigin

    public init(name: String, weight: Int? = nil, reverse: Bool? = nil, origin: SourceOrigin = SourceOrigin(nil)) {
        self.name = name
        self.weight = weight
        self.reverse = reverse
        self.origin = origin
    }
}

/// A `track_interface` entry: weight 0 means FAULT when the link is down.
public struct TrackedInterface: Hashable, Sendable {
    public var name: String
    public var weight: Int
    public var reverse: Bool

    public init(name: String, weight: Int = 0, reverse: Bool = false) {
        self.name = name
        self.weight = weight
        self.reverse = reverse
    }
}

public struct NotifyScripts: Hashable, Sendable {
    public var master: NotifyScript?
    public var backup: NotifyScript?
    public var fault: NotifyScript?
    public var stop: NotifyScript?
    /// Called on every transition with GROUP|INSTANCE, name, state and priority appended.
    public var any: NotifyScript?
    /// `notify_deleted [SCRIPT]` (instances only): a reload that removes the instance notifies DELETED (and runs
    /// this script) instead of keepalived's default FAULT.
    public var notifyDeleted: Bool = false
    public var deleted: NotifyScript?

    public init(
        master: NotifyScript? = nil, backup: NotifyScript? = nil, fault: NotifyScript? = nil,
        stop: NotifyScript? = nil, any: NotifyScript? = nil
    ) {
        self.master = master
        self.backup = backup
        self.fault = fault
        self.stop = stop
        self.any = any
    }
}

public struct SyncGroup: Hashable, Sendable {
    public struct Member: Hashable, Sendable {
        public var name: String
        public var origin: SourceOrigin

        public init(_ name: String, origin: SourceOrigin = SourceOrigin(nil)) {
            self.name = name
            self.origin = origin
        }
    }

    public var name: String
    public var members: [Member]
    public var notify: NotifyScripts
    public var trackScripts: [TrackedScript]
    public var trackInterfaces: [TrackedInterface]
    public var trackFiles: [TrackedFile]
    /// `track_process` entries naming vrrp_track_process blocks.
    public var trackProcesses: [TrackedProcess] = []
    public var origin: SourceOrigin

    public init(
        name: String, members: [Member], notify: NotifyScripts = NotifyScripts(), trackScripts: [TrackedScript] = [],
        trackInterfaces: [TrackedInterface] = [], trackFiles: [TrackedFile] = [], origin: SourceOrigin = SourceOrigin(nil)
    ) {
        self.name = name
        self.members = members
        self.notify = notify
        self.trackScripts = trackScripts
        self.trackInterfaces = trackInterfaces
        self.trackFiles = trackFiles
        self.origin = origin
    }
}

public enum AuthenticationType: String, Hashable, Sendable {
    case pass = "PASS"
    case ah = "AH"
}

public struct VRRPAuthentication: Hashable, Sendable {
    public var type: AuthenticationType
    /// At most 8 bytes: the size of the VRRPv2 authentication field.
    public var password: String

    public init(type: AuthenticationType, password: String) {
        self.type = type
        self.password = password
    }
}

public enum AddressScope: String, Hashable, Sendable {
    case global, site, link, host, nowhere
}

/// A `virtual_ipaddress` entry: `ADDR[/PLEN] [brd B] [dev IF] [scope S] [label L]`.
public struct VirtualAddress: Hashable, Sendable {
    public var prefix: IPPrefix
    public var broadcast: IPv4Address?
    /// nil: the instance's interface.
    public var device: String?
    public var scope: AddressScope?
    public var label: String?
    /// `peer ADDR[/PLEN]`: a point-to-point address; the peer's prefix length becomes the address's.
    public var peer: IPPrefix?
    /// `home`, `mngtmpaddr`, `noprefixroute`, `autojoin`: IFA_F_* flags given as `ip addr` takes them.
    public var flags: AddressFlags
    /// IPv6 addresses are added without duplicate address detection (IFA_F_NODAD), as keepalived does, so a VIP is
    /// usable at once and never left "dadfailed" after a split brain; `-nodad` turns DAD back on.
    public var duplicateAddressDetection: Bool
    /// `preferred_lft N|forever` (IPv6): 0 marks the address deprecated, so it is not chosen as a source.
    /// nil is forever.
    public var preferredLifetime: UInt32?

    public init(
        prefix: IPPrefix, broadcast: IPv4Address? = nil, device: String? = nil, scope: AddressScope? = nil,
        label: String? = nil, peer: IPPrefix? = nil, flags: AddressFlags = [], duplicateAddressDetection: Bool = false,
        preferredLifetime: UInt32? = nil
    ) {
        self.prefix = prefix
        self.broadcast = broadcast
        self.device = device
        self.scope = scope
        self.label = label
        self.peer = peer
        self.flags = flags
        self.duplicateAddressDetection = duplicateAddressDetection
        self.preferredLifetime = preferredLifetime
    }
}

/// keepalived's `use_vmac`: a private-mode macvlan on the instance's interface whose MAC address is the virtual
/// router's (00:00:5e:00:01:VRID, RFC 5798 §7.3), so a failover moves no MAC address in the neighbours' caches.
public struct VirtualMAC: Hashable, Sendable {
    /// `vrrp.VRID` unless named (`vmac_prefix` changes "vrrp").
    public var interface: String
    /// 6 bytes.
    public var address: [UInt8]
    /// `vmac_xmit_base`: adverts go out of, and are read on, the base interface; the addresses stay on the macvlan.
    public var transmitOnBase: Bool

    public init(interface: String, address: [UInt8], transmitOnBase: Bool = false) {
        self.interface = interface
        self.address = address
        self.transmitOnBase = transmitOnBase
    }

    /// 00:00:5e:00:01:VRID (IPv4).
    public static func routerAddress(_ vrid: UInt8) -> [UInt8] { [0x00, 0x00, 0x5e, 0x00, 0x01, vrid] }
}

/// The address flags of `ip addr add` that keepalived's address entries take.
public struct AddressFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// IFA_F_HOMEADDRESS (Mobile IPv6).
    public static let home = AddressFlags(rawValue: 0x10)
    /// IFA_F_MANAGETEMPADDR.
    public static let manageTemporaryAddresses = AddressFlags(rawValue: 0x100)
    /// IFA_F_NOPREFIXROUTE.
    public static let noPrefixRoute = AddressFlags(rawValue: 0x200)
    /// IFA_F_MCAUTOJOIN.
    public static let multicastAutoJoin = AddressFlags(rawValue: 0x400)

    static let words: [(String, AddressFlags)] = [
        ("home", .home), ("mngtmpaddr", .manageTemporaryAddresses), ("noprefixroute", .noPrefixRoute),
        ("autojoin", .multicastAutoJoin),
    ]
}

/// The kind of a route (RTN_*) that keepalived reads before the destination: `blackhole 192.0.2.0/24`.
public enum RouteType: String, Hashable, Sendable {
    case unicast, blackhole, unreachable, prohibit
    case `throw`
}

/// A `virtual_routes` or `static_routes` entry, in `ip route`'s words as keepalived takes them:
/// `[src S] [to] DEST[/PLEN] [via|gw G] [dev IF] [scope S] [table T] [metric M] [protocol P] [tos T] [onlink]
/// [mtu [lock] N] ... [nexthop via G dev IF weight W onlink]...`, or `TYPE DEST ...` for a blackhole, unreachable,
/// prohibit or throw route (no gateway, no device).
public struct VirtualRoute: Hashable, Sendable {
    /// `0.0.0.0/0` (or `::/0`) when the entry names no destination, as seed 001's `via GW dev eth1` does.
    public var destination: IPPrefix
    public var gateway: IPAddress?
    public var device: String?
    public var source: IPAddress?
    public var scope: AddressScope?
    public var table: UInt32?
    public var metric: UInt32?
    public var type: RouteType
    /// Two or more next hops make a multipath route (`nexthop ...`, or keepalived's older `via A or B`);
    /// then `gateway` and `device` are nil.
    public var nextHops: [RouteNextHop]
    /// rtm_protocol (`protocol bird`, `protocol 186`); nil is static, as ip(8) and keepalived add routes.
    public var protocolNumber: UInt8?
    public var tos: UInt8?
    /// RTNH_F_ONLINK on the single next hop.
    public var onlink: Bool
    /// RTAX_* metrics (`mtu 1400`, `initcwnd 10`, `mtu lock 1400`).
    public var metrics: [RouteMetric]
    /// `append`: added after matching routes (NLM_F_APPEND) rather than before them.
    public var append: Bool

    public init(
        destination: IPPrefix, gateway: IPAddress? = nil, device: String? = nil, source: IPAddress? = nil,
        scope: AddressScope? = nil, table: UInt32? = nil, metric: UInt32? = nil, type: RouteType = .unicast,
        nextHops: [RouteNextHop] = [], protocolNumber: UInt8? = nil, tos: UInt8? = nil, onlink: Bool = false,
        metrics: [RouteMetric] = [], append: Bool = false
    ) {
        self.type = type
        self.destination = destination
        self.gateway = gateway
        self.device = device
        self.source = source
        self.scope = scope
        self.table = table
        self.metric = metric
        self.nextHops = nextHops
        self.protocolNumber = protocolNumber
        self.tos = tos
        self.onlink = onlink
        self.metrics = metrics
        self.append = append
    }
}

/// One next hop of a multipath route.
public struct RouteNextHop: Hashable, Sendable {
    public var gateway: IPAddress?
    public var device: String?
    /// 1...256, as ip(8) writes it; the kernel's rtnh_hops is one less.
    public var weight: Int
    public var onlink: Bool

    public init(gateway: IPAddress? = nil, device: String? = nil, weight: Int = 1, onlink: Bool = false) {
        self.gateway = gateway
        self.device = device
        self.weight = weight
        self.onlink = onlink
    }
}

/// A route metric (RTA_METRICS) as `ip route` writes it.
public struct RouteMetric: Hashable, Sendable {
    /// RTAX_* number.
    public var kind: UInt16
    /// In the kernel's unit (rtt is ms × 8, rttvar ms × 4, rto_min ms).
    public var value: UInt32
    /// `lock`: the kernel does not change it from path MTU discovery or the like.
    public var locked: Bool

    public init(kind: UInt16, value: UInt32, locked: Bool = false) {
        self.kind = kind
        self.value = value
        self.locked = locked
    }
}

public struct VRRPInstance: Hashable, Sendable {
    public static let defaultPriority: UInt8 = 100

    public var name: String
    public var initialState: VRRPInitialState
    public var interface: String
    public var virtualRouterID: UInt8
    public var priority: UInt8
    /// v2: whole seconds 1...255; v3: centiseconds 0.01...40.95.
    public var advertInterval: Duration
    public var version: VRRPVersion
    public var preempt: Bool
    public var preemptDelay: Duration
    public var authentication: VRRPAuthentication?
    public var virtualAddresses: [VirtualAddress]
    public var excludedAddresses: [VirtualAddress]
    public var virtualRoutes: [VirtualRoute]
    /// `virtual_rules`: policy rules (static_rules' grammar) present only while MASTER, like the routes.
    public var virtualRules: [StaticRule]
    public var trackInterfaces: [TrackedInterface]
    public var trackScripts: [TrackedScript]
    /// keepalived's track_file: the number in the file × weight adjusts the priority (see `TrackFile`).
    public var trackFiles: [TrackedFile]
    /// `track_process` entries naming vrrp_track_process blocks.
    public var trackProcesses: [TrackedProcess] = []
    public var unicastSourceIP: IPAddress?
    public var unicastPeers: [IPAddress]
    /// Peers given min_ttl / max_ttl.
    public var unicastPeerTTLs: [IPAddress: UnicastPeerTTL]
    public var multicastSourceIP: IPAddress?
    /// `use_vmac`: a macvlan with the virtual router's MAC address carries the adverts and the addresses.
    public var virtualMAC: VirtualMAC? = nil
    /// false with `dont_track_primary`: the instance's own interface going down is not a fault.
    public var tracksPrimary = true
    /// false with `skip_check_adv_addr`: adverts whose address list differs from ours are accepted.
    public var checksAdvertAddresses = true
    /// Where multicast adverts go and which group is joined: mcast_dst_ip, else the global vrrp_mcast_group4/6;
    /// nil is the IANA group. Always nil for unicast instances.
    public var multicastGroup: IPAddress?
    public var garp: GARPSettings
    /// `promote_secondaries`: net.ipv4.conf.IF.promote_secondaries is set to 1 on the instance's interface while
    /// directord runs (and put back at stop), so removing one VIP does not take the others of its subnet with it.
    public var promoteSecondaries: Bool
    /// `unicast_fault_no_peer` without any unicast_peer: keepalived keeps the instance in FAULT rather than fall
    /// back to multicast.
    public var faultsWithoutPeers: Bool
    /// `notify_master_rx_lower_pri`: run (with its own arguments only) each time a MASTER hears a lower priority.
    public var notifyMasterRxLowerPriority: NotifyScript?
    public var notify: NotifyScripts
    /// keepalived 1.x's per-instance sync daemon interface (see `Configuration.effectiveSyncDaemon`).
    public var lvsSyncDaemonInterface: String?
    /// `unicast_ttl`: the TTL / hop limit of unicast adverts; nil sends 255 (RFC 5798 §5.1.1.3).
    public var unicastTTL: UInt8?
    /// `down_timer_adverts` (1...100, default the global vrrp_down_timer_adverts, 3): Master_Down_Interval is this many
    /// master advert intervals plus the skew time.
    public var downTimerAdverts: Int
    /// `lower_prio_no_advert`: a MASTER does not answer a lower-priority advert with one of its own.
    public var lowerPriorityNoAdvert: Bool
    /// `higher_prio_send_advert`: a MASTER sends one more advert before yielding to a higher priority.
    public var higherPrioritySendAdvert: Bool
    /// `check_unicast_src` (or the global `vrrp_check_unicast_src`), kept only for unicast instances: adverts
    /// whose source is not a unicast_peer are dropped.
    public var checkUnicastSource: Bool
    public var origin: SourceOrigin

    public init(
        name: String, initialState: VRRPInitialState = .backup, interface: String, virtualRouterID: UInt8,
        priority: UInt8 = VRRPInstance.defaultPriority, advertInterval: Duration = .seconds(1),
        version: VRRPVersion = .v2, preempt: Bool = true, preemptDelay: Duration = .zero,
        authentication: VRRPAuthentication? = nil, virtualAddresses: [VirtualAddress] = [],
        excludedAddresses: [VirtualAddress] = [], virtualRoutes: [VirtualRoute] = [],
        trackInterfaces: [TrackedInterface] = [], trackScripts: [TrackedScript] = [],
        unicastSourceIP: IPAddress? = nil, unicastPeers: [IPAddress] = [],
        unicastPeerTTLs: [IPAddress: UnicastPeerTTL] = [:], multicastSourceIP: IPAddress? = nil,
        garp: GARPSettings = GARPSettings(), notify: NotifyScripts = NotifyScripts(),
        lvsSyncDaemonInterface: String? = nil, unicastTTL: UInt8? = nil, downTimerAdverts: Int = 3,
        lowerPriorityNoAdvert: Bool = false, higherPrioritySendAdvert: Bool = false,  trackFiles: [TrackedFile] = [],
        virtualRules: [StaticRule] = [], multicastGroup: IPAddress? = nil, promoteSecondaries: Bool = false,
        faultsWithoutPeers: Bool = false, notifyMasterRxLowerPriority: NotifyScript? = nil, checkUnicastSource: Bool = false,
        origin: SourceOrigin = SourceOrigin(nil)
    ) {
        self.name = name
        self.initialState = initialState
        self.interface = interface
        self.virtualRouterID = virtualRouterID
        self.priority = priority
        self.advertInterval = advertInterval
        self.version = version
        self.preempt = preempt
        self.preemptDelay = preemptDelay
        self.authentication = authentication
        self.virtualAddresses = virtualAddresses
        self.excludedAddresses = excludedAddresses
        self.virtualRoutes = virtualRoutes
        self.trackInterfaces = trackInterfaces
        self.trackScripts = trackScripts
        self.unicastSourceIP = unicastSourceIP
        self.unicastPeers = unicastPeers
        self.unicastPeerTTLs = unicastPeerTTLs
        self.multicastSourceIP = multicastSourceIP
        self.garp = garp
        self.notify = notify
        self.lvsSyncDaemonInterface = lvsSyncDaemonInterface
        self.unicastTTL = unicastTTL
        self.downTimerAdverts = downTimerAdverts
        self.lowerPriorityNoAdvert = lowerPriorityNoAdvert
        self.trackFiles = trackFiles
        self.virtualRules = virtualRules
        self.multicastGroup = multicastGroup
        self.promoteSecondaries = promoteSecondaries
        self.faultsWithoutPeers = faultsWithoutPeers
        self.notifyMasterRxLowerPriority = notifyMasterRxLowerPriority
        self.higherPrioritySendAdvert = higherPrioritySendAdvert
        self.checkUnicastSource = checkUnicastSource
        self.origin = origin
    }

    /// The family of the advertised addresses (IPv4 when there are none).
    public var family: AddressFamily { virtualAddresses.first?.prefix.address.family ?? .ipv4 }
}
