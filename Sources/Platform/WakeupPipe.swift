import CPlatform
import Glibc

/// A self-pipe that wakes a poll() loop from another thread (eventfd is not reachable from Swift's Glibc module).
public final class WakeupPipe: @unchecked Sendable {
    /// Poll this for POLLIN; call `drain()` when it is readable.
    public let readFD: Int32
    let writeFD: Int32

    public init() throws(SystemError) {
        var fds: [Int32] = [-1, -1]
        guard directord_pipe_cloexec(&fds) == 0 else { throw SystemError(call: "pipe2", errno: errno, detail: "wake-up pipe") }
        // Both ends non-blocking: a full pipe already means "wake up", and draining must never block the loop.
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        readFD = fds[0]
        writeFD = fds[1]
    }

    deinit {
        close(readFD)
        close(writeFD)
    }

    /// Safe from any thread; never blocks.
    public func signal() {
        var byte: UInt8 = 1
        while write(writeFD, &byte, 1) == -1 && errno == EINTR {}
    }

    /// Empties the pipe (from the polling thread).
    public func drain() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
            if n > 0 { continue }
            if n == -1 && errno == EINTR { continue }
            return
        }
    }
}
