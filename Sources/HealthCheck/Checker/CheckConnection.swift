// The TCP connection every checker makes: to the check's address, from its source address and port when set, with
// its fwmark and interface.
import Addresses
import NIOCore
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
