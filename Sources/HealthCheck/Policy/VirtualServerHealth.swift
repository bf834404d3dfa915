// One virtual server's health policy, pure: which reals are live, quorum with hysteresis, and the sorry server.
// Every change answers the whole desired member list at once, so the reconciler swaps reals and the sorry server in
// one pass and a service with a sorry server is never empty.

public struct RealServerPolicy<CheckKey: Hashable & Sendable>: Sendable, Hashable {
    public var weight: Int
    /// `inhibit_on_failure`: a dead real stays in the table at weight 0 instead of being removed.
    public var inhibitOnFailure: Bool
    /// The checks that must all be up for the real to be live; none means always live (keepalived without checkers).
    public var checks: [CheckKey]
    /// The operator's runtime drain or weight, which health still overrules.
    public var override: RealOverride

    public init(weight: Int = 1, inhibitOnFailure: Bool = false, checks: [CheckKey], override: RealOverride = RealOverride()) {
        self.weight = weight
        self.inhibitOnFailure = inhibitOnFailure
        self.checks = checks
        self.override = override
    }

    /// The weight a live real has in the kernel: 0 while drained, else the override, else the configured weight.
    public var liveWeight: Int { liveWeight(dynamic: []) }

    /// With the weights its checks ask for (misc_dynamic, FILE_CHECK): 0 while drained; else the operator's
    /// weight, which wins over the checks' (the operator decided last, and `directorctl weight --reset` hands the
    /// real back to them); else the configured weight changed as keepalived does: each `.set(n)` moves it by
    /// n - configured, each `.offset(k)` by k, and the sum is kept to the kernel's 0...65535.
    public func liveWeight(dynamic: [DynamicWeight]) -> Int {
        if override.drained { return 0 }
        if let operatorWeight = override.weight { return operatorWeight }
        var total = weight
        for asked in dynamic {
            switch asked {
            case .set(let n): total = total.addingClamped(n - weight)
            case .offset(let k): total = total.addingClamped(k)
            }
        }
        return min(max(total, 0), 65535)
    }
}

/// What an operator set on a real at runtime (`directorctl drain`, `directorctl weight`), apart from health: a
/// drained real stays in the table at weight 0, so it takes no new connection while its established ones go on.
public struct RealOverride: Sendable, Hashable, Codable {
    public var drained: Bool
    /// A weight that replaces the configured one while the real is live; nil: the configured weight.
    public var weight: Int?

    public init(drained: Bool = false, weight: Int? = nil) {
        self.drained = drained
        self.weight = weight
    }

    public var isEmpty: Bool { !drained && weight == nil }
}

public struct SorryServerPolicy: Sendable, Hashable {
    /// `sorry_server_inhibit`: the sorry server stays in the table at weight 0 while quorum holds, rather than
    /// being removed (keepalived's "Enabling"/"Disabling" instead of "Adding"/"Removing").
    public var inhibit: Bool

    public init(inhibit: Bool = false) { self.inhibit = inhibit }
}

public struct QuorumPolicy: Sendable, Hashable {
    /// `quorum`: minimum sum of live weights (default 1: some real is live).
    public var quorum: Int
    /// `hysteresis`: gain at quorum + hysteresis, lose below quorum - hysteresis.
    public var hysteresis: Int
    /// `omega`: on shutdown, report reals and quorum as going down so notify_down/quorum_down scripts run.
    public var omega: Bool

    public init(quorum: Int = 1, hysteresis: Int = 0, omega: Bool = false) {
        self.quorum = quorum
        self.hysteresis = hysteresis
        self.omega = omega
    }
}

/// Why a real or the quorum changed.
public enum HealthCause: Sendable, Hashable, CustomStringConvertible {
    case check(CheckResult)
    case shutdown

    public var description: String {
        switch self {
        case .check(let result): "\(result)"
        case .shutdown: "shutdown"
        }
    }
}

/// Returned for logging once and for notify/quorum scripts; the policy runs nothing.
public enum HealthEvent<RealID: Hashable & Sendable>: Sendable, Hashable {
    case realUp(RealID, cause: HealthCause)
    case realDown(RealID, cause: HealthCause)
    case quorumUp(liveWeight: Int, threshold: Int)
    case quorumDown(liveWeight: Int, threshold: Int)
    case sorryServerActive
    case sorryServerInactive
}

