// How many checks may run at once, adapted to how late the event loop runs. A director whose CPU is saturated
// handles every connection late; with hundreds of checks in flight each one outlives its timeouts waiting for the
// loop, and live real servers are declared down (the reals in the lab, which share the CPU, answer late too). Fewer
// checks at once finish in time and the rest wait their turn: the director checks more slowly instead of flapping.

/// The in-flight limit: halved when the loop runs late, grown while it is punctual and checks are waiting.
public struct ConcurrencyWindow: Sendable, Equatable {
    /// The most ever allowed (the open-file budget).
    public let ceiling: Int
    /// The fewest the limit shrinks to.
    public let floor: Int
    public private(set) var limit: Int

    /// A loop this late is saturated.
    public static let late = Duration.milliseconds(100)
    /// A loop at most this late has room for more.
    public static let punctual = Duration.milliseconds(20)

    /// Starts at `initial` (not at the ceiling) and grows from there while the loop keeps up: at start every check
    /// is due within its warmup, and a weak machine that began with the ceiling in flight fell behind at once and kept
    /// the memory of that burst (about 5 KB per check in flight: 5 MB of the RSS at 5000 reals in the lab).
    public init(ceiling: Int, floor: Int = 16, initial: Int = 64) {
        self.ceiling = max(1, ceiling)
        self.floor = min(max(1, floor), self.ceiling)
        limit = min(max(self.floor, initial), self.ceiling)
    }

    /// One reading of the loop's lateness, taken while `inFlight` checks ran and `waiting` more were due.
    /// Returns whether the limit grew (so waiting checks can start).
    @discardableResult
    public mutating func observe(lateness: Duration, inFlight: Int, waiting: Int) -> Bool {
        if lateness >= Self.late {
            limit = max(floor, min(limit, inFlight) / 2)
        } else if lateness <= Self.punctual, waiting > 0, limit < ceiling {
            limit = min(ceiling, limit + max(1, limit / 8))
            return true
        }
        return false
    }
}
