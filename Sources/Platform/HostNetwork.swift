import CNetlink
import Glibc

/// An address on an interface as `ip addr` knows it (virtual_ipaddress: ADDR/PLEN dev IF label L brd B scope S).
public struct InterfaceAddress: Hashable, Sendable, CustomStringConvertible {
    /// AF_INET or AF_INET6.
    public var family: Int32
    /// Network-order bytes, 4 or 16.
    public var address: [UInt8]
    public var prefixLength: Int
    public var interface: String
    public var label: String?
    public var broadcast: [UInt8]?
    /// RT_SCOPE_* (0 universe/global, 200 site, 253 link, 254 host); nil leaves the kernel's default.
    public var scope: UInt8?
    /// The other end of a point-to-point address (IFA_ADDRESS); `prefixLength` is then the peer's.
    public var peer: [UInt8]?
    /// IFA_F_* flags (IFA_F_NODAD, IFA_F_NOPREFIXROUTE, ...).
    public var flags: UInt32
    /// IPv6 preferred lifetime in seconds (0: deprecated); nil is forever.
    public var preferredLifetime: UInt32?

    public init(family: Int32, address: [UInt8], prefixLength: Int, interface: String,
                label: String? = nil, broadcast: [UInt8]? = nil, scope: UInt8? = nil, peer: [UInt8]? = nil,
                flags: UInt32 = 0, preferredLifetime: UInt32? = nil) {
        self.family = family
        self.address = address
        self.prefixLength = prefixLength
        self.interface = interface
        self.label = label
        self.broadcast = broadcast
        self.scope = scope
        self.peer = peer
        self.flags = flags
        self.preferredLifetime = preferredLifetime
    }

    public var description: String {
        let local = formatAddress(family: family, address)
        if let peer { return "\(local) peer \(formatAddress(family: family, peer))/\(prefixLength) dev \(interface)" }
        return "\(local)/\(prefixLength) dev \(interface)"
    }
}

/// A route as virtual_routes declares it: DST/PLEN [via GW] [src SRC] [dev IF] [table N] [metric M] [scope S].
public struct HostRoute: Hashable, Sendable, CustomStringConvertible {
    public var family: Int32
    public var destination: [UInt8]
    public var prefixLength: Int
    public var gateway: [UInt8]?
    public var source: [UInt8]?
    public var interface: String?
    public var table: UInt32?
    public var metric: UInt32?
    public var scope: UInt8?
    /// RTN_* route type: unicast by default; blackhole, unreachable and prohibit carry no next hop.
    public var type: UInt8
    /// RTPROT_* (rtm_protocol), what routing daemons filter on; nil leaves libnl's default (static).
    public var routeProtocol: UInt8?
    /// Two or more: a multipath route (RTA_MULTIPATH); `gateway` and `interface` are then nil.
    public var nextHops: [HostNextHop]
    public var tos: UInt8?
    /// RTNH_F_ONLINK on the single next hop.
    public var onlink: Bool
    /// RTAX_* → value (RTA_METRICS).
    public var metrics: [UInt16: UInt32]
    /// RTAX_LOCK: bit N locks metric N.
    public var lockedMetrics: UInt32
    /// NLM_F_APPEND instead of NLM_F_EXCL.
    public var append: Bool

    public init(family: Int32, destination: [UInt8], prefixLength: Int, gateway: [UInt8]? = nil,
                source: [UInt8]? = nil, interface: String? = nil, table: UInt32? = nil, metric: UInt32? = nil,
                scope: UInt8? = nil, type: UInt8 = UInt8(RTN_UNICAST), routeProtocol: UInt8? = nil,
                nextHops: [HostNextHop] = [], tos: UInt8? = nil, onlink: Bool = false,
                metrics: [UInt16: UInt32] = [:], lockedMetrics: UInt32 = 0, append: Bool = false) {
        self.nextHops = nextHops
        self.tos = tos
        self.onlink = onlink
        self.metrics = metrics
        self.lockedMetrics = lockedMetrics
        self.append = append
        self.family = family
        self.destination = destination
        self.prefixLength = prefixLength
        self.gateway = gateway
        self.source = source
        self.interface = interface
        self.table = table
        self.metric = metric
        self.scope = scope
        self.type = type
        self.routeProtocol = routeProtocol
    }

