// The options of SMTP_CHECK, DNS_CHECK, UDP_CHECK and PING_CHECK, beside the connection and timing every check has.
import Addresses

/// DNS_CHECK's `type`: the record types keepalived 2.2.7 accepts, with their wire values (RFC 1035, RFC 3596).
public enum DNSQueryType: String, Hashable, Sendable, CaseIterable {
    case a = "A"
    case ns = "NS"
    case cname = "CNAME"
    case soa = "SOA"
    case mx = "MX"
    case txt = "TXT"
    case aaaa = "AAAA"

    public var code: UInt16 {
        switch self {
        case .a: 1
        case .ns: 2
        case .cname: 5
        case .soa: 6
        case .mx: 15
        case .txt: 16
        case .aaaa: 28
        }
    }
}

/// A byte pattern from keepalived's hex notation: pairs of hex digits, a lone digit before a space is one byte
/// ("Ab12f 3" is AB 12 0F 03); in `require_reply` an `X` stands for four bits the reply may hold freely.
public struct HexPattern: Hashable, Sendable, CustomStringConvertible {
    public var bytes: [UInt8]
    /// Bits set here are not compared (all zero without an `X`).
    public var ignoredBits: [UInt8]

    public init(bytes: [UInt8], ignoredBits: [UInt8]? = nil) {
        self.bytes = bytes
        self.ignoredBits = ignoredBits ?? [UInt8](repeating: 0, count: bytes.count)
    }

    /// Nil when a character is not a hex digit (or `X` where `allowWildcards`), or nothing is given.
    public static func parse(_ words: [String], allowWildcards: Bool) -> HexPattern? {
        var bytes: [UInt8] = []
        var mask: [UInt8] = []
        for word in words {
            var digits: [(value: UInt8, ignored: Bool)] = []
            for c in word.utf8 {
                if let v = hexValue(c) {
                    digits.append((v, false))
                } else if allowWildcards && (c == UInt8(ascii: "x") || c == UInt8(ascii: "X")) {
                    digits.append((0, true))
                } else {
                    return nil
                }
            }
            var i = 0
            while i < digits.count {
                if i + 1 < digits.count {
                    bytes.append(digits[i].value << 4 | digits[i + 1].value)
                    mask.append((digits[i].ignored ? 0xF0 : 0) | (digits[i + 1].ignored ? 0x0F : 0))
                    i += 2
                } else {
                    bytes.append(digits[i].value)
                    mask.append(digits[i].ignored ? 0x0F : 0)
                    i += 1
                }
            }
        }
        guard !bytes.isEmpty, bytes.count <= 65_535 else { return nil }
        return HexPattern(bytes: bytes, ignoredBits: mask)
    }

    /// keepalived's rule: the first min(reply, pattern) bytes must agree outside the ignored bits.
    public func matches(_ reply: some Collection<UInt8>) -> Bool {
        for (i, byte) in zip(0..<bytes.count, reply) where (byte ^ bytes[i]) & ~ignoredBits[i] != 0 { return false }
        return true
    }

    /// The notation written back (a byte with ignored bits shows X for them).
    public var description: String {
        let digits = Array("0123456789ABCDEF")
        return zip(bytes, ignoredBits).map { byte, ignored in
            let high = ignored & 0xF0 != 0 ? "X" : String(digits[Int(byte >> 4)])
            let low = ignored & 0x0F != 0 ? "X" : String(digits[Int(byte & 0x0F)])
            return high + low
        }.joined()
    }
}

/// What SMTP_CHECK, DNS_CHECK and UDP_CHECK add to a check (PING_CHECK adds nothing); unused fields keep defaults.
public struct NetworkCheckOptions: Hashable, Sendable, OutOfLineDefault {
    public static let outOfLineDefault = NetworkCheckOptions()

    /// keepalived's default HELO argument (check_smtp.h).
    public static let defaultHeloName = "smtpchecker.keepalived.org"
    /// keepalived: 3 for DNS_CHECK; delay_before_retry defaults to delay_loop there.
    public static let defaultDNSRetry = 3
    public static let defaultMaxReplyLength = 255

    // SMTP_CHECK
    public var heloName: String = NetworkCheckOptions.defaultHeloName
    // DNS_CHECK
    public var dnsType: DNSQueryType = .soa
    /// Without a trailing dot; "." is the root.
    public var dnsName: String = "."
    // UDP_CHECK
    /// nil: 32 random bytes, as keepalived sends.
    public var payload: [UInt8]?
    public var requireReply = false
    public var replyPattern: HexPattern?
    public var minReplyLength = 0
    public var maxReplyLength = NetworkCheckOptions.defaultMaxReplyLength

    public init() {}
}

extension HealthCheckKind {
    /// The checkers of this file: they carry `NetworkCheckOptions`.
    public var isNetworkCheck: Bool { self == .smtp || self == .dns || self == .udp || self == .ping }
}
