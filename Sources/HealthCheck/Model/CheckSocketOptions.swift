// `fwmark` and `bind_if`: what every connecting checker sets on its socket before it binds and connects, in
// keepalived's order (socket_bind_connect: SO_MARK, then the device).
import Glibc

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

    // Linux's asm-generic/socket.h; SO_BINDTOIFINDEX (5.0) is SO_BINDTODEVICE by index, an integer option.
    static let soMark: CInt = 36
    static let soBindToIfindex: CInt = 62

    /// The options as (level, name, value), the interface looked up now: one that appears later is found by the
    /// next check, and a missing one fails this check (keepalived's "can't bind to device").
    func resolved() throws(CheckFailure) -> [(option: CInt, value: CInt)] {
        var options: [(option: CInt, value: CInt)] = []
        if let mark { options.append((Self.soMark, CInt(bitPattern: mark))) }
        if let interface {
            let index = if_nametoindex(interface)
            guard index != 0 else { throw .bindFailed("interface \(interface): \(String(cString: strerror(errno)))") }
            options.append((Self.soBindToIfindex, CInt(bitPattern: index)))
        }
        return options
    }

    /// Sets them on a checker's socket, before it binds and connects.
    func apply(to fd: CInt) throws(CheckFailure) {
        for (option, value) in try resolved() {
            var v = value
            guard setsockopt(fd, SOL_SOCKET, option, &v, socklen_t(MemoryLayout<CInt>.size)) == 0 else {
                throw .bindFailed("\(describe(option)): \(String(cString: strerror(errno)))")
            }
        }
    }

    func describe(_ option: CInt) -> String {
        option == Self.soMark ? "fwmark \(mark ?? 0)" : "bind_if \(interface ?? "")"
    }
}