    public var description: String {
        var s = "\(formatAddress(family: family, destination))/\(prefixLength)"
        if let gateway { s += " via \(formatAddress(family: family, gateway))" }
        if let interface { s += " dev \(interface)" }
        for hop in nextHops {
            s += " nexthop"
            if let g = hop.gateway { s += " via \(formatAddress(family: family, g))" }
            if let i = hop.interface { s += " dev \(i)" }
            if hop.weight != 1 { s += " weight \(hop.weight)" }
        }
        if let table { s += " table \(table)" }
        if let routeProtocol { s += " proto \(routeProtocol)" }
        return s
    }
}

/// One next hop of a multipath route.
public struct HostNextHop: Hashable, Sendable {
    public var gateway: [UInt8]?
    public var interface: String?
    /// 1...256, as ip(8) shows it.
    public var weight: Int
    public var onlink: Bool

    public init(gateway: [UInt8]? = nil, interface: String? = nil, weight: Int = 1, onlink: Bool = false) {
        self.gateway = gateway
        self.interface = interface
        self.weight = weight
        self.onlink = onlink
    }
}

/// RTN_* values for `HostRoute.type`, for modules that do not import the kernel headers.
public enum RouteKind {
    public static let unicast = UInt8(RTN_UNICAST)
    public static let blackhole = UInt8(RTN_BLACKHOLE)
    public static let unreachable = UInt8(RTN_UNREACHABLE)
    public static let prohibit = UInt8(RTN_PROHIBIT)
    public static let `throw` = UInt8(RTN_THROW)
}

/// A policy routing rule as static_rules declares it, in `ip rule`'s terms.
public struct HostRule: Hashable, Sendable, CustomStringConvertible {
    public var family: Int32
    /// Network-order bytes with a prefix length; nil matches all.
    public var source: [UInt8]?
    public var sourceLength: Int
    public var destination: [UInt8]?
    public var destinationLength: Int
    /// FIB_RULE_INVERT: `not`.
    public var invert: Bool
    public var priority: UInt32?
    public var tos: UInt8?
    public var mark: UInt32?
    public var mask: UInt32?
    public var inputInterface: String?
    public var outputInterface: String?
    public var action: Action

    /// FR_ACT_*, with the table or the goto target that two of them carry.
    public enum Action: Hashable, Sendable {
        case table(UInt32), goto(UInt32), nop, blackhole, unreachable, prohibit
    }

    public init(family: Int32, source: [UInt8]? = nil, sourceLength: Int = 0, destination: [UInt8]? = nil,
                destinationLength: Int = 0, invert: Bool = false, priority: UInt32? = nil, tos: UInt8? = nil,
                mark: UInt32? = nil, mask: UInt32? = nil, inputInterface: String? = nil, outputInterface: String? = nil,
                action: Action) {
        self.family = family
        self.source = source
        self.sourceLength = sourceLength
        self.destination = destination
        self.destinationLength = destinationLength
        self.invert = invert
        self.priority = priority
        self.tos = tos
        self.mark = mark
        self.mask = mask
        self.inputInterface = inputInterface
        self.outputInterface = outputInterface
        self.action = action
    }

    /// `ip rule`'s words.
    public var description: String {
        var words: [String] = []
        if let priority { words.append("pref \(priority)") }
        if invert { words.append("not") }
        words.append("from " + (source.map { "\(formatAddress(family: family, $0))/\(sourceLength)" } ?? "all"))
        if let destination { words.append("to \(formatAddress(family: family, destination))/\(destinationLength)") }
        if let tos { words.append("tos \(tos)") }
        if let mark { words.append("fwmark \(mark)" + (mask.map { "/\($0)" } ?? "")) }
        if let inputInterface { words.append("iif \(inputInterface)") }
        if let outputInterface { words.append("oif \(outputInterface)") }
        switch action {
        case .table(let table): words.append("lookup \(table)")
        case .goto(let target): words.append("goto \(target)")
        case .nop: words.append("nop")
        case .blackhole: words.append("blackhole")
        case .unreachable: words.append("unreachable")
        case .prohibit: words.append("prohibit")
        }
        return words.joined(separator: " ")
    }
}

