@_exported import Addresses

// IPVS names hosts with the one address type (Addresses); this file holds what only the kernel binding and
// ipvsadm's syntax need on top of it.

extension AddressFamily {
    /// AF_INET or AF_INET6: how IPVS carries the family in its u16 attributes.
    public var kernelValue: UInt16 { self == .ipv4 ? 2 : 10 }

    public init?(kernelValue: UInt16) {
        switch kernelValue {
        case 2: self = .ipv4
        case 10: self = .ipv6
        default: return nil
        }
    }
}

extension IPAddress {
    /// Network-order 32-bit words, the unit libipvs compares when sorting.
    var words: [UInt32] {
        switch self {
        case .v4(let a): [a.value]
        case .v6(let a): [UInt32(a.high >> 32), UInt32(truncatingIfNeeded: a.high), UInt32(a.low >> 32), UInt32(truncatingIfNeeded: a.low)]
        }
    }
}

/// Endpoints the way ipvsadm takes them on the command line: `a.b.c.d:port`, `[v6]:port`.
extension Endpoint {
    /// A missing port means 0, as in ipvsadm (only valid for persistent services there).
    public init?(parsing text: String) {
        guard let (e, _) = Endpoint.parse(text) else { return nil }
        self = e
    }

    /// The endpoint and whether the text named a port.
    public static func parse(_ text: String) -> (Endpoint, portGiven: Bool)? {
        var host = Substring(text)
        var portText: Substring? = nil
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return nil }
                portText = rest.dropFirst()
            }
            guard host.contains(":") else { return nil }
        } else if let colon = host.lastIndex(of: ":") {
            // A bare IPv6 address has several colons and no port.
            if host.firstIndex(of: ":") == colon {
                portText = host[host.index(after: colon)...]
                host = host[..<colon]
            }
        }
        guard let address = IPAddress(String(host)) else { return nil }
        var port: UInt16 = 0
        if let portText {
            guard let p = UInt16(portText) else { return nil }
            port = p
        }
        return (Endpoint(address: address, port: port), portText != nil)
    }
}
