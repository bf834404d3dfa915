import Addresses

/// VRRP protocol version: 2 (RFC 3768, IPv4 only, whole-second intervals) or 3 (RFC 5798/9568, centiseconds).
public enum VRRPVersion: UInt8, Sendable, Hashable {
    case v2 = 2
    case v3 = 3
}

/// The 8-byte simple password of RFC 2338 §5.3.6.1, which keepalived still sends for `auth_type PASS`.
public struct AuthPassword: Hashable, Sendable {
    /// Always exactly 8 bytes, zero-padded.
    public let bytes: [UInt8]

    /// Keeps the first 8 bytes of `text` as keepalived does ("only the first eight characters are used").
    public init(_ text: String) {
        self.init(bytes: Array(text.utf8))
    }

    /// Keeps the first 8 bytes and zero-pads the rest.
    public init(bytes: [UInt8]) {
        let kept = Array(bytes.prefix(8))
        self.bytes = kept + Array(repeating: 0, count: 8 - kept.count)
    }
}

/// VRRPv2 authentication (auth type field); v3 has none.
public enum Authentication: Hashable, Sendable {
    /// Auth type 0; the 8 authentication bytes are sent as zero and ignored on receipt (RFC 3768 §5.1).
    case none
    /// Auth type 1, keepalived's `auth_type PASS`.
    case password(AuthPassword)
    /// Auth type 2, keepalived's `auth_type AH`: the 8 authentication bytes are zero and the message travels inside
    /// an IPsec authentication header (IP protocol 51) whose HMAC-MD5-96 the host checks before decoding.
    case ipsecAH
    /// Any other type seen on the wire.
    case unsupported(type: UInt8)

    /// The auth type byte.
    public var type: UInt8 {
        switch self {
        case .none: return 0
        case .password: return 1
        case .ipsecAH: return 2
        case .unsupported(let type): return type
        }
    }
}

/// Why an advertisement cannot be built or encoded.
public enum AdvertisementError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalidVirtualRouterID
    case mixedAddressFamilies
    case tooManyAddresses(Int)
    case ipv6RequiresVersion3
    case intervalOutOfRange(version: VRRPVersion, centiseconds: UInt16)
    case authenticationRequiresVersion2
    case unsupportedAuthentication(type: UInt8)
    case headerFamilyMismatch

    public var description: String {
        switch self {
        case .invalidVirtualRouterID:
            return "virtual_router_id must be 1..255"
        case .mixedAddressFamilies:
            return "an advertisement carries addresses of one family only"
        case .tooManyAddresses(let n):
            return "an advertisement carries at most 255 addresses, got \(n)"
        case .ipv6RequiresVersion3:
            return "VRRP version 2 is IPv4 only; IPv6 needs version 3"
        case .intervalOutOfRange(let version, let cs):
            return version == .v2
                ? "VRRPv2 advert interval must be whole seconds 1..255, got \(Double(cs) / 100) s"
                : "VRRPv3 advert interval must be 0.01..40.95 s, got \(Double(cs) / 100) s"
        case .authenticationRequiresVersion2:
            return "authentication exists only in VRRP version 2"
        case .unsupportedAuthentication(let type):
            return "auth type \(type) is not supported (only none, PASS and AH)"
        case .headerFamilyMismatch:
            return "source/destination address family differs from the advertised addresses"
        }
    }
}

/// One VRRP advertisement (the VRRP message, not the IP header).
///
/// Wiring: build one per instance from its configuration (which validates it), then for each send call
/// `with(priority:)` and `encoded(source:destination:)` and write the bytes to a raw IPPROTO_VRRP (112) socket
/// with TTL/hop limit 255; the kernel adds the IP header. With IPv6 the daemon may instead set IPV6_CHECKSUM
/// offset 6 and let the kernel fill the checksum, which gives the same bytes.
public struct Advertisement: Hashable, Sendable {
    /// IP protocol number of VRRP (RFC 5798 §5.1.1.4): the raw socket's protocol and the pseudo-header's.
    public static let ipProtocol: UInt8 = 112

    /// Protocol version.
    public let version: VRRPVersion
    /// Address family of the IP packet and of `addresses`.
    public let family: AddressFamily
    /// VRID, 1..255.
    public let virtualRouterID: UInt8
    /// Sender priority: 255 address owner, 0 master resigning, else 1..254.
    public var priority: UInt8
    /// Virtual addresses (keepalived's `virtual_ipaddress`, not the excluded ones).
    public let addresses: [IPAddress]
    /// Advertisement interval in centiseconds; v2 carries whole seconds, v3 the 12-bit Max Adver Int.
    public let advertIntervalCentiseconds: UInt16
    /// v2 authentication; `.none` for v3.
    public let authentication: Authentication

