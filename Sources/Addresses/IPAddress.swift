// directord's one address type, imported by every module that names a host: the configuration, VRRP, the health
// checks and the IPVS binding. Values, not strings or byte arrays: an IPv4 address is a UInt32 and an IPv6 address
// two UInt64 halves. One parser with inet_pton(3)'s rules and errors that say what is wrong, one printer with
// inet_ntop(3)'s output (RFC 5952, with glibc's embedded-IPv4 forms).

public struct IPv4Address: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Host byte order: 192.0.2.1 is 0xC000_0201.
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    public var bytes: [UInt8] { [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)] }

    public var description: String {
        // Written into one buffer: this is in every health check's Host header, and the array of four strings it
        // was built from before cost more than the header's other work.
        String(unsafeUninitializedCapacity: 15) { buffer in
            var at = 0
            for shift in stride(from: 24, through: 0, by: -8) {
                let octet = Int(value >> UInt32(shift) & 0xff)
                if shift != 24 {
                    buffer[at] = UInt8(ascii: ".")
                    at += 1
                }
                if octet >= 100 {
                    buffer[at] = UInt8(48 + octet / 100)
                    at += 1
                }
                if octet >= 10 {
                    buffer[at] = UInt8(48 + octet / 10 % 10)
                    at += 1
                }
                buffer[at] = UInt8(48 + octet % 10)
                at += 1
            }
            return at
        }
    }

    public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.value < b.value }

    /// Parses dotted-quad text exactly as inet_pton(AF_INET) does: four decimal octets, no leading zeros.
    public static func parse(_ text: String) -> Result<IPv4Address, AddressSyntaxError> {
        parse(Array(text.utf8))
    }

    package static func parse(_ text: [UInt8]) -> Result<IPv4Address, AddressSyntaxError> {
        if text.isEmpty { return .failure(.init("an empty string is not an IPv4 address")) }
        var octets: [UInt32] = []
        var current: UInt32 = 0
        var digits = 0
        for byte in text {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if digits > 0 && current == 0 {
                    return .failure(.init("an IPv4 octet may not have a leading zero"))
                }
                current = current * 10 + UInt32(byte - UInt8(ascii: "0"))
                digits += 1
                if current > 255 { return .failure(.init("an IPv4 octet is larger than 255")) }
            case UInt8(ascii: "."):
                if digits == 0 { return .failure(.init("an IPv4 address has an empty octet")) }
                octets.append(current)
                if octets.count == 4 { return .failure(.init("an IPv4 address has more than 4 octets")) }
                current = 0
                digits = 0
            default:
                return .failure(.init("unexpected character '\(printable(byte))' in an IPv4 address"))
            }
        }
        if digits == 0 { return .failure(.init("an IPv4 address has an empty octet")) }
        octets.append(current)
        if octets.count != 4 { return .failure(.init("an IPv4 address has 4 octets, this has \(octets.count)")) }
        return .success(IPv4Address(octets[0] << 24 | octets[1] << 16 | octets[2] << 8 | octets[3]))
    }
}

