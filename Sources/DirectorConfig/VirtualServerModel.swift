// IPVS side of the model: virtual servers, their real servers and health checks, with inherited values resolved.
import Addresses

public enum Scheduler: String, Hashable, Sendable, CaseIterable {
    case rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos
}

/// directord drives NAT and DR only (no tunnelling).
public enum ForwardingMethod: String, Hashable, Sendable {
    case nat = "NAT"
    case dr = "DR"
}

public enum TransportProtocol: String, Hashable, Sendable {
    case tcp = "TCP"
    case udp = "UDP"
    case sctp = "SCTP"
}

/// How the service is named in the kernel: address+port, firewall mark, or a virtual_server_group.
public enum VirtualServerKey: Hashable, Sendable, CustomStringConvertible {
    case endpoint(Endpoint)
    case fwmark(UInt32)
    case group(String)

    public var description: String {
        switch self {
        case .endpoint(let e): "\(e.address) \(e.port)"
        case .fwmark(let mark): "fwmark \(mark)"
        case .group(let name): "group \(name)"
        }
    }

    public var isEndpoint: Bool { if case .endpoint = self { true } else { false } }
    public var isGroup: Bool { if case .group = self { true } else { false } }
}

public struct VirtualServerGroup: Hashable, Sendable {
    public enum Member: Hashable, Sendable {
        /// `ADDR [PORT]`, `FIRST-LAST [PORT]` or `ADDR/PLEN [PORT]`, as an inclusive range; port 0 when omitted.
        case range(first: IPAddress, last: IPAddress, port: UInt16)
        case fwmark(UInt32, family: AddressFamily?)
    }

    public var name: String
    public var members: [Member]
    public var origin: SourceOrigin

    public init(name: String, members: [Member], origin: SourceOrigin = SourceOrigin(nil)) {
        self.name = name
        self.members = members
        self.origin = origin
    }
}

public struct SchedulerFlags: Hashable, Sendable {
    public var shPort = false
    public var shFallback = false
    public var mhPort = false
    public var mhFallback = false
    /// keepalived's raw `flag-1`, `flag-2`, `flag-3`: IP_VS_SVC_F_SCHED1..3 whatever the scheduler (ipvsadm -b flag-N).
    /// For sh and mh, flag-1 is the fallback bit and flag-2 the port bit.
    public var flag1 = false
    public var flag2 = false
    public var flag3 = false

    public init(shPort: Bool = false, shFallback: Bool = false, mhPort: Bool = false, mhFallback: Bool = false,
                flag1: Bool = false, flag2: Bool = false, flag3: Bool = false) {
        self.shPort = shPort
        self.shFallback = shFallback
        self.mhPort = mhPort
        self.mhFallback = mhFallback
        self.flag1 = flag1
        self.flag2 = flag2
        self.flag3 = flag3
    }
}

public struct SorryServer: Hashable, Sendable {
    public var endpoint: Endpoint
    /// Weight 0 instead of removal when it leaves (sorry_server_inhibit).
    public var inhibit: Bool
    public var forwarding: ForwardingMethod
    public var origin: SourceOrigin

    public init(endpoint: Endpoint, inhibit: Bool = false, forwarding: ForwardingMethod, origin: SourceOrigin = SourceOrigin(nil)) {
        self.endpoint = endpoint
        self.inhibit = inhibit
        self.forwarding = forwarding
        self.origin = origin
    }
}

public struct VirtualServerIdentity: Hashable, Sendable, CustomStringConvertible {
    public var key: VirtualServerKey
    public var protocolType: TransportProtocol

    public var description: String { "\(key) \(protocolType.rawValue)" }
}

public struct VirtualServer: Hashable, Sendable {
    public static let defaultScheduler = Scheduler.wlc
    public static let defaultPersistenceTimeout: UInt32 = 360