public enum DesiredMember<RealID: Hashable & Sendable>: Sendable, Hashable {
    case real(RealID, weight: Int)
    case sorryServer(weight: Int)
}

public struct VirtualServerStep<RealID: Hashable & Sendable>: Sendable, Hashable {
    public let events: [HealthEvent<RealID>]
    /// The whole desired member list, in configuration order, sorry server last.
    public let desired: [DesiredMember<RealID>]
    public let desiredChanged: Bool
    /// The reals whose checks pass (drained or not): what status calls up.
    public let live: Set<RealID>
    /// Quorum, with hysteresis, as the policy holds it after this step.
    public let quorumUp: Bool
    /// The sum of the live reals' weights (drained ones count 0) after this step.
    public let liveWeight: Int
}

public struct VirtualServerHealth<RealID: Hashable & Sendable, CheckKey: Hashable & Sendable>: Sendable {
    /// One real: its policy and whether its checks all pass.
    struct Entry: Sendable {
        let id: RealID
        let policy: RealServerPolicy<CheckKey>
        var live: Bool
    }

    /// The reals in configuration order (one listed twice counts once, with its first policy). An array with an
    /// index beside it, not dictionaries of policies and verdicts: at 100 reals a server, each dictionary held its
    /// entries in 256 buckets (heaptrack in the lab at 5000 reals: 300 bytes a real, now about 150).
    private var entries: [Entry]
    private let positions: [RealID: Int]
    public let quorumPolicy: QuorumPolicy
    public let sorryServer: SorryServerPolicy?
    private var checkUp: [CheckKey: Bool]
    /// What each check's last success asked of the weight (absent: the configured weight).
    private var checkWeight: [CheckKey: DynamicWeight] = [:]
    public private(set) var quorumUp: Bool
    public private(set) var desired: [DesiredMember<RealID>] = []

    /// `initiallyUp` gives each check's starting verdict (up unless alpha).
    public init(reals: [(RealID, RealServerPolicy<CheckKey>)], quorum: QuorumPolicy = QuorumPolicy(),
                sorryServer: SorryServerPolicy? = nil, initiallyUp: (CheckKey) -> Bool,
                initialWeight: (CheckKey) -> DynamicWeight? = { _ in nil }) {
        var entries: [Entry] = []
        var positions: [RealID: Int] = [:]
        entries.reserveCapacity(reals.count)
        positions.reserveCapacity(reals.count)
        for (id, policy) in reals where positions[id] == nil {
            positions[id] = entries.count
            entries.append(Entry(id: id, policy: policy, live: false))
        }
        quorumPolicy = quorum
        self.sorryServer = sorryServer
        var checkUp: [CheckKey: Bool] = [:]
        var checkWeight: [CheckKey: DynamicWeight] = [:]
        for entry in entries {
            for key in entry.policy.checks {
                checkUp[key] = initiallyUp(key)
                checkWeight[key] = initialWeight(key)
            }
        }
        for index in entries.indices {
            entries[index].live = entries[index].policy.checks.allSatisfy { checkUp[$0] ?? true }
        }
        self.entries = entries
        self.positions = positions
        self.checkUp = checkUp
        self.checkWeight = checkWeight
        quorumUp = true
        quorumUp = liveWeight >= quorum.quorum
    }

    /// Drained reals count as not live: quorum and the sorry server see only what takes new connections.
    public var liveWeight: Int { entries.reduce(0) { $0 + ($1.live ? max(0, weight(of: $1.policy)) : 0) } }

    /// A live real's weight in the kernel: its policy's, with what its checks ask for.
    public func weight(of id: RealID) -> Int {
        guard let position = positions[id] else { return 0 }
        return weight(of: entries[position].policy)
    }

    private func weight(of policy: RealServerPolicy<CheckKey>) -> Int {
        policy.liveWeight(dynamic: policy.checks.compactMap { checkWeight[$0] })
    }

    public func isLive(_ id: RealID) -> Bool { positions[id].map { entries[$0].live } ?? false }

    public var liveReals: Set<RealID> { Set(entries.lazy.filter(\.live).map(\.id)) }

    public var sorryServerActive: Bool { sorryServer != nil && !quorumUp }

