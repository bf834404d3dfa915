import CPlatform
import Glibc

/// Tells the segment that an address now lives here: gratuitous ARP (IPv4) or an unsolicited neighbour
/// advertisement (IPv6), sent by a new MASTER so switches and hosts update their caches at once.
public protocol AddressAnnouncing: Sendable {
    func announce(_ address: InterfaceAddress) throws(SystemError)
}

public struct Announcer: AddressAnnouncing {
    let network: any HostNetworking

    public init(network: any HostNetworking = RouteNetlink()) { self.network = network }

    public func announce(_ address: InterfaceAddress) throws(SystemError) {
        let link = try network.link(address.interface)
        if address.family == AF_INET {
            try sendARP(Self.arpAnnouncement(mac: link.hardwareAddress, address: address.address), ifindex: link.index)
        } else {
            try sendNA(Self.unsolicitedNA(mac: link.hardwareAddress, target: address.address), address: address, ifindex: link.index)
        }
    }

    /// An ARP request with sender and target protocol address both the announced one (RFC 5227 §3 announcement).
    public static func arpAnnouncement(mac: [UInt8], address: [UInt8]) -> [UInt8] {
        let hw = Array(mac.prefix(6)) + [UInt8](repeating: 0, count: max(0, 6 - mac.count))
        return [0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01] + hw + Array(address.prefix(4))
            + [UInt8](repeating: 0, count: 6) + Array(address.prefix(4))
    }

    /// ICMPv6 type 136 with the Override flag and a target link-layer address option (RFC 4861 §4.4, §7.2.6).
    /// The checksum is left zero: the kernel fills it in on ICMPv6 raw sockets.
    public static func unsolicitedNA(mac: [UInt8], target: [UInt8]) -> [UInt8] {
        let hw = Array(mac.prefix(6)) + [UInt8](repeating: 0, count: max(0, 6 - mac.count))
        return [136, 0, 0, 0, 0x20, 0, 0, 0] + Array(target.prefix(16)) + [2, 1] + hw
    }

    func sendARP(_ frame: [UInt8], ifindex: Int32) throws(SystemError) {
        let ethPARP = UInt16(ETHERTYPE_ARP).bigEndian
        let fd = try retryingEINTR("socket", detail: "AF_PACKET for gratuitous ARP") {
            socket(AF_PACKET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(ethPARP))
        }
        defer { close(fd) }
        var to = sockaddr_ll()
        to.sll_family = UInt16(AF_PACKET)
        to.sll_protocol = ethPARP
        to.sll_ifindex = ifindex
        to.sll_halen = 6
        withUnsafeMutableBytes(of: &to.sll_addr) { raw in for i in 0..<6 { raw[i] = 0xff } }
        _ = try withUnsafePointer(to: &to) { (p) throws(SystemError) -> Int in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sa) throws(SystemError) -> Int in
                try retryingEINTR("sendto", detail: "gratuitous ARP") {
                    frame.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, socklen_t(MemoryLayout<sockaddr_ll>.size)) }
                }
            }
        }
    }

    func sendNA(_ message: [UInt8], address: InterfaceAddress, ifindex: Int32) throws(SystemError) {
        let fd = try retryingEINTR("socket", detail: "ICMPv6 for unsolicited NA") {
            socket(AF_INET6, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_ICMPV6))
        }
        defer { close(fd) }
        // RFC 4861 §7.1.2: a receiver drops neighbour discovery whose hop limit is not 255.
        try setOption(fd, Int32(IPPROTO_IPV6), IPV6_MULTICAST_HOPS, Int32(255), "IPV6_MULTICAST_HOPS")
        try setOption(fd, Int32(IPPROTO_IPV6), IPV6_MULTICAST_IF, ifindex, "IPV6_MULTICAST_IF")
        var to = sockaddr_in6()
        to.sin6_family = sa_family_t(AF_INET6)
        to.sin6_scope_id = UInt32(ifindex)
        let allNodes: [UInt8] = [0xff, 0x02] + [UInt8](repeating: 0, count: 13) + [1]
        withUnsafeMutableBytes(of: &to.sin6_addr) { $0.copyBytes(from: allNodes) }
        _ = try withUnsafePointer(to: &to) { (p) throws(SystemError) -> Int in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sa) throws(SystemError) -> Int in
                try retryingEINTR("sendto", detail: "unsolicited NA for \(address)") {
                    message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
                }
            }
        }
    }
}