/// Link state for track_interface.
public struct LinkState: Equatable, Sendable {
    public var index: Int32
    public var isUp: Bool
    /// The MAC address (6 bytes on Ethernet), for gratuitous ARP.
    public var hardwareAddress: [UInt8]
}

/// What an add found: the kernel had the address already (someone else's: never removed by directord) or not.
public enum AddOutcome: Equatable, Sendable {
    case added
    case alreadyPresent
}

/// Addresses, routes and links of the current network namespace; a protocol so VRRP's host side has a fake.
public protocol HostNetworking: Sendable {
    func add(_ address: InterfaceAddress) throws(SystemError) -> AddOutcome
    func remove(_ address: InterfaceAddress) throws(SystemError)
    func add(_ route: HostRoute) throws(SystemError) -> AddOutcome
    func remove(_ route: HostRoute) throws(SystemError)
    func add(_ rule: HostRule) throws(SystemError) -> AddOutcome
    func remove(_ rule: HostRule) throws(SystemError)
    func link(_ name: String) throws(SystemError) -> LinkState
}

/// rtnetlink through libnl-route. Each call opens its own socket: address changes are rare (state transitions),
/// and a private socket keeps calls from different threads apart.
public struct RouteNetlink: HostNetworking {
    public init() {}

    public func add(_ address: InterfaceAddress) throws(SystemError) -> AddOutcome {
        let socket = try RouteSocket()
        let object = try AddressObject(address, ifindex: try ifindex(address.interface))
        let rc = rtnl_addr_add(socket.handle, object.handle, NLM_F_CREATE | NLM_F_EXCL)
        if rc == -NLE_EXIST { return .alreadyPresent }
        try check(rc, "add address", address.description)
        return .added
    }

    public func remove(_ address: InterfaceAddress) throws(SystemError) {
        let socket = try RouteSocket()
        let object = try AddressObject(address, ifindex: try ifindex(address.interface))
        let rc = rtnl_addr_delete(socket.handle, object.handle, 0)
        // Already gone (an operator removed it, or the interface went away) is what we wanted.
        if rc == -NLE_NOADDR || rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV { return }
        try check(rc, "delete address", address.description)
    }

    public func add(_ route: HostRoute) throws(SystemError) -> AddOutcome {
        let socket = try RouteSocket()
        let object = try RouteObject(route) { name throws(SystemError) in try ifindex(name) }
        let rc = rtnl_route_add(socket.handle, object.handle, NLM_F_CREATE | (route.append ? NLM_F_APPEND : NLM_F_EXCL))
        if rc == -NLE_EXIST { return .alreadyPresent }
        try check(rc, "add route", route.description)
        return .added
    }

    public func remove(_ route: HostRoute) throws(SystemError) {
        let socket = try RouteSocket()
        let object = try RouteObject(route) { name throws(SystemError) in try ifindex(name) }
        let rc = rtnl_route_delete(socket.handle, object.handle, 0)
        if rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV { return }
        try check(rc, "delete route", route.description)
    }

    public func add(_ rule: HostRule) throws(SystemError) -> AddOutcome {
        let socket = try RouteSocket()
        let object = try RuleObject(rule)
        // NLM_F_EXCL: the kernel answers EEXIST for an equal rule (fib_nl_newrule's rule_exists) instead of a twin.
        let rc = try object.send(socket, add: true, flags: NLM_F_CREATE | NLM_F_EXCL)
        if rc == -NLE_EXIST { return .alreadyPresent }
        try check(rc, "add rule", rule.description)
        return .added
    }

    public func remove(_ rule: HostRule) throws(SystemError) {
        let socket = try RouteSocket()
        let object = try RuleObject(rule)
        let rc = try object.send(socket, add: false, flags: 0)
        if rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NOADDR || rc == -NLE_NODEV { return }
        try check(rc, "delete rule", rule.description)
    }

