import Addresses
import Testing

@testable import VRRP

/// Every drop reason, one malformed or unwelcome packet each, checked against a v2 PASS instance like the seeds'.
@Suite("Advertisement drop reasons")
struct AdvertisementFilterTests {
    let packet = AdvertisementCodecTests.keepalivedV2Pass

    func filter(
        version: VRRPVersion = .v2, vrid: UInt8 = 51, interval: UInt16 = 100,
        auth: Authentication = .password(AuthPassword("1111")), addresses: [IPAddress]? = nil,
        localPriority: UInt8 = 90, hopLimit: AdvertisementFilter.HopLimitPolicy = .exactly255,
        allowedSources: Set<IPAddress>? = nil
    ) throws -> AdvertisementFilter {
        AdvertisementFilter(
            version: version, virtualRouterID: vrid, advertIntervalCentiseconds: interval, authentication: auth,
            addresses: try addresses ?? [addr("192.168.200.16")], localPriority: localPriority,
            hopLimit: hopLimit, allowedSources: allowedSources)
    }

    /// Decodes then filters: the reason a daemon would count, nil when accepted.
    func verdict(_ bytes: [UInt8], _ filter: AdvertisementFilter) -> DropReason? {
        switch Advertisement.decode(ipv4Packet: bytes) {
        case .failure(let rejection): return rejection.reason
        case .success(let received): return filter.check(received)?.reason
        }
    }

    /// Rewrites the VRRP checksum after a field change so only the intended check can fail.
    func resum(_ bytes: [UInt8], version: VRRPVersion = .v2) -> [UInt8] {
        var out = bytes
        out[26] = 0
        out[27] = 0
        // Both addresses come from a 20-byte slice, so they are always built.
        let source = IPAddress(bytes: out[12..<16]) ?? .multicastIPv4
        let destination = IPAddress(bytes: out[16..<20]) ?? .multicastIPv4
        let sum = Advertisement.checksum(
            message: out[20...], version: version, source: source, destination: destination)
        out[26] = UInt8(sum >> 8)
        out[27] = UInt8(sum & 0xFF)
        return out
    }

    @Test func acceptsTheReferencePacket() throws {
        #expect(verdict(packet, try filter()) == nil)
    }

    @Test func truncated() throws {
        #expect(verdict(Array(packet.prefix(19)), try filter()) == .truncated)
        // An IP header that claims only 4 VRRP bytes.
        var short = Array(packet.prefix(24))
        short[3] = 24
        #expect(verdict(short, try filter()) == .truncated)
    }

    @Test func malformedIPHeader() throws {
        var notIPv4 = packet
        notIPv4[0] = 0x65
        #expect(verdict(notIPv4, try filter()) == .malformedIPHeader)
        var tcp = packet
        tcp[9] = 6
        #expect(verdict(tcp, try filter()) == .malformedIPHeader)
        var longerThanRead = packet
        longerThanRead[3] = 0x40
        #expect(verdict(longerThanRead, try filter()) == .malformedIPHeader)
        var tinyIHL = packet
        tinyIHL[0] = 0x44
        #expect(verdict(tinyIHL, try filter()) == .malformedIPHeader)
    }

    @Test func hopLimit() throws {
        var routed = packet
        routed[8] = 64
        #expect(verdict(routed, try filter()) == .hopLimit)
        // Unicast peers: keepalived skips the check unless min_ttl/max_ttl are given.
        #expect(verdict(routed, try filter(hopLimit: .any)) == nil)
        #expect(verdict(routed, try filter(hopLimit: .range(60...70))) == nil)
        #expect(verdict(routed, try filter(hopLimit: .range(250...255))) == .hopLimit)
    }

    @Test func unsupportedVersion() throws {
        var v1 = packet
        v1[20] = 0x11
        #expect(verdict(resum(v1), try filter()) == .unsupportedVersion)
        // Version 2 exists only over IPv4.
        let v2OverIPv6 = Advertisement.decode(
            ipv6Payload: Array(packet[20...]), source: try addr("fe80::1"), destination: .multicastIPv6,
            hopLimit: 255)
        #expect(dropReason(v2OverIPv6) == .unsupportedVersion)
    }

