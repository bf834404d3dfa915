// The one timer heap: the reactor's timers, the VRRP core's and the health scheduler's are all absolute deadlines in
// one of these.

/// A binary min-heap of values by absolute deadline; equal deadlines come out first-in, first-out. Nothing is removed
/// early: an owner that reschedules or cancels marks the value (a generation, an id it forgets) and skips the stale
/// entry when it comes due, so rescheduling is O(log n) and cancelling O(1).
///
/// The heap is ordered by each deadline's nanoseconds from the first one inserted, an `Int64` taken once per insert:
/// comparing `ContinuousClock.Instant`s (128-bit `Duration`s, compared through a call) at every level of every sift
/// was a tenth of the health checker's user time at 1000 checks/s. Deadlines in the same nanosecond fall back to the
/// exact instants, so the order is the instants' order.
public struct Deadlines<Value> {
    public struct Entry {
        public let deadline: ContinuousClock.Instant
        public let value: Value
    }

    private struct Node {
        /// Nanoseconds from `base`, saturated: the sort key.
        let key: Int64
        /// Insertion order, which breaks ties.
        let sequence: UInt64
        let deadline: ContinuousClock.Instant
        let value: Value

        @inline(__always)
        func before(_ other: Node) -> Bool {
            if key != other.key { return key < other.key }
            if deadline != other.deadline { return deadline < other.deadline }
            return sequence < other.sequence
        }
    }

    private var heap: [Node] = []
    private var sequence: UInt64 = 0
    private var base: ContinuousClock.Instant?

    public init() {}

    public var isEmpty: Bool { heap.isEmpty }
    public var count: Int { heap.count }
    /// The earliest deadline held (stale entries included).
    public var earliest: ContinuousClock.Instant? { heap.first?.deadline }

    public mutating func insert(_ value: Value, at deadline: ContinuousClock.Instant) {
        sequence &+= 1
        let origin = base ?? deadline
        base = origin
        heap.append(Node(key: Self.nanoseconds(origin.duration(to: deadline)), sequence: sequence, deadline: deadline, value: value))
        heap.withUnsafeMutableBufferPointer { heap in
            var child = heap.count - 1
            let node = heap[child]
            while child > 0 {
                let parent = (child - 1) / 2
                guard node.before(heap[parent]) else { break }
                heap[child] = heap[parent]
                child = parent
            }
            heap[child] = node
        }
    }

    /// The earliest entry, left in place.
    public var first: Entry? { heap.first.map { Entry(deadline: $0.deadline, value: $0.value) } }

    /// Removes and returns the earliest entry if it is due by `now`.
    public mutating func popDue(by now: ContinuousClock.Instant) -> Entry? {
        guard let first = heap.first, first.deadline <= now else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap.withUnsafeMutableBufferPointer { heap in
                let count = heap.count
                var parent = 0
                while true {
                    let left = 2 * parent + 1
                    guard left < count else { break }
                    let right = left + 1
                    let child = right < count && heap[right].before(heap[left]) ? right : left
                    guard heap[child].before(last) else { break }
                    heap[parent] = heap[child]
                    parent = child
                }
                heap[parent] = last
            }
        }
        return Entry(deadline: first.deadline, value: first.value)
    }

    public mutating func removeAll() { heap.removeAll() }

    /// `duration` in whole nanoseconds, saturated at the ends of `Int64` (about 292 years either way).
    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, carry) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if carry { return seconds < 0 ? .min : .max }
        return sum
    }
}
