// SMTP_CHECK, DNS_CHECK, UDP_CHECK and PING_CHECK as plain values: where to send, what to send, what counts as up.
import Addresses


/// SMTP_CHECK: the 220 banner, `HELO heloName` answered by 250, then QUIT (keepalived's conversation).
public struct SMTPCheck: Sendable, Hashable {
    public var connect: Endpoint
    public var bindAddress: IPAddress?
    public var bindPort: Int
    public var socket = CheckSocketOptions()
    /// Bounds the connect and the wait for each reply.
    public var connectTimeout: Duration
    public var heloName: String
    /// A reply (all its lines) above this fails the check: a server never makes the checker buffer without bound.
    public var maxReplyBytes: Int

    public static let defaultMaxReplyBytes = 16 << 10

    public init(connect: Endpoint, bindAddress: IPAddress? = nil, bindPort: Int = 0, connectTimeout: Duration = .seconds(5),
                heloName: String = "smtpchecker.keepalived.org", maxReplyBytes: Int = SMTPCheck.defaultMaxReplyBytes)
        throws(CheckDefinitionError)
    {
        guard (0...65535).contains(bindPort) else { throw .invalidPort(bindPort) }
        guard (0...65535).contains(bindPort) else { throw .invalidPort(bindPort) }
        guard !heloName.isEmpty, !heloName.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
            throw .invalidOption("HELO name '\(heloName)' is empty or holds control characters")
        }
        self.connect = connect
        self.bindAddress = bindAddress
        self.bindPort = bindPort
        self.connectTimeout = connectTimeout
        self.heloName = heloName
        self.maxReplyBytes = maxReplyBytes
    }

    /// The whole conversation's bound (a server dribbling a byte at a time fails too): the connect and three replies.
    var sessionTimeout: Duration { connectTimeout * 4 }
}

/// DNS_CHECK: one query over UDP, sent again once if no answer came in half the timeout.
public struct DNSCheck: Sendable, Hashable {
    public var connect: Endpoint
    public var bindAddress: IPAddress?
    public var bindPort: Int
    public var socket = CheckSocketOptions()
    public var timeout: Duration
    public var type: DNSRecordType
    /// Without the trailing dot; "." is the root.
    public var name: String

    public init(connect: Endpoint, bindAddress: IPAddress? = nil, bindPort: Int = 0, timeout: Duration = .seconds(5),
                type: DNSRecordType = .soa, name: String = ".") throws(CheckDefinitionError)
    {
        guard (0...65535).contains(bindPort) else { throw .invalidPort(bindPort) }
        guard (0...65535).contains(bindPort) else { throw .invalidPort(bindPort) }
        guard DNSName(name) != nil else { throw .invalidOption("'\(name)' is not a DNS name") }
        self.connect = connect
        self.bindAddress = bindAddress
        self.bindPort = bindPort
        self.timeout = timeout
        self.type = type
        self.name = name
    }
}

/// UDP_CHECK (keepalived's meaning): a datagram goes out on a connected socket; an ICMP unreachable is down. Without
/// `requireReply`, silence until the timeout is up; with it, a reply must come, of a length in
/// `minReplyLength...maxReplyLength`, agreeing with `replyPattern` over their common length.
public struct UDPCheck: Sendable, Hashable {
    public var connect: Endpoint
    public var bindAddress: IPAddress?
    public var bindPort: Int
    public var socket = CheckSocketOptions()
    public var timeout: Duration
    /// nil: 32 random bytes each time, as keepalived.
    public var payload: [UInt8]?
    public var requireReply: Bool
    public var replyBytes: [UInt8]
    /// Bits set here are not compared.
    public var replyIgnoredBits: [UInt8]
    public var minReplyLength: Int
    public var maxReplyLength: Int

    public init(connect: Endpoint, bindAddress: IPAddress? = nil, bindPort: Int = 0, timeout: Duration = .seconds(5),
                payload: [UInt8]? = nil, requireReply: Bool = false, replyBytes: [UInt8] = [], replyIgnoredBits: [UInt8]? = nil,
                minReplyLength: Int = 0, maxReplyLength: Int = 255) throws(CheckDefinitionError)
    {
        guard (0...65535).contains(bindPort) else { throw .invalidPort(bindPort) }
        guard (0...65535).contains(bindPort) else { throw .invalidPort(bindPort) }
        guard (0...65535).contains(minReplyLength), (0...65535).contains(maxReplyLength) else {
            throw .invalidOption("reply lengths must be in 0..65535")
        }
        let ignored = replyIgnoredBits ?? [UInt8](repeating: 0, count: replyBytes.count)
        guard ignored.count == replyBytes.count else { throw .invalidOption("the reply mask and the reply differ in length") }
        self.connect = connect
        self.bindAddress = bindAddress
        self.bindPort = bindPort
        self.timeout = timeout
        self.payload = payload
        self.requireReply = requireReply
        self.replyBytes = replyBytes
        self.replyIgnoredBits = ignored
        self.minReplyLength = minReplyLength
        self.maxReplyLength = maxReplyLength
    }

    /// Why `reply` fails the check, or nil when it passes. Pure.
    public func judge(reply: [UInt8]) -> String? {
        guard requireReply else { return nil }
        if reply.count < minReplyLength || reply.count > maxReplyLength {
            return "reply of \(reply.count) bytes, expected \(minReplyLength) to \(maxReplyLength)"
        }
        for i in 0..<min(reply.count, replyBytes.count) where (reply[i] ^ replyBytes[i]) & ~replyIgnoredBits[i] != 0 {
            return "reply differs from require_reply at byte \(i) (0x\(String(reply[i], radix: 16)))"
        }
        return nil
    }
}

/// PING_CHECK: an ICMP (ICMPv6) echo answered within the timeout.
public struct PingCheck: Sendable, Hashable {
    public var connect: Endpoint
    public var bindAddress: IPAddress?
    public var socket = CheckSocketOptions()
    public var timeout: Duration

    public init(connect: Endpoint, bindAddress: IPAddress? = nil, timeout: Duration = .seconds(5)) throws(CheckDefinitionError) {
        self.connect = connect
        self.bindAddress = bindAddress
        self.timeout = timeout
    }
}
