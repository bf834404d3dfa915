import Addresses

/// Why a received packet was dropped; one counter per case (raw value is the metric label).
public enum DropReason: String, CaseIterable, Sendable, Hashable {
    /// Shorter than an IPv4 header or the 8 fixed VRRP bytes.
    case truncated = "truncated"
    /// Not an IPv4 header carrying protocol 112, or its lengths are inconsistent.
    case malformedIPHeader = "ip_header"
    /// TTL / hop limit is not 255 (RFC 3768 §7.1, RFC 5798 §7.1): the sender is off-link.
    case hopLimit = "ttl"
    /// Version is neither 2 nor 3, or version 2 over IPv6.
    case unsupportedVersion = "version"
    /// Valid version, but not the one this instance runs.
    case versionMismatch = "version_mismatch"
    /// Type is not 1 (ADVERTISEMENT).
    case invalidType = "type"
    /// The message length disagrees with the address count.
    case lengthMismatch = "length"
    /// Checksum does not verify.
    case badChecksum = "checksum"
    /// VRID is not the one configured here (or on this socket).
    case unknownVirtualRouter = "vrid"
    /// The local router owns the addresses (priority 255): RFC 3768/5798 §7.1 say discard.
    case localAddressOwner = "owner"
    /// v2 auth type differs from the local one.
    case authTypeMismatch = "auth_type"
    /// v2 PASS password differs.
    case authFailure = "auth"
    /// v2 advert interval differs from the local one (RFC 3768 §7.1 says discard).
    case intervalMismatch = "interval"
    /// Advert interval 0, which would make every timer expire at once.
    case invalidInterval = "interval_zero"
    /// Address count differs from the configured virtual addresses (sender not the owner).
    case addressCount = "address_count"
    /// Address list differs from the configured virtual addresses (sender not the owner).
    case addressList = "address_list"
    /// Unicast mode with `check_unicast_src`: the source is not a configured peer.
    case unexpectedSource = "source"
}

/// A dropped packet: the counter to bump and a line for the log.
public struct AdvertRejection: Error, Hashable, Sendable, CustomStringConvertible {
    /// Counter key.
    public let reason: DropReason
    /// Human detail (values seen / expected).
    public let detail: String

    public init(_ reason: DropReason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "\(reason.rawValue): \(detail)" }
}

/// A structurally valid advertisement with the IP facts it arrived with.
public struct ReceivedAdvertisement: Hashable, Sendable {
    /// The VRRP message.
    public let advertisement: Advertisement
    /// IP source: the sender's primary address, used for the equal-priority tie-break.
    public let source: IPAddress
    /// IP destination (multicast group or our unicast address).
    public let destination: IPAddress
    /// TTL (IPv4) or hop limit (IPv6, from IPV6_HOPLIMIT ancillary data).
    public let hopLimit: UInt8
}

extension Advertisement {
    /// Decodes a packet read from a raw IPv4 socket, IPv4 header included (Linux delivers it as sent on the wire).
    /// Checks the header, version, type, length and checksum; per-instance checks are `AdvertisementFilter`'s.
    public static func decode(ipv4Packet packet: [UInt8]) -> Result<ReceivedAdvertisement, AdvertRejection> {
        guard packet.count >= 20 else {
            return .failure(AdvertRejection(.truncated, "\(packet.count) bytes, shorter than an IPv4 header"))
        }
        guard packet[0] >> 4 == 4 else {
            return .failure(AdvertRejection(.malformedIPHeader, "IP version \(packet[0] >> 4)"))
        }
        let headerLength = Int(packet[0] & 0x0F) * 4
        let totalLength = Int(packet[2]) << 8 | Int(packet[3])
        guard headerLength >= 20, headerLength <= totalLength, totalLength <= packet.count else {
            return .failure(
                AdvertRejection(
                    .malformedIPHeader,
                    "header length \(headerLength), total length \(totalLength), \(packet.count) bytes read"))
        }
        guard packet[9] == Advertisement.ipProtocol else {
            return .failure(AdvertRejection(.malformedIPHeader, "IP protocol \(packet[9]), expected 112"))
        }
        // Non-nil: both slices are exactly 4 bytes long.
        guard let source = IPAddress(bytes: packet[12..<16]),
            let destination = IPAddress(bytes: packet[16..<20])
        else { return .failure(AdvertRejection(.malformedIPHeader, "addresses")) }
        // Bytes past the IP total length (link-layer padding) are not part of the datagram.
        return decodeMessage(
            packet[headerLength..<totalLength], family: .ipv4, source: source, destination: destination,
            hopLimit: packet[8])
    }