    /// Validates the fields against RFC 3768 / RFC 5798 limits.
    public init(
        version: VRRPVersion, family: AddressFamily, virtualRouterID: UInt8, priority: UInt8,
        addresses: [IPAddress], advertIntervalCentiseconds: UInt16, authentication: Authentication = .none
    ) throws(AdvertisementError) {
        guard virtualRouterID != 0 else { throw .invalidVirtualRouterID }
        guard addresses.allSatisfy({ $0.family == family }) else { throw .mixedAddressFamilies }
        guard addresses.count <= 255 else { throw .tooManyAddresses(addresses.count) }
        switch version {
        case .v2:
            guard family == .ipv4 else { throw .ipv6RequiresVersion3 }
            guard advertIntervalCentiseconds % 100 == 0, (1...255).contains(advertIntervalCentiseconds / 100) else {
                throw .intervalOutOfRange(version: version, centiseconds: advertIntervalCentiseconds)
            }
            if case .unsupported(let type) = authentication { throw .unsupportedAuthentication(type: type) }
        case .v3:
            guard (1...0x0FFF).contains(advertIntervalCentiseconds) else {
                throw .intervalOutOfRange(version: version, centiseconds: advertIntervalCentiseconds)
            }
            guard authentication == .none else { throw .authenticationRequiresVersion2 }
        }
        self.init(
            unchecked: version, family: family, virtualRouterID: virtualRouterID, priority: priority,
            addresses: addresses, advertIntervalCentiseconds: advertIntervalCentiseconds,
            authentication: authentication)
    }

    /// Decoded packets keep whatever the sender put (interval 0, odd auth types) so the filter can name the fault.
    init(
        unchecked version: VRRPVersion, family: AddressFamily, virtualRouterID: UInt8, priority: UInt8,
        addresses: [IPAddress], advertIntervalCentiseconds: UInt16, authentication: Authentication
    ) {
        self.version = version
        self.family = family
        self.virtualRouterID = virtualRouterID
        self.priority = priority
        self.addresses = addresses
        self.advertIntervalCentiseconds = advertIntervalCentiseconds
        self.authentication = authentication
    }

    /// The same advertisement with another priority (the state machine decides it per send).
    public func with(priority: UInt8) -> Advertisement {
        var copy = self
        copy.priority = priority
        return copy
    }

    /// Length of the VRRP message: 8 fixed bytes, the addresses, and for v2 the 8 authentication bytes.
    public var encodedLength: Int {
        8 + addresses.count * family.byteCount + (version == .v2 ? 8 : 0)
    }

    /// The VRRP message with its checksum. `source`/`destination` are the IP header's addresses: v3 sums them in
    /// a pseudo-header (RFC 5798 §5.2.8; RFC 9568 makes the IPv4 pseudo-header explicit), v2 only checks the family.
    public func encoded(source: IPAddress, destination: IPAddress) throws(AdvertisementError) -> [UInt8] {
        guard source.family == family, destination.family == family else { throw .headerFamilyMismatch }
        var out: [UInt8] = []
        out.reserveCapacity(encodedLength)
        out.append(version.rawValue << 4 | 1)  // type 1 = ADVERTISEMENT
        out.append(virtualRouterID)
        out.append(priority)
        out.append(UInt8(addresses.count))
        switch version {
        case .v2:
            out.append(authentication.type)
            out.append(UInt8(advertIntervalCentiseconds / 100))
        case .v3:
            // 4 reserved bits (zero) then the 12-bit interval.
            out.append(UInt8(advertIntervalCentiseconds >> 8 & 0x0F))
            out.append(UInt8(advertIntervalCentiseconds & 0xFF))
        }
        out += [0, 0]  // checksum placeholder
        for address in addresses { out += address.bytes }
        if version == .v2 {
            if case .password(let password) = authentication {
                out += password.bytes
            } else {
                out += [UInt8](repeating: 0, count: 8)
            }
        }
        let checksum = Advertisement.checksum(
            message: out, version: version, source: source, destination: destination)
        out[6] = UInt8(checksum >> 8)
        out[7] = UInt8(checksum & 0xFF)
        return out
    }

    /// v2: over the message alone (RFC 3768 §5.3.8). v3: over pseudo-header + message; a message carrying a
    /// correct checksum yields 0.
    static func checksum(
        message: some Collection<UInt8>, version: VRRPVersion, source: IPAddress, destination: IPAddress
    ) -> UInt16 {
        var sum = InternetChecksum()
        if version == .v3 {
            let length = message.count
            sum.add(source.bytes)
            sum.add(destination.bytes)
            switch source.family {
            case .ipv4:
                // RFC 768-style: zero, protocol, 16-bit length.
                sum.add([0, Advertisement.ipProtocol, UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)])
            case .ipv6:
                // RFC 8200 §8.1: 32-bit upper-layer length, three zero bytes, next header.
                sum.add([
                    UInt8(length >> 24 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF),
                    UInt8(length & 0xFF), 0, 0, 0, Advertisement.ipProtocol,
                ])
            }
        }
        sum.add(message)
        return sum.value
    }
}

extension IPAddress {
    /// Where VRRP adverts go unless unicast peers are configured: 224.0.0.18 (RFC 3768 §5.2.2).
    public static let multicastIPv4 = IPAddress.ipv4(0xE000_0012)
    /// ff02::12 (RFC 5798 §5.1.2.2).
    public static let multicastIPv6 = IPAddress.ipv6(high: 0xFF02_0000_0000_0000, low: 0x12)
}
