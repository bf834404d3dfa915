import CPlatform
import Glibc

/// SIGTERM and SIGINT, delivered to a thread of directord's own rather than through the Swift concurrency pool:
/// the stop's first, time-critical step (VRRP resigning with priority 0) starts within microseconds of the signal,
/// whatever the pool is doing.
public enum StopSignals {
    /// From now on each of `signals` runs `body(signal)` on the thread "signals", one at a time, in arrival order.
    /// Call it once, early; it replaces any handler those signals had.
    public static func handle(_ signals: [Int32] = [SIGTERM, SIGINT],
                              _ body: @escaping @Sendable (Int32) -> Void) throws(SystemError) {
        var fds: [Int32] = [-1, -1]
        guard directord_pipe_cloexec(&fds) == 0 else { throw SystemError(call: "pipe2", errno: errno) }
        let readEnd = fds[0], writeEnd = fds[1]
        // The handler must never block: a full pipe drops the byte, and a stop is already queued then.
        _ = fcntl(writeEnd, F_SETFL, fcntl(writeEnd, F_GETFL) | O_NONBLOCK)
        try OSThread.start(name: "signals", stackSize: 256 << 10) {
            var byte: UInt8 = 0
            while true {
                let count = read(readEnd, &byte, 1)
                if count == 1 {
                    body(Int32(byte))
                } else if count < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
        for signal in signals {
            guard directord_catch_stop_signal(signal, writeEnd) == 0 else {
                throw SystemError(call: "sigaction", errno: errno, detail: "signal \(signal)")
            }
        }
    }
}
