import CPlatform

public enum ThreadName {
    /// Names the calling OS thread (at most 15 bytes are kept), as top -H and /proc/PID/task/TID/comm show it.
    @discardableResult
    public static func setCurrent(_ name: String) -> Bool {
        directord_set_thread_name(name) == 0
    }
}
