// The validated configuration: plain values with keepalived's defaults applied, no I/O, comparable with `==`
// so a reload can diff the running configuration against a new one.
import Addresses

public struct Configuration: Hashable, Sendable {
    public var globals: GlobalSettings
    public var vrrpScripts: [VRRPScript]
    public var syncGroups: [SyncGroup]
    public var vrrpInstances: [VRRPInstance]
    public var virtualServerGroups: [VirtualServerGroup]
    public var virtualServers: [VirtualServer]
    /// static_ipaddress, static_routes, static_rules: held from start to stop, whatever the VRRP state.
    public var staticNetwork: StaticNetwork
    /// Top-level `track_file` blocks (FILE_CHECK reads them).
    public var trackFiles: [TrackFile] = []
    public var trackProcesses: [TrackProcess] = []
    /// The top-level `SSL` block: what every SSL_GET presents; nil without one.
    public var ssl: SSLSettings? = nil

    public init(
        globals: GlobalSettings = GlobalSettings(), vrrpScripts: [VRRPScript] = [], syncGroups: [SyncGroup] = [],
        vrrpInstances: [VRRPInstance] = [], virtualServerGroups: [VirtualServerGroup] = [],
        virtualServers: [VirtualServer] = [], staticNetwork: StaticNetwork = StaticNetwork()
    ) {
        self.globals = globals
        self.vrrpScripts = vrrpScripts
        self.syncGroups = syncGroups
        self.vrrpInstances = vrrpInstances
        self.virtualServerGroups = virtualServerGroups
        self.virtualServers = virtualServers
        self.staticNetwork = staticNetwork
    }

    public func vrrpInstance(named name: String) -> VRRPInstance? { vrrpInstances.first { $0.name == name } }
    public func vrrpScript(named name: String) -> VRRPScript? { vrrpScripts.first { $0.name == name } }
    public func virtualServerGroup(named name: String) -> VirtualServerGroup? {
        virtualServerGroups.first { $0.name == name }
    }

    /// The connection-sync daemon that applies: the global `lvs_sync_daemon`, else the first instance's
    /// `lvs_sync_daemon_interface` (keepalived's older form), whose sync id defaults to that instance's VRID.
    public var effectiveSyncDaemon: LVSSyncDaemon? {
        if var daemon = globals.syncDaemon {
            if daemon.syncID == nil, let name = daemon.instance, let instance = vrrpInstance(named: name) {
                daemon.syncID = instance.virtualRouterID
            }
            return daemon
        }
        guard let instance = vrrpInstances.first(where: { $0.lvsSyncDaemonInterface != nil }),
            let interface = instance.lvsSyncDaemonInterface
        else { return nil }
        return LVSSyncDaemon(interface: interface, instance: instance.name, syncID: instance.virtualRouterID)
    }
}

// MARK: - SSL

/// keepalived's top-level `SSL { password ca certificate key }`: one client identity for every SSL_GET. Paths as
/// written (read when the checks start); the server's certificate is not verified, with or without `ca`, as in
/// keepalived 2.2.7.
public struct SSLSettings: Hashable, Sendable {
    /// The private key's passphrase.
    public var password: String?
    /// CA certificates (PEM), loaded into the context's store: they complete the client's chain.
    public var ca: String?
    /// The client certificate chain (PEM), presented when a server asks for one.
    public var certificate: String?
    /// The client certificate's private key (PEM).
    public var key: String?
    public var origin: SourceOrigin

    public init(password: String? = nil, ca: String? = nil, certificate: String? = nil, key: String? = nil,
                origin: SourceOrigin = SourceOrigin(nil)) {
        self.password = password
        self.ca = ca
        self.certificate = certificate
        self.key = key
        self.origin = origin
    }
}

// MARK: - Globals

public struct GlobalSettings: Hashable, Sendable {
    public static let defaultControlSocket = "/run/directord/directord.sock"
    public static let defaultDriftCheckInterval: Duration = .seconds(5)
    /// keepalived's startup_script_timeout and shutdown_script_timeout.
    public static let defaultLifecycleScriptTimeout: Duration = .seconds(10)

