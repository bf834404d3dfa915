import Glibc

/// The addresses configured on one interface (getifaddrs), in the kernel's order: the primary address first.
/// VRRP uses the first one as its advert source when no unicast_src_ip / mcast_src_ip is given.
public protocol InterfaceAddressLookup: Sendable {
    /// Network-order bytes (4 or 16) of each `family` address on `interface`; IPv6 link-local ones included.
    func addresses(of interface: String, family: Int32) throws(SystemError) -> [[UInt8]]
}

public struct SystemInterfaceAddresses: InterfaceAddressLookup {
    public init() {}

    public func addresses(of interface: String, family: Int32) throws(SystemError) -> [[UInt8]] {
        try Self.entries(detail: interface).filter { $0.name == interface && $0.family == family }.map(\.bytes)
    }

    /// Network-order bytes (4 or 16) of every IPv4 and IPv6 address on every interface (`ha_suspend` follows them).
    public static func allAddresses() throws(SystemError) -> [[UInt8]] {
        try entries(detail: "").map(\.bytes)
    }

    /// Every IPv4 and IPv6 address of getifaddrs, in the kernel's order, with its interface and family.
    static func entries(detail: String) throws(SystemError) -> [(name: String, family: Int32, bytes: [UInt8])] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { throw SystemError(call: "getifaddrs", errno: errno, detail: detail) }
        defer { freeifaddrs(list) }
        var result: [(name: String, family: Int32, bytes: [UInt8])] = []
        var cursor = list
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let name = entry.pointee.ifa_name, let sa = entry.pointee.ifa_addr else { continue }
            let family = Int32(sa.pointee.sa_family)
            let bytes: [UInt8]
            switch family {
            case AF_INET:
                bytes = UnsafeRawPointer(sa).withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    withUnsafeBytes(of: sin.pointee.sin_addr) { Array($0) }
                }
            case AF_INET6:
                bytes = UnsafeRawPointer(sa).withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    withUnsafeBytes(of: sin6.pointee.sin6_addr) { Array($0) }
                }
            default: continue
            }
            result.append((String(cString: name), family, bytes))
        }
        return result
    }
}