public struct IPv6Address: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The 16 address bytes in network order, as two big-endian halves.
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 16, "IPv6Address needs 16 bytes")
        var high: UInt64 = 0
        var low: UInt64 = 0
        for i in 0..<8 { high = high << 8 | UInt64(bytes[i]) }
        for i in 8..<16 { low = low << 8 | UInt64(bytes[i]) }
        self.init(high: high, low: low)
    }

    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }

    public static func < (a: IPv6Address, b: IPv6Address) -> Bool { (a.high, a.low) < (b.high, b.low) }

    public var isLinkLocal: Bool { high >> 54 == 0x3fa }

    /// RFC 5952 text, as glibc's inet_ntop prints it (including its `::a.b.c.d` and `::ffff:a.b.c.d` forms).
    public var description: String {
        let b = bytes
        let words = (0..<8).map { UInt16(b[2 * $0]) << 8 | UInt16(b[2 * $0 + 1]) }
        var bestBase = -1
        var bestLength = 0
        var runBase = -1
        for i in 0...8 {
            if i < 8 && words[i] == 0 {
                if runBase < 0 { runBase = i }
            } else if runBase >= 0 {
                if i - runBase > bestLength {
                    bestBase = runBase
                    bestLength = i - runBase
                }
                runBase = -1
            }
        }
        if bestLength < 2 { bestBase = -1 }
        var text = ""
        var i = 0
        while i < 8 {
            if i == bestBase {
                text += "::"
                i += bestLength
                continue
            }
            if i > 0 && !text.hasSuffix("::") { text += ":" }
            if i == 6 && bestBase == 0 && (bestLength == 6 || (bestLength == 5 && words[5] == 0xffff)) {
                text += "\(b[12]).\(b[13]).\(b[14]).\(b[15])"
                break
            }
            text += String(words[i], radix: 16)
            i += 1
        }
        return text
    }

    /// Parses text exactly as inet_pton(AF_INET6) does (no zone index, embedded IPv4 only in the last 32 bits).
    public static func parse(_ text: String) -> Result<IPv6Address, AddressSyntaxError> {
        let chars = Array(text.utf8)
        var out = [UInt8](repeating: 0, count: 16)
        var tp = 0
        var colonp: Int? = nil
        var index = 0
        if chars.isEmpty { return .failure(.init("an empty string is not an IPv6 address")) }
        if chars[0] == UInt8(ascii: ":") {
            if chars.count < 2 || chars[1] != UInt8(ascii: ":") {
                return .failure(.init("an IPv6 address may not start with a single ':'"))
            }
            index = 1
        }
        var tokenStart = index
        var sawDigit = false
        var value: UInt32 = 0
        var digits = 0
        while index < chars.count {
            let c = chars[index]
            index += 1
            if let nibble = hexValue(c) {
                digits += 1
                if digits > 4 { return .failure(.init("an IPv6 group has more than 4 hex digits")) }
                value = value << 4 | UInt32(nibble)
                sawDigit = true
                continue
            }
            if c == UInt8(ascii: ":") {
                tokenStart = index
                if !sawDigit {
                    if colonp != nil { return .failure(.init("'::' may appear only once in an IPv6 address")) }
                    colonp = tp
                    continue
                }
                if index == chars.count { return .failure(.init("an IPv6 address may not end with a single ':'")) }
                if tp + 2 > 16 { return .failure(.init("an IPv6 address has more than 8 groups")) }
                out[tp] = UInt8(value >> 8)
                out[tp + 1] = UInt8(value & 0xff)
                tp += 2
                sawDigit = false
                digits = 0
                value = 0
                continue
            }
            if c == UInt8(ascii: ".") && tp + 4 <= 16 {
                switch IPv4Address.parse(Array(chars[tokenStart...])) {
                case .success(let v4):
                    for byte in v4.bytes {
                        out[tp] = byte
                        tp += 1
                    }
                    sawDigit = false
                    index = chars.count
                case .failure(let error):
                    return .failure(.init("the embedded IPv4 part is invalid: \(error.message)"))
                }
                break
            }
            if c == UInt8(ascii: "%") {
                return .failure(.init("a zone index ('%') is not allowed here"))
            }
            return .failure(.init("unexpected character '\(printable(c))' in an IPv6 address"))
        }
        if sawDigit {
            if tp + 2 > 16 { return .failure(.init("an IPv6 address has more than 8 groups")) }
            out[tp] = UInt8(value >> 8)
            out[tp + 1] = UInt8(value & 0xff)
            tp += 2
        }
        if let colonp {
            if tp == 16 { return .failure(.init("'::' must stand for at least one group")) }
            let moved = tp - colonp
            for i in 0..<moved {
                out[16 - 1 - i] = out[tp - 1 - i]
                out[tp - 1 - i] = 0
            }
            tp = 16
        }
        if tp != 16 { return .failure(.init("an IPv6 address has 8 groups (or '::'), this has \(tp / 2)")) }
        return .success(IPv6Address(bytes: out))
    }
}

public struct AddressSyntaxError: Error, Hashable, Sendable {
    public var message: String
    package init(_ message: String) { self.message = message }
}

public enum AddressFamily: String, Hashable, Sendable {
    case ipv4 = "IPv4"
    case ipv6 = "IPv6"

    public var maximumPrefixLength: Int { self == .ipv4 ? 32 : 128 }
    /// The address's length on the wire.
    public var byteCount: Int { self == .ipv4 ? 4 : 16 }
}

