import Glibc

/// SIGHUP before the daemon's reload handler exists. Its default action kills the process, and a large configuration
/// takes seconds to read and program: a `kill -HUP` (or a reload sent by a tool that does not wait for readiness)
/// would end a director in the middle of its start. From the daemon's first line the signal is caught and
/// remembered instead; once it runs, the daemon reloads if one came.
public enum EarlyHangup {
    /// Catches SIGHUP from now on, until the daemon installs its own handler.
    public static func hold() {
        earlyHangupFlag = 0
        signal(SIGHUP, earlyHangupHandler)
    }

    /// A SIGHUP came while it was held.
    public static var arrived: Bool { earlyHangupFlag != 0 }
}

nonisolated(unsafe) private var earlyHangupFlag: sig_atomic_t = 0

private func earlyHangupHandler(_: Int32) {
    earlyHangupFlag = 1
}