    @Test func versionMismatch() throws {
        let v3 = AdvertisementCodecTests.keepalivedV3IPv4
        #expect(
            verdict(
                v3,
                try filter(
                    vrid: 52, interval: 50, auth: .none,
                    addresses: [addr("192.168.200.17"), addr("192.168.200.18")]))
                == .versionMismatch)
    }

    @Test func invalidType() throws {
        var type2 = packet
        type2[20] = 0x22
        #expect(verdict(resum(type2), try filter()) == .invalidType)
    }

    @Test func lengthMismatch() throws {
        var twoAddresses = packet
        twoAddresses[23] = 2  // count says 2, only one present
        #expect(verdict(resum(twoAddresses), try filter()) == .lengthMismatch)
        var withoutAuth = Array(packet.prefix(packet.count - 8))
        withoutAuth[3] -= 8
        #expect(verdict(withoutAuth, try filter()) == .lengthMismatch)
    }

    @Test func badChecksum() throws {
        var flipped = packet
        flipped[22] = 101  // priority changed, checksum not
        #expect(verdict(flipped, try filter()) == .badChecksum)
    }

    @Test func unknownVirtualRouter() throws {
        #expect(verdict(packet, try filter(vrid: 52)) == .unknownVirtualRouter)
    }

    @Test func localAddressOwner() throws {
        #expect(verdict(packet, try filter(localPriority: 255)) == .localAddressOwner)
    }

    @Test func authTypeMismatch() throws {
        #expect(verdict(packet, try filter(auth: .none)) == .authTypeMismatch)
        var ah = packet
        ah[24] = 2
        #expect(verdict(resum(ah), try filter()) == .authTypeMismatch)
    }

    @Test func authFailure() throws {
        #expect(verdict(packet, try filter(auth: .password(AuthPassword("2222")))) == .authFailure)
        // A password that merely starts with the configured one ("11110" vs "1111") is still wrong.
        var longer = packet
        longer[36] = 0x30
        #expect(verdict(resum(longer), try filter()) == .authFailure)
    }

    @Test func v2IntervalMismatchIsDroppedV3IsLearned() throws {
        #expect(verdict(packet, try filter(interval: 200)) == .intervalMismatch)
        let v3 = AdvertisementCodecTests.keepalivedV3IPv4
        let v3Filter = try filter(
            version: .v3, vrid: 52, interval: 100, auth: .none,
            addresses: [addr("192.168.200.17"), addr("192.168.200.18")])
        #expect(verdict(v3, v3Filter) == nil)
    }

    @Test func invalidInterval() throws {
        var zero = packet
        zero[25] = 0
        #expect(verdict(resum(zero), try filter()) == .invalidInterval)
    }

    @Test func addressCountAndList() throws {
        #expect(
            verdict(packet, try filter(addresses: [addr("192.168.200.16"), addr("192.168.200.17")]))
                == .addressCount)
        #expect(verdict(packet, try filter(addresses: [addr("192.168.200.99")])) == .addressList)
        // skip_check_adv_addr
        var unchecked = try filter()
        unchecked.addresses = nil
        var other = packet
        other[31] = 0x99
        #expect(verdict(resum(other), unchecked) == nil)
        // RFC 3768 §7.1: a differing list from the address owner is still processed.
        var owner = other
        owner[22] = 255
        #expect(verdict(resum(owner), try filter()) == nil)
    }

    @Test func unexpectedSource() throws {
        #expect(verdict(packet, try filter(allowedSources: [addr("10.9.0.7")])) == .unexpectedSource)
        #expect(verdict(packet, try filter(allowedSources: [addr("10.9.0.1")])) == nil)
    }

    @Test func dropReasonLabelsAreUnique() {
        #expect(Set(DropReason.allCases.map(\.rawValue)).count == DropReason.allCases.count)
    }

    @Test func everyTruncationOfAValidPacketIsRejectedWithoutCrashing() throws {
        let filter = try filter()
        for length in 0..<packet.count {
            var cut = Array(packet.prefix(length))
            if cut.count >= 4 {
                cut[2] = UInt8(length >> 8)
                cut[3] = UInt8(length & 0xFF)
            }
            #expect(verdict(cut, filter) != nil, "length \(length)")
        }
    }
}
