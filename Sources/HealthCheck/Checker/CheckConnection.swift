// The TCP connection every checker makes: to the check's address, from its source address and port when set, with
// its fwmark and interface.
import Addresses
import NIOCore
import Glibc
import NIOPosix

struct CheckConnection {
    let remote: SocketAddress
    private let local: SocketAddress?
    private let fixedPort: Bool
    private let options: [(option: NIOBSDSocket.Option, value: CInt)]

    /// The connection a TCP-based check makes, or nil after answering the check down (a bad address or bind
    /// address is the real's failure, reported as a result, not an error).
    static func opening(_ connect: Endpoint, bindAddress: IPAddress?, bindPort: Int, socket: CheckSocketOptions = CheckSocketOptions(),
                        orAnswering promise: EventLoopPromise<CheckResult>) -> CheckConnection? {
        do throws(CheckFailure) {
            return try CheckConnection(connect: connect, bindAddress: bindAddress, bindPort: bindPort, socket: socket)
        } catch {
            promise.succeed(.down(error))
            return nil
        }
    }

    init(connect: Endpoint, bindAddress: IPAddress?, bindPort: Int, socket: CheckSocketOptions = CheckSocketOptions()) throws(CheckFailure) {
        remote = connect.socketAddress()
        options = try socket.resolved()
        fixedPort = bindPort != 0
        guard bindAddress != nil || fixedPort else {
            local = nil
            return
        }
        local = Endpoint(address: bindAddress ?? .zero(connect.address.family), port: UInt16(clamping: bindPort)).socketAddress()
    }

    /// The check's own deadline (`deadline` at most) judges the connect, asking the kernel first when the loop is
    /// late; NIO's connect timeout is only a backstop behind it.
    func bootstrap(on eventLoop: any EventLoop, deadline: Duration) -> ClientBootstrap {
        // NIO sets channel options before it binds and connects, as the interface must be (link-local scope).
        var bootstrap = ClientBootstrap(group: eventLoop).connectTimeout(.nanoseconds(deadline.nanoseconds) + .seconds(30))
            .applying(options)
        if let local {
            bootstrap = bootstrap.bind(to: local)
            // A fixed source port is reused every check; TIME_WAIT from the last one must not block it.
            if fixedPort { bootstrap = bootstrap.channelOption(.socketOption(.so_reuseaddr), value: 1) }
        }
        return bootstrap
    }
}

extension CheckConnection {
    /// A failed NIO connect as the check reports it.
    static func connectFailure(_ error: any Error) -> CheckFailure {
        switch error {
        case let failure as CheckFailure: return failure
        case ChannelError.connectTimeout: return .timeout(.connect)
        case let io as IOError where io.errnoCode == ECONNREFUSED: return .connectionRefused
        case let io as IOError where io.errnoCode == EADDRINUSE || io.errnoCode == EADDRNOTAVAIL:
            return .bindFailed("\(io)")
        default: return .connectFailed("\(error)")
        }
    }
}

extension EventLoop {
    /// A promise that `start` completes, started at once when already on this loop (no extra turn of the loop per
    /// check), else from the loop's queue.
    func startingOnLoop<Value: Sendable>(of: Value.Type, _ start: @escaping @Sendable (EventLoopPromise<Value>) -> Void)
        -> EventLoopFuture<Value>
    {
        let promise = makePromise(of: Value.self)
        if inEventLoop {
            start(promise)
        } else {
            execute { start(promise) }
        }
        return promise.futureResult
    }
}