    public var key: VirtualServerKey {
        didSet { identity = serviceIdentity.description }
    }
    /// The service's address family: the address's, or for fwmark and group services `ip_family`, else the
    /// family of the real servers, else IPv4 (keepalived's rule).
    public var family: AddressFamily
    public var protocolType: TransportProtocol {
        didSet { identity = serviceIdentity.description }
    }
    public var scheduler: Scheduler
    public var schedulerFlags: SchedulerFlags
    public var forwarding: ForwardingMethod
    /// Seconds; nil when the service is not persistent.
    public var persistenceTimeout: UInt32?
    /// Prefix length of the persistence netmask (`persistence_granularity`).
    public var persistenceGranularity: Int?
    /// `persistence_engine` ("sip"); nil without one, and always nil when the service is not persistent.
    public var persistenceEngine: String?
    public var onePacketScheduling: Bool
    public var alpha: Bool
    public var omega: Bool
    public var quorum: UInt32
    public var hysteresis: UInt32
    public var quorumUp: NotifyScript?
    public var quorumDown: NotifyScript?
    public var sorryServer: SorryServer?
    public var haSuspend: Bool
    /// directord's own `drain_on_removal`; nil: the global one.
    public var drainOnRemoval: Duration?
    /// directord's own `announce`: a host route for the address while the service is healthy here.
    public var announce: Bool
    public var realServers: [RealServer]
    public var origin: SourceOrigin
    /// The parse-cache entry this server was read from, if any (invisible to `==`, as `origin` is).
    public var parseSerial = ParseSerial()

    public init(
        key: VirtualServerKey, family: AddressFamily? = nil, protocolType: TransportProtocol = .tcp, scheduler: Scheduler = VirtualServer.defaultScheduler,
        schedulerFlags: SchedulerFlags = SchedulerFlags(), forwarding: ForwardingMethod = .nat,
        persistenceTimeout: UInt32? = nil, persistenceGranularity: Int? = nil, persistenceEngine: String? = nil,
        onePacketScheduling: Bool = false,
        alpha: Bool = false, omega: Bool = false, quorum: UInt32 = 1, hysteresis: UInt32 = 0,
        quorumUp: NotifyScript? = nil, quorumDown: NotifyScript? = nil, sorryServer: SorryServer? = nil,
        haSuspend: Bool = false, drainOnRemoval: Duration? = nil, announce: Bool = false, realServers: [RealServer] = [],
        origin: SourceOrigin = SourceOrigin(nil)
    ) {
        self.key = key
        if let family {
            self.family = family
        } else if case .endpoint(let e) = key {
            self.family = e.address.family
        } else {
            self.family = realServers.first?.endpoint.address.family ?? .ipv4
        }
        self.protocolType = protocolType
        self.scheduler = scheduler
        self.schedulerFlags = schedulerFlags
        self.forwarding = forwarding
        self.persistenceTimeout = persistenceTimeout
        self.persistenceGranularity = persistenceGranularity
        self.persistenceEngine = persistenceEngine
        self.onePacketScheduling = onePacketScheduling
        self.alpha = alpha
        self.omega = omega
        self.quorum = quorum
        self.hysteresis = hysteresis
        self.quorumUp = quorumUp
        self.quorumDown = quorumDown
        self.sorryServer = sorryServer
        self.haSuspend = haSuspend
        self.drainOnRemoval = drainOnRemoval
        self.announce = announce
        self.realServers = realServers
        self.origin = origin
        identity = VirtualServerIdentity(key: key, protocolType: protocolType).description
    }

    /// What names the service: two virtual servers with the same identity are one service (a reload diff
    /// matches old and new virtual servers by it). keepalived keys fwmark services by protocol too.
    public var serviceIdentity: VirtualServerIdentity { VirtualServerIdentity(key: key, protocolType: protocolType) }

    /// `serviceIdentity` as text ("192.0.2.1 80 TCP"), for logs and string-keyed tables; kept with the key and
    /// protocol (a reload looks every virtual server up by it, and printing addresses is not free).
    public private(set) var identity: String
}

public struct RealServer: Hashable, Sendable {
    public var endpoint: Endpoint
    public var weight: Int
    public var forwarding: ForwardingMethod
    public var inhibitOnFailure: Bool
    /// Start down until the first successful check.
    public var alpha: Bool
    public var notifyUp: NotifyScript?
    public var notifyDown: NotifyScript?
    /// Connection thresholds (0: none).
    public var upperThreshold: UInt32
    public var lowerThreshold: UInt32
    public var checks: [HealthCheck]
    public var origin: SourceOrigin

