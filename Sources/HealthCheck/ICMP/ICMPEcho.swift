// PING_CHECK's packets (RFC 792, RFC 4443 section 4): an echo request and the test of whether a datagram is its
// reply. Pure: the socket is PingChecker's.

public struct ICMPEcho: Sendable, Hashable {
    public var ipv6: Bool
    public var identifier: UInt16
    public var sequence: UInt16
    /// Carried in the request and required back, so a reply to another checker's echo never counts.
    public var token: [UInt8]

    public init(ipv6: Bool, identifier: UInt16, sequence: UInt16, token: [UInt8]) {
        self.ipv6 = ipv6
        self.identifier = identifier
        self.sequence = sequence
        self.token = token
    }

    private var requestType: UInt8 { ipv6 ? 128 : 8 }
    private var replyType: UInt8 { ipv6 ? 129 : 0 }

    /// The request. The checksum is filled for ICMPv4; for ICMPv6 the kernel computes it (it covers a
    /// pseudo-header of addresses chosen at send time).
    public func request() -> [UInt8] {
        var bytes: [UInt8] = [requestType, 0, 0, 0]
        bytes.appendBigEndian(identifier)
        bytes.appendBigEndian(sequence)
        bytes.append(contentsOf: token)
        if !ipv6 {
            let sum = Self.checksum(bytes)
            bytes[2] = UInt8(sum >> 8)
            bytes[3] = UInt8(sum & 0xFF)
        }
        return bytes
    }

    /// Whether `datagram` answers this echo. `hasIPHeader`: an IPv4 raw socket delivers the IP header too.
    /// `checkIdentifier`: false on a ping socket, where the kernel owns the identifier (and filters by it).
    public func isReply(_ datagram: [UInt8], hasIPHeader: Bool, checkIdentifier: Bool) -> Bool {
        var start = 0
        if hasIPHeader {
            guard let first = datagram.first, first >> 4 == 4 else { return false }
            start = Int(first & 0x0F) * 4
            guard start >= 20 else { return false }
        }
        guard datagram.count - start >= 8 + token.count else { return false }
        let icmp = datagram[start...]
        let b = icmp.startIndex
        guard icmp[b] == replyType, icmp[b + 1] == 0 else { return false }
        let id = UInt16(icmp[b + 4]) << 8 | UInt16(icmp[b + 5])
        let seq = UInt16(icmp[b + 6]) << 8 | UInt16(icmp[b + 7])
        guard seq == sequence, !checkIdentifier || id == identifier else { return false }
        return icmp[(b + 8)..<(b + 8 + token.count)].elementsEqual(token)
    }

    /// The Internet checksum (RFC 1071).
    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count {
            sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            i += 2
        }
        if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }
}