    /// Decodes the payload of a raw IPv6 socket (the kernel strips the header); addresses and hop limit come from
    /// the recvmsg source address, IPV6_PKTINFO and IPV6_HOPLIMIT.
    public static func decode(
        ipv6Payload payload: [UInt8], source: IPAddress, destination: IPAddress, hopLimit: UInt8
    ) -> Result<ReceivedAdvertisement, AdvertRejection> {
        guard source.family == .ipv6, destination.family == .ipv6 else {
            return .failure(AdvertRejection(.malformedIPHeader, "IPv6 payload with IPv4 addresses"))
        }
        return decodeMessage(
            payload[...], family: .ipv6, source: source, destination: destination, hopLimit: hopLimit)
    }

    private static func decodeMessage(
        _ message: ArraySlice<UInt8>, family: AddressFamily, source: IPAddress, destination: IPAddress,
        hopLimit: UInt8
    ) -> Result<ReceivedAdvertisement, AdvertRejection> {
        guard message.count >= 8 else {
            return .failure(AdvertRejection(.truncated, "\(message.count) VRRP bytes, shorter than 8"))
        }
        let base = message.startIndex
        let rawVersion = message[base] >> 4
        let version: VRRPVersion
        switch (rawVersion, family) {
        case (2, .ipv4): version = .v2
        case (3, _): version = .v3
        default:
            return .failure(AdvertRejection(.unsupportedVersion, "version \(rawVersion) over \(family)"))
        }
        let type = message[base] & 0x0F
        guard type == 1 else { return .failure(AdvertRejection(.invalidType, "type \(type)")) }
        let count = Int(message[base + 3])
        let expectedLength = 8 + count * family.byteCount + (version == .v2 ? 8 : 0)
        guard message.count == expectedLength else {
            return .failure(
                AdvertRejection(
                    .lengthMismatch,
                    "\(message.count) bytes for \(count) addresses, expected \(expectedLength)"))
        }
        let sum = checksum(message: message, version: version, source: source, destination: destination)
        guard sum == 0 else {
            let carried = UInt16(message[base + 6]) << 8 | UInt16(message[base + 7])
            return .failure(AdvertRejection(.badChecksum, "checksum 0x\(String(carried, radix: 16)) does not verify"))
        }
        var addresses: [IPAddress] = []
        addresses.reserveCapacity(count)
        var offset = base + 8
        for _ in 0..<count {
            let end = offset + family.byteCount
            guard let address = IPAddress(bytes: message[offset..<end]) else {
                return .failure(AdvertRejection(.lengthMismatch, "address at offset \(offset - base)"))
            }
            addresses.append(address)
            offset = end
        }
        let interval: UInt16
        let authentication: Authentication
        switch version {
        case .v2:
            interval = UInt16(message[base + 5]) * 100
            switch message[base + 4] {
            case 0: authentication = .none
            case 1: authentication = .password(AuthPassword(bytes: Array(message[offset..<(offset + 8)])))
            case 2: authentication = .ipsecAH
            case let other: authentication = .unsupported(type: other)
            }
        case .v3:
            // The top 4 bits are reserved: ignored on receipt (RFC 5798 §5.2.6).
            interval = (UInt16(message[base + 4]) << 8 | UInt16(message[base + 5])) & 0x0FFF
            authentication = .none
        }
        let advertisement = Advertisement(
            unchecked: version, family: family, virtualRouterID: message[base + 1], priority: message[base + 2],
            addresses: addresses, advertIntervalCentiseconds: interval, authentication: authentication)
        return .success(
            ReceivedAdvertisement(
                advertisement: advertisement, source: source, destination: destination, hopLimit: hopLimit))
    }
}
