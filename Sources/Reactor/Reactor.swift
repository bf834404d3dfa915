// Reactor: one small epoll loop, owned by one thread. Descriptors with their handlers, timers in one heap of
// absolute deadlines, and a wake-up for work handed over from other threads. The health checker and the VRRP host
// each run their own, on their own thread, so check load never delays an advert.
import CPlatform
import Glibc
import Platform
@_exported import Timeline
import Synchronization

/// What a handler asks to hear about.
public struct IOInterest: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let readable = IOInterest(rawValue: EPOLLIN.rawValue)
    public static let writable = IOInterest(rawValue: EPOLLOUT.rawValue)
}

/// What the kernel reported for a descriptor.
public struct IOReadiness: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let readable = IOReadiness(rawValue: EPOLLIN.rawValue)
    public static let writable = IOReadiness(rawValue: EPOLLOUT.rawValue)
    /// The peer closed or the socket failed (EPOLLHUP, EPOLLERR): reading or SO_ERROR says which.
    public static let hangup = IOReadiness(rawValue: EPOLLHUP.rawValue)
    public static let error = IOReadiness(rawValue: EPOLLERR.rawValue)
}

/// The time a reactor runs on: the monotonic clock in production, a manual one in tests. It is read both as the
/// standard library's instant (for callers that hold instants) and as a `Moment` (the reactor's own arithmetic);
/// the two move together.
public protocol ReactorClock: Sendable {
    var now: ContinuousClock.Instant { get }
    var moment: Moment { get }
}

public struct SystemClock: ReactorClock {
    public init() {}
    public var now: ContinuousClock.Instant { .now }
    public var moment: Moment { .now }
}

/// A clock that moves only when told to; `Reactor.turn(maxWait: .zero)` then fires what came due.
public final class ManualClock: ReactorClock {
    private let current: Mutex<(instant: ContinuousClock.Instant, moment: Moment)>

    public init(_ start: ContinuousClock.Instant = .now) { current = Mutex((start, Moment(nanoseconds: 1_000_000_000_000))) }

    public var now: ContinuousClock.Instant { current.withLock { $0.instant } }
    public var moment: Moment { current.withLock { $0.moment } }
    public func advance(by amount: Duration) {
        current.withLock {
            $0.instant += amount
            $0.moment += amount
        }
    }
}

/// A timer the reactor holds; cancel it with `Reactor.cancel`.
public struct ReactorTimer: Hashable, Sendable {
    fileprivate let id: UInt64
}

/// A descriptor's registration; the handler is called on the reactor's thread with what is ready.
public struct ReactorWatch: Hashable, Sendable {
    public let fd: Int32
    fileprivate let generation: UInt32
}

public final class Reactor: @unchecked Sendable {
    public typealias Handler = (IOReadiness) -> Void

    public let clock: any ReactorClock
    /// One reading of the clock both ways, taken at init: instants and moments convert through it.
    private let originInstant: ContinuousClock.Instant
    private let originMoment: Moment
    private let epoll: Int32
    private let wakeFD: Int32

