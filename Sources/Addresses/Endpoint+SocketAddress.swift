// The kernel's form of an endpoint, for bind and connect: built from the value on the stack, never kept.
import Glibc

extension Endpoint {
    /// Calls `body` with this endpoint as a sockaddr, built from the value.
    public func withSocketAddress<T, E: Error>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(E) -> T) throws(E) -> T {
        switch address {
        case .v4(let a):
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr.s_addr = a.value.bigEndian
            return try withUnsafePointer(to: &sin) { (p) throws(E) -> T in
                try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (s) throws(E) -> T in
                    try body(s, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case .v6(let a):
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { raw in
                for (i, byte) in a.bytes.enumerated() { raw[i] = byte }
            }
            return try withUnsafePointer(to: &sin6) { (p) throws(E) -> T in
                try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (s) throws(E) -> T in
                    try body(s, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
    }
}
