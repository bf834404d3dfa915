// The TCP connection every reactor checker makes: a non-blocking socket with the check's fwmark and interface, bound
// to its source address and port when set, connecting to the check's address. No NIO channel: the socket is watched
// by the checker's reactor, and the connect's outcome is read from SO_ERROR when it becomes writable.
import Glibc
import Platform
import Reactor

final class CheckSocket {
    let fd: Int32
    private let reactor: Reactor
    private var watch: ReactorWatch?
    private var watched: IOInterest?
    private var isClosed = false

    /// Opens the socket and starts its connect. Throws the real's failure (a missing interface, a source address in
    /// use or absent, a refusal the kernel knew at once), never an error of the program.
    init(reactor: Reactor, connect: Endpoint, bindAddress: IPAddress?, bindPort: Int, options: CheckSocketOptions) throws(CheckFailure) {
        self.reactor = reactor
        let family = connect.address.family == .ipv6 ? AF_INET6 : AF_INET
        do throws(SystemError) {
            fd = try Syscall.socket(family: family, type: Int32(SOCK_STREAM.rawValue))
        } catch {
            throw .connectFailed("\(error)")
        }
        do throws(CheckFailure) {
            // keepalived's order (socket_bind_connect): the mark, the device, then bind and connect.
            try options.apply(to: fd)
            if bindAddress != nil || bindPort != 0 {
                // A fixed source port is reused every check; TIME_WAIT from the last one must not block it.
                if bindPort != 0 {
                    var one: Int32 = 1
                    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
                }
                let local = Endpoint(address: bindAddress ?? .zero(connect.address.family), port: UInt16(clamping: bindPort))
                try local.withSocketAddress { (address, length) throws(CheckFailure) in
                    guard Glibc.bind(fd, address, length) == 0 else {
                        throw .bindFailed("bind \(local): \(String(cString: strerror(errno)))")
                    }
                }
            }
            try connect.withSocketAddress { (address, length) throws(CheckFailure) in
                do throws(SystemError) {
                    _ = try Syscall.connect(fd, to: address, length: length)
                } catch {
                    throw Self.connectFailure(errno: error.errno, error)
                }
            }
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    deinit { close() }

    /// Watches the socket; later calls change only what it is watched for (the first handler stays).
    func watch(for interest: IOInterest, _ handler: @escaping Reactor.Handler) throws(CheckFailure) {
        guard interest != watched else { return }
        do throws(SystemError) {
            if let watch {
                try reactor.change(watch, to: interest)
            } else {
                watch = try reactor.watch(fd, for: interest, handler)
            }
            watched = interest
        } catch {
            throw .ioError("\(error)")
        }
    }

    /// Once writable after the connect: nil when connected, else why not.
    func connectOutcome() -> CheckFailure? {
        let code = Syscall.pendingError(fd)
        return code == 0 ? nil : Self.connectFailure(errno: code, SystemError(call: "connect", errno: code))
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        if let watch { reactor.forget(beforeClosing: watch) }
        Glibc.close(fd)
    }

    /// Closes once the server has closed its side (or after `linger` at most), reading and dropping what comes: the
    /// server, which sent `Connection: close`, closes first and keeps the TIME_WAIT, so a director checking
    /// thousands of reals does not hold thousands of its own ports in TIME_WAIT, and the close costs one FIN
    /// exchange instead of two half-closes. The socket keeps itself alive until then.
    func closeAfterPeer(linger: Duration) {
        guard !isClosed else { return }
        var timer: ReactorTimer?
        let drain: Reactor.Handler = { [self] _ in
            // What is left is thrown away, into the reactor's buffer.
            let buffer = reactor.readBuffer
            let open: Bool
            while true {
                let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
                if n > 0 { continue }
                if n < 0, errno == EINTR { continue }
                open = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
                break
            }
            guard !open else { return }
            if let timer { reactor.cancel(timer) }
            close()
        }
        do throws(CheckFailure) {
            if let watch { reactor.rehandle(watch, drain) }
            try self.watch(for: .readable, drain)
        } catch {
            close()
            return
        }
        timer = reactor.schedule(after: linger) { [self] in close() }
    }

    /// What TCP_INFO says now (nil once closed or when the kernel cannot say).
    func witness(now: Moment) -> SocketWitness? {
        isClosed ? nil : SocketWitness(fd: fd, now: now)
    }

    static func connectFailure(errno code: Int32, _ error: SystemError) -> CheckFailure {
        switch code {
        case ECONNREFUSED: .connectionRefused
        case ETIMEDOUT: .timeout(.connect)
        case EADDRINUSE, EADDRNOTAVAIL: .bindFailed("\(error)")
        default: .connectFailed("\(error)")
        }
    }

    /// A failed read or write: a reset is the real's doing, named with the phase it cut.
    static func ioFailure(_ error: SystemError, phase: CheckPhase) -> CheckFailure {
        error.errno == ECONNRESET || error.errno == EPIPE ? .connectionReset(phase) : .ioError("\(error)")
    }
}

/// TCP_INFO on the reactor's clock: what the kernel heard from the real that the loop may not have handled yet. Every
/// TCP checker asks it when a deadline is reached: a saturated loop handles a connection's events late, and a timeout
/// is the real's fault only when the kernel heard nothing from the real in time either.
struct SocketWitness {
    let state: UInt8
    let lastAck: Moment
    let lastData: Moment

    init?(fd: Int32, now: Moment) {
        var info = tcp_info()
        var length = socklen_t(MemoryLayout<tcp_info>.size)
        guard getsockopt(fd, Int32(IPPROTO_TCP), TCP_INFO, &info, &length) == 0 else { return nil }
        state = info.tcpi_state
        lastAck = now - .milliseconds(Int64(info.tcpi_last_ack_recv))
        lastData = now - .milliseconds(Int64(info.tcpi_last_data_recv))
    }

    /// TCP_INFO counts in milliseconds derived from jiffies (4 ms apart at HZ 250, 10 ms at HZ 100).
    static let slack = Duration.milliseconds(20)

    var isConnected: Bool { state == UInt8(TCP_ESTABLISHED) || state == UInt8(TCP_CLOSE_WAIT) }

    /// Connected, by an answer that came between `issued` and `deadline`.
    func connected(issuedAt issued: Moment, by deadline: Moment) -> Bool {
        isConnected && lastAck >= issued - Self.slack && lastAck <= deadline + Self.slack
    }

    /// Data arrived after `seen` and by `deadline`.
    func receivedData(after seen: Moment, by deadline: Moment) -> Bool {
        lastData > seen + Self.slack && lastData <= deadline + Self.slack
    }
}
