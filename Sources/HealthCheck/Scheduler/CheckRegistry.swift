// Dedup: one running check per distinct (target, definition, timing), fanned out to every virtual server that
// names it. keepalived runs a copy per virtual server (its issue #2318); 1000 reals shared by two services would
// mean 2000 checks against the same servers.

/// One distinct check. Equal specs are one check, whatever number of virtual servers use them.
///
/// A reference to one shared definition: the monitor holds every spec in several tables (who uses it, what runs,
/// each virtual server's policy, the plan it came from), and a definition inline is a few hundred bytes. At 5000
/// reals those copies were about 2 KB a real (heaptrack in the lab). The hash is computed once, so the tables'
/// lookups do not hash a whole definition each time.
public struct CheckSpec: Sendable, Hashable, CustomStringConvertible {
    final class Definition: Sendable {
        let probe: CheckProbe
        let timing: CheckTiming
        let hash: Int

        init(probe: CheckProbe, timing: CheckTiming) {
            self.probe = probe
            self.timing = timing
            var hasher = Hasher()
            hasher.combine(probe)
            hasher.combine(timing)
            hash = hasher.finalize()
        }
    }

    private let definition: Definition

    public init(probe: CheckProbe, timing: CheckTiming) {
        definition = Definition(probe: probe, timing: timing)
    }

    public var probe: CheckProbe { definition.probe }
    public var timing: CheckTiming { definition.timing }

    public static func == (a: CheckSpec, b: CheckSpec) -> Bool {
        a.definition === b.definition
            || (a.definition.hash == b.definition.hash && a.definition.probe == b.definition.probe && a.definition.timing == b.definition.timing)
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(definition.hash) }

    public var description: String { probe.description }
}

/// Pure bookkeeping of who uses which check.
///
/// Each check's users are a small array, not a set: almost every check has one or two, and a set of one costs
/// about 120 bytes where the array costs 48 (heaptrack in the lab at 5000 reals: 0.6 MB of sets).
public struct CheckRegistry<Subscriber: Hashable & Sendable>: Sendable {
    public private(set) var subscribers: [CheckSpec: [Subscriber]] = [:]

    public init() {}

    /// The registry for this set of uses: spec → who uses it.
    public init(uses: [(Subscriber, [CheckSpec])]) {
        for (subscriber, specs) in uses { add(subscriber, specs) }
    }

    public var specs: Set<CheckSpec> { Set(subscribers.keys) }

    /// Who uses `spec`, each once, in the order they were added.
    public func subscribers(of spec: CheckSpec) -> [Subscriber] { subscribers[spec] ?? [] }

    /// `subscriber` uses `specs` (a spec listed twice is one use).
    public mutating func add(_ subscriber: Subscriber, _ specs: [CheckSpec]) {
        for spec in specs {
            subscribers[spec, default: []].appendIfAbsent(subscriber)
        }
    }

    /// `subscriber` no longer uses `specs`; a spec nobody uses leaves the registry.
    public mutating func remove(_ subscriber: Subscriber, _ specs: [CheckSpec]) {
        for spec in specs {
            guard var users = subscribers[spec], let index = users.firstIndex(of: subscriber) else { continue }
            users.remove(at: index)
            subscribers[spec] = users.isEmpty ? nil : users
        }
    }

    /// What a reload changes: checks to start and to stop; the rest keep their state and timers.
    public func difference(to next: CheckRegistry) -> (start: Set<CheckSpec>, stop: Set<CheckSpec>) {
        (next.specs.subtracting(specs), specs.subtracting(next.specs))
    }
}

extension Array where Element: Equatable {
    fileprivate mutating func appendIfAbsent(_ element: Element) {
        if !contains(element) { append(element) }
    }
}
