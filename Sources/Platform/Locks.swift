// Locks that closures and threads can share, over the standard library's Mutex: the daemon's threads (VRRP, health,
// serving, signals) hand values to each other with these, not with a library's lock types.
import Glibc
import Synchronization

/// A value behind a mutex, shared by reference.
public final class LockedValue<Value>: @unchecked Sendable {
    private let mutex: Mutex<Value>

    public init(_ value: sending Value) { mutex = Mutex(value) }

    public func withLock<T, E: Error>(_ body: (inout sending Value) throws(E) -> sending T) throws(E) -> sending T {
        try mutex.withLock(body)
    }
}

/// A one-shot hand-over: one thread fills the slot, another waits for it (a POSIX semaphore, so a wait costs nothing
/// until the value comes).
public final class HandOver<Value: Sendable>: @unchecked Sendable {
    private let value = Mutex<Value?>(nil)
    private let filled = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)

    public init() { sem_init(filled, 0, 0) }

    deinit {
        sem_destroy(filled)
        filled.deallocate()
    }

    /// The first fill is kept; later ones are ignored.
    public func fill(_ new: Value) {
        let first = value.withLock { slot -> Bool in
            guard slot == nil else { return false }
            slot = new
            return true
        }
        if first { sem_post(filled) }
    }

    /// Blocks the calling thread until `fill`.
    public func wait() -> Value {
        while true {
            while sem_wait(filled) != 0 && errno == EINTR {}
            // fill stores the value before it posts.
            if let result = value.withLock({ $0 }) {
                sem_post(filled)
                return result
            }
        }
    }
}