    /// nil means the host name, resolved at run time.
    public var routerID: String?
    public var syncDaemon: LVSSyncDaemon?
    public var garp: GARPSettings
    public var vrrpVersion: VRRPVersion
    public var scriptUser: ScriptUser?
    public var enableScriptSecurity: Bool
    public var lvsFlush: Bool
    public var lvsFlushOnStop: LVSFlushOnStop
    /// `startup_script`: run once at start, before anything is programmed (not on reload); directord waits for it, at
    /// most `startupScriptTimeout`, whatever it answers.
    public var startupScript: NotifyScript?
    public var startupScriptTimeout: Duration
    /// `shutdown_script`: run once at a clean stop, after the table and addresses are cleaned up.
    public var shutdownScript: NotifyScript?
    public var shutdownScriptTimeout: Duration
    /// `lvs_timeouts`: the kernel's connection timeouts while directord runs (the kernel's own are put back at stop).
    public var lvsTimeouts: LVSTimeouts
    /// directord's own: where `directorctl` finds the daemon.
    public var controlSocket: String
    /// directord's own: how often the kernel table is compared with the desired one (zero disables).
    public var driftCheckInterval: Duration
    /// directord's own: Prometheus text on this address, when set.
    public var metricsListen: Endpoint?
    /// directord's own: how long a real that a reload removes may keep its connections at weight 0 before it is
    /// deleted (zero: deleted at once, as keepalived does); a virtual server's `drain_on_removal` overrides it.
    public var drainOnRemoval: Duration
    /// directord's own: how virtual servers with `announce` are announced through the kernel's routing table.
    public var announce: AnnounceSettings
    /// `net_namespace NAME`: the daemon runs in the network namespace `/run/netns/NAME` (as `ip netns add` makes
    /// it); fixed at start, as in keepalived.
    public var netNamespace: String?
    /// `vrrp_skip_check_adv_addr`: the default of each instance's skip_check_adv_addr.
    public var vrrpSkipCheckAdvertAddresses = false
    /// `vmac_prefix`: the start of the names of use_vmac interfaces (`vrrp.VRID`).
    public var vmacPrefix = "vrrp"
    /// `vrrp_check_unicast_src`: every unicast instance checks advert sources against its unicast_peer list.
    public var vrrpCheckUnicastSource = false
    /// `vrrp_down_timer_adverts`: the default of each instance's down_timer_adverts (RFC 5798: 3).
    public var vrrpDownTimerAdverts = 3
    /// `vrrp_mcast_group4` / `vrrp_mcast_group6`: the group of multicast instances without mcast_dst_ip (nil: the
    /// IANA groups 224.0.0.18 and ff02::12).
    public var vrrpMulticastGroup4: IPAddress?
    public var vrrpMulticastGroup6: IPAddress?
    /// `vrrp_lower_prio_no_advert` / `vrrp_higher_prio_send_advert`: defaults of the instance keywords (off).
    public var vrrpLowerPriorityNoAdvert = false
    public var vrrpHigherPrioritySendAdvert = false
    /// `default_interface`: where static addresses without `dev` go (keepalived; VRRP instances name their own).
    public var defaultInterface: String?
    /// `vrrp_startup_delay`: after the daemon starts, no BACKUP's master-down timer ends before this delay plus its
    /// master-down interval (keepalived's delayed start; reloads are not delayed).
    public var vrrpStartupDelay: Duration = .zero

    public init(
        routerID: String? = nil, syncDaemon: LVSSyncDaemon? = nil, garp: GARPSettings = GARPSettings(),
        vrrpVersion: VRRPVersion = .v2, scriptUser: ScriptUser? = nil, enableScriptSecurity: Bool = false,
        lvsFlush: Bool = false, lvsFlushOnStop: LVSFlushOnStop = .off,
        controlSocket: String = GlobalSettings.defaultControlSocket,
        driftCheckInterval: Duration = GlobalSettings.defaultDriftCheckInterval, metricsListen: Endpoint? = nil,
        drainOnRemoval: Duration = .zero, announce: AnnounceSettings = AnnounceSettings(),
        lvsTimeouts: LVSTimeouts = LVSTimeouts()
    ) {
        self.lvsTimeouts = lvsTimeouts
        self.startupScript = nil
        self.startupScriptTimeout = GlobalSettings.defaultLifecycleScriptTimeout
        self.shutdownScript = nil
        self.shutdownScriptTimeout = GlobalSettings.defaultLifecycleScriptTimeout
        self.routerID = routerID
        self.syncDaemon = syncDaemon
        self.garp = garp
        self.vrrpVersion = vrrpVersion
        self.scriptUser = scriptUser
        self.enableScriptSecurity = enableScriptSecurity
        self.lvsFlush = lvsFlush
        self.lvsFlushOnStop = lvsFlushOnStop
        self.controlSocket = controlSocket
        self.driftCheckInterval = driftCheckInterval
        self.metricsListen = metricsListen
        self.drainOnRemoval = drainOnRemoval
        self.announce = announce
    }
}

/// Active-active directors behind ECMP: a host route per healthy VIP in the kernel, which the operator's routing
/// daemon (FRR, BIRD) learns and announces. directord speaks no BGP.
public struct AnnounceSettings: Hashable, Sendable {
    /// Not one routing daemons already use (iproute2's rt_protos: 18 is keepalived's, 186-197 FRR's, 12 BIRD's).
    public static let defaultProtocol: UInt8 = 52

    /// The routing table the routes go in (254: main).
    public var table: UInt32
    /// The route's protocol number (rtm_protocol): what a daemon's filter matches.
    public var routeProtocol: UInt8
    /// The device the host routes point at; the VIP itself sits on it or on another local device.
    public var device: String
    /// A VIP is announced only after it has been healthy this long without a break (flap damping).
    public var rise: Duration
    /// A VIP is withdrawn only after it has been unhealthy this long (0: at once).
    public var fall: Duration
    /// Nothing is announced before the daemon has run this long.
    public var minimumUptime: Duration
    /// On stop, how long the director keeps serving after withdrawing, while the routers converge.
    public var withdrawDelay: Duration

