import CPlatform
import Glibc

/// One received VRRP packet with what the IP layer said about it (RFC 5798 §7.1 checks need TTL/hop limit and
/// the addresses).
public struct ReceivedPacket: Sendable {
    /// IPv4: the whole packet, IP header included (raw IPv4 sockets deliver it). IPv6: the VRRP payload only.
    public var bytes: [UInt8]
    public var source: [UInt8]
    /// IPv6 only (from IPV6_PKTINFO); IPv4 carries it in the header.
    public var destination: [UInt8]?
    /// IPv6 only (from IPV6_HOPLIMIT); IPv4 carries the TTL in the header.
    public var hopLimit: Int?
    public var interfaceIndex: Int32
}

/// A raw IPPROTO_VRRP (112) socket pair for one interface: one bound to our source address for sending, one joined
/// to the VRRP group for receiving (a raw socket bound to a unicast address would not see the multicast group).
public final class VRRPSocket: @unchecked Sendable {
    public static let protocolNumber: Int32 = 112
    /// 112, or 51 (IPsec AH) for keepalived's auth_type AH, whose packets are built whole (IP_HDRINCL).
    public let ipProtocol: Int32
    public let family: Int32
    public let interface: String
    public let interfaceIndex: Int32
    /// Poll this for incoming adverts.
    public let receiveFD: Int32
    let sendFD: Int32

