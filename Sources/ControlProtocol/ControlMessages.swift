// ControlProtocol: what directorctl and directord say to each other over the control socket (JSON lines).
import FoundationEssentials

/// The default control socket, shared by `directord --socket` and `directorctl --socket`.
public let defaultControlSocketPath = "/run/directord/directord.sock"

/// One request per connection, one JSON object on one line.
public enum ControlRequest: Codable, Equatable, Sendable {
    case status
    /// Re-read the configuration the daemon was started with; the reply says what changed or why nothing did.
    case reload
    /// What a reload to this configuration file would do, without doing it.
    case diff(configFile: String)
    /// An operator's runtime change to one real (`virtualServer` nil: in every virtual server it belongs to).
    /// VIRTUAL is `ADDR:PORT` (TCP), `udp:ADDR:PORT`, `sctp:ADDR:PORT`, `fwmark:N` or `group:NAME`; REAL is
    /// `ADDR:PORT` (`[ADDR]:PORT` for IPv6).
    case override(virtualServer: String?, real: String, change: OverrideChange)
    /// The connections still on the named reals, for `directorctl drain --wait`.
    case drainProgress(virtualServer: String?, real: String)
    /// `directorctl withdraw` (true) or `announce` (false): an announced VIP out of, or back into, the routers'
    /// ECMP (`virtualServer` nil: every announced one).
    case withdraw(virtualServer: String?, withdrawn: Bool)
}

/// What `directorctl drain`, `undrain` and `weight` ask for.
public enum OverrideChange: Codable, Equatable, Sendable, CustomStringConvertible {
    /// Weight 0 in the kernel: no new connection, the established ones go on.
    case drain
    case undrain
    case weight(Int)
    case resetWeight

    public var description: String {
        switch self {
        case .drain: "drain"
        case .undrain: "undrain"
        case .weight(let w): "weight \(w)"
        case .resetWeight: "weight reset"
        }
    }
}

/// One real's connections as the kernel counts them, summed over the virtual server's kernel services.
public struct DrainProgress: Codable, Equatable, Sendable {
    /// The virtual server as directorctl names it (`192.0.2.1:80`, `udp:…`, `fwmark:N`).
    public var virtualServer: String
    public var real: String
    public var drained: Bool
    /// nil when the kernel could not be read.
    public var activeConnections: UInt32?
    public var inactiveConnections: UInt32?

    public init(virtualServer: String, real: String, drained: Bool, activeConnections: UInt32?, inactiveConnections: UInt32?) {
        self.virtualServer = virtualServer
        self.real = real
        self.drained = drained
        self.activeConnections = activeConnections
        self.inactiveConnections = inactiveConnections
    }
}

/// The daemon's answer; `ok` false carries the errors in `message` (for reload: the running config is unchanged).
public struct ControlResponse: Codable, Equatable, Sendable {
    public var ok: Bool
    public var message: String
    public var status: DaemonStatus?
    public var plan: ChangePlan?
    /// For `override` and `drainProgress`: each real the request named.
    public var drains: [DrainProgress]?

    public init(ok: Bool, message: String = "", status: DaemonStatus? = nil, plan: ChangePlan? = nil, drains: [DrainProgress]? = nil) {
        self.ok = ok
        self.message = message
        self.status = status
        self.plan = plan
        self.drains = drains
    }
}

/// A reload's plan: the kernel operations and the VRRP/health changes, each as a line an operator reads.
public struct ChangePlan: Codable, Equatable, Sendable {
    public var ipvsOperations: [String]
    public var vrrpChanges: [String]
    public var healthChanges: [String]
    public var warnings: [String]

    public init(ipvsOperations: [String] = [], vrrpChanges: [String] = [], healthChanges: [String] = [], warnings: [String] = []) {
        self.ipvsOperations = ipvsOperations
        self.vrrpChanges = vrrpChanges
        self.healthChanges = healthChanges
        self.warnings = warnings
    }

    public var isEmpty: Bool { ipvsOperations.isEmpty && vrrpChanges.isEmpty && healthChanges.isEmpty }
}

