// DNS_CHECK, UDP_CHECK and PING_CHECK as datagram exchanges: the request, how long to wait, and the judge of a reply.
// What a datagram means is decided by pure code (DNSQuery.judge, UDPCheck.judge, ICMPEcho.isReply); the socket is
// the reactor's (ReactorDatagram.swift).
import Addresses

/// How one datagram exchange is judged.
struct DatagramExchange: Sendable {
    enum Verdict: Sendable {
        case up
        case down(CheckFailure)
        /// Not ours: keep waiting.
        case ignore
    }

    var request: [UInt8]
    var timeout: Duration
    /// Send the request again at half the timeout (DNS: one lost datagram must not fail the check).
    var resendOnce: Bool
    /// The verdict when nothing decisive arrived in time.
    var onSilence: CheckResult
    var judge: @Sendable ([UInt8]) -> Verdict
    /// The read buffer: a longer datagram arrives cut to this.
    var receiveCapacity = 2048
}

/// DNS_CHECK and UDP_CHECK (on the reactor: ReactorDatagram.swift).
public enum DatagramChecker {
    /// A DNS query for the check's name and type; nil when the name is not a DNS name.
    static func dnsExchange(_ check: DNSCheck) -> DatagramExchange? {
        guard let name = DNSName(check.name) else { return nil }
        let query = DNSQuery(id: UInt16.random(in: 0...UInt16.max), name: name, type: check.type)
        var exchange = DatagramExchange(
            request: query.encoded(), timeout: check.timeout, resendOnce: true, onSilence: .down(.timeout(.dnsAnswer)),
            judge: { datagram in
                switch query.judge(datagram) {
                case .up: .up
                case .down(let reason): .down(.badReply(.dnsAnswer, reason))
                case .stray: .ignore
                }
            })
        // The largest datagram: an answer is judged whole, never as a cut prefix.
        exchange.receiveCapacity = 65_536
        return exchange
    }

    static func udpExchange(_ check: UDPCheck) -> DatagramExchange {
        // keepalived sends 32 random bytes when no payload is given.
        let payload = check.payload ?? (0..<32).map { _ in UInt8.random(in: 0...255) }
        var exchange = DatagramExchange(
            request: payload, timeout: check.timeout, resendOnce: false,
            onSilence: check.requireReply ? .down(.timeout(.udpReply)) : .up,
            judge: { reply in
                if let problem = check.judge(reply: reply) { return .down(.badReply(.udpReply, problem)) }
                return .up
            })
        // keepalived reads max_reply_length + 1 bytes, so a longer reply fails the length test.
        exchange.receiveCapacity = max(check.maxReplyLength + 1, 64)
        return exchange
    }
}
