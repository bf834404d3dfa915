// DNS_CHECK, UDP_CHECK and PING_CHECK on the checker's reactor: one datagram socket each, the request (and for DNS
// one resend at half the timeout), replies judged until one decides, one deadline. What a datagram means is decided
// by pure code (DNSQuery.judge, UDPCheck.judge, ICMPEcho.isReply), as before.
import Glibc
import Platform
import Reactor

extension DatagramChecker {
    public static func check(dns check: DNSCheck, on reactor: Reactor, done: @escaping (CheckResult) -> Void) {
        guard let exchange = dnsExchange(check) else {
            done(.down(.badReply(.dnsAnswer, "'\(check.name)' is not a DNS name")))
            return
        }
        start(exchange, connect: check.connect, bindAddress: check.bindAddress, bindPort: check.bindPort, socket: check.socket,
              on: reactor, done: done)
    }

    public static func check(udp check: UDPCheck, on reactor: Reactor, done: @escaping (CheckResult) -> Void) {
        start(udpExchange(check), connect: check.connect, bindAddress: check.bindAddress, bindPort: check.bindPort,
              socket: check.socket, on: reactor, done: done)
    }

    /// A connected UDP socket from the check's source, with IP_RECVERR so host and network unreachables reach it
    /// too, not only port unreachables (keepalived sets it for the same reason).
    static func start(_ exchange: DatagramExchange, connect: Endpoint, bindAddress: IPAddress?, bindPort: Int,
                      socket options: CheckSocketOptions, on reactor: Reactor, done: @escaping (CheckResult) -> Void) {
        let ipv6 = connect.address.family == .ipv6
        let fd: Int32
        do throws(SystemError) {
            fd = try Syscall.socket(family: ipv6 ? AF_INET6 : AF_INET, type: Int32(SOCK_DGRAM.rawValue))
        } catch {
            done(.down(.ioError("\(error)")))
            return
        }
        do throws(CheckFailure) {
            var one: Int32 = 1
            if ipv6 {
                setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_RECVERR, &one, socklen_t(MemoryLayout<Int32>.size))
            } else {
                setsockopt(fd, Int32(IPPROTO_IP), IP_RECVERR, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            try options.apply(to: fd)
            if bindPort != 0 { setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) }
            let local = Endpoint(address: bindAddress ?? .zero(connect.address.family), port: UInt16(clamping: bindPort))
            try local.withSocketAddress { (address, length) throws(CheckFailure) in
                guard Glibc.bind(fd, address, length) == 0 else {
                    throw .bindFailed("bind \(local): \(String(cString: strerror(errno)))")
                }
            }
            try connect.withSocketAddress { (address, length) throws(CheckFailure) in
                guard Glibc.connect(fd, address, length) == 0 else { throw DatagramAttempt.failure(errno: errno) }
            }
        } catch {
            close(fd)
            done(.down(error))
            return
        }
        DatagramAttempt(exchange: exchange, fd: fd, peer: nil, reactor: reactor, done: done).start()
    }
}

extension PingChecker {
    public static func check(_ check: PingCheck, on reactor: Reactor, done: @escaping (CheckResult) -> Void) {
        let socket: PingSocket
        do throws(CheckFailure) {
            socket = try PingSocket.open(ipv6: check.connect.isIPv6, bindAddress: check.bindAddress, options: check.socket)
        } catch {
            done(.down(error))
            return
        }
        // Not connected: a raw socket sees every ICMP packet of the host, so replies are told apart by their
        // source here and by identifier and token in the judge.
        DatagramAttempt(exchange: exchange(check, raw: socket.raw), fd: socket.descriptor, peer: check.connect.address,
                        reactor: reactor, done: done).start()
    }
}

/// One exchange on a datagram socket the attempt owns (and closes).
final class DatagramAttempt {
    private let exchange: DatagramExchange
    private let fd: Int32
    /// Sent to and only heard from this address (nil: the socket is connected, and the kernel filters).
    private let peer: IPAddress?
    private let reactor: Reactor
    private var done: ((CheckResult) -> Void)?
    private var watch: ReactorWatch?
    private var timers: [ReactorTimer] = []