    public init(table: UInt32 = 254, routeProtocol: UInt8 = AnnounceSettings.defaultProtocol, device: String = "lo",
                rise: Duration = .seconds(3), fall: Duration = .zero, minimumUptime: Duration = .seconds(5),
                withdrawDelay: Duration = .seconds(2)) {
        self.table = table
        self.routeProtocol = routeProtocol
        self.device = device
        self.rise = rise
        self.fall = fall
        self.minimumUptime = minimumUptime
        self.withdrawDelay = withdrawDelay
    }
}

/// Gratuitous ARP / unsolicited NA timing after becoming MASTER (keepalived: delay 5 s, repeat 5, no refresh).
public struct GARPSettings: Hashable, Sendable {
    public var masterDelay: Duration
    public var masterRepeat: Int
    /// Zero means no periodic refresh while MASTER.
    public var masterRefresh: Duration
    /// Messages per address in each refresh (keepalived: 1).
    public var masterRefreshRepeat: Int
    /// The burst after a lower-priority advert arrives while MASTER; nil means as after becoming MASTER.
    public var lowerPriorityDelay: Duration?
    public var lowerPriorityRepeat: Int?

    public init(
        masterDelay: Duration = .seconds(5), masterRepeat: Int = 5, masterRefresh: Duration = .zero, masterRefreshRepeat: Int = 1,
        lowerPriorityDelay: Duration? = nil, lowerPriorityRepeat: Int? = nil
    ) {
        self.masterDelay = masterDelay
        self.masterRepeat = masterRepeat
        self.masterRefresh = masterRefresh
        self.masterRefreshRepeat = masterRefreshRepeat
        self.lowerPriorityDelay = lowerPriorityDelay
        self.lowerPriorityRepeat = lowerPriorityRepeat
    }
}

/// `lvs_sync_daemon IF [inst] INSTANCE [id N] [maxlen N] [port N] [ttl N] [group ADDR]`.
public struct LVSSyncDaemon: Hashable, Sendable {
    public static let defaultPort: UInt16 = 8848
    public static let defaultGroup = IPAddress.v4(IPv4Address(224, 0, 0, 81))

    public var interface: String
    /// The VRRP instance whose state decides master or backup; nil runs both daemons all the time.
    public var instance: String?
    /// nil: the instance's VRID, or 0 without an instance.
    public var syncID: UInt8?
    /// nil: the kernel's default.
    public var maxLength: Int?
    public var port: UInt16
    public var ttl: UInt8?
    public var group: IPAddress
    public var origin: SourceOrigin

    public init(
        interface: String, instance: String? = nil, syncID: UInt8? = nil, maxLength: Int? = nil,
        port: UInt16 = LVSSyncDaemon.defaultPort, ttl: UInt8? = nil, group: IPAddress = LVSSyncDaemon.defaultGroup,
        origin: SourceOrigin = SourceOrigin(nil)
    ) {
        self.origin = origin
        self.interface = interface
        self.instance = instance
        self.syncID = syncID
        self.maxLength = maxLength
        self.port = port
        self.ttl = ttl
        self.group = group
    }
}

/// `lvs_timeouts [tcp N] [tcpfin N] [udp N]`, in seconds; 0 (unset) leaves the kernel's value as directord found it.
public struct LVSTimeouts: Hashable, Sendable {
    public var tcp: UInt32
    public var tcpFin: UInt32
    public var udp: UInt32

    public init(tcp: UInt32 = 0, tcpFin: UInt32 = 0, udp: UInt32 = 0) {
        self.tcp = tcp
        self.tcpFin = tcpFin
        self.udp = udp
    }

    /// No timeout set: directord does not touch the kernel's.
    public var isEmpty: Bool { tcp == 0 && tcpFin == 0 && udp == 0 }
}

public enum LVSFlushOnStop: String, Hashable, Sendable {
    /// Delete each service and destination that directord added (keepalived's default).
    case off
    /// Flush the whole table.
    case all
    /// Delete each virtual server, letting the kernel drop its destinations.
    case virtualServers = "VS"
    /// directord's own (`lvs_keep_on_stop`): leave every entry in place, so a restart adopts it untouched.
    case keep
}

public struct ScriptUser: Hashable, Sendable {
    public var user: String
    public var group: String?

    public init(user: String, group: String? = nil) {
        self.user = user
        self.group = group
    }
}

/// A command run through `/bin/sh -c`, optionally as another user.
public struct NotifyScript: Hashable, Sendable {
    public var command: String
    public var user: ScriptUser?

    public init(command: String, user: ScriptUser? = nil) {
        self.command = command
        self.user = user
    }
}
