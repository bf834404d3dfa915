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
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { throw SystemError(call: "getifaddrs", errno: errno, detail: interface) }
        defer { freeifaddrs(list) }
        var result: [[UInt8]] = []
        var cursor = list
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let name = entry.pointee.ifa_name, String(cString: name) == interface,
                let sa = entry.pointee.ifa_addr, Int32(sa.pointee.sa_family) == family
            else { continue }
            if family == AF_INET {
                let bytes = UnsafeRawPointer(sa).withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    withUnsafeBytes(of: sin.pointee.sin_addr) { Array($0) }
                }
                result.append(bytes)
            } else if family == AF_INET6 {
                let bytes = UnsafeRawPointer(sa).withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    withUnsafeBytes(of: sin6.pointee.sin6_addr) { Array($0) }
                }
                result.append(bytes)
            }
        }
        return result
    }
}

extension SystemInterfaceAddresses {
    /// Network-order bytes (4 or 16) of every IPv4 and IPv6 address on every interface (`ha_suspend` follows them).
    public static func allAddresses() throws(SystemError) -> [[UInt8]] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { throw SystemError(call: "getifaddrs", errno: errno) }
        defer { freeifaddrs(list) }
        var result: [[UInt8]] = []
        var cursor = list
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let sa = entry.pointee.ifa_addr else { continue }
            switch Int32(sa.pointee.sa_family) {
            case AF_INET:
                result.append(UnsafeRawPointer(sa).withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    withUnsafeBytes(of: sin.pointee.sin_addr) { Array($0) }
                })
            case AF_INET6:
                result.append(UnsafeRawPointer(sa).withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    withUnsafeBytes(of: sin6.pointee.sin6_addr) { Array($0) }
                })
            default: continue
            }
        }
        return result
    }
}
