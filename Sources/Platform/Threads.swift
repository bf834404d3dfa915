import CPlatform
import Glibc

public enum ThreadName {
    /// Names the calling OS thread (at most 15 bytes are kept), as top -H and /proc/PID/task/TID/comm show it.
    @discardableResult
    public static func setCurrent(_ name: String) -> Bool {
        directord_set_thread_name(name) == 0
    }
}

public enum ThreadPriority {
    /// Makes the calling thread `steps` nice values more favoured than it is (CFS gives it a larger share and lets
    /// its wake-ups preempt the others'); nil when not permitted (it needs CAP_SYS_NICE), else the new nice value.
    @discardableResult
    public static func raiseCurrent(by steps: Int32) -> Int32? {
        let current = directord_thread_nice()
        guard current != -1 || errno == 0 else { return nil }
        let wanted = max(-20, current - steps)
        return directord_set_thread_nice(wanted) == 0 ? wanted : nil
    }
}

/// A detached OS thread of directord's own (the VRRP loop, a script's waiter, a drift dump), started with pthreads
/// rather than Foundation's `Thread`: Foundation proper links ICU into the static binary (34 MB of data), and
/// FoundationEssentials has no threads.
public enum OSThread {
    /// Runs `body` on a new thread named `name` (at most 15 bytes are kept) with `stackSize` bytes of stack.
    public static func start(name: String, stackSize: Int = 1 << 20, _ body: @escaping @Sendable () -> Void) throws(SystemError) {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        // Below PTHREAD_STACK_MIN the call fails and the thread gets the default size, which is fine too.
        pthread_attr_setstacksize(&attributes, max(stackSize, Int(PTHREAD_STACK_MIN)))
        let start = Unmanaged.passRetained(Start(name: name, body: body))
        var thread = pthread_t()
        let result = pthread_create(&thread, &attributes, { context in
            guard let context else { return nil }
            let start = Unmanaged<Start>.fromOpaque(context).takeRetainedValue()
            ThreadName.setCurrent(start.name)
            start.body()
            return nil
        }, start.toOpaque())
        guard result == 0 else {
            start.release()
            throw SystemError(call: "pthread_create", errno: result, detail: name)
        }
    }

    private final class Start {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }
}
