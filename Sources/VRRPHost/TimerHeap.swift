import VRRP

/// What a timer is for.
enum TimerTarget: Hashable {
    /// A VRRP timer of one running instance (identified by its runtime id, which a reload never reuses).
    case instance(id: Int, VRRP.VRRPInstance.TimerKind)
    /// The next run of a vrrp_script (generation guards against a script replaced by a reload).
    case script(name: String, generation: Int)
    /// Read tracked interfaces' link state.
    case linkPoll
}


/// A binary min-heap of absolute deadlines. Superseded entries stay until due and are then recognised as stale by
/// the caller, which is cheaper than deleting from the middle (at most a few per instance at any time).
struct TimerHeap {
    struct Entry {
        var deadline: ContinuousClock.Instant
        /// Insertion order: equal deadlines fire first-in, first-out.
        var sequence: UInt64
        var target: TimerTarget

        func before(_ other: Entry) -> Bool {
            deadline < other.deadline || (deadline == other.deadline && sequence < other.sequence)
        }
    }

    private(set) var entries: [Entry] = []
    private var sequence: UInt64 = 0

    var count: Int { entries.count }
    var nextDeadline: ContinuousClock.Instant? { entries.first?.deadline }

    mutating func push(_ target: TimerTarget, at deadline: ContinuousClock.Instant) {
        sequence &+= 1
        entries.append(Entry(deadline: deadline, sequence: sequence, target: target))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].before(entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// The earliest entry due at `now`, removed; nil when none is due.
    mutating func popDue(_ now: ContinuousClock.Instant) -> Entry? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < entries.count && entries[left].before(entries[smallest]) { smallest = left }
                if right < entries.count && entries[right].before(entries[smallest]) { smallest = right }
                if smallest == parent { break }
                entries.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first
    }

    mutating func removeAll() { entries.removeAll() }
}
