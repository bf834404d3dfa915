import Glibc

/// Address family as the kernel numbers it (AF_INET, AF_INET6); IPVS carries it in u16 attributes.
public enum IPVSAddressFamily: UInt16, Sendable, Hashable, Codable {
    case inet = 2
    case inet6 = 10

    var addressLength: Int { self == .inet ? 4 : 16 }
}

/// An IPv4 or IPv6 address in network byte order, as IPVS stores it in `union nf_inet_addr`.
public struct IPVSAddress: Hashable, Sendable, CustomStringConvertible {
    public let family: IPVSAddressFamily
    /// 4 bytes for IPv4, 16 for IPv6, network order.
    public let bytes: [UInt8]

    public init?(family: IPVSAddressFamily, bytes: [UInt8]) {
        guard bytes.count == family.addressLength else { return nil }
        self.family = family
        self.bytes = bytes
    }

    /// Parses a numeric address (no names: directord never resolves, like `ipvsadm -n`).
    public init?(_ text: String) {
        if text.contains(":") {
            var raw = in6_addr()
            guard inet_pton(AF_INET6, text, &raw) == 1 else { return nil }
            self.family = .inet6
            self.bytes = withUnsafeBytes(of: &raw) { Array($0) }
        } else {
            var raw = in_addr()
            guard inet_pton(AF_INET, text, &raw) == 1 else { return nil }
            self.family = .inet
            self.bytes = withUnsafeBytes(of: &raw) { Array($0) }
        }
    }

    public static func ipv4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> IPVSAddress {
        IPVSAddress(validatedFamily: .inet, bytes: [a, b, c, d])
    }

    init(validatedFamily: IPVSAddressFamily, bytes: [UInt8]) {
        self.family = validatedFamily
        self.bytes = bytes
    }

    /// The unspecified address of a family (fwmark services carry it).
    public static func zero(_ family: IPVSAddressFamily) -> IPVSAddress {
        IPVSAddress(validatedFamily: family, bytes: [UInt8](repeating: 0, count: family.addressLength))
    }

    /// The text glibc's inet_ntop gives, which is what ipvsadm prints (compressed IPv6, "::ffff:a.b.c.d" forms).
    public var description: String {
        var out = [CChar](repeating: 0, count: 64)
        let ok: Bool = bytes.withUnsafeBufferPointer { raw in
            out.withUnsafeMutableBufferPointer { dst in
                inet_ntop(family == .inet ? AF_INET : AF_INET6, raw.baseAddress, dst.baseAddress, socklen_t(dst.count)) != nil
            }
        }
        guard ok else { return "?" }
        let end = out.firstIndex(of: 0) ?? out.count
        return String(decoding: out[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Network-order 32-bit words, the unit libipvs compares when sorting.
    var words: [UInt32] {
        stride(from: 0, to: bytes.count, by: 4).map { (i: Int) -> UInt32 in
            var word: UInt32 = 0
            for b in bytes[i..<(i + 4)] { word = word << 8 | UInt32(b) }
            return word
        }
    }
}

extension IPVSAddress: Comparable {
    /// A plain total order (family, then bytes) for deterministic output of directord's own code paths.
    public static func < (lhs: IPVSAddress, rhs: IPVSAddress) -> Bool {
        if lhs.family != rhs.family { return lhs.family.rawValue < rhs.family.rawValue }
        return lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }
}

extension IPVSAddress: Codable {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = IPVSAddress(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IP address: \(text)"))
        }
        self = parsed
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// An address with a port, parsed the way ipvsadm takes them on the command line: `a.b.c.d:port`, `[v6]:port`.
public struct IPVSEndpoint: Hashable, Sendable {
    public var address: IPVSAddress
    public var port: UInt16

    public init(address: IPVSAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// A missing port means 0, as in ipvsadm (only valid for persistent services there).
    public init?(parsing text: String) {
        guard let (e, _) = IPVSEndpoint.parse(text) else { return nil }
        self = e
    }

    /// The endpoint and whether the text named a port.
    public static func parse(_ text: String) -> (IPVSEndpoint, portGiven: Bool)? {
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
        guard let address = IPVSAddress(String(host)) else { return nil }
        var port: UInt16 = 0
        if let portText {
            guard let p = UInt16(portText) else { return nil }
            port = p
        }
        return (IPVSEndpoint(address: address, port: port), portText != nil)
    }
}