    /// The starting table; reports quorum down (and the sorry server) when it does not hold at start, as with alpha.
    /// On a reload, pass the policy being replaced: only a changed quorum state is reported, so quorum scripts do
    /// not run again for a state they already announced.
    public mutating func start(replacing previous: VirtualServerHealth? = nil) -> VirtualServerStep<RealID> {
        var events: [HealthEvent<RealID>] = []
        if let previous {
            desired = previous.desired
            // The quorum state carries over and moves only as hysteresis lets it (a drain or a reload that takes a
            // little weight away inside the band changes nothing, as a check verdict would not).
            quorumUp = previous.quorumUp
            events = updateQuorum().filter { event in
                switch event {
                case .sorryServerActive, .sorryServerInactive: false
                default: true
                }
            }
            if previous.sorryServerActive != sorryServerActive {
                events.append(sorryServerActive ? .sorryServerActive : .sorryServerInactive)
            }
        } else if !quorumUp {
            events.append(.quorumDown(liveWeight: liveWeight, threshold: quorumPolicy.quorum))
            if sorryServer != nil { events.append(.sorryServerActive) }
        }
        return finish(events)
    }

    /// A check's verdict changed; every real using it is re-evaluated.
    public mutating func apply(check key: CheckKey, transition: CheckTransition) -> VirtualServerStep<RealID> {
        guard checkUp[key] != nil else { return finish([]) }
        checkUp[key] = transition.isUp
        // keepalived forgets a check's weight when it fails; the next success brings its own.
        checkWeight[key] = transition.isUp ? transition.result.weight : nil
        var events: [HealthEvent<RealID>] = []
        for index in entries.indices {
            let policy = entries[index].policy
            guard policy.checks.contains(key) else { continue }
            let nowLive = policy.checks.allSatisfy { checkUp[$0] ?? true }
            guard nowLive != entries[index].live else { continue }
            entries[index].live = nowLive
            let id = entries[index].id
            events.append(nowLive ? .realUp(id, cause: .check(transition.result)) : .realDown(id, cause: .check(transition.result)))
        }
        events += updateQuorum()
        return finish(events)
    }

    /// omega: what the scripts should hear at shutdown. Without omega, nothing.
    public func shutdownEvents() -> [HealthEvent<RealID>] {
        guard quorumPolicy.omega else { return [] }
        var events: [HealthEvent<RealID>] = entries.filter(\.live).map { .realDown($0.id, cause: .shutdown) }
        if quorumUp { events.append(.quorumDown(liveWeight: 0, threshold: quorumPolicy.quorum)) }
        return events
    }

    private mutating func updateQuorum() -> [HealthEvent<RealID>] {
        let weight = liveWeight
        let q = quorumPolicy
        if !quorumUp, weight >= q.quorum + q.hysteresis {
            quorumUp = true
            var events: [HealthEvent<RealID>] = [.quorumUp(liveWeight: weight, threshold: q.quorum + q.hysteresis)]
            if sorryServer != nil { events.append(.sorryServerInactive) }
            return events
        }
        if quorumUp, weight == 0 || weight < q.quorum - q.hysteresis {
            quorumUp = false
            var events: [HealthEvent<RealID>] = [.quorumDown(liveWeight: weight, threshold: q.quorum - q.hysteresis)]
            if sorryServer != nil { events.append(.sorryServerActive) }
            return events
        }
        return []
    }

    private mutating func finish(_ events: [HealthEvent<RealID>]) -> VirtualServerStep<RealID> {
        let next = computeDesired()
        let changed = next != desired
        desired = next
        return VirtualServerStep(events: events, desired: next, desiredChanged: changed, live: liveReals, quorumUp: quorumUp,
                                 liveWeight: liveWeight)
    }

    private func computeDesired() -> [DesiredMember<RealID>] {
        var members: [DesiredMember<RealID>] = []
        let replaced = sorryServerActive
        members.reserveCapacity(entries.count + 1)
        for entry in entries {
            if replaced {
                // keepalived takes every real out when the sorry server takes over; inhibited ones stay at 0.
                if entry.policy.inhibitOnFailure { members.append(.real(entry.id, weight: 0)) }
            } else if entry.live {
                members.append(.real(entry.id, weight: weight(of: entry.policy)))
            } else if entry.policy.inhibitOnFailure {
                members.append(.real(entry.id, weight: 0))
            }
        }
        if let sorryServer {
            if replaced {
                members.append(.sorryServer(weight: 1))
            } else if sorryServer.inhibit {
                members.append(.sorryServer(weight: 0))
            }
        }
        return members
    }
}

extension Int {
    func addingClamped(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}
