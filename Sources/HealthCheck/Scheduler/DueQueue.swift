// When each check is due next: one min-heap of deadlines for all of them, so the event loop holds one timer (for
// the earliest) instead of one per check. Thousands of per-check NIO timers cost about 400 bytes each and made every
// timer operation of the loop work on a heap of thousands.
import NIOCore

/// Deadlines of values, earliest first. Entries are never removed early: the owner stamps each with a generation and
/// skips those a later reschedule or a stop made stale, so rescheduling is O(log n) and cancelling O(1).
struct DueQueue<Value> {
    struct Entry {
        let deadline: NIODeadline
        let generation: UInt64
        let value: Value
    }

    private var heap: [Entry] = []

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    var earliest: NIODeadline? { heap.first?.deadline }

    mutating func insert(_ value: Value, at deadline: NIODeadline, generation: UInt64) {
        heap.append(Entry(deadline: deadline, generation: generation, value: value))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest entry if it is due by `now`.
    mutating func popDue(by now: NIODeadline) -> Entry? {
        guard let first = heap.first, first.deadline <= now else { return nil }
        let last = heap.removeLast()
        guard !heap.isEmpty else { return first }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count, heap[right].deadline < heap[smallest].deadline { smallest = right }
            guard smallest != parent else { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }

    mutating func removeAll() { heap.removeAll() }
}