public struct DaemonStatus: Codable, Equatable, Sendable {
    public var pid: Int32
    public var configFile: String
    /// Seconds since the epoch.
    public var configLoadedAt: Double
    public var lastReload: ReloadResult?
    public var instances: [InstanceStatus]
    public var syncGroups: [SyncGroupStatus]
    public var virtualServers: [VirtualServerStatus]
    public var syncDaemons: [SyncDaemonStatus]
    /// Every vrrp_script. Optional so a directorctl reads the status of a directord older than the field.
    public var scripts: [TrackedScriptStatus]?

    public init(pid: Int32, configFile: String, configLoadedAt: Double, lastReload: ReloadResult? = nil,
                instances: [InstanceStatus] = [], syncGroups: [SyncGroupStatus] = [],
                virtualServers: [VirtualServerStatus] = [], syncDaemons: [SyncDaemonStatus] = [],
                scripts: [TrackedScriptStatus]? = nil) {
        self.pid = pid
        self.configFile = configFile
        self.configLoadedAt = configLoadedAt
        self.lastReload = lastReload
        self.instances = instances
        self.syncGroups = syncGroups
        self.virtualServers = virtualServers
        self.syncDaemons = syncDaemons
        self.scripts = scripts
    }
}

public struct ReloadResult: Codable, Equatable, Sendable {
    public var at: Double
    public var ok: Bool
    public var message: String

    public init(at: Double, ok: Bool, message: String) {
        self.at = at
        self.ok = ok
        self.message = message
    }
}

public struct InstanceStatus: Codable, Equatable, Sendable {
    public var name: String
    public var interface: String
    public var virtualRouterID: Int
    public var version: Int
    public var state: String
    public var priority: Int
    public var configuredPriority: Int
    public var masterAddress: String?
    /// Seconds since the epoch when the instance entered its state.
    public var since: Double
    public var advertsSent: UInt64
    public var advertsReceived: UInt64
    /// Drop reason → count.
    public var drops: [String: UInt64]
    public var addresses: [String]

    public init(name: String, interface: String, virtualRouterID: Int, version: Int, state: String, priority: Int,
                configuredPriority: Int, masterAddress: String? = nil, since: Double, advertsSent: UInt64 = 0,
                advertsReceived: UInt64 = 0, drops: [String: UInt64] = [:], addresses: [String] = []) {
        self.name = name
        self.interface = interface
        self.virtualRouterID = virtualRouterID
        self.version = version
        self.state = state
        self.priority = priority
        self.configuredPriority = configuredPriority
        self.masterAddress = masterAddress
        self.since = since
        self.advertsSent = advertsSent
        self.advertsReceived = advertsReceived
        self.drops = drops
        self.addresses = addresses
    }
}

/// A vrrp_script as its runner sees it: the verdict, the run in progress, the last result and the counts that
/// lead to the next verdict (keepalived's rise/fall).
public struct TrackedScriptStatus: Codable, Equatable, Sendable {
    public var name: String
    public var command: String
    public var up: Bool
    /// A run is in progress now.
    public var running: Bool
    /// Successes (when the last run succeeded) or failures in a row.
    public var successesInARow: Int
    public var failuresInARow: Int
    public var rise: Int
    public var fall: Int
    /// How the last run ended ("exited with status 1: nginx: no process found"); empty before the first.
    public var lastResult: String
    /// Seconds since the epoch when the last run ended; nil before the first.
    public var lastRun: Double?

    public init(name: String, command: String, up: Bool, running: Bool = false, successesInARow: Int = 0,
                failuresInARow: Int = 0, rise: Int = 1, fall: Int = 1, lastResult: String = "", lastRun: Double? = nil) {
        self.name = name
        self.command = command
        self.up = up
        self.running = running
        self.successesInARow = successesInARow
        self.failuresInARow = failuresInARow
        self.rise = rise
        self.fall = fall
        self.lastResult = lastResult
        self.lastRun = lastRun
    }
}

public struct SyncGroupStatus: Codable, Equatable, Sendable {
    public var name: String
    public var state: String
    public var members: [String]

    public init(name: String, state: String, members: [String]) {
        self.name = name
        self.state = state
        self.members = members
    }
}

