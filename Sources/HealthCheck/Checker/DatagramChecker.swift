// DNS_CHECK and UDP_CHECK over a connected NIO datagram channel; PING_CHECK over an ICMP socket handed to NIO.
// What a datagram means is decided by pure code (DNSQuery.judge, UDPCheck.judge, ICMPEcho.isReply).
import Addresses
import Glibc
import NIOCore
import NIOPosix

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
    /// The read buffer: a longer datagram arrives cut to this (NIO's default for datagrams is 2048 bytes).
    var receiveCapacity = 2048
}

public enum DatagramChecker {
    public static func check(dns check: DNSCheck, on eventLoop: any EventLoop) -> EventLoopFuture<CheckResult> {
        guard let name = DNSName(check.name) else {
            return eventLoop.makeSucceededFuture(.down(.badReply(.dnsAnswer, "'\(check.name)' is not a DNS name")))
        }
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
        return run(exchange, connect: check.connect, bindAddress: check.bindAddress, bindPort: check.bindPort, socket: check.socket,
                   on: eventLoop)
    }

    public static func check(udp check: UDPCheck, on eventLoop: any EventLoop) -> EventLoopFuture<CheckResult> {
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
        return run(exchange, connect: check.connect, bindAddress: check.bindAddress, bindPort: check.bindPort, socket: check.socket,
                   on: eventLoop)
    }

    static func run(_ exchange: DatagramExchange, connect: Endpoint, bindAddress: IPAddress?, bindPort: Int,
                    socket: CheckSocketOptions = CheckSocketOptions(), on eventLoop: any EventLoop) -> EventLoopFuture<CheckResult>
    {
        eventLoop.startingOnLoop(of: CheckResult.self) { promise in
            let remote: SocketAddress
            let local: SocketAddress
            let options: [(option: NIOBSDSocket.Option, value: CInt)]
            do throws(CheckFailure) {
                options = try socket.resolved()
            } catch {
                promise.succeed(.down(error))
                return
            }
            remote = connect.socketAddress()
            local = Endpoint(address: bindAddress ?? .zero(connect.address.family), port: UInt16(clamping: bindPort)).socketAddress()
            let session = DatagramSession(exchange: exchange, remote: remote, promise: promise)
            let box = NIOLoopBound(session, eventLoop: eventLoop)
            // IP_RECVERR: host and network unreachables reach a connected socket too, not only port unreachables
            // (keepalived sets it for the same reason).
            let recvErr = connect.isIPv6
                ? ChannelOptions.Types.SocketOption(level: .ipv6, name: NIOBSDSocket.Option(rawValue: IPV6_RECVERR))
                : ChannelOptions.Types.SocketOption(level: .ip, name: NIOBSDSocket.Option(rawValue: IP_RECVERR))
            var bootstrap = DatagramBootstrap(group: eventLoop).channelOption(recvErr, value: 1)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: exchange.receiveCapacity))
                .applying(options)
            if bindPort != 0 { bootstrap = bootstrap.channelOption(.socketOption(.so_reuseaddr), value: 1) }
            session.arm(on: eventLoop)
            bootstrap.channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(box.value) }
            }
            .bind(to: local)
            .flatMap { channel in
                box.value.registered(channel)
                return channel.connect(to: remote).map { channel }
            }
            .whenComplete { result in
                switch result {
                case .success: box.value.send()
                case .failure(let error): box.value.failed(error)
                }
            }
        }
    }
}

/// One exchange on its channel: the request, an optional resend, replies judged until one decides, one timer.
final class DatagramSession: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let exchange: DatagramExchange
    private let remote: SocketAddress
    private let promise: EventLoopPromise<CheckResult>
    private var channel: (any Channel)?
    private var timers: [Scheduled<Void>] = []
    private var done = false

    init(exchange: DatagramExchange, remote: SocketAddress, promise: EventLoopPromise<CheckResult>) {
        self.exchange = exchange
        self.remote = remote
        self.promise = promise
    }

    func arm(on eventLoop: any EventLoop) {
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        let timeout = TimeAmount.nanoseconds(exchange.timeout.nanoseconds)
        // A reply that the kernel holds at the deadline is read first: NIO handles ready sockets before due
        // timers in each turn of the loop, so silence here is the real's.
        timers.append(eventLoop.scheduleTask(in: timeout) { loopBound.value.finish(loopBound.value.exchange.onSilence) })
        if exchange.resendOnce {
            timers.append(eventLoop.scheduleTask(in: .nanoseconds(timeout.nanoseconds / 2)) { loopBound.value.send() })
        }
    }

    func registered(_ channel: any Channel) {
        self.channel = channel
        if done { channel.close(promise: nil) }
    }

    func send() {
        guard !done, let channel else { return }
        let envelope = AddressedEnvelope(remoteAddress: remote, data: channel.allocator.buffer(bytes: exchange.request))
        let loopBound = NIOLoopBound(self, eventLoop: channel.eventLoop)
        channel.writeAndFlush(envelope).whenFailure { error in loopBound.value.failed(error) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        let envelope = unwrapInboundIn(data)
        guard envelope.remoteAddress == remote else { return }
        switch exchange.judge(Array(envelope.data.readableBytesView)) {
        case .up: finish(.up)
        case .down(let failure): finish(.down(failure))
        case .ignore: break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failed(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.down(.ioError("the socket closed")))
        context.fireChannelInactive()
    }

    func failed(_ error: any Error) {
        finish(.down(Self.failure(error)))
    }

    static func failure(_ error: any Error) -> CheckFailure {
        guard let io = error as? IOError else { return .ioError("\(error)") }
        switch io.errnoCode {
        case ECONNREFUSED: return .unreachable("ICMP port unreachable")
        case EHOSTUNREACH: return .unreachable("ICMP host unreachable")
        case ENETUNREACH: return .unreachable("ICMP network unreachable")
        case EADDRINUSE, EADDRNOTAVAIL: return .bindFailed("\(io)")
        default: return .ioError("\(io)")
        }
    }

    func finish(_ result: CheckResult) {
        guard !done else { return }
        done = true
        for timer in timers { timer.cancel() }
        channel?.close(promise: nil)
        promise.succeed(result)
    }
}
