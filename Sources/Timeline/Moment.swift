// Timeline: the time directord's loops and state machines run on, a point on the monotonic clock as whole nanoseconds
// in an Int64 (the reactor's timers, the health scheduler, the VRRP core).
//
// `ContinuousClock.Instant` is the standard library's, and its layout is hidden from other modules (it is not
// frozen): every copy, comparison and addition outside the standard library goes through a call and a runtime type
// lookup. Profiling `bench-checker` at 1000 checks/s put those calls, with the work around them, at about a
// quarter of the checker's user time. A Moment is a plain integer; instants are converted at the edges.
import Glibc

public struct Moment: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Nanoseconds on the clock's timeline (CLOCK_BOOTTIME for the system clock, whose epoch is the boot).
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static let zero = Moment(nanoseconds: 0)

    /// The system clock now.
    public static var now: Moment {
        var time = timespec()
        clock_gettime(CLOCK_BOOTTIME, &time)
        return Moment(nanoseconds: Int64(time.tv_sec) &* 1_000_000_000 &+ Int64(time.tv_nsec))
    }

    @inline(__always)
    public static func < (a: Moment, b: Moment) -> Bool { a.nanoseconds < b.nanoseconds }

    /// Saturates at the ends of the timeline (about 292 years from its epoch).
    public static func + (moment: Moment, duration: Duration) -> Moment {
        let (sum, overflow) = moment.nanoseconds.addingReportingOverflow(duration.wholeNanoseconds)
        return Moment(nanoseconds: overflow ? (duration < .zero ? .min : .max) : sum)
    }

    public static func - (moment: Moment, duration: Duration) -> Moment {
        moment + (.zero - duration)
    }

    public static func += (moment: inout Moment, duration: Duration) { moment = moment + duration }

    /// The time from `earlier` to `later`.
    public static func - (later: Moment, earlier: Moment) -> Duration { earlier.duration(to: later) }

    /// From `self` to `later`: negative when `later` is earlier.
    public func duration(to later: Moment) -> Duration {
        let (difference, overflow) = later.nanoseconds.subtractingReportingOverflow(nanoseconds)
        return overflow ? (later < self ? .seconds(Int64.min / 1_000_000_000) : .seconds(Int64.max / 1_000_000_000))
            : .nanoseconds(difference)
    }

    /// The first multiple of `step` at or after this moment (itself when `step` is zero or less, or at the end of
    /// the timeline).
    public func roundedUp(toMultipleOf step: Duration) -> Moment {
        let grid = step.wholeNanoseconds
        guard grid > 0 else { return self }
        let (rest, _) = nanoseconds.remainderReportingOverflow(dividingBy: grid)
        guard rest != 0 else { return self }
        let (up, overflow) = nanoseconds.addingReportingOverflow(rest > 0 ? grid - rest : -rest)
        return overflow ? self : Moment(nanoseconds: up)
    }

    public var description: String { "\(nanoseconds)ns" }
}

extension Duration {
    /// Whole nanoseconds, truncated toward zero and saturated at the ends of Int64.
    public var wholeNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, carry) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if carry { return seconds < 0 ? .min : .max }
        return sum
    }
}
