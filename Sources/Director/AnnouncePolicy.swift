import DirectorConfig
import FoundationEssentials

/// Which VIPs this director announces, pure and on the caller's clock: a VIP is announced while every virtual
/// server with `announce` on its address has quorum here, the daemon runs, and no operator withdrew it. Damping:
/// announced only once healthy for `rise` without a break (and not before `minimumUptime` after start), withdrawn
/// once unhealthy for `fall`. The routing daemon turns each announce and withdraw into BGP.
struct AnnouncePolicy: Sendable {
    enum Action: Hashable, Sendable {
        case announce(IPAddress)
        case withdraw(IPAddress)
    }

    /// A VIP's health as the virtual servers on it say: nil reason means healthy.
    struct Health: Hashable, Sendable {
        var problem: String?
        static let healthy = Health(problem: nil)
    }

    struct State: Hashable, Sendable {
        var announced = false
        /// When `announced` last changed (or when the VIP was first seen).
        var since: Date
        var healthy: Bool
        /// When `healthy` last changed.
        var healthChanged: Date
        var problem: String?
        /// Why it is not announced (or, announced, what is about to withdraw it); nil when nothing is pending.
        var reason: String?
    }

    let rise: TimeInterval
    let fall: TimeInterval
    let startedAt: Date
    let minimumUptime: TimeInterval
    private(set) var vips: [IPAddress: State] = [:]
    private(set) var withdrawnByOperator: Set<IPAddress> = []
    private(set) var stopping = false

    init(settings: AnnounceSettings, startedAt: Date) {
        rise = Self.seconds(settings.rise)
        fall = Self.seconds(settings.fall)
        minimumUptime = Self.seconds(settings.minimumUptime)
        self.startedAt = startedAt
    }

    static func seconds(_ d: Duration) -> TimeInterval {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// The VIPs to consider and their health now; a VIP no longer given is withdrawn and forgotten.
    mutating func update(_ health: [IPAddress: Health], now: Date) -> [Action] {
        var actions: [Action] = []
        for (address, state) in vips where health[address] == nil {
            if state.announced { actions.append(.withdraw(address)) }
            vips[address] = nil
        }
        withdrawnByOperator.formIntersection(health.keys)
        for (address, h) in health {
            let healthy = h.problem == nil
            var state = vips[address] ?? State(since: now, healthy: healthy, healthChanged: now)
            if state.healthy != healthy {
                state.healthy = healthy
                state.healthChanged = now
            }
            state.problem = h.problem
            vips[address] = state
        }
        return actions + evaluate(now: now)
    }

    /// The operator's `directorctl withdraw` (true) and `announce` (false) for these VIPs.
    mutating func setWithdrawn(_ addresses: Set<IPAddress>, _ withdrawn: Bool, now: Date) -> [Action] {
        if withdrawn { withdrawnByOperator.formUnion(addresses) } else { withdrawnByOperator.subtract(addresses) }
        return evaluate(now: now)
    }

    /// Stop: every announced VIP is withdrawn, and none is announced again.
    mutating func stop(now: Date) -> [Action] {
        stopping = true
        return evaluate(now: now)
    }

    /// Time passed: damping may let a VIP through now.
    mutating func tick(now: Date) -> [Action] { evaluate(now: now) }

    private mutating func evaluate(now: Date) -> [Action] {
        var actions: [Action] = []
        for address in vips.keys.sorted() {
            guard var state = vips[address] else { continue }
            let (wanted, reason) = decide(state, address, now: now)
            state.reason = reason
            if wanted != state.announced {
                state.announced = wanted
                state.since = now
                actions.append(wanted ? .announce(address) : .withdraw(address))
            }
            vips[address] = state
        }
        return actions
    }

    private func decide(_ state: State, _ address: IPAddress, now: Date) -> (Bool, String?) {
        if stopping { return (false, "directord is stopping") }
        if withdrawnByOperator.contains(address) { return (false, "withdrawn by directorctl withdraw") }
        guard state.healthy else {
            let problem = state.problem ?? "unhealthy"
            if state.announced, now < state.healthChanged.addingTimeInterval(fall) {
                return (true, "\(problem); withdrawn at \(state.healthChanged.addingTimeInterval(fall)) unless it recovers (announce_fall)")
            }
            return (false, problem)
        }
        let ready = startedAt.addingTimeInterval(minimumUptime)
        if now < ready { return (false, "starting: announced from \(max(ready, state.healthChanged.addingTimeInterval(rise))) at the earliest (announce_min_uptime)") }
        if !state.announced, now < state.healthChanged.addingTimeInterval(rise) {
            return (false, "healthy since \(state.healthChanged): announced from \(state.healthChanged.addingTimeInterval(rise)) (announce_rise)")
        }
        return (true, nil)
    }
}
