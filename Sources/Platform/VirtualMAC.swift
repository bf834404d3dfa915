import CNetlink
import Glibc

/// What creating a use_vmac interface found.
public enum VirtualMACOutcome: Equatable, Sendable {
    case created
    /// A macvlan of that name on that interface with that address was there already (a restart): kept.
    case reused
    /// A macvlan of that name with another base or address (left by an earlier configuration): replaced.
    case replaced
}

/// keepalived's use_vmac interfaces: private-mode macvlans with the virtual router's MAC address.
public protocol VirtualMACManaging: Sendable {
    /// Creates (or adopts) the macvlan NAME on BASE with ADDRESS, sets it up as keepalived does (arp_ignore 1,
    /// accept_local 1, rp_filter 0, promote_secondaries 1, no IPv6) and brings it up.
    func create(_ name: String, on base: String, address: [UInt8]) throws(SystemError) -> VirtualMACOutcome
    /// Removes it; gone already is fine.
    func delete(_ name: String) throws(SystemError)
    /// arp_ignore 1 and arp_filter 1 on the base interface, so it does not answer ARP for the VIPs on the
    /// macvlan with its own MAC; returns what was there, for `restoreBase`.
    func prepareBase(_ base: String) throws(SystemError) -> [String: String]
    func restoreBase(_ base: String, _ saved: [String: String]) throws(SystemError)
}

/// The kernel, through libnl-route and /proc/sys.
public struct SystemVirtualMACs: VirtualMACManaging {
    let sysctl: any SysctlAccess

    public init(sysctl: any SysctlAccess = ProcSysctl()) { self.sysctl = sysctl }

    /// MACVLAN_MODE_PRIVATE: frames between macvlans of one base are not bridged.
    static let privateMode: UInt32 = 1

    public func create(_ name: String, on base: String, address: [UInt8]) throws(SystemError) -> VirtualMACOutcome {
        let socket = try RouteSocket()
        let baseIndex = try interfaceIndex(socket, base)
        var outcome = VirtualMACOutcome.created
        if let existing = try existingLink(socket, name) {
            defer { rtnl_link_put(existing) }
            guard rtnl_link_is_macvlan(existing) != 0 else {
                throw SystemError(call: "use_vmac", errno: EEXIST, detail: "\(name) exists and is not a macvlan: it is not directord's to replace")
            }
            let sameBase = rtnl_link_get_link(existing) == baseIndex
            let sameAddress = macAddress(existing) == address
            let samePrivate = rtnl_link_macvlan_get_mode(existing) == Self.privateMode
            if sameBase && sameAddress && samePrivate {
                outcome = .reused
            } else {
                try check(rtnl_link_delete(socket.handle, existing), "delete link", name)
                outcome = .replaced
            }
        }
        if outcome != .reused {
            guard let link = rtnl_link_macvlan_alloc() else { throw SystemError(call: "rtnl_link_macvlan_alloc", errno: ENOMEM) }
            defer { rtnl_link_put(link) }
            rtnl_link_set_name(link, name)
            rtnl_link_set_link(link, baseIndex)
            let mac = try NetlinkAddress(family: AF_LLC, bytes: address)
            rtnl_link_set_addr(link, mac.handle)
            try check(rtnl_link_macvlan_set_mode(link, Self.privateMode), "rtnl_link_macvlan_set_mode", name)
            try check(rtnl_link_add(socket.handle, link, NLM_F_CREATE | NLM_F_EXCL), "add macvlan", "\(name) on \(base)")
        }
        // Before the link comes up, so no IPv6 link-local address (RFC 5798 §7.4) or ARP answer slips out.
        for (key, value) in [
            ("net/ipv6/conf/\(name)/disable_ipv6", "1"), ("net/ipv4/conf/\(name)/arp_ignore", "1"),
            ("net/ipv4/conf/\(name)/accept_local", "1"), ("net/ipv4/conf/\(name)/rp_filter", "0"),
            ("net/ipv4/conf/\(name)/promote_secondaries", "1"),
        ] {
            // IPv6 may be compiled out or disabled on the host: then there is nothing to disable.
            do { try sysctl.write(key, value) } catch where key.hasPrefix("net/ipv6") && error.errno == ENOENT {}
        }
        try setUp(socket, name)
        return outcome
    }

    public func delete(_ name: String) throws(SystemError) {
        let socket = try RouteSocket()
        guard let existing = try existingLink(socket, name) else { return }
        defer { rtnl_link_put(existing) }
        guard rtnl_link_is_macvlan(existing) != 0 else { return }
        let rc = rtnl_link_delete(socket.handle, existing)
        if rc == -NLE_NODEV || rc == -NLE_OBJ_NOTFOUND { return }
        try check(rc, "delete macvlan", name)
    }

    public func prepareBase(_ base: String) throws(SystemError) -> [String: String] {
        var saved: [String: String] = [:]
        for key in ["net/ipv4/conf/\(base)/arp_ignore", "net/ipv4/conf/\(base)/arp_filter"] {
            let before = try sysctl.read(key)
            saved[key] = before
            if before != "1" { try sysctl.write(key, "1") }
        }
        return saved
    }

    public func restoreBase(_ base: String, _ saved: [String: String]) throws(SystemError) {
        for (key, value) in saved.sorted(by: { $0.key < $1.key }) where key.contains("/\(base)/") {
            try sysctl.write(key, value)
        }
    }

    private func existingLink(_ socket: RouteSocket, _ name: String) throws(SystemError) -> OpaquePointer? {
        var link: OpaquePointer?
        let rc = rtnl_link_get_kernel(socket.handle, 0, name, &link)
        if rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV { return nil }
        try check(rc, "get link", name)
        return link
    }

    private func interfaceIndex(_ socket: RouteSocket, _ name: String) throws(SystemError) -> Int32 {
        guard let link = try existingLink(socket, name) else { throw SystemError(call: "get link", errno: ENODEV, detail: name) }
        defer { rtnl_link_put(link) }
        return rtnl_link_get_ifindex(link)
    }

    private func macAddress(_ link: OpaquePointer) -> [UInt8] {
        guard let hw = rtnl_link_get_addr(link), let bytes = nl_addr_get_binary_addr(hw) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: Int(nl_addr_get_len(hw))))
    }

    private func setUp(_ socket: RouteSocket, _ name: String) throws(SystemError) {
        guard let link = try existingLink(socket, name), let change = rtnl_link_alloc() else {
            throw SystemError(call: "get link", errno: ENODEV, detail: name)
        }
        defer {
            rtnl_link_put(link)
            rtnl_link_put(change)
        }
        rtnl_link_set_flags(change, UInt32(IFF_UP))
        try check(rtnl_link_change(socket.handle, link, change, 0), "set link up", name)
    }
}