    /// - Parameters:
    ///   - source: our primary address on the interface (network order); adverts go out from it.
    ///   - multicastGroup: the group to join (224.0.0.18 / ff02::12), or nil for unicast peers only.
    ///   - unicastHopLimit: TTL / hop limit of unicast sends (keepalived's unicast_ttl); IPv4 cannot send 0.
    ///   - ipProtocol: 112, or 51 for auth_type AH (the caller then builds whole packets, IP header included).
    public init(
        family: Int32, interface: String, source: [UInt8], multicastGroup: [UInt8]?, unicastHopLimit: UInt8 = 255,
        ipProtocol: Int32 = VRRPSocket.protocolNumber
    ) throws(SystemError) {
        self.family = family
        self.ipProtocol = ipProtocol
        self.interface = interface
        let index = if_nametoindex(interface)
        guard index != 0 else { throw SystemError(call: "if_nametoindex", errno: ENODEV, detail: interface) }
        interfaceIndex = Int32(index)
        let send = try retryingEINTR("socket", detail: "raw VRRP send on \(interface)") {
            socket(family, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), ipProtocol)
        }
        let receive: Int32
        do {
            receive = try retryingEINTR("socket", detail: "raw VRRP receive on \(interface)") {
                socket(family, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
                       ipProtocol)
            }
        } catch {
            close(send)
            throw error
        }
        sendFD = send
        receiveFD = receive
        try configure(source: source, multicastGroup: multicastGroup, unicastHopLimit: unicastHopLimit)
    }

    deinit {
        close(sendFD)
        close(receiveFD)
    }

    private func configure(source: [UInt8], multicastGroup: [UInt8]?, unicastHopLimit: UInt8) throws(SystemError) {
        for fd in [sendFD, receiveFD] {
            try setOption(fd, SOL_SOCKET, SO_BINDTODEVICE, bytes: Array(interface.utf8) + [0], "SO_BINDTODEVICE")
        }
        // The send socket is never read: a filter that accepts nothing keeps the kernel from queueing a copy of
        // every advert on it.
        var dropAll = sock_filter(code: 0x06 /* BPF_RET|BPF_K */, jt: 0, jf: 0, k: 0)
        try withUnsafeMutablePointer(to: &dropAll) { (filter) throws(SystemError) in
            var program = sock_fprog(len: 1, filter: filter)
            try setOption(sendFD, SOL_SOCKET, SO_ATTACH_FILTER, program, "SO_ATTACH_FILTER")
            _ = program
        }
        if family == AF_INET && ipProtocol != Self.protocolNumber {
            // The caller builds the IP header (the AH ICV covers its id, which the kernel would otherwise choose).
            try setOption(sendFD, Int32(IPPROTO_IP), IP_HDRINCL, Int32(1), "IP_HDRINCL")
        }
        if family == AF_INET {
            // RFC 5798 §5.1.1.3: TTL 255, so a receiver can tell the advert was not routed; unicast_ttl may lower
            // it for unicast peers (IP_TTL takes 1...255).
            try setOption(sendFD, Int32(IPPROTO_IP), IP_TTL, Int32(max(1, unicastHopLimit)), "IP_TTL")
            try setOption(sendFD, Int32(IPPROTO_IP), IP_MULTICAST_TTL, Int32(255), "IP_MULTICAST_TTL")
            try setOption(sendFD, Int32(IPPROTO_IP), IP_MULTICAST_LOOP, Int32(0), "IP_MULTICAST_LOOP")
            var mreqn = ip_mreqn()
            mreqn.imr_ifindex = interfaceIndex
            withUnsafeMutableBytes(of: &mreqn.imr_address) { $0.copyBytes(from: source.prefix(4)) }
            try setOption(sendFD, Int32(IPPROTO_IP), IP_MULTICAST_IF, mreqn, "IP_MULTICAST_IF")
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            withUnsafeMutableBytes(of: &sin.sin_addr) { $0.copyBytes(from: source.prefix(4)) }
            try bindSocket(sendFD, &sin)
            if let group = multicastGroup {
                var join = ip_mreqn()
                join.imr_ifindex = interfaceIndex
                withUnsafeMutableBytes(of: &join.imr_multiaddr) { $0.copyBytes(from: group.prefix(4)) }
                try setOption(receiveFD, Int32(IPPROTO_IP), IP_ADD_MEMBERSHIP, join, "IP_ADD_MEMBERSHIP")
            }
        } else {
            try setOption(sendFD, Int32(IPPROTO_IPV6), IPV6_MULTICAST_HOPS, Int32(255), "IPV6_MULTICAST_HOPS")
            try setOption(sendFD, Int32(IPPROTO_IPV6), IPV6_UNICAST_HOPS, Int32(unicastHopLimit), "IPV6_UNICAST_HOPS")
            try setOption(sendFD, Int32(IPPROTO_IPV6), IPV6_MULTICAST_LOOP, Int32(0), "IPV6_MULTICAST_LOOP")
            try setOption(sendFD, Int32(IPPROTO_IPV6), IPV6_MULTICAST_IF, interfaceIndex, "IPV6_MULTICAST_IF")
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_scope_id = UInt32(interfaceIndex)
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: source.prefix(16)) }
            try bindSocket(sendFD, &sin6)
            try setOption(receiveFD, Int32(IPPROTO_IPV6), IPV6_RECVHOPLIMIT, Int32(1), "IPV6_RECVHOPLIMIT")
            try setOption(receiveFD, Int32(IPPROTO_IPV6), IPV6_RECVPKTINFO, Int32(1), "IPV6_RECVPKTINFO")
            if let group = multicastGroup {
                var join = ipv6_mreq()
                join.ipv6mr_interface = UInt32(interfaceIndex)
                withUnsafeMutableBytes(of: &join.ipv6mr_multiaddr) { $0.copyBytes(from: group.prefix(16)) }
                try setOption(receiveFD, Int32(IPPROTO_IPV6), IPV6_ADD_MEMBERSHIP, join, "IPV6_ADD_MEMBERSHIP")
            }
        }
    }

    /// Sends one advert (the VRRP message; the kernel adds the IP header) to a group or a unicast peer.
    public func send(_ payload: [UInt8], to destination: [UInt8]) throws(SystemError) {
        let sent: Int
        if family == AF_INET {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            withUnsafeMutableBytes(of: &sin.sin_addr) { $0.copyBytes(from: destination.prefix(4)) }
            sent = try sendTo(payload, &sin)
        } else {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_scope_id = UInt32(interfaceIndex)
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: destination.prefix(16)) }
            sent = try sendTo(payload, &sin6)
        }
        guard sent == payload.count else {
            throw SystemError(call: "sendto", errno: EMSGSIZE, detail: "short send on \(interface)")
        }
    }

    private func sendTo<A>(_ payload: [UInt8], _ address: inout A) throws(SystemError) -> Int {
        let fd = sendFD
        let name = interface
        return try withUnsafePointer(to: &address) { (p) throws(SystemError) -> Int in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sa) throws(SystemError) -> Int in
                try retryingEINTR("sendto", detail: "VRRP on \(name)") {
                    payload.withUnsafeBytes { Glibc.sendto(fd, $0.baseAddress, $0.count, 0, sa, socklen_t(MemoryLayout<A>.size)) }
                }
            }
        }
    }

    /// The next queued packet, or nil when none is waiting (the socket is non-blocking).
    public func receive() throws(SystemError) -> ReceivedPacket? {
        var buffer = [UInt8](repeating: 0, count: 2048)
        var control = [UInt8](repeating: 0, count: 256)
        var from = sockaddr_storage()
        var n = 0
        var controlLength = 0
        let fd = receiveFD
        while true {
            n = buffer.withUnsafeMutableBytes { data in
                control.withUnsafeMutableBytes { cmsg in
                    withUnsafeMutablePointer(to: &from) { fromPointer in
                        var iov = iovec(iov_base: data.baseAddress, iov_len: data.count)
                        return withUnsafeMutablePointer(to: &iov) { iovPointer in
                            var header = msghdr(
                                msg_name: UnsafeMutableRawPointer(fromPointer),
                                msg_namelen: socklen_t(MemoryLayout<sockaddr_storage>.size),
                                msg_iov: iovPointer, msg_iovlen: 1,
                                msg_control: cmsg.baseAddress, msg_controllen: cmsg.count, msg_flags: 0)
                            let r = recvmsg(fd, &header, 0)
                            controlLength = header.msg_controllen
                            return r
                        }
                    }
                }
            }
            if n >= 0 { break }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
            throw SystemError(call: "recvmsg", errno: errno, detail: "VRRP on \(interface)")
        }
        var packet = ReceivedPacket(bytes: Array(buffer[0..<n]), source: [], destination: nil, hopLimit: nil,
                                    interfaceIndex: interfaceIndex)
        if family == AF_INET {
            packet.source = withUnsafeBytes(of: &from) { raw in
                raw.load(as: sockaddr_in.self).sin_addr.s_addr
            }.bigEndianBytes
        } else {
            packet.source = withUnsafeBytes(of: &from) { raw in
                withUnsafeBytes(of: raw.load(as: sockaddr_in6.self).sin6_addr) { Array($0) }
            }
            parseControl(Array(control[0..<controlLength]), into: &packet)
        }
        return packet
    }

    /// IPV6_HOPLIMIT and IPV6_PKTINFO from the ancillary data (cmsghdr: len u64, level i32, type i32, data).
    func parseControl(_ control: [UInt8], into packet: inout ReceivedPacket) {
        var offset = 0
        let headerSize = MemoryLayout<cmsghdr>.size
        while offset + headerSize <= control.count {
            let header = control.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: cmsghdr.self) }
            let length = Int(header.cmsg_len)
            guard length >= headerSize, offset + length <= control.count else { return }
            let data = Array(control[(offset + headerSize)..<(offset + length)])
            if header.cmsg_level == Int32(IPPROTO_IPV6) {
                if header.cmsg_type == IPV6_HOPLIMIT, data.count >= 4 {
                    packet.hopLimit = Int(data.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) })
                } else if header.cmsg_type == IPV6_PKTINFO, data.count >= 16 {
                    packet.destination = Array(data[0..<16])
                }
            }
            offset += (length + 7) & ~7
        }
    }
}

extension UInt32 {
    /// s_addr is already network order in memory: its bytes as they lie.
    var bigEndianBytes: [UInt8] { withUnsafeBytes(of: self) { Array($0) } }
}

func setOption<T>(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: T, _ label: String) throws(SystemError) {
    try setOption(fd, level, name, bytes: withUnsafeBytes(of: value) { Array($0) }, label)
}

func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, bytes: [UInt8], _ label: String) throws(SystemError) {
    try retryingEINTR("setsockopt", detail: label) {
        bytes.withUnsafeBytes { setsockopt(fd, level, name, $0.baseAddress, socklen_t($0.count)) }
    }
}

func bindSocket<A>(_ fd: Int32, _ address: inout A) throws(SystemError) {
    _ = try withUnsafePointer(to: &address) { (p) throws(SystemError) in
        try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sa) throws(SystemError) in
            try retryingEINTR("bind", detail: "VRRP source address") { bind(fd, sa, socklen_t(MemoryLayout<A>.size)) }
        }
    }
}
