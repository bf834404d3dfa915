// PING_CHECK: one ICMP or ICMPv6 echo on a socket made here, exchanged on the reactor. An unprivileged
// ping socket (SOCK_DGRAM, IPPROTO_ICMP, which net.ipv4.ping_group_range gates) when the kernel allows it, else a
// raw socket (CAP_NET_RAW). Unlike keepalived, directord never widens ping_group_range itself.
import Glibc
import Synchronization

public enum PingChecker {
    /// One process-wide sequence, so two checks of one target (on a raw socket, which sees every echo reply) differ.
    private static let sequence = Mutex<UInt16>(0)

    /// One echo request and the test of its reply (on a raw socket, by identifier too).
    static func exchange(_ check: PingCheck, raw: Bool) -> DatagramExchange {
        let ipv6 = check.connect.isIPv6
        let echo = ICMPEcho(ipv6: ipv6, identifier: UInt16.random(in: 1...UInt16.max), sequence: sequence.withLock { $0 &+= 1; return $0 },
                            token: (0..<16).map { _ in UInt8.random(in: 0...255) })
        return DatagramExchange(
            request: echo.request(), timeout: check.timeout, resendOnce: false, onSilence: .down(.timeout(.echoReply)),
            judge: { datagram in
                echo.isReply(datagram, hasIPHeader: raw && !ipv6, checkIdentifier: raw) ? .up : .ignore
            })
    }
}

/// A non-blocking ICMP socket, bound to the check's source address when it has one.
struct PingSocket {
    let descriptor: CInt
    /// A raw socket sees every ICMP packet of the host (and, for IPv4, their IP headers).
    let raw: Bool

    static func open(ipv6: Bool, bindAddress: IPAddress?, options: CheckSocketOptions = CheckSocketOptions()) throws(CheckFailure) -> PingSocket {
        let family = ipv6 ? AF_INET6 : AF_INET
        let proto = ipv6 ? CInt(IPPROTO_ICMPV6) : CInt(IPPROTO_ICMP)
        let flags = CInt(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)
        var raw = false
        var fd = socket(family, CInt(SOCK_DGRAM.rawValue) | flags, proto)
        if fd < 0 {
            // EACCES: this group is outside net.ipv4.ping_group_range.
            let dgramError = errno
            fd = socket(family, CInt(SOCK_RAW.rawValue) | flags, proto)
            guard fd >= 0 else {
                throw .connectFailed("no ICMP socket: ping socket: \(String(cString: strerror(dgramError))), raw socket: \(String(cString: strerror(errno)))")
            }
            raw = true
        }
        do throws(CheckFailure) {
            try options.apply(to: fd)
        } catch {
            close(fd)
            throw error
        }
        if let bindAddress {
            let result = Endpoint(address: bindAddress, port: 0).withSocketAddress { pointer, size in bind(fd, pointer, size) }
            if result != 0 {
                let error = errno
                close(fd)
                throw .bindFailed("\(bindAddress): \(String(cString: strerror(error)))")
            }
        }
        return PingSocket(descriptor: fd, raw: raw)
    }
}
