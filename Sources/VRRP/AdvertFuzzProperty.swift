import Addresses

/// What the advert fuzz target (Tests/Fuzz/AdvertFuzz) and its corpus replay in the unit tests both check: any
/// bytes, read as a raw IPv4 packet or as an IPv6 payload, are rejected with a reason or decode to an advert that
/// encodes and decodes again to the same advert. Returns a description of a violation, nil when the input is fine.
enum AdvertFuzzProperty {
    static let v6Source = IPAddress.ipv6(high: 0xFE80_0000_0000_0000, low: 1)

    static func check(_ bytes: [UInt8]) -> String? {
        // The first byte picks the path, so one corpus exercises both.
        guard let selector = bytes.first else { return nil }
        let body = Array(bytes.dropFirst())
        let decoded: Result<ReceivedAdvertisement, AdvertRejection> = selector & 1 == 0
            ? Advertisement.decode(ipv4Packet: body)
            : Advertisement.decode(ipv6Payload: body, source: v6Source, destination: .multicastIPv6, hopLimit: 255)
        guard case .success(let received) = decoded else { return nil }
        let advert = received.advertisement
        let encoded: [UInt8]
        do { encoded = try advert.encoded(source: received.source, destination: received.destination) } catch {
            return "an accepted advert does not encode: \(error)"
        }
        let again: Result<ReceivedAdvertisement, AdvertRejection> = advert.family == .ipv4
            ? Advertisement.decode(ipv4Packet: ipv4Header(for: encoded, from: received.source, to: received.destination) + encoded)
            : Advertisement.decode(ipv6Payload: encoded, source: received.source, destination: received.destination, hopLimit: 255)
        switch again {
        case .failure(let rejection): return "re-encoded advert rejected: \(rejection)"
        case .success(let second) where second.advertisement != advert:
            return "round trip changed the advert: \(advert) became \(second.advertisement)"
        default: return nil
        }
    }

    /// A minimal IPv4 header (TTL 255, protocol 112) around an encoded advert.
    static func ipv4Header(for payload: [UInt8], from source: IPAddress, to destination: IPAddress) -> [UInt8] {
        let total = 20 + payload.count
        var header: [UInt8] = [0x45, 0, UInt8(total >> 8 & 0xFF), UInt8(total & 0xFF), 0, 0, 0, 0, 255, 112, 0, 0]
        header += source.bytes + destination.bytes
        return header
    }
}
