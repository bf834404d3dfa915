// The one timer heap: the reactor's timers, the VRRP core's and the health scheduler's are all absolute deadlines in
// one of these.

/// A binary min-heap of values by absolute deadline; equal deadlines come out first-in, first-out. Nothing is removed
/// early: an owner that reschedules or cancels marks the value (a generation, an id it forgets) and skips the stale
/// entry when it comes due, so rescheduling is O(log n) and cancelling O(1).
///
/// `Key` is a `Moment` for the reactor, the health scheduler and the VRRP core: any comparable key works, but
/// `ContinuousClock.Instant` costs a call into the standard library for every comparison (see Timeline/Moment.swift).
public struct Deadlines<Key: Comparable, Value> {
    public struct Entry {
        public let deadline: Key
        public let value: Value
    }

    private struct Node {
        let deadline: Key
        /// Insertion order, which breaks ties.
        let sequence: UInt64
        let value: Value

        @inline(__always)
        func before(_ other: Node) -> Bool {
            deadline < other.deadline || (deadline == other.deadline && sequence < other.sequence)
        }
    }

    private var heap: [Node] = []
    private var sequence: UInt64 = 0

    public init() {}

    public var isEmpty: Bool { heap.isEmpty }
    public var count: Int { heap.count }
    /// The earliest deadline held (stale entries included).
    public var earliest: Key? { heap.first?.deadline }

    public mutating func insert(_ value: Value, at deadline: Key) {
        sequence &+= 1
        let node = Node(deadline: deadline, sequence: sequence, value: value)
        heap.append(node)
        heap.withUnsafeMutableBufferPointer { heap in
            var child = heap.count - 1
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
    public mutating func popDue(by now: Key) -> Entry? {
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
}