    public func link(_ name: String) throws(SystemError) -> LinkState {
        let socket = try RouteSocket()
        var link: OpaquePointer?
        try check(rtnl_link_get_kernel(socket.handle, 0, name, &link), "get link", name)
        guard let link else { throw SystemError(call: "get link", errno: ENODEV, detail: name) }
        defer { rtnl_link_put(link) }
        let flags = rtnl_link_get_flags(link)
        var mac: [UInt8] = []
        if let hw = rtnl_link_get_addr(link), let bytes = nl_addr_get_binary_addr(hw) {
            mac = Array(UnsafeRawBufferPointer(start: bytes, count: Int(nl_addr_get_len(hw))))
        }
        // IFF_RUNNING is the carrier: a cable pulled or a peer veth down is a fault, not just `ip link set down`.
        let up = flags & UInt32(IFF_UP) != 0 && flags & UInt32(IFF_RUNNING) != 0
        return LinkState(index: rtnl_link_get_ifindex(link), isUp: up, hardwareAddress: mac)
    }

    func ifindex(_ name: String) throws(SystemError) -> Int32 {
        let index = if_nametoindex(name)
        guard index != 0 else { throw SystemError(call: "if_nametoindex", errno: errno == 0 ? ENODEV : errno, detail: name) }
        return Int32(index)
    }
}

/// libnl reports NLE_* codes; map the common ones back to errno so messages read like ip(8)'s.
func check(_ rc: Int32, _ call: String, _ detail: String) throws(SystemError) {
    guard rc < 0 else { return }
    let errnoValue: Int32
    switch -rc {
    case NLE_PERM: errnoValue = EPERM
    case NLE_EXIST: errnoValue = EEXIST
    case NLE_NODEV: errnoValue = ENODEV
    case NLE_NOADDR, NLE_OBJ_NOTFOUND: errnoValue = EADDRNOTAVAIL
    case NLE_INVAL: errnoValue = EINVAL
    case NLE_NOMEM: errnoValue = ENOMEM
    case NLE_BUSY: errnoValue = EBUSY
    case NLE_AF_NOSUPPORT: errnoValue = EAFNOSUPPORT
    default: errnoValue = EIO
    }
    let reason = String(cString: nl_geterror(rc))
    throw SystemError(call: call, errno: errnoValue, detail: "\(detail) (\(reason))")
}

final class RouteSocket {
    let handle: OpaquePointer

    init() throws(SystemError) {
        guard let sock = nl_socket_alloc() else { throw SystemError(call: "nl_socket_alloc", errno: ENOMEM) }
        let rc = nl_connect(sock, NETLINK_ROUTE)
        if rc < 0 {
            nl_socket_free(sock)
            try check(rc, "nl_connect", "NETLINK_ROUTE")
        }
        handle = sock
    }

    deinit { nl_socket_free(handle) }
}

final class NetlinkAddress {
    let handle: OpaquePointer

    init(family: Int32, bytes: [UInt8], prefixLength: Int? = nil) throws(SystemError) {
        guard let a = bytes.withUnsafeBytes({ nl_addr_build(family, $0.baseAddress, $0.count) }) else {
            throw SystemError(call: "nl_addr_build", errno: ENOMEM)
        }
        if let prefixLength { nl_addr_set_prefixlen(a, Int32(prefixLength)) }
        handle = a
    }

    deinit { nl_addr_put(handle) }
}

final class AddressObject {
    let handle: OpaquePointer

