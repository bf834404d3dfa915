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

    public init(family: Int32, address: [UInt8], prefixLength: Int, interface: String,
                label: String? = nil, broadcast: [UInt8]? = nil, scope: UInt8? = nil) {
        self.family = family
        self.address = address
        self.prefixLength = prefixLength
        self.interface = interface
        self.label = label
        self.broadcast = broadcast
        self.scope = scope
    }

    public var description: String { "\(formatAddress(family: family, address))/\(prefixLength) dev \(interface)" }
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

    public init(family: Int32, destination: [UInt8], prefixLength: Int, gateway: [UInt8]? = nil,
                source: [UInt8]? = nil, interface: String? = nil, table: UInt32? = nil, metric: UInt32? = nil,
                scope: UInt8? = nil, type: UInt8 = UInt8(RTN_UNICAST), routeProtocol: UInt8? = nil) {
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
        if let table { s += " table \(table)" }
        if let routeProtocol { s += " proto \(routeProtocol)" }
        return s
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
        let object = try RouteObject(route, ifindex: try route.interface.map { name throws(SystemError) in try ifindex(name) })
        let rc = rtnl_route_add(socket.handle, object.handle, NLM_F_CREATE | NLM_F_EXCL)
        if rc == -NLE_EXIST { return .alreadyPresent }
        try check(rc, "add route", route.description)
        return .added
    }

    public func remove(_ route: HostRoute) throws(SystemError) {
        let socket = try RouteSocket()
        let object = try RouteObject(route, ifindex: try route.interface.map { name throws(SystemError) in try ifindex(name) })
        let rc = rtnl_route_delete(socket.handle, object.handle, 0)
        if rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV { return }
        try check(rc, "delete route", route.description)
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
    }

    deinit { rtnl_addr_put(handle) }
}

final class RouteObject {
    let handle: OpaquePointer

    init(_ r: HostRoute, ifindex: Int32?) throws(SystemError) {
        guard let object = rtnl_route_alloc() else { throw SystemError(call: "rtnl_route_alloc", errno: ENOMEM) }
        handle = object
        rtnl_route_set_family(object, UInt8(r.family))
        let dst = try NetlinkAddress(family: r.family, bytes: r.destination, prefixLength: r.prefixLength)
        try check(rtnl_route_set_dst(object, dst.handle), "rtnl_route_set_dst", r.description)
        rtnl_route_set_table(object, r.table ?? UInt32(RT_TABLE_MAIN.rawValue))
        try check(rtnl_route_set_type(object, r.type), "rtnl_route_set_type", r.description)
        if let metric = r.metric { rtnl_route_set_priority(object, metric) }
        if let scope = r.scope { rtnl_route_set_scope(object, scope) }
        if let proto = r.routeProtocol { rtnl_route_set_protocol(object, proto) }
        if let src = r.source {
            let s = try NetlinkAddress(family: r.family, bytes: src)
            try check(rtnl_route_set_pref_src(object, s.handle), "rtnl_route_set_pref_src", r.description)
        }
        guard r.type == UInt8(RTN_UNICAST), r.gateway != nil || ifindex != nil else { return }
        guard let hop = rtnl_route_nh_alloc() else { throw SystemError(call: "rtnl_route_nh_alloc", errno: ENOMEM) }
        if let ifindex { rtnl_route_nh_set_ifindex(hop, ifindex) }
        if let gw = r.gateway {
            let g = try NetlinkAddress(family: r.family, bytes: gw)
            rtnl_route_nh_set_gateway(hop, g.handle)
        }
        // The route owns the next hop from here on and frees it with itself.
        rtnl_route_add_nexthop(object, hop)
    }

    deinit { rtnl_route_put(handle) }
}

/// inet_ntop for log lines.
public func formatAddress(family: Int32, _ bytes: [UInt8]) -> String {
    var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
    let ok = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &out, socklen_t(out.count)) } != nil
    return ok ? String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
}
