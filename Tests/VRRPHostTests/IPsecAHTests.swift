// keepalived's auth_type AH: the packet sealed and opened as keepalived 2.2.7 does it, with its refusals.
import Testing
import VRRP

@testable import VRRPHost

struct IPsecAHTests {
    static let message: [UInt8] = [0x21, 51, 100, 1, 1, 1, 0x12, 0x34, 192, 0, 2, 10] + [UInt8](repeating: 0, count: 8)
    static let source: [UInt8] = [192, 0, 2, 1]
    static let group: [UInt8] = [224, 0, 0, 18]

    func state(_ password: String = "secret") -> IPsecAHState { IPsecAHState(password: AuthPassword(password)) }

    @Test("the packet: IP header (protocol 51, TOS 0xC0, TTL 255, id 1), AH header (SPI = source, sequence 1) and an ICV computed apart")
    func sealedLayout() {
        var sender = state()
        let packet = sender.seal(Self.message, source: Self.source, destination: Self.group, unicast: false)
        #expect(packet.count == 20 + 24 + Self.message.count)
        #expect(Array(packet[0..<12]) == [0x45, 0xC0, 0, 64, 0, 1, 0, 0, 255, 51, 0, 0])
        #expect(Array(packet[12..<20]) == Self.source + Self.group)
        #expect(Array(packet[20..<32]) == [112, 4, 0, 0] + Self.source + [0, 0, 0, 1])
        // HMAC-MD5 over the packet with TOS, fragment, checksum and ICV zeroed, keyed "secret" + two zero bytes:
        // computed with Python's hmac module, not with this code.
        #expect(Array(packet[32..<44]) == [196, 90, 168, 199, 234, 49, 158, 87, 246, 122, 242, 115])
        #expect(Array(packet[44...]) == Self.message)
        // To a unicast peer the TTL is left out of the ICV too (the advert may be routed).
        var unicast = state()
        let routed = unicast.seal(Self.message, source: Self.source, destination: Self.group, unicast: true)
        #expect(Array(routed[32..<44]) == [208, 101, 255, 19, 75, 147, 89, 220, 187, 38, 130, 21])
    }

    @Test("opened, it is a plain VRRP packet again, which decodes with auth type AH")
    func roundTrip() throws {
        var sender = state()
        var receiver = state()
        var packet = sender.seal(Self.message, source: Self.source, destination: Self.group, unicast: false)
        packet[1] = 0x10  // TOS, fragment offset and checksum may change on the way
        packet[10] = 0xAB
        let plain = try receiver.open(packet, unicast: false).get()
        #expect(plain.count == 20 + Self.message.count)
        #expect(plain[9] == 112 && Int(plain[2]) << 8 | Int(plain[3]) == plain.count)
        #expect(Array(plain[20...]) == Self.message)
    }

    @Test("refused: another password, a changed byte, a replay, a forged SPI, no AH header")
    func refusals() throws {
        var sender = state()
        let packet = sender.seal(Self.message, source: Self.source, destination: Self.group, unicast: false)
        var other = state("wrong")
        #expect(reason(other.open(packet, unicast: false)) == .authFailure)
        var changed = packet
        changed[46] ^= 1  // the priority
        var receiver = state()
        #expect(reason(receiver.open(changed, unicast: false)) == .authFailure)
        #expect(reason(receiver.open(packet, unicast: false)) == nil)
        #expect(reason(receiver.open(packet, unicast: false)) == .authFailure, "the same sequence number twice is a replay")
        var forged = state()
        var spi = state()
        var wrongSPI = forged.seal(Self.message, source: [192, 0, 2, 9], destination: Self.group, unicast: false)
        wrongSPI[12..<16] = Self.source[...]  // a source that the SPI does not name, ICV made for it
        let icv = IPsecAHState.icv(wrongSPI, ipHeaderLength: 20, unicast: false, key: AuthPassword("secret").bytes)
        wrongSPI.replaceSubrange(32..<44, with: icv)
        #expect(reason(spi.open(wrongSPI, unicast: false)) == .authFailure)
        var plainVRRP = packet
        plainVRRP[9] = 112
        var fresh = state()
        #expect(reason(fresh.open(plainVRRP, unicast: false)) == .authTypeMismatch)
        #expect(reason(fresh.open(Array(packet.prefix(30)), unicast: false)) == .truncated)
    }

    @Test("one sequence per virtual router: a new master continues above what it accepted")
    func sequenceContinues() throws {
        var master = state()
        var backup = state()
        var last: [UInt8] = []
        for _ in 0..<5 { last = master.seal(Self.message, source: Self.source, destination: Self.group, unicast: false) }
        _ = try backup.open(last, unicast: false).get()
        let taken = backup.seal(Self.message, source: [192, 0, 2, 2], destination: Self.group, unicast: false)
        #expect(Array(taken[28..<32]) == [0, 0, 0, 6])
        _ = try master.open(taken, unicast: false).get()
        // Another virtual router on the same socket keeps its own count.
        var other = Self.message
        other[1] = 52
        let first = master.seal(other, source: Self.source, destination: Self.group, unicast: false)
        #expect(Array(first[28..<32]) == [0, 0, 0, 1])
    }

    func reason(_ result: Result<[UInt8], AdvertRejection>) -> DropReason? {
        if case .failure(let rejection) = result { return rejection.reason }
        return nil
    }
}