public enum IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    public var family: AddressFamily {
        switch self {
        case .v4: .ipv4
        case .v6: .ipv6
        }
    }

    public var description: String {
        switch self {
        case .v4(let a): a.description
        case .v6(let a): a.description
        }
    }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        switch (a, b) {
        case (.v4(let x), .v4(let y)): x < y
        case (.v6(let x), .v6(let y)): x < y
        case (.v4, .v6): true
        case (.v6, .v4): false
        }
    }

    public static func ipv4(_ value: UInt32) -> IPAddress { .v4(IPv4Address(value)) }
    public static func ipv4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> IPAddress { .v4(IPv4Address(a, b, c, d)) }
    public static func ipv6(high: UInt64, low: UInt64) -> IPAddress { .v6(IPv6Address(high: high, low: low)) }

    /// The unspecified address of a family (0.0.0.0, ::): "any" for a bind, what fwmark services carry.
    public static func zero(_ family: AddressFamily) -> IPAddress { family == .ipv4 ? .ipv4(0) : .ipv6(high: 0, low: 0) }

    /// The address from its text, nil when the text is not one (`parse` says why).
    public init?(_ text: String) {
        guard case .success(let address) = Self.parse(text) else { return nil }
        self = address
    }

    /// The address from its network-order bytes: 4 for IPv4, 16 for IPv6 (a packet's, the kernel's).
    public init?<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
        switch bytes.count {
        case 4:
            self = .v4(IPv4Address(bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }))
        case 16:
            let high = bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let low = bytes.dropFirst(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            self = .v6(IPv6Address(high: high, low: low))
        default:
            return nil
        }
    }

    /// Network-order bytes: 4 or 16.
    public var bytes: [UInt8] {
        switch self {
        case .v4(let a): a.bytes
        case .v6(let a): a.bytes
        }
    }

    /// IPv6 when the text has a ':', otherwise IPv4; the error explains what is wrong with the text.
    public static func parse(_ text: String) -> Result<IPAddress, AddressSyntaxError> {
        if text.utf8.contains(UInt8(ascii: ":")) {
            return IPv6Address.parse(text).map { .v6($0) }
        }
        return IPv4Address.parse(text).map { .v4($0) }
    }

    /// Whether the first `length` bits of both addresses agree (false across families).
    public func sharesPrefix(with other: IPAddress, length: Int) -> Bool {
        switch (self, other) {
        case (.v4(let a), .v4(let b)):
            let mask: UInt32 = length <= 0 ? 0 : (length >= 32 ? ~0 : ~0 << UInt32(32 - length))
            return a.value & mask == b.value & mask
        case (.v6(let a), .v6(let b)):
            func mask(_ bits: Int) -> UInt64 { bits <= 0 ? 0 : (bits >= 64 ? ~0 : ~0 << UInt64(64 - bits)) }
            return a.high & mask(length) == b.high & mask(length) && a.low & mask(length - 64) == b.low & mask(length - 64)
        default:
            return false
        }
    }
}

/// An address with a prefix length, as in `192.0.2.10/24`.
public struct IPPrefix: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var length: Int

    public init(address: IPAddress, length: Int) {
        self.address = address
        self.length = length
    }

    /// The host prefix (/32 or /128) for a bare address.
    public init(host address: IPAddress) {
        self.init(address: address, length: address.family.maximumPrefixLength)
    }

    public var description: String { "\(address)/\(length)" }

    public func contains(_ other: IPAddress) -> Bool { address.sharesPrefix(with: other, length: length) }

    /// `ADDR` or `ADDR/LEN`; a bare address is a host prefix.
    public static func parse(_ text: String) -> Result<IPPrefix, AddressSyntaxError> {
        guard let slash = text.firstIndex(of: "/") else {
            return IPAddress.parse(text).map { IPPrefix(host: $0) }
        }
        let addressText = String(text[..<slash])
        let lengthText = text[text.index(after: slash)...]
        let address: IPAddress
        switch IPAddress.parse(addressText) {
        case .success(let a): address = a
        case .failure(let e): return .failure(e)
        }
        guard !lengthText.isEmpty, lengthText.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), lengthText.utf8.count <= 3,
            let length = Int(lengthText), length <= address.family.maximumPrefixLength
        else {
            return .failure(.init("the prefix length must be 0..\(address.family.maximumPrefixLength)"))
        }
        return .success(IPPrefix(address: address, length: length))
    }
}

/// An address and a port, as IPVS services and destinations are named.
public struct Endpoint: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    public var description: String {
        switch address {
        case .v4: "\(address):\(port)"
        case .v6: "[\(address)]:\(port)"
        }
    }

    public static func < (a: Endpoint, b: Endpoint) -> Bool { (a.address, a.port) < (b.address, b.port) }
}

package func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
    default: nil
    }
}

package func printable(_ byte: UInt8) -> String {
    if byte >= 0x20 && byte < 0x7f { return String(UnicodeScalar(byte)) }
    let hex = String(byte, radix: 16)
    return "\\x" + (hex.count == 1 ? "0" + hex : hex)
}

extension IPAddress {
    /// fe80::/10: usable only with an interface (a scope).
    public var isIPv6LinkLocal: Bool {
        if case .v6(let a) = self { a.isLinkLocal } else { false }
    }
}
