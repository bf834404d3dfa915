// `fwmark` and `bind_if`: what every connecting checker sets on its socket before it binds and connects, in
// keepalived's order (socket_bind_connect: SO_MARK, then the device).
import Glibc
import NIOCore
import NIOPosix

public struct CheckSocketOptions: Sendable, Hashable {
    /// SO_MARK (needs CAP_NET_ADMIN): policy routing and firewalls can tell check traffic apart. nil: no mark.
    public var mark: UInt32?
    /// The interface the socket is bound to: traffic leaves through it, and an IPv6 link-local address (connect or
    /// bind) is scoped to it. nil: the routing table decides.
    public var interface: String?

    public init(mark: UInt32? = nil, interface: String? = nil) {
        self.mark = mark
        self.interface = interface
    }

    public var isEmpty: Bool { mark == nil && interface == nil }

    // Linux's asm-generic/socket.h; SO_BINDTOIFINDEX (5.0) is SO_BINDTODEVICE by index, which fits NIO's integer
    // socket options.
    static let soMark = NIOBSDSocket.Option(rawValue: 36)
    static let soBindToIfindex = NIOBSDSocket.Option(rawValue: 62)

    /// The options as (level, name, value), the interface looked up now: one that appears later is found by the
    /// next check, and a missing one fails this check (keepalived's "can't bind to device").
    func resolved() throws(CheckFailure) -> [(option: NIOBSDSocket.Option, value: CInt)] {
        var options: [(option: NIOBSDSocket.Option, value: CInt)] = []
        if let mark { options.append((Self.soMark, CInt(bitPattern: mark))) }
        if let interface {
            let index = if_nametoindex(interface)
            guard index != 0 else { throw .bindFailed("interface \(interface): \(String(cString: strerror(errno)))") }
            options.append((Self.soBindToIfindex, CInt(bitPattern: index)))
        }
        return options
    }

    /// Sets them on a descriptor directly (PING_CHECK's socket, made before NIO owns it).
    func apply(to fd: CInt) throws(CheckFailure) {
        for (option, value) in try resolved() {
            var v = value
            guard setsockopt(fd, SOL_SOCKET, option.rawValue, &v, socklen_t(MemoryLayout<CInt>.size)) == 0 else {
                throw .bindFailed("\(describe(option)): \(String(cString: strerror(errno)))")
            }
        }
    }

    func describe(_ option: NIOBSDSocket.Option) -> String {
        option == Self.soMark ? "fwmark \(mark ?? 0)" : "bind_if \(interface ?? "")"
    }
}

extension ClientBootstrap {
    func applying(_ options: [(option: NIOBSDSocket.Option, value: CInt)]) -> ClientBootstrap {
        options.reduce(self) { $0.channelOption(ChannelOptions.Types.SocketOption(level: .socket, name: $1.option), value: Int($1.value)) }
    }
}

extension DatagramBootstrap {
    func applying(_ options: [(option: NIOBSDSocket.Option, value: CInt)]) -> DatagramBootstrap {
        options.reduce(self) { $0.channelOption(ChannelOptions.Types.SocketOption(level: .socket, name: $1.option), value: Int($1.value)) }
    }
}
