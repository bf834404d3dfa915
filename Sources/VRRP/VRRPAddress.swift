// VRRP: advertisement codec (v2/v3), instance state machine, sync-group policy — pure, no sockets or clocks.

/// An IPv4 or IPv6 address as VRRP carries it; ordered numerically within a family for the RFC tie-break.
public enum VRRPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Numeric value, most significant byte first on the wire (a.b.c.d == a<<24 | b<<16 | c<<8 | d).
    case ipv4(UInt32)
    /// The 128-bit value as its high and low halves.
    case ipv6(high: UInt64, low: UInt64)

    /// IPv4 or IPv6 family, used to reject mixed address lists.
    public enum Family: Sendable, Hashable {
        case ipv4, ipv6

        /// Bytes one address takes in an advertisement.
        public var byteCount: Int { self == .ipv4 ? 4 : 16 }
    }

    /// 224.0.0.18, the VRRP IPv4 multicast group (RFC 5798 §5.1.1.2).
    public static let multicastIPv4 = VRRPAddress.ipv4(0xE000_0012)
    /// ff02::12, the VRRP IPv6 multicast group (RFC 5798 §5.1.2.2).
    public static let multicastIPv6 = VRRPAddress.ipv6(high: 0xFF02_0000_0000_0000, low: 0x12)

    /// The family of this address.
    public var family: Family {
        if case .ipv4 = self { return .ipv4 }
        return .ipv6
    }

    /// Network-order bytes (4 or 16).
    public var bytes: [UInt8] {
        switch self {
        case .ipv4(let v):
            return (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) }
        case .ipv6(let high, let low):
            return (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
                + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
        }
    }

    /// Builds an address from 4 or 16 network-order bytes; nil for any other length.
    public init?<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
        switch bytes.count {
        case 4:
            self = .ipv4(bytes.reduce(0) { $0 << 8 | UInt32($1) })
        case 16:
            let high = bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let low = bytes.dropFirst(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            self = .ipv6(high: high, low: low)
        default:
            return nil
        }
    }

    /// Parses dotted-quad IPv4 or RFC 4291 text IPv6 (with `::` and an optional dotted-quad tail); nil when malformed.
    public init?(_ text: String) {
        if !text.contains(":") {
            guard let v = VRRPAddress.parseIPv4(Substring(text)) else { return nil }
            self = .ipv4(v)
            return
        }
        guard let groups = VRRPAddress.parseIPv6Groups(text) else { return nil }
        var bytes: [UInt8] = []
        for g in groups { bytes += [UInt8(g >> 8), UInt8(g & 0xFF)] }
        self.init(bytes: bytes)
    }

    /// IPv4 compares below IPv6; within a family the numeric value decides, as keepalived's address comparison does.
    public static func < (lhs: VRRPAddress, rhs: VRRPAddress) -> Bool {
        switch (lhs, rhs) {
        case (.ipv4(let a), .ipv4(let b)): return a < b
        case (.ipv6(let ah, let al), .ipv6(let bh, let bl)): return ah < bh || (ah == bh && al < bl)
        case (.ipv4, .ipv6): return true
        case (.ipv6, .ipv4): return false
        }
    }

    /// Dotted quad, or RFC 5952 compressed IPv6.
    public var description: String {
        switch self {
        case .ipv4:
            return bytes.map(String.init).joined(separator: ".")
        case .ipv6:
            let b = bytes
            let groups = (0..<8).map { UInt16(b[2 * $0]) << 8 | UInt16(b[2 * $0 + 1]) }
            // RFC 5952 §4.2: compress the longest run (length >= 2) of zero groups, the first one on ties.
            var bestStart = -1, bestLength = 0, i = 0
            while i < 8 {
                guard groups[i] == 0 else { i += 1; continue }
                var j = i
                while j < 8 && groups[j] == 0 { j += 1 }
                if j - i > bestLength { bestStart = i; bestLength = j - i }
                i = j
            }
            let hex = groups.map { String($0, radix: 16) }
            guard bestLength >= 2 else { return hex.joined(separator: ":") }
            let head = hex[..<bestStart].joined(separator: ":")
            let tail = hex[(bestStart + bestLength)...].joined(separator: ":")
            return head + "::" + tail
        }
    }

    private static func parseIPv4(_ text: Substring) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            // Leading zeros are refused: inet_pton does, and "010" is octal to some tools.
            guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }),
                part.count == 1 || part.first != "0",
                let octet = UInt32(part), octet <= 255
            else { return nil }
            value = value << 8 | octet
        }
        return value
    }

    private static func parseIPv6Groups(_ text: String) -> [UInt16]? {
        let halves = text.split(separator: "::", omittingEmptySubsequences: false).map(String.init)
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String, allowIPv4Tail: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, field) in fields.enumerated() {
                if allowIPv4Tail && index == fields.count - 1 && field.contains(".") {
                    guard let v4 = parseIPv4(field) else { return nil }
                    result += [UInt16(v4 >> 16), UInt16(v4 & 0xFFFF)]
                    continue
                }
                guard (1...4).contains(field.count), field.allSatisfy(\.isHexDigit),
                    let g = UInt16(field, radix: 16)
                else { return nil }
                result.append(g)
            }
            return result
        }
        if halves.count == 1 {
            guard let all = groups(halves[0], allowIPv4Tail: true), all.count == 8 else { return nil }
            return all
        }
        guard let head = groups(halves[0], allowIPv4Tail: false),
            let tail = groups(halves[1], allowIPv4Tail: true),
            head.count + tail.count <= 7
        else { return nil }
        return head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
    }
}