    init(_ a: InterfaceAddress, ifindex: Int32) throws(SystemError) {
        guard let object = rtnl_addr_alloc() else { throw SystemError(call: "rtnl_addr_alloc", errno: ENOMEM) }
        handle = object
        rtnl_addr_set_ifindex(object, ifindex)
        rtnl_addr_set_family(object, a.family)
        let local = try NetlinkAddress(family: a.family, bytes: a.address)
        try check(rtnl_addr_set_local(object, local.handle), "rtnl_addr_set_local", a.description)
        rtnl_addr_set_prefixlen(object, Int32(a.prefixLength))
        if let label = a.label { try check(rtnl_addr_set_label(object, label), "rtnl_addr_set_label", label) }
        if let brd = a.broadcast {
            let b = try NetlinkAddress(family: a.family, bytes: brd)
            try check(rtnl_addr_set_broadcast(object, b.handle), "rtnl_addr_set_broadcast", a.description)
        }
        if let scope = a.scope { rtnl_addr_set_scope(object, Int32(scope)) }
        if let p = a.peer {
            let peer = try NetlinkAddress(family: a.family, bytes: p, prefixLength: a.prefixLength)
            try check(rtnl_addr_set_peer(object, peer.handle), "rtnl_addr_set_peer", a.description)
        }
        if a.flags != 0 { rtnl_addr_set_flags(object, a.flags) }
        if let lifetime = a.preferredLifetime {
            rtnl_addr_set_preferred_lifetime(object, lifetime)
            rtnl_addr_set_valid_lifetime(object, UInt32.max)
        }
    }

    deinit { rtnl_addr_put(handle) }
}

final class RouteObject {
    let handle: OpaquePointer

    init(_ r: HostRoute, ifindex resolve: (String) throws(SystemError) -> Int32) throws(SystemError) {
        guard let object = rtnl_route_alloc() else { throw SystemError(call: "rtnl_route_alloc", errno: ENOMEM) }
        handle = object
        rtnl_route_set_family(object, UInt8(r.family))
        let dst = try NetlinkAddress(family: r.family, bytes: r.destination, prefixLength: r.prefixLength)
        try check(rtnl_route_set_dst(object, dst.handle), "rtnl_route_set_dst", r.description)
        rtnl_route_set_table(object, r.table ?? UInt32(RT_TABLE_MAIN.rawValue))
        try check(rtnl_route_set_type(object, r.type), "rtnl_route_set_type", r.description)
        if let metric = r.metric { rtnl_route_set_priority(object, metric) }
        if let scope = r.scope {
            rtnl_route_set_scope(object, scope)
        } else if r.type != UInt8(RTN_UNICAST) {
            // libnl guesses scope link for a route without a gateway; ip(8) gives blackhole and the like universe.
            rtnl_route_set_scope(object, UInt8(RT_SCOPE_UNIVERSE.rawValue))
        }
        if let proto = r.routeProtocol { rtnl_route_set_protocol(object, proto) }
        if let src = r.source {
            let s = try NetlinkAddress(family: r.family, bytes: src)
            try check(rtnl_route_set_pref_src(object, s.handle), "rtnl_route_set_pref_src", r.description)
        }
        if let tos = r.tos { rtnl_route_set_tos(object, tos) }
        for (kind, value) in r.metrics.sorted(by: { $0.key < $1.key }) {
            try check(rtnl_route_set_metric(object, Int32(kind), value), "rtnl_route_set_metric", r.description)
        }
        if r.lockedMetrics != 0 {
            try check(rtnl_route_set_metric(object, Int32(RTAX_LOCK), r.lockedMetrics), "rtnl_route_set_metric", r.description)
        }
        guard r.type == UInt8(RTN_UNICAST) else { return }
        if r.nextHops.isEmpty {
            guard r.gateway != nil || r.interface != nil else { return }
            let single = HostNextHop(gateway: r.gateway, interface: r.interface, onlink: r.onlink)
            try Self.addNextHop(single, to: object, family: r.family, multipath: false, resolve)
        } else {
            for hop in r.nextHops { try Self.addNextHop(hop, to: object, family: r.family, multipath: true, resolve) }
        }
    }

    private static func addNextHop(_ h: HostNextHop, to route: OpaquePointer, family: Int32, multipath: Bool,
                                   _ resolve: (String) throws(SystemError) -> Int32) throws(SystemError) {
        guard let hop = rtnl_route_nh_alloc() else { throw SystemError(call: "rtnl_route_nh_alloc", errno: ENOMEM) }
        // The route owns the next hop once added and frees it with itself; free it here if that never happens.
        var owned = false
        defer { if !owned { rtnl_route_nh_free(hop) } }
        if let name = h.interface { rtnl_route_nh_set_ifindex(hop, try resolve(name)) }
        if let gw = h.gateway {
            let g = try NetlinkAddress(family: family, bytes: gw)
            rtnl_route_nh_set_gateway(hop, g.handle)
        }
        // libnl puts the weight into rtnh_hops as it is; the kernel's weight is rtnh_hops + 1, as ip(8) shows it.
        if multipath { rtnl_route_nh_set_weight(hop, UInt8(clamping: h.weight - 1)) }
        if h.onlink { rtnl_route_nh_set_flags(hop, UInt32(RTNH_F_ONLINK)) }
        rtnl_route_add_nexthop(route, hop)
        owned = true
    }

