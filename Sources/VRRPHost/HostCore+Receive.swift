import Timeline
import Addresses
import Glibc
import Platform
import VRRP

extension HostCore {
    /// Packets handled per readable socket before timers get their turn: a flood cannot starve the adverts.
    static let receiveBatch = 64

    /// Reads what is queued on one socket and feeds it to the instances it belongs to.
    func readable(_ key: TransportKey, now: Moment) {
        guard let runtime = transports[key] else { return }
        for _ in 0..<Self.receiveBatch {
            let packet: ReceivedPacket?
            do {
                packet = try runtime.transport.receive()
            } catch {
                report("VRRP receive on \(key): \(error)")
                return
            }
            guard let packet else { return }
            handle(packet, on: key, now: now)
        }
    }

    func handle(_ received: ReceivedPacket, on key: TransportKey, now: Moment) {
        let members = instances.values.filter { $0.transportKey == key }
        var packet = received
        if key.ipsecAH != nil, let runtime = transports[key] {
            switch runtime.ipsecAH?.open(packet.bytes, unicast: !key.multicast) {
            case .success(let plain)?:
                packet.bytes = plain
            case .failure(let rejection)?:
                let vrid = Self.peekVirtualRouterID(packet.bytes, family: key.family, behindAH: true)
                let targets = vrid.map { id in members.filter { $0.spec.wiring.advert.virtualRouterID == id } } ?? members
                if targets.isEmpty { foreignAdverts += 1 }
                for runtime in targets { drop(runtime, rejection, now: now) }
                return
            case nil:
                return
            }
        }
        let result: Result<ReceivedAdvertisement, AdvertRejection>
        if key.family == AF_INET {
            result = Advertisement.decode(ipv4Packet: packet.bytes)
        } else {
            guard let source = IPAddress(bytes: packet.source) else { return }
            let destination = packet.destination.flatMap { IPAddress(bytes: $0) } ?? .multicastIPv6
            result = Advertisement.decode(
                ipv6Payload: packet.bytes, source: source, destination: destination,
                hopLimit: UInt8(clamping: packet.hopLimit ?? 0))
        }
        switch result {
        case .failure(let rejection):
            // Counted against the instance the packet names, or every instance on the socket when it names none.
            let vrid = Self.peekVirtualRouterID(packet.bytes, family: key.family)
            let targets = vrid.map { id in members.filter { $0.spec.wiring.advert.virtualRouterID == id } } ?? members
            if targets.isEmpty { foreignAdverts += 1 }
            for runtime in targets { drop(runtime, rejection, now: now) }
        case .success(let received):
            let targets = members.filter { $0.spec.wiring.advert.virtualRouterID == received.advertisement.virtualRouterID }
            guard !targets.isEmpty else {
                foreignAdverts += 1
                return
            }
            for runtime in targets {
                if let rejection = runtime.spec.wiring.filter.check(received) {
                    drop(runtime, rejection, now: now)
                    continue
                }
                runtime.received += 1
                let advert = received.advertisement
                dispatch(
                    runtime, .advertReceived(VRRP.VRRPInstance.PeerAdvert(received)), now: now,
                    reason: "advert from \(received.source) with priority \(advert.priority)")
            }
        }
    }

    func drop(_ runtime: InstanceRuntime, _ rejection: AdvertRejection, now: Moment) {
        runtime.drops[rejection.reason, default: 0] += 1
        // A misconfigured peer sends one bad advert per interval: one line every 10 s is enough to notice it.
        if let last = runtime.lastDropLog, now < last + .seconds(10) {
            logger.debug("vrrp_instance \(runtime.spec.name): dropped advert: \(rejection)")
        } else {
            runtime.lastDropLog = now
            logger.warning("vrrp_instance \(runtime.spec.name): dropped advert: \(rejection)")
        }
    }

    /// The VRID byte of a packet that failed to decode, when it is there to read.
    static func peekVirtualRouterID(_ bytes: [UInt8], family: Int32, behindAH: Bool = false) -> UInt8? {
        if family == AF_INET {
            guard bytes.count >= 20, bytes[0] >> 4 == 4 else { return nil }
            let offset = Int(bytes[0] & 0x0F) * 4 + 1 + (behindAH ? IPsecAHState.headerLength : 0)
            return offset < bytes.count && offset >= 21 ? bytes[offset] : nil
        }
        return bytes.count >= 2 ? bytes[1] : nil
    }
}