    public init(
        endpoint: Endpoint, weight: Int = 1, forwarding: ForwardingMethod = .nat, inhibitOnFailure: Bool = false,
        alpha: Bool = false, notifyUp: NotifyScript? = nil, notifyDown: NotifyScript? = nil, upperThreshold: UInt32 = 0,
        lowerThreshold: UInt32 = 0, checks: [HealthCheck] = [], origin: SourceOrigin = SourceOrigin(nil)
    ) {
        self.endpoint = endpoint
        self.weight = weight
        self.forwarding = forwarding
        self.inhibitOnFailure = inhibitOnFailure
        self.alpha = alpha
        self.notifyUp = notifyUp
        self.notifyDown = notifyDown
        self.upperThreshold = upperThreshold
        self.lowerThreshold = lowerThreshold
        self.checks = checks
        self.origin = origin
    }
}

// MARK: - Health checks

public enum HealthCheckKind: String, Hashable, Sendable {
    case httpGet = "HTTP_GET"
    case sslGet = "SSL_GET"
    case tcp = "TCP_CHECK"
    case misc = "MISC_CHECK"
    case file = "FILE_CHECK"
    case smtp = "SMTP_CHECK"
    case dns = "DNS_CHECK"
    case udp = "UDP_CHECK"
    case ping = "PING_CHECK"
}

public enum HTTPProtocolVersion: String, Hashable, Sendable {
    case http10 = "1.0"
    /// HTTP/1.0 with `Connection: close`.
    case http10Close = "1.0C"
    case http11 = "1.1"
}

public struct URLCheck: Hashable, Sendable {
    public static let defaultStatusCodes: [ClosedRange<Int>] = [200...299]

    public var path: String
    /// 32 lowercase hex characters (MD5 of the body), when the body is checked.
    public var digest: String?
    public var statusCodes: [ClosedRange<Int>]
    /// The Host header; nil uses the checker's.
    public var virtualhost: String?
    /// `regex` with `regex_no_match`, `regex_options` and the offsets; nil without `regex`.
    public var regex: URLRegex?

    public init(path: String, digest: String? = nil, statusCodes: [ClosedRange<Int>] = URLCheck.defaultStatusCodes, virtualhost: String? = nil,
                regex: URLRegex? = nil) {
        self.path = path
        self.digest = digest
        self.statusCodes = statusCodes
        self.virtualhost = virtualhost
        self.regex = regex
    }

    public func accepts(status: Int) -> Bool { statusCodes.contains { $0.contains(status) } }
}

/// keepalived's url `regex`: a PCRE2 pattern the response body must match (or, with `noMatch`, must not), the
/// match starting between `minOffset` and `maxOffset` bytes into the body.
public struct URLRegex: Hashable, Sendable {
    public var pattern: String
    /// `regex_options` names, in keepalived's spelling (caseless, multiline, ...), as given.
    public var options: [String]
    public var noMatch: Bool
    public var minOffset: Int
    public var maxOffset: Int?
    /// `regex_stack START MAX`: sizes keepalived's JIT stack; directord matches without the JIT and keeps it only to
    /// write it back.
    public var stack: (start: Int, max: Int)? {
        get { stackSizes.map { ($0[0], $0[1]) } }
        set { stackSizes = newValue.map { [$0.start, $0.max] } }
    }
    private var stackSizes: [Int]?

    /// The PCRE2 compile flags of `options`.
    public var compileFlags: UInt32 { options.reduce(0) { $0 | (HealthCheckDraft.URLDraft.regexOptionFlags[$1] ?? 0) } }

    public init(pattern: String, options: [String] = [], noMatch: Bool = false, minOffset: Int = 0, maxOffset: Int? = nil) {
        self.pattern = pattern
        self.options = options
        self.noMatch = noMatch
        self.minOffset = minOffset
        self.maxOffset = maxOffset
    }
}

