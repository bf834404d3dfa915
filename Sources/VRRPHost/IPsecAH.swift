import COpenSSL
import VRRP

/// keepalived's `auth_type AH` (VRRPv2 over IPv4): each advert travels inside an IPsec authentication header
/// (RFC 2402, IP protocol 51) carrying an HMAC-MD5-96 of the packet, keyed with the 8-byte auth_pass, with the SPI set
/// to the sender's address and a sequence number against replay. There is no security association: both ends only
/// share the password. Built to interoperate with keepalived 2.2.7, whose choices it follows:
/// - the ICV covers the IP header with TOS, fragment offset and checksum zeroed (and the TTL too for unicast
///   peers, whose adverts may be routed), the AH header with its ICV zeroed, and the VRRP message;
/// - one sequence number per virtual router: the highest sent or accepted. An advert is accepted only with a
///   higher one, and the next one sent is one more, so a backup that takes over continues above its master.
struct IPsecAHState {
    /// IPPROTO_AH.
    static let ipProtocol: UInt8 = 51
    static let headerLength = 24
    static let icvLength = 12

    /// auth_pass, zero-padded to 8 bytes as keepalived keys its HMAC.
    let key: [UInt8]
    private(set) var ipID: UInt16 = 0
    private(set) var sequence: [UInt8: UInt32] = [:]

    init(password: AuthPassword) { key = password.bytes }

    /// The whole IPv4 packet (IP header, AH header, VRRP message) for a raw socket with IP_HDRINCL.
    mutating func seal(_ message: [UInt8], source: [UInt8], destination: [UInt8], unicast: Bool) -> [UInt8] {
        ipID = ipID == .max ? 1 : ipID + 1  // 0 would let the kernel choose it, after the ICV was computed
        let vrid = message.count > 1 ? message[1] : 0
        let seq = (sequence[vrid] ?? 0) &+ 1
        sequence[vrid] = seq
        let total = 20 + Self.headerLength + message.count
        var packet: [UInt8] = [
            0x45, 0xC0, UInt8(total >> 8), UInt8(total & 0xFF), UInt8(ipID >> 8), UInt8(ipID & 0xFF), 0, 0,
            255, Self.ipProtocol, 0, 0,
        ]
        packet += source.prefix(4)
        packet += destination.prefix(4)
        packet += [Advertisement.ipProtocol, UInt8(Self.headerLength / 4 - 2), 0, 0]
        packet += source.prefix(4)  // SPI: the sender's address
        packet += [UInt8(seq >> 24), UInt8(seq >> 16 & 0xFF), UInt8(seq >> 8 & 0xFF), UInt8(seq & 0xFF)]
        packet += [UInt8](repeating: 0, count: Self.icvLength)
        packet += message
        let icv = Self.icv(packet, ipHeaderLength: 20, unicast: unicast, key: key)
        packet.replaceSubrange((20 + 12)..<(20 + 24), with: icv)
        return packet
    }

    /// Checks a received IPv4 packet with an AH header; on success, the packet as a plain VRRP one (IP header with
    /// protocol 112 and its length less the AH header, then the VRRP message) for the usual decoding.
    mutating func open(_ packet: [UInt8], unicast: Bool) -> Result<[UInt8], AdvertRejection> {
        guard packet.count >= 20, packet[0] >> 4 == 4 else {
            return .failure(AdvertRejection(.malformedIPHeader, "not an IPv4 packet"))
        }
        let ihl = Int(packet[0] & 0x0F) * 4
        let totalLength = Int(packet[2]) << 8 | Int(packet[3])
        guard ihl >= 20, totalLength <= packet.count, totalLength >= ihl + Self.headerLength + 8 else {
            return .failure(AdvertRejection(.truncated, "\(packet.count) bytes, too short for IP, AH and VRRP headers"))
        }
        guard packet[9] == Self.ipProtocol else {
            return .failure(AdvertRejection(.authTypeMismatch, "IP protocol \(packet[9]): no AH header, but auth_type is AH"))
        }
        let ah = ihl
        guard packet[ah] == Advertisement.ipProtocol, packet[ah + 1] == UInt8(Self.headerLength / 4 - 2) else {
            // An AH header for another protocol, or with another ICV size: not keepalived's VRRP.
            return .failure(AdvertRejection(.malformedIPHeader, "AH header for protocol \(packet[ah]), length \(packet[ah + 1])"))
        }
        let datagram = Array(packet[0..<totalLength])
        let expected = Self.icv(datagram, ipHeaderLength: ihl, unicast: unicast, key: key)
        let received = Array(datagram[(ah + 12)..<(ah + 24)])
        // Constant time: the comparison must not tell an attacker how many leading bytes were right.
        guard zip(expected, received).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else {
            return .failure(AdvertRejection(.authFailure, "IPsec AH HMAC-MD5 does not match (a different auth_pass, or the packet was changed)"))
        }
        guard datagram[(ah + 4)..<(ah + 8)].elementsEqual(datagram[12..<16]) else {
            return .failure(AdvertRejection(.authFailure, "IPsec AH SPI is not the sender's address"))
        }
        let seq = datagram[(ah + 8)..<(ah + 12)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let vrid = datagram[ah + Self.headerLength + 1]
        let last = sequence[vrid] ?? 0
        guard seq > last else {
            return .failure(AdvertRejection(.authFailure, "IPsec AH sequence number \(seq) not above \(last) (a replay, or a peer that restarted)"))
        }
        sequence[vrid] = seq
        var plain = Array(datagram[0..<ihl]) + datagram[(ah + Self.headerLength)...]
        let length = plain.count
        plain[2] = UInt8(length >> 8)
        plain[3] = UInt8(length & 0xFF)
        plain[9] = Advertisement.ipProtocol
        return .success(plain)
    }

    /// HMAC-MD5 truncated to 96 bits over the packet with the mutable fields and the ICV zeroed.
    static func icv(_ packet: [UInt8], ipHeaderLength ihl: Int, unicast: Bool, key: [UInt8]) -> [UInt8] {
        var input = packet
        input[1] = 0  // TOS
        input[6] = 0  // flags and fragment offset
        input[7] = 0
        if unicast { input[8] = 0 }  // TTL
        input[10] = 0  // header checksum
        input[11] = 0
        for i in (ihl + 12)..<(ihl + 24) { input[i] = 0 }
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = key.withUnsafeBytes { k in
            input.withUnsafeBytes { d in
                HMAC(EVP_md5(), k.baseAddress, Int32(k.count), d.bindMemory(to: UInt8.self).baseAddress, d.count,
                     &digest, &length)
            }
        }
        // HMAC fails only without memory; an all-zero ICV then matches nothing a peer sends.
        guard ok != nil, length >= 12 else { return [UInt8](repeating: 0, count: icvLength) }
        return Array(digest.prefix(icvLength))
    }
}
