import CNetlink
import Glibc

/// A generic netlink socket owned through libnl (connect, family resolution, buffer sizes); requests are
/// bytes built by the codec and sent and received as they are.
final class NetlinkSocket {
    private let handle: OpaquePointer
    let fd: Int32
    private var receiveBuffer: [UInt8]

    init() throws {
        guard let sock = nl_socket_alloc() else { throw IPVSError.system(call: "nl_socket_alloc", errno: ENOMEM) }
        handle = sock
        do {
            try libnlCall("genl_connect") { genl_connect(sock) }
        } catch {
            nl_socket_free(sock)
            throw error
        }
        fd = nl_socket_get_fd(sock)
        receiveBuffer = [UInt8](repeating: 0, count: 1 << 18)
        // Ask for short error acks (only the failed request's header echoed) and the kernel's reason text.
        setOption(level: 270 /* SOL_NETLINK */, name: 10 /* NETLINK_CAP_ACK */, value: 1)
        setOption(level: 270, name: 11 /* NETLINK_EXT_ACK */, value: 1)
    }

    deinit { nl_socket_free(handle) }

    /// The family id, or nil when the kernel does not know the family (module not loaded or not built).
    func resolveFamily(_ name: String) throws -> UInt16? {
        let id = genl_ctrl_resolve(handle, name)
        if id == -NLE_OBJ_NOTFOUND { return nil }
        try libnlCall("genl_ctrl_resolve(\(name))") { id }
        return UInt16(truncatingIfNeeded: id)
    }

    /// Large buffers let a whole window of requests go in one sendmsg and its acks queue up meanwhile.
    /// The *FORCE options pass rmem_max/wmem_max for root; otherwise we settle for what SO_RCVBUF grants.
    func growBuffers(to bytes: Int32) {
        if !setOption(level: SOL_SOCKET, name: SO_SNDBUFFORCE, value: bytes) {
            setOption(level: SOL_SOCKET, name: SO_SNDBUF, value: bytes)
        }
        if !setOption(level: SOL_SOCKET, name: SO_RCVBUFFORCE, value: bytes) {
            setOption(level: SOL_SOCKET, name: SO_RCVBUF, value: bytes)
        }
    }

    /// The effective buffer sizes (the kernel reports them doubled for its bookkeeping overhead).
    var sendBufferSize: Int { Int(getOption(SO_SNDBUF)) }
    var receiveBufferSize: Int { Int(getOption(SO_RCVBUF)) }

    func send(_ bytes: [UInt8]) throws {
        let sent = try bytes.withUnsafeBytes { raw in
            try systemCall("send(netlink)") { Glibc.send(fd, raw.baseAddress, raw.count, 0) }
        }
        guard sent == bytes.count else { throw IPVSError.malformed("short netlink send: \(sent) of \(bytes.count) bytes") }
    }

    /// One datagram; a datagram larger than the buffer is an error rather than a silent truncation.
    func receive() throws -> ArraySlice<UInt8> {
        let count = receiveBuffer.count
        let n = try receiveBuffer.withUnsafeMutableBytes { raw in
            try systemCall("recv(netlink)") { Glibc.recv(fd, raw.baseAddress, count, Int32(MSG_TRUNC)) }
        }
        guard n <= count else { throw IPVSError.malformed("netlink datagram of \(n) bytes exceeds the \(count)-byte buffer") }
        return receiveBuffer[0..<n]
    }

    @discardableResult
    private func setOption(level: Int32, name: Int32, value: Int32) -> Bool {
        var v = value
        return setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) == 0
    }

    private func getOption(_ name: Int32) -> Int32 {
        var v: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, name, &v, &len) == 0 ? v : 0
    }
}
