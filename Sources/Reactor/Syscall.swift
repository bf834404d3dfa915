// The one choke point for the reactor's non-blocking I/O: EINTR is retried here, EAGAIN becomes "not now", and every
// other failure names its call.
import CPlatform
import Glibc
import Platform

/// What a non-blocking call did.
public enum IOProgress: Equatable, Sendable {
    /// Bytes moved; 0 from a read is the peer's end of stream.
    case done(Int)
    /// EAGAIN/EWOULDBLOCK (EINPROGRESS for connect): wait for readiness and try again.
    case wouldBlock
}

public enum Syscall {
    /// Runs `body` (a call that answers -1 and sets errno), retrying EINTR.
    @inline(__always)
    static func nonBlocking(_ call: StaticString, fd: Int32, _ body: () -> Int) throws(SystemError) -> IOProgress {
        while true {
            let result = body()
            if result >= 0 { return .done(result) }
            let code = errno
            switch code {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK, EINPROGRESS: return .wouldBlock
            default: throw SystemError(call: "\(call)", errno: code, detail: "fd \(fd)")
            }
        }
    }

    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> IOProgress {
        try nonBlocking("read", fd: fd) { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    public static func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer) throws(SystemError) -> IOProgress {
        // MSG_NOSIGNAL: a peer that reset must not kill the daemon with SIGPIPE.
        try nonBlocking("send", fd: fd) { Glibc.send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL)) }
    }

    /// A new non-blocking, close-on-exec socket.
    public static func socket(family: Int32, type: Int32, protocol: Int32 = 0) throws(SystemError) -> Int32 {
        let fd = Glibc.socket(family, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), `protocol`)
        guard fd >= 0 else { throw SystemError(call: "socket", errno: errno) }
        return fd
    }

    /// Starts a connect: `.done(0)` when it completed at once, `.wouldBlock` while in progress (wait for writable,
    /// then read `pendingError`).
    public static func connect(_ fd: Int32, to address: UnsafePointer<sockaddr>, length: socklen_t) throws(SystemError) -> IOProgress {
        // A connect interrupted by a signal goes on in the background: EINTR is "in progress", not "try again".
        let result = Glibc.connect(fd, address, length)
        if result == 0 { return .done(0) }
        let code = errno
        switch code {
        case EINPROGRESS, EINTR, EALREADY: return .wouldBlock
        default: throw SystemError(call: "connect", errno: code, detail: "fd \(fd)")
        }
    }

    /// Takes the next connection from a listening socket, non-blocking and close-on-exec: nil when none is waiting.
    /// A connection the peer aborted before it was taken (ECONNABORTED, EPROTO) is skipped. Other errors (EMFILE,
    /// ENFILE, ENOBUFS) leave the connection in the backlog and are thrown.
    public static func accept(_ fd: Int32) throws(SystemError) -> Int32? {
        while true {
            let client = directord_accept4(fd, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
            if client >= 0 { return client }
            let code = errno
            switch code {
            case EINTR, ECONNABORTED, EPROTO: continue
            case EAGAIN, EWOULDBLOCK: return nil
            default: throw SystemError(call: "accept4", errno: code, detail: "fd \(fd)")
            }
        }
    }

    public static func bind(_ fd: Int32, to address: UnsafePointer<sockaddr>, length: socklen_t) throws(SystemError) {
        guard Glibc.bind(fd, address, length) == 0 else { throw SystemError(call: "bind", errno: errno, detail: "fd \(fd)") }
    }

    public static func setOption(_ fd: Int32, level: Int32, name: Int32, value: Int32, what: String) throws(SystemError) {
        var value = value
        guard setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw SystemError(call: "setsockopt", errno: errno, detail: what)
        }
    }

    /// SO_ERROR: the outcome of a non-blocking connect once the socket is writable (0: connected).
    public static func pendingError(_ fd: Int32) -> Int32 {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else { return errno }
        return error
    }
}