    deinit { rtnl_route_put(handle) }
}

final class RuleObject {
    let handle: OpaquePointer
    let invert: Bool

    init(_ r: HostRule) throws(SystemError) {
        guard let object = rtnl_rule_alloc() else { throw SystemError(call: "rtnl_rule_alloc", errno: ENOMEM) }
        handle = object
        invert = r.invert
        rtnl_rule_set_family(object, r.family)
        if let src = r.source {
            let a = try NetlinkAddress(family: r.family, bytes: src, prefixLength: r.sourceLength)
            try check(rtnl_rule_set_src(object, a.handle), "rtnl_rule_set_src", r.description)
        }
        if let dst = r.destination {
            let a = try NetlinkAddress(family: r.family, bytes: dst, prefixLength: r.destinationLength)
            try check(rtnl_rule_set_dst(object, a.handle), "rtnl_rule_set_dst", r.description)
        }
        if let priority = r.priority { rtnl_rule_set_prio(object, priority) }
        if let tos = r.tos { rtnl_rule_set_dsfield(object, tos) }
        if let mark = r.mark { rtnl_rule_set_mark(object, mark) }
        if let mask = r.mask { rtnl_rule_set_mask(object, mask) }
        if let iif = r.inputInterface { try check(rtnl_rule_set_iif(object, iif), "rtnl_rule_set_iif", iif) }
        if let oif = r.outputInterface { try check(rtnl_rule_set_oif(object, oif), "rtnl_rule_set_oif", oif) }
        switch r.action {
        case .table(let table):
            rtnl_rule_set_action(object, UInt8(FR_ACT_TO_TBL))
            rtnl_rule_set_table(object, table)
        case .goto(let target):
            rtnl_rule_set_action(object, UInt8(FR_ACT_GOTO))
            rtnl_rule_set_goto(object, target)
        case .nop: rtnl_rule_set_action(object, UInt8(FR_ACT_NOP))
        case .blackhole: rtnl_rule_set_action(object, UInt8(FR_ACT_BLACKHOLE))
        case .unreachable: rtnl_rule_set_action(object, UInt8(FR_ACT_UNREACHABLE))
        case .prohibit: rtnl_rule_set_action(object, UInt8(FR_ACT_PROHIBIT))
        }
    }

    /// libnl-route has no setter for the rule header's flags, so `not` (FIB_RULE_INVERT) is set in the built
    /// request before it is sent. Answers libnl's code (negative NLE_* on failure).
    func send(_ socket: RouteSocket, add: Bool, flags: Int32) throws(SystemError) -> Int32 {
        var message: OpaquePointer?
        let rc = add ? rtnl_rule_build_add_request(handle, flags, &message)
            : rtnl_rule_build_delete_request(handle, flags, &message)
        try check(rc, add ? "rtnl_rule_build_add_request" : "rtnl_rule_build_delete_request", "")
        guard let message else { throw SystemError(call: "rtnl_rule_build_request", errno: ENOMEM) }
        if invert, let header = nlmsg_data(nlmsg_hdr(message)) {
            header.assumingMemoryBound(to: fib_rule_hdr.self).pointee.flags |= UInt32(FIB_RULE_INVERT)
        }
        // nl_send_sync frees the message and waits for the kernel's ack.
        return nl_send_sync(socket.handle, message)
    }

    deinit { rtnl_rule_put(handle) }
}

/// inet_ntop for log lines.
public func formatAddress(family: Int32, _ bytes: [UInt8]) -> String {
    var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
    let ok = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &out, socklen_t(out.count)) } != nil
    return ok ? String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
}