    // Touched only on the loop's thread. Descriptors and timers live in tables indexed by the descriptor and by a
    // slot, checked by a generation: every check adds and drops one of each, and hashing them cost more than the
    // rest of the loop's bookkeeping together.
    private struct WatchSlot {
        var generation: UInt32 = 0
        var handler: Handler?
    }
    private struct TimerSlot {
        var generation: UInt32 = 0
        var body: (() -> Void)?
    }
    private var watches: [WatchSlot] = []
    private var liveWatches = 0
    private var generation: UInt32 = 0
    /// Heap values are timer ids: generation << 32 | slot.
    private var timers = Deadlines<Moment, UInt64>()
    private var timerSlots: [TimerSlot] = []
    private var freeTimerSlots: [Int] = []
    private var liveTimers = 0
    private var events: [epoll_event]
    /// One buffer for every read on the loop's thread (64 KiB). A handler reads into it and is done with what it read
    /// before it returns; nothing may hold on to it. One buffer instead of one per connection saves an allocation
    /// a check.
    public let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)

    // Shared with other threads.
    private struct Inbox {
        var work: [() -> Void] = []
        var woken = false
        /// `stop` was asked: `run` returns after its turn.
        var stopping = false
        /// `run` has returned: nothing more is accepted, so accepted work always runs on the loop's thread.
        var finished = false
    }
    private let inbox = Mutex(Inbox())

    /// - Parameter batch: events taken from the kernel per wait.
    public init(clock: any ReactorClock = SystemClock(), batch: Int = 256) throws(SystemError) {
        self.clock = clock
        originInstant = clock.now
        originMoment = clock.moment
        epoll = directord_epoll_create()
        guard epoll >= 0 else { throw SystemError(call: "epoll_create1", errno: errno) }
        wakeFD = directord_eventfd()
        guard wakeFD >= 0 else {
            let code = errno
            close(epoll)
            throw SystemError(call: "eventfd", errno: code)
        }
        events = [epoll_event](repeating: epoll_event(), count: max(1, batch))
        var event = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(u64: UInt64(UInt32(bitPattern: wakeFD))))
        guard epoll_ctl(epoll, EPOLL_CTL_ADD, wakeFD, &event) == 0 else {
            let code = errno
            close(epoll)
            close(wakeFD)
            throw SystemError(call: "epoll_ctl", errno: code, detail: "add wake-up eventfd")
        }
    }

    deinit {
        close(epoll)
        close(wakeFD)
        readBuffer.deallocate()
    }

    // MARK: Descriptors (loop thread)

    /// Starts watching `fd` (which stays the caller's to close, after `unwatch`).
    public func watch(_ fd: Int32, for interest: IOInterest, _ handler: @escaping Handler) throws(SystemError) -> ReactorWatch {
        guard fd >= 0 else { throw SystemError(call: "epoll_ctl", errno: EBADF, detail: "add fd \(fd)") }
        generation &+= 1
        if generation == 0 { generation = 1 }
        var event = epoll_event(events: interest.rawValue, data: epoll_data_t(u64: Self.key(fd, generation)))
        // EEXIST: the descriptor was watched before and never unwatched; it takes the new handler.
        guard epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) == 0
            || (errno == EEXIST && epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &event) == 0)
        else {
            throw SystemError(call: "epoll_ctl", errno: errno, detail: "add fd \(fd)")
        }
        let index = Int(fd)
        if index >= watches.count {
            watches.append(contentsOf: repeatElement(WatchSlot(), count: index - watches.count + 1))
        }
        if watches[index].handler == nil { liveWatches += 1 }
        watches[index] = WatchSlot(generation: generation, handler: handler)
        return ReactorWatch(fd: fd, generation: generation)
    }

    /// Changes what a watched descriptor is waited for.
    public func change(_ watch: ReactorWatch, to interest: IOInterest) throws(SystemError) {
        guard isCurrent(watch) else { return }
        var event = epoll_event(events: interest.rawValue, data: epoll_data_t(u64: Self.key(watch.fd, watch.generation)))
        guard epoll_ctl(epoll, EPOLL_CTL_MOD, watch.fd, &event) == 0 else {
            throw SystemError(call: "epoll_ctl", errno: errno, detail: "modify fd \(watch.fd)")
        }
    }

    /// Stops watching; call it before closing the descriptor. Events already taken for it are dropped.
    public func unwatch(_ watch: ReactorWatch) {
        guard isCurrent(watch) else { return }
        drop(watch)
        var event = epoll_event()
        _ = epoll_ctl(epoll, EPOLL_CTL_DEL, watch.fd, &event)
    }

    /// Gives a watched descriptor a new handler (no system call).
    public func rehandle(_ watch: ReactorWatch, _ handler: @escaping Handler) {
        guard isCurrent(watch) else { return }
        watches[Int(watch.fd)].handler = handler
    }

    /// Stops watching a descriptor the caller closes at once, and that no other descriptor shares (the kernel
    /// drops a closed socket from epoll by itself): one system call fewer than `unwatch` per check.
    public func forget(beforeClosing watch: ReactorWatch) {
        guard isCurrent(watch) else { return }
        drop(watch)
    }

    public var watchCount: Int { liveWatches }

    private func isCurrent(_ watch: ReactorWatch) -> Bool {
        handler(fd: watch.fd, generation: watch.generation) != nil
    }

    /// The handler of `fd` if it is still watched under `generation`.
    private func handler(fd: Int32, generation: UInt32) -> Handler? {
        let index = Int(fd)
        guard index >= 0, index < watches.count, watches[index].generation == generation else { return nil }
        return watches[index].handler
    }

    private func drop(_ watch: ReactorWatch) {
        watches[Int(watch.fd)].handler = nil
        liveWatches -= 1
    }

    private static func key(_ fd: Int32, _ generation: UInt32) -> UInt64 {
        UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd))
    }

    // MARK: Time

    /// The clock now, as a moment.
    public var now: Moment { clock.moment }

    public func moment(_ instant: ContinuousClock.Instant) -> Moment { originMoment + originInstant.duration(to: instant) }

    public func instant(_ moment: Moment) -> ContinuousClock.Instant { originInstant + originMoment.duration(to: moment) }

    // MARK: Timers (loop thread)

    @discardableResult
    public func schedule(at deadline: ContinuousClock.Instant, _ body: @escaping () -> Void) -> ReactorTimer {
        schedule(at: moment(deadline), body)
    }

    /// Runs `body` on the loop at `deadline` (at once, at the next turn, if it has passed).
    @discardableResult
    public func schedule(at deadline: Moment, _ body: @escaping () -> Void) -> ReactorTimer {
        let slot: Int
        if let free = freeTimerSlots.popLast() {
            slot = free
        } else {
            slot = timerSlots.count
            timerSlots.append(TimerSlot())
        }
        timerSlots[slot].generation &+= 1
        timerSlots[slot].body = body
        liveTimers += 1
        let id = UInt64(timerSlots[slot].generation) << 32 | UInt64(slot)
        timers.insert(id, at: deadline)
        return ReactorTimer(id: id)
    }

    @discardableResult
    public func schedule(after delay: Duration, _ body: @escaping () -> Void) -> ReactorTimer {
        schedule(at: now + delay, body)
    }

    /// A cancelled timer's entry stays in the heap until due, and is skipped then.
    public func cancel(_ timer: ReactorTimer) {
        _ = take(timer.id)
    }

    /// Timers pending (not fired, not cancelled).
    public var timerCount: Int { liveTimers }

    /// The body of a pending timer, which is no longer pending; nil for one fired or cancelled.
    private func take(_ id: UInt64) -> (() -> Void)? {
        guard let slot = pendingSlot(id), let body = timerSlots[slot].body else { return nil }
        timerSlots[slot].body = nil
        freeTimerSlots.append(slot)
        liveTimers -= 1
        return body
    }

    private func pendingSlot(_ id: UInt64) -> Int? {
        let slot = Int(truncatingIfNeeded: id & 0xFFFF_FFFF)
        guard slot < timerSlots.count, timerSlots[slot].body != nil,
              timerSlots[slot].generation == UInt32(truncatingIfNeeded: id >> 32) else { return nil }
        return slot
    }

    /// The deadline the loop will next wake for (stale entries included), for tests and for the lag probe.
    public var nextDeadline: ContinuousClock.Instant? { timers.earliest.map(instant) }

    private func fireDueTimers() {
        let now = self.now
        while let entry = timers.popDue(by: now) {
            guard let body = take(entry.value) else { continue }
            body()
        }
    }

    // MARK: Other threads

    /// Queues `work` for the loop's thread; safe from any thread. False once `run` has returned (work accepted
    /// before that, even after `stop`, still runs on the loop's thread).
    @discardableResult
    public func submit(_ work: @escaping @Sendable () -> Void) -> Bool {
        let wake = inbox.withLock { inbox -> Bool? in
            guard !inbox.finished else { return nil }
            inbox.work.append(work)
            defer { inbox.woken = true }
            return !inbox.woken
        }
        guard let wake else { return false }
        if wake { signal() }
        return true
    }

    /// Makes `run` return after its current turn and the work queued by then; safe from any thread.
    public func stop() {
        inbox.withLock { $0.stopping = true }
        signal()
    }

    private func signal() {
        var one: UInt64 = 1
        // EAGAIN: the counter is full, which already means "wake up".
        while write(wakeFD, &one, 8) == -1 && errno == EINTR {}
    }

    private func takeInbox() -> (work: [() -> Void], stopping: Bool) {
        inbox.withLock { inbox in
            let work = inbox.work
            inbox.work.removeAll()
            inbox.woken = false
            return (work, inbox.stopping)
        }
    }

    // MARK: The loop

    /// Runs turns on the calling thread until `stop`; then runs the work still queued.
    public func run() {
        while turn(maxWait: nil) {}
        let late = inbox.withLock { inbox in
            inbox.finished = true
            defer { inbox.work.removeAll() }
            return inbox.work
        }
        for item in late { item() }
    }

    /// One turn: queued work, due timers, then one wait of at most `maxWait` (nil: until the next timer or event)
    /// and the handlers of what became ready. False once stopped. Tests drive it with `.zero` on a manual clock.
    @discardableResult
    public func turn(maxWait: Duration?) -> Bool {
        let (work, stopping) = takeInbox()
        for item in work { item() }
        if stopping { return false }
        fireDueTimers()
        let ready = epoll_wait(epoll, &events, Int32(events.count), timeout(maxWait))
        if ready < 0 {
            // EINTR only: the other errors (EBADF, EFAULT, EINVAL) would mean this object is broken.
            return true
        }
        for index in 0..<Int(ready) {
            let key = events[index].data.u64
            let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: key))
            if fd == wakeFD, key >> 32 == 0 {
                var count: UInt64 = 0
                _ = read(wakeFD, &count, 8)
                continue
            }
            // A handler earlier in this batch may have dropped the descriptor, and its number may be reused since.
            guard let handler = handler(fd: fd, generation: UInt32(truncatingIfNeeded: key >> 32)) else { continue }
            handler(IOReadiness(rawValue: events[index].events))
        }
        fireDueTimers()
        return true
    }

    /// Milliseconds to wait, rounded up (waking a fraction early would only spin); -1 waits for an event.
    private func timeout(_ maxWait: Duration?) -> Int32 {
        var wait = maxWait
        // Cancelled timers at the top would wake the loop for nothing (a check's deadline, cancelled by its answer,
        // is the common case): they go now.
        while let first = timers.first, pendingSlot(first.value) == nil { _ = timers.popDue(by: first.deadline) }
        if let earliest = timers.earliest {
            let left = max(.zero, now.duration(to: earliest))
            wait = wait.map { min($0, left) } ?? left
        }
        guard let wait else { return -1 }
        let c = wait.components
        let ms = c.seconds * 1000 + (c.attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: ms)
    }
}