    init(exchange: DatagramExchange, fd: Int32, peer: IPAddress?, reactor: Reactor, done: @escaping (CheckResult) -> Void) {
        self.exchange = exchange
        self.fd = fd
        self.peer = peer
        self.reactor = reactor
        self.done = done
    }

    func start() {
        do throws(SystemError) {
            watch = try reactor.watch(fd, for: .readable) { [self] _ in receive() }
        } catch {
            finish(.down(.ioError("\(error)")))
            return
        }
        timers.append(reactor.schedule(after: exchange.timeout) { [self] in
            // A reply the kernel holds at the deadline is read first: silence here is the real's.
            receive()
            finish(exchange.onSilence)
        })
        if exchange.resendOnce {
            timers.append(reactor.schedule(after: exchange.timeout / 2) { [self] in send() })
        }
        send()
    }

    private func send() {
        guard done != nil else { return }
        let sent: Int = exchange.request.withUnsafeBytes { bytes in
            guard let peer else { return Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }
            return Endpoint(address: peer, port: 0).withSocketAddress { address, length in
                Glibc.sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), address, length)
            }
        }
        // EAGAIN on a datagram socket: the request is lost, as on the wire; the deadline decides.
        if sent < 0, errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR { finish(.down(Self.failure(errno: errno))) }
    }

    private func receive() {
        guard done != nil else { return }
        var datagram = [UInt8](repeating: 0, count: exchange.receiveCapacity)
        while done != nil {
            var source = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = datagram.withUnsafeMutableBytes { buffer in
                withUnsafeMutablePointer(to: &source) { storage in
                    storage.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(fd, buffer.baseAddress, buffer.count, 0, $0, &length)
                    }
                }
            }
            if n < 0 {
                switch errno {
                case EINTR: continue
                case EAGAIN, EWOULDBLOCK: return
                default:
                    finish(.down(Self.failure(errno: errno)))
                    return
                }
            }
            if let peer, Self.address(of: source) != peer { continue }
            switch exchange.judge(Array(datagram.prefix(n))) {
            case .up: finish(.up)
            case .down(let failure): finish(.down(failure))
            case .ignore: continue
            }
        }
    }

    /// The source address of a received datagram.
    static func address(of storage: sockaddr_storage) -> IPAddress? {
        let family = Int32(storage.ss_family)
        return withUnsafeBytes(of: storage) { raw -> IPAddress? in
            switch family {
            case AF_INET:
                let sin = raw.load(as: sockaddr_in.self)
                return .ipv4(UInt32(bigEndian: sin.sin_addr.s_addr))
            case AF_INET6:
                let sin6 = raw.load(as: sockaddr_in6.self)
                return withUnsafeBytes(of: sin6.sin6_addr) { IPAddress(bytes: $0) }
            default:
                return nil
            }
        }
    }

    /// An error the socket reports (from an ICMP error, with IP_RECVERR) as the check's failure.
    static func failure(errno code: Int32) -> CheckFailure {
        switch code {
        case ECONNREFUSED: .unreachable("ICMP port unreachable")
        case EHOSTUNREACH: .unreachable("ICMP host unreachable")
        case ENETUNREACH: .unreachable("ICMP network unreachable")
        case EADDRINUSE, EADDRNOTAVAIL: .bindFailed(String(cString: strerror(code)))
        default: .ioError(String(cString: strerror(code)))
        }
    }

    private func finish(_ result: CheckResult) {
        guard let done else { return }
        self.done = nil
        for timer in timers { reactor.cancel(timer) }
        if let watch { reactor.forget(beforeClosing: watch) }
        close(fd)
        done(result)
    }
}

extension DatagramChecker {
    public static func check(dns check: DNSCheck, on thread: ReactorThread) async -> CheckResult {
        await thread.check { Self.check(dns: check, on: $0, done: $1) }
    }

    public static func check(udp check: UDPCheck, on thread: ReactorThread) async -> CheckResult {
        await thread.check { Self.check(udp: check, on: $0, done: $1) }
    }
}

extension PingChecker {
    public static func check(_ check: PingCheck, on thread: ReactorThread) async -> CheckResult {
        await thread.check { Self.check(check, on: $0, done: $1) }
    }
}
