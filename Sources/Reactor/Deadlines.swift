// The one timer heap: the reactor's timers, the VRRP core's and the health scheduler's are all absolute deadlines in
// one of these.

/// A binary min-heap of values by absolute deadline; equal deadlines come out first-in, first-out. Nothing is removed
/// early: an owner that reschedules or cancels marks the value (a generation, an id it forgets) and skips the stale
/// entry when it comes due, so rescheduling is O(log n) and cancelling O(1).
public struct Deadlines<Value> {
    public struct Entry {
        public let deadline: ContinuousClock.Instant
        /// Insertion order, which breaks ties.
        let sequence: UInt64
        public let value: Value

        func before(_ other: Entry) -> Bool {
            deadline < other.deadline || (deadline == other.deadline && sequence < other.sequence)
        }
    }

    private var heap: [Entry] = []
    private var sequence: UInt64 = 0

    public init() {}

    public var isEmpty: Bool { heap.isEmpty }
    public var count: Int { heap.count }
    /// The earliest deadline held (stale entries included).
    public var earliest: ContinuousClock.Instant? { heap.first?.deadline }

    public mutating func insert(_ value: Value, at deadline: ContinuousClock.Instant) {
        sequence &+= 1
        heap.append(Entry(deadline: deadline, sequence: sequence, value: value))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].before(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// The earliest entry, left in place.
    public var first: Entry? { heap.first }

    /// Removes and returns the earliest entry if it is due by `now`.
    public mutating func popDue(by now: ContinuousClock.Instant) -> Entry? {
        guard let first = heap.first, first.deadline <= now else { return nil }
        let last = heap.removeLast()
        guard !heap.isEmpty else { return first }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].before(heap[smallest]) { smallest = left }
            if right < heap.count, heap[right].before(heap[smallest]) { smallest = right }
            guard smallest != parent else { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }

    public mutating func removeAll() { heap.removeAll() }
}