/// One checker on a real server, with every value inherited from the real and virtual server already resolved.
public struct HealthCheck: Hashable, Sendable {
    public static let defaultDelayLoop: Duration = .seconds(60)
    public static let defaultConnectTimeout: Duration = .seconds(5)
    public static let defaultRetry = 1

    public var kind: HealthCheckKind
    public var connectIP: IPAddress
    public var connectPort: UInt16
    public var bindTo: IPAddress?
    public var bindPort: UInt16?
    /// `fwmark`: SO_MARK on the check's socket (nil: none), so policy routing or a firewall can steer check traffic.
    public var fwmark: UInt32? = nil
    /// `bind_if`: the check's socket is bound to this interface (SO_BINDTODEVICE), which also scopes IPv6
    /// link-local addresses.
    public var bindInterface: String? = nil
    public var connectTimeout: Duration
    /// Failures in a row (after the first) before the real is down.
    public var retry: Int
    public var delayBeforeRetry: Duration
    public var delayLoop: Duration
    /// Maximum random delay before the first check.
    public var warmup: Duration
    public var alpha: Bool
    // HTTP_GET and SSL_GET only:
    public var urls: [URLCheck]
    public var httpProtocol: HTTPProtocolVersion
    public var virtualhost: String?
    public var enableSNI: Bool
    public var sniName: String?
    // MISC_CHECK and FILE_CHECK only (out of line: most checks are HTTP_GET or TCP_CHECK):
    @OutOfLine public var misc: MiscCheckConfig? = nil
    @OutOfLine public var file: FileCheckConfig? = nil
    /// SMTP_CHECK, DNS_CHECK and UDP_CHECK only (NetworkChecksModel.swift).
    @OutOfLine public var network = NetworkCheckOptions()

    public init(
        kind: HealthCheckKind, connectIP: IPAddress, connectPort: UInt16, bindTo: IPAddress? = nil, bindPort: UInt16? = nil,
        connectTimeout: Duration = HealthCheck.defaultConnectTimeout, retry: Int = HealthCheck.defaultRetry,
        delayBeforeRetry: Duration? = nil, delayLoop: Duration = HealthCheck.defaultDelayLoop, warmup: Duration? = nil,
        alpha: Bool = false, urls: [URLCheck] = [], httpProtocol: HTTPProtocolVersion = .http10, virtualhost: String? = nil,
        enableSNI: Bool = false, sniName: String? = nil
    ) {
        self.kind = kind
        self.connectIP = connectIP
        self.connectPort = connectPort
        self.bindTo = bindTo
        self.bindPort = bindPort
        self.connectTimeout = connectTimeout
        self.retry = retry
        self.delayBeforeRetry = delayBeforeRetry ?? HealthCheck.defaultDelayBeforeRetry(kind)
        self.delayLoop = delayLoop
        self.warmup = warmup ?? delayLoop
        self.alpha = alpha
        self.urls = urls
        self.httpProtocol = httpProtocol
        self.virtualhost = virtualhost
        self.enableSNI = enableSNI
        self.sniName = sniName
    }

    /// keepalived: 3 s for HTTP_GET and SSL_GET, 1 s for the others (DNS_CHECK: delay_loop, set where it is resolved).
    public static func defaultDelayBeforeRetry(_ kind: HealthCheckKind) -> Duration {
        kind == .httpGet || kind == .sslGet ? .seconds(3) : .seconds(1)
    }
}

/// Which parse-cache entry a value was read from. Two servers from the same entry were read from the same bytes
/// of the same file and depend on nothing else, so they are equal without a field-by-field comparison: a reload of
/// a 2000-service file compares the unchanged ones by this number. Invisible to `==` and hashing, as
/// `SourceOrigin` is; anything that changes a server after it was read (track_file resolution) clears it.
public struct ParseSerial: Hashable, Sendable {
    var value: UInt64?

    public init() { value = nil }
    init(_ value: UInt64) { self.value = value }

    /// Both were read from the same cache entry.
    public func sameEntry(as other: ParseSerial) -> Bool { value != nil && value == other.value }

    public static func == (_: ParseSerial, _: ParseSerial) -> Bool { true }
    public func hash(into hasher: inout Hasher) {}
}