public struct VirtualServerStatus: Codable, Equatable, Sendable {
    public var name: String
    public var quorumUp: Bool
    public var liveWeight: Int
    public var quorum: Int
    public var sorryServerActive: Bool
    public var sorryServer: String?
    public var reals: [RealServerStatus]
    /// For a virtual server with `announce`: whether its VIP's route is in the kernel for the routing daemon,
    /// since when, and why not (or what is about to withdraw it).
    public var announced: Bool?
    public var announcedSince: Double?
    public var announceReason: String?
    /// Set when the kernel refused part of this virtual server's rules (at start, a reload, a health change or a
    /// drift repair): what it refused and why. The next drift check tries again.
    public var notInForce: String?
    /// `ha_suspend`: true while the virtual server's address is not on this director and its checks wait.
    public var checksSuspended: Bool?

    public init(name: String, quorumUp: Bool, liveWeight: Int, quorum: Int, sorryServerActive: Bool,
                sorryServer: String? = nil, reals: [RealServerStatus] = []) {
        self.name = name
        self.quorumUp = quorumUp
        self.liveWeight = liveWeight
        self.quorum = quorum
        self.sorryServerActive = sorryServerActive
        self.sorryServer = sorryServer
        self.reals = reals
    }
}

public struct RealServerStatus: Codable, Equatable, Sendable {
    public var address: String
    public var up: Bool
    public var since: Double
    public var lastResult: String
    /// The weight in the kernel now; nil when the real is not in the table.
    public var kernelWeight: Int?
    /// The configured weight.
    public var configuredWeight: Int?
    /// `directorctl drain`: in the table at weight 0 (while its checks keep it up).
    public var drained: Bool?
    /// `directorctl weight`: the weight that replaces the configured one while the real is up.
    public var weightOverride: Int?
    /// Removed by a reload with `drain_on_removal`: at weight 0 until its connections end or the timeout passes.
    public var removing: Bool?
    /// Read from the kernel for drained and removing reals.
    public var activeConnections: UInt32?
    public var inactiveConnections: UInt32?

    public init(address: String, up: Bool, since: Double, lastResult: String, kernelWeight: Int? = nil,
                configuredWeight: Int? = nil, drained: Bool? = nil, weightOverride: Int? = nil, removing: Bool? = nil,
                activeConnections: UInt32? = nil, inactiveConnections: UInt32? = nil) {
        self.address = address
        self.up = up
        self.since = since
        self.lastResult = lastResult
        self.kernelWeight = kernelWeight
        self.configuredWeight = configuredWeight
        self.drained = drained
        self.weightOverride = weightOverride
        self.removing = removing
        self.activeConnections = activeConnections
        self.inactiveConnections = inactiveConnections
    }

    /// The operator's part of this real's state in a few words: "draining, 3 active connections", "drained",
    /// "weight overridden to 5", "removing, …"; nil when none applies.
    public var overrideSummary: String? {
        var parts: [String] = []
        if removing == true || drained == true {
            let verb = removing == true ? "removing" : "drain"
            switch activeConnections {
            case .some(0): parts.append(removing == true ? "removing, no active connection left" : "drained")
            case .some(let n): parts.append("\(verb == "drain" ? "draining" : verb), \(n) active connection\(n == 1 ? "" : "s")")
            case nil: parts.append(removing == true ? "removing" : "draining")
            }
        }
        if let w = weightOverride { parts.append("weight overridden to \(w)") }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }
}

public struct SyncDaemonStatus: Codable, Equatable, Sendable {
    public var role: String
    public var interface: String
    public var syncID: Int

    public init(role: String, interface: String, syncID: Int) {
        self.role = role
        self.interface = interface
        self.syncID = syncID
    }
}

/// JSON lines: one message per line, no embedded newlines (JSONEncoder escapes them inside strings).
public enum ControlFraming {
    /// A request or response larger than this is refused rather than buffered.
    public static let maximumMessageBytes = 16 << 20

    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value)) + [UInt8(ascii: "\n")]
    }

    public static func decode<T: Decodable>(_ type: T.Type, from line: some Collection<UInt8>) throws -> T {
        try JSONDecoder().decode(type, from: Data(line))
    }
}
