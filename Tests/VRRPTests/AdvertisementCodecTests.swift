import Addresses
import Testing

@testable import VRRP

/// Address literal for tests; a typo fails the test instead of crashing.
func addr(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> IPAddress {
    try #require(IPAddress(text), "bad address literal \(text)", sourceLocation: sourceLocation)
}

/// Unwraps a decode result, failing the test with the rejection.
func accepted(
    _ result: Result<ReceivedAdvertisement, AdvertRejection>, sourceLocation: SourceLocation = #_sourceLocation
) throws -> ReceivedAdvertisement {
    switch result {
    case .success(let received): return received
    case .failure(let rejection):
        Issue.record("rejected: \(rejection)", sourceLocation: sourceLocation)
        throw rejection
    }
}

/// The drop reason of a decode result, nil when it was accepted.
func dropReason(_ result: Result<ReceivedAdvertisement, AdvertRejection>) -> DropReason? {
    if case .failure(let rejection) = result { return rejection.reason }
    return nil
}

/// A minimal IPv4 header (no options) around `payload`; the header checksum is left 0 (the kernel checks it).
func ipv4Packet(source: IPAddress, destination: IPAddress, ttl: UInt8 = 255, payload: [UInt8]) -> [UInt8] {
    let total = 20 + payload.count
    return [0x45, 0xC0, UInt8(total >> 8), UInt8(total & 0xFF), 0, 1, 0, 0, ttl, 112, 0, 0]
        + source.bytes + destination.bytes + payload
}

@Suite("Advertisement codec")
struct AdvertisementCodecTests {
    // keepalived 2.2.7 (`auth_type PASS`, `auth_pass 1111`, VRID 51, priority 100, advert_int 1, one VIP
    // 192.168.200.16) sending from 10.9.0.1, read from a raw IPv4 socket in a peer namespace. Layout:
    // IP header 20 bytes (TOS 0xc0, TTL 255, proto 112), then 21 33 64 01 | 01 01 cksum | VIP | "1111\0\0\0\0".
    // VRRP checksum by hand, 16-bit words with the checksum field zero:
    //   2133 + 6401 + 0101 + 0000 + c0a8 + c810 + 3131 + 3131 + 0000 + 0000 = 0x2714f
    //   fold: 0x714f + 0x2 = 0x7151; complement: 0x8eae
    // IP header checksum by hand (kernel-made, shown for completeness):
    //   45c0 + 0028 + 0001 + 0000 + ff70 + 0a09 + 0001 + e000 + 0012 = 0x22f75 -> 0x2f77 -> ~ = 0xd088
    static let keepalivedV2Pass: [UInt8] = [
        0x45, 0xC0, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0xFF, 0x70, 0xD0, 0x88,
        0x0A, 0x09, 0x00, 0x01, 0xE0, 0x00, 0x00, 0x12,
        0x21, 0x33, 0x64, 0x01, 0x01, 0x01, 0x8E, 0xAE,
        0xC0, 0xA8, 0xC8, 0x10,
        0x31, 0x31, 0x31, 0x31, 0x00, 0x00, 0x00, 0x00,
    ]

    @Test func encodesKeepalivedV2PassLayout() throws {
        let advert = try Advertisement(
            version: .v2, family: .ipv4, virtualRouterID: 51, priority: 100,
            addresses: [addr("192.168.200.16")], advertIntervalCentiseconds: 100,
            authentication: .password(AuthPassword("1111")))
        let bytes = try advert.encoded(source: addr("10.9.0.1"), destination: .multicastIPv4)
        #expect(bytes == Array(Self.keepalivedV2Pass[20...]))
        #expect(bytes.count == advert.encodedLength)
    }

    @Test func decodesKeepalivedV2PassPacket() throws {
        let received = try accepted(Advertisement.decode(ipv4Packet: Self.keepalivedV2Pass))
        #expect(received.source == (try addr("10.9.0.1")))
        #expect(received.destination == .multicastIPv4)
        #expect(received.hopLimit == 255)
        let advert = received.advertisement
        #expect(advert.version == .v2)
        #expect(advert.virtualRouterID == 51)
        #expect(advert.priority == 100)
        #expect(advert.addresses == [try addr("192.168.200.16")])
        #expect(advert.advertIntervalCentiseconds == 100)
        #expect(advert.authentication == .password(AuthPassword("1111")))

        let filter = AdvertisementFilter(
            version: .v2, virtualRouterID: 51, advertIntervalCentiseconds: 100,
            authentication: .password(AuthPassword("1111")), addresses: [try addr("192.168.200.16")],
            localPriority: 90)
        #expect(filter.check(received) == nil)
    }

    // v2 without authentication, owner priority, two addresses — computed by hand:
    //   2101 + ff02 + 0001 + 0000 + 0a00 + 0001 + 0a00 + 0002 + 0 * 4 = 0x13407 -> 0x3408 -> ~ = 0xcbf7
    @Test func encodesV2WithoutAuthentication() throws {
        let advert = try Advertisement(
            version: .v2, family: .ipv4, virtualRouterID: 1, priority: 255,
            addresses: [addr("10.0.0.1"), addr("10.0.0.2")], advertIntervalCentiseconds: 100)
        let bytes = try advert.encoded(source: addr("10.0.0.254"), destination: .multicastIPv4)
        #expect(
            bytes == [
                0x21, 0x01, 0xFF, 0x02, 0x00, 0x01, 0xCB, 0xF7,
                0x0A, 0x00, 0x00, 0x01, 0x0A, 0x00, 0x00, 0x02,
                0, 0, 0, 0, 0, 0, 0, 0,
            ])
        // v2 ignores the IP addresses in its checksum: another source gives the same bytes.
        #expect(try advert.encoded(source: addr("10.1.1.1"), destination: addr("10.1.1.2")) == bytes)
    }

    // v3 over IPv4 with the RFC 9568 pseudo-header (src 192.168.1.10, dst 224.0.0.18, 0, 112, length 12):
    //   message: 3107 + 6401 + 0064 + 0000 + c0a8 + 0164 = 0x15778
    //   pseudo:  c0a8 + 010a + e000 + 0012 + 0070 + 000c = 0x1a240
    //   total 0x2f9b8 -> 0xf9ba -> ~ = 0x0645
    @Test func encodesV3IPv4WithPseudoHeader() throws {
        let advert = try Advertisement(
            version: .v3, family: .ipv4, virtualRouterID: 7, priority: 100,
            addresses: [addr("192.168.1.100")], advertIntervalCentiseconds: 100)
        let bytes = try advert.encoded(source: addr("192.168.1.10"), destination: .multicastIPv4)
        #expect(bytes == [0x31, 0x07, 0x64, 0x01, 0x00, 0x64, 0x06, 0x45, 0xC0, 0xA8, 0x01, 0x64])

        // Unicast: the pseudo-header carries the real destination, so the checksum differs and a receiver that
        // assumed the multicast group would reject it.
        let unicast = try advert.encoded(source: addr("192.168.1.10"), destination: addr("192.168.1.11"))
        #expect(unicast != bytes)
        let packet = ipv4Packet(
            source: try addr("192.168.1.10"), destination: try addr("192.168.1.11"), payload: unicast)
        #expect(dropReason(Advertisement.decode(ipv4Packet: packet)) == nil)
        let misdirected = ipv4Packet(source: try addr("192.168.1.10"), destination: .multicastIPv4, payload: unicast)
        #expect(dropReason(Advertisement.decode(ipv4Packet: misdirected)) == .badChecksum)
    }

    // keepalived 2.2.7, `version 3`, VRID 52, priority 150, advert_int 0.5, VIPs .17 and .18, from 10.9.0.1.
    static let keepalivedV3IPv4: [UInt8] = [
        0x45, 0xC0, 0x00, 0x24, 0x00, 0x01, 0x00, 0x00, 0xFF, 0x70, 0xD0, 0x8C,
        0x0A, 0x09, 0x00, 0x01, 0xE0, 0x00, 0x00, 0x12,
        0x31, 0x34, 0x96, 0x02, 0x00, 0x32, 0x3C, 0x84,
        0xC0, 0xA8, 0xC8, 0x11, 0xC0, 0xA8, 0xC8, 0x12,
    ]

    @Test func matchesKeepalivedV3IPv4() throws {
        let advert = try Advertisement(
            version: .v3, family: .ipv4, virtualRouterID: 52, priority: 150,
            addresses: [addr("192.168.200.17"), addr("192.168.200.18")], advertIntervalCentiseconds: 50)
        #expect(try advert.encoded(source: addr("10.9.0.1"), destination: .multicastIPv4)
            == Array(Self.keepalivedV3IPv4[20...]))
        let received = try accepted(Advertisement.decode(ipv4Packet: Self.keepalivedV3IPv4))
        #expect(received.advertisement == advert)
    }

    // keepalived 2.2.7 IPv6 instance (always v3): VRID 53, priority 200, advert_int 1, VIP 2001:db8::10, sent from
    // fe80::84e1:e0ff:fe09:df65 to ff02::12 with hop limit 255 (from IPV6_HOPLIMIT).
    static let keepalivedV3IPv6: [UInt8] = [
        0x31, 0x35, 0xC8, 0x01, 0x00, 0x64, 0x97, 0x2C,
        0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ]

    @Test func matchesKeepalivedV3IPv6() throws {
        let source = try addr("fe80::84e1:e0ff:fe09:df65")
        let advert = try Advertisement(
            version: .v3, family: .ipv6, virtualRouterID: 53, priority: 200,
            addresses: [addr("2001:db8::10")], advertIntervalCentiseconds: 100)
        #expect(try advert.encoded(source: source, destination: .multicastIPv6) == Self.keepalivedV3IPv6)
        let received = try accepted(
            Advertisement.decode(
                ipv6Payload: Self.keepalivedV3IPv6, source: source, destination: .multicastIPv6, hopLimit: 255))
        #expect(received.advertisement == advert)
        // The IPv6 pseudo-header includes the source: another sender address breaks the checksum.
        let spoofed = Advertisement.decode(
            ipv6Payload: Self.keepalivedV3IPv6, source: try addr("fe80::1"), destination: .multicastIPv6,
            hopLimit: 255)
        #expect(dropReason(spoofed) == .badChecksum)
    }

    // keepalived 2.2.7 unicast (`unicast_src_ip 10.9.0.1`, `unicast_peer 10.9.0.2`), v3, VRID 54, priority 120,
    // VIP 192.168.203.1: its checksum verifies with the peer's address in the pseudo-header, not 224.0.0.18.
    static let keepalivedV3Unicast: [UInt8] = [
        0x45, 0xC0, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0xFF, 0x70, 0xA6, 0x98,
        0x0A, 0x09, 0x00, 0x01, 0x0A, 0x09, 0x00, 0x02,
        0x31, 0x36, 0x78, 0x01, 0x00, 0x64, 0xB6, 0x28,
        0xC0, 0xA8, 0xCB, 0x01,
    ]

    @Test func matchesKeepalivedV3Unicast() throws {
        let advert = try Advertisement(
            version: .v3, family: .ipv4, virtualRouterID: 54, priority: 120,
            addresses: [addr("192.168.203.1")], advertIntervalCentiseconds: 100)
        #expect(try advert.encoded(source: addr("10.9.0.1"), destination: addr("10.9.0.2"))
            == Array(Self.keepalivedV3Unicast[20...]))
        let received = try accepted(Advertisement.decode(ipv4Packet: Self.keepalivedV3Unicast))
        #expect(received.advertisement == advert)
        #expect(received.destination == (try addr("10.9.0.2")))
    }

    @Test func v3IntervalUses12BitsAndIgnoresReservedBits() throws {
        let advert = try Advertisement(
            version: .v3, family: .ipv4, virtualRouterID: 9, priority: 1, addresses: [],
            advertIntervalCentiseconds: 4095)
        let source = try addr("10.0.0.1")
        var bytes = try advert.encoded(source: source, destination: .multicastIPv4)
        #expect(bytes[4] == 0x0F && bytes[5] == 0xFF)
        // Set a reserved bit and recompute the checksum: the interval still reads 4095.
        bytes[4] |= 0x10
        bytes[6] = 0
        bytes[7] = 0
        let sum = Advertisement.checksum(message: bytes, version: .v3, source: source, destination: .multicastIPv4)
        bytes[6] = UInt8(sum >> 8)
        bytes[7] = UInt8(sum & 0xFF)
        let received = try accepted(
            Advertisement.decode(ipv4Packet: ipv4Packet(source: source, destination: .multicastIPv4, payload: bytes)))
        #expect(received.advertisement.advertIntervalCentiseconds == 4095)
    }

    @Test func rejectsInvalidAdvertisements() throws {
        let v4 = try addr("10.0.0.1")
        let v6 = try addr("2001:db8::1")
        func make(
            _ version: VRRPVersion, _ family: AddressFamily = .ipv4, vrid: UInt8 = 1,
            addresses: [IPAddress] = [], interval: UInt16 = 100, auth: Authentication = .none
        ) -> AdvertisementError? {
            do {
                _ = try Advertisement(
                    version: version, family: family, virtualRouterID: vrid, priority: 100, addresses: addresses,
                    advertIntervalCentiseconds: interval, authentication: auth)
                return nil
            } catch { return error }
        }
        #expect(make(.v2, vrid: 0) == .invalidVirtualRouterID)
        #expect(make(.v3, addresses: [v4, v6]) == .mixedAddressFamilies)
        #expect(make(.v3, addresses: Array(repeating: v4, count: 256)) == .tooManyAddresses(256))
        #expect(make(.v2, .ipv6, addresses: [v6]) == .ipv6RequiresVersion3)
        #expect(make(.v2, interval: 150) == .intervalOutOfRange(version: .v2, centiseconds: 150))
        #expect(make(.v2, interval: 25600) == .intervalOutOfRange(version: .v2, centiseconds: 25600))
        #expect(make(.v3, interval: 0) == .intervalOutOfRange(version: .v3, centiseconds: 0))
        #expect(make(.v3, interval: 4096) == .intervalOutOfRange(version: .v3, centiseconds: 4096))
        #expect(make(.v3, auth: .password(AuthPassword("x"))) == .authenticationRequiresVersion2)
        #expect(make(.v2, auth: .unsupported(type: 2)) == .unsupportedAuthentication(type: 2))
        #expect(make(.v2, interval: 25500) == nil)

        let advert = try Advertisement(
            version: .v3, family: .ipv4, virtualRouterID: 1, priority: 1, addresses: [v4],
            advertIntervalCentiseconds: 100)
        #expect(throws: AdvertisementError.headerFamilyMismatch) {
            try advert.encoded(source: v6, destination: .multicastIPv6)
        }
    }

    @Test func passwordKeepsFirstEightBytes() {
        #expect(AuthPassword("secret-password").bytes == Array("secret-p".utf8))
        #expect(AuthPassword("ab").bytes == [0x61, 0x62, 0, 0, 0, 0, 0, 0])
    }

    @Test func roundTripsThroughIPv4Header() throws {
        let source = try addr("172.16.0.5")
        for version in [VRRPVersion.v2, .v3] {
            let advert = try Advertisement(
                version: version, family: .ipv4, virtualRouterID: 200, priority: 0,
                addresses: [addr("172.16.0.100"), addr("172.16.0.101"), addr("172.16.0.102")],
                advertIntervalCentiseconds: 300,
                authentication: version == .v2 ? .password(AuthPassword("pw")) : .none)
            let payload = try advert.encoded(source: source, destination: .multicastIPv4)
            let received = try accepted(
                Advertisement.decode(
                    ipv4Packet: ipv4Packet(source: source, destination: .multicastIPv4, payload: payload)))
            #expect(received.advertisement == advert)
        }
    }

    @Test func acceptsIPOptionsAndIgnoresTrailingLinkPadding() throws {
        var packet = Self.keepalivedV2Pass
        // IHL 6: one 4-byte option word (four NOPs) after the fixed header.
        packet[0] = 0x46
        packet.insert(contentsOf: [1, 1, 1, 1], at: 20)
        packet[3] += 4
        packet += [0, 0, 0]  // padding past the IP total length
        let received = try accepted(Advertisement.decode(ipv4Packet: packet))
        #expect(received.advertisement.virtualRouterID == 51)
    }
}
