import DirectorConfig
import Glibc
import Logging
import Platform
import VRRPHost

/// One object of the static blocks in the kernel's terms; the order of the cases is the order of adding
/// (a route may need its address's subnet, a rule its route's table) and the reverse of removing.
enum StaticObject: Hashable, Sendable, CustomStringConvertible {
    case address(InterfaceAddress)
    case route(HostRoute)
    case rule(HostRule)

    var rank: Int {
        switch self {
        case .address: 0
        case .route: 1
        case .rule: 2
        }
    }

    var description: String {
        switch self {
        case .address(let a): "static address \(a)"
        case .route(let r): "static route \(r)"
        case .rule(let r): "static rule \(r)"
        }
    }

    /// What the configuration's static blocks ask of the kernel, in adding order, without repeats.
    static func objects(_ config: StaticNetwork) -> [StaticObject] {
        // The parser refuses a static address without `dev`; the empty name would fail at if_nametoindex.
        let all = config.addresses.map { StaticObject.address(HostObjects.address($0, defaultDevice: "")) }
            + config.routes.map { .route(HostObjects.route($0)) }
            + config.rules.map { .rule(hostRule($0)) }
        var seen: Set<StaticObject> = []
        return all.filter { seen.insert($0).inserted }
    }

    static func hostRule(_ r: StaticRule) -> HostRule { HostObjects.rule(r) }
}

/// What directord holds of static_ipaddress, static_routes and static_rules. keepalived's rule, which we keep:
/// an object found already in the kernel belongs to someone else and stays at stop; only what this run added goes.
/// Pure: the supervisor asks for a plan, performs it, and reports each outcome back.
struct StaticNetworkLedger: Equatable, Sendable {
    /// Configured objects known to be in the kernel (added by us, or found there).
    private(set) var present: Set<StaticObject> = []
    /// The part of `present` this run added: what a stop or a reload that drops it removes.
    private(set) var owned: Set<StaticObject> = []

    struct Plan: Equatable, Sendable {
        /// Rules first, addresses last.
        var remove: [StaticObject] = []
        /// Addresses first, rules last.
        var add: [StaticObject] = []
        var isEmpty: Bool { remove.isEmpty && add.isEmpty }
    }

    /// From what is held to `next` (empty at stop). An object that failed to go in before is tried again.
    func plan(to next: [StaticObject]) -> Plan {
        let wanted = Set(next)
        let remove = owned.subtracting(wanted).sorted { ($0.rank, $0.description) > ($1.rank, $1.description) }
        let add = next.filter { !present.contains($0) }.sorted { $0.rank < $1.rank }
        return Plan(remove: remove, add: add)
    }

    /// The kernel's answer to one add: nil when it failed (not held, so the next reload tries again).
    mutating func added(_ object: StaticObject, _ outcome: AddOutcome?) {
        guard let outcome else { return }
        present.insert(object)
        if outcome == .added { owned.insert(object) }
    }

    /// Removed, or failed to be removed: either way no longer ours (keepalived does not retry either).
    mutating func removed(_ object: StaticObject) {
        present.remove(object)
        owned.remove(object)
    }

    /// After a reload: objects no longer configured that were someone else's are simply forgotten.
    mutating func keep(only next: [StaticObject]) {
        let wanted = Set(next)
        present.formIntersection(wanted.union(owned))
    }

    /// Performs `plan` against `network`; answers one line per problem (already logged).
    mutating func perform(_ plan: Plan, on network: any HostNetworking, logger: Logger) -> [String] {
        var problems: [String] = []
        for object in plan.remove {
            do {
                switch object {
                case .address(let a): try network.remove(a)
                case .route(let r): try network.remove(r)
                case .rule(let r): try network.remove(r)
                }
                logger.notice("removed \(object)")
            } catch {
                problems.append("cannot remove \(object): \(error)")
                logger.error("cannot remove \(object): \(error)")
            }
            removed(object)
        }
        for object in plan.add {
            do {
                let outcome: AddOutcome = switch object {
                case .address(let a): try network.add(a)
                case .route(let r): try network.add(r)
                case .rule(let r): try network.add(r)
                }
                added(object, outcome)
                if outcome == .added {
                    logger.notice("added \(object)")
                } else {
                    logger.notice("\(object) was already there: it is left in place at stop")
                }
            } catch {
                added(object, nil)
                problems.append("cannot add \(object): \(error)")
                logger.error("cannot add \(object): \(error)")
            }
        }
        return problems
    }

    /// Plan words for `directorctl diff` and reload replies.
    static func describe(_ plan: Plan) -> [String] {
        plan.remove.map { "remove \($0)" } + plan.add.map { "add \($0)" }
    }
}

extension Supervisor {
    /// At start (before VRRP) and on reload: bring the static blocks to `configuration`'s. Problems are logged and
    /// answered; like keepalived, a static object that cannot be added does not stop the daemon.
    @discardableResult
    func applyStaticNetwork(_ configuration: Configuration) -> (changes: [String], problems: [String]) {
        let next = StaticObject.objects(configuration.staticNetwork)
        let plan = staticNetwork.plan(to: next)
        let problems = staticNetwork.perform(plan, on: dependencies.network, logger: logger)
        staticNetwork.keep(only: next)
        return (StaticNetworkLedger.describe(plan), problems)
    }

    /// What a reload to `configuration` would change, for `directorctl diff`.
    func staticNetworkChanges(for configuration: Configuration) -> [String] {
        StaticNetworkLedger.describe(staticNetwork.plan(to: StaticObject.objects(configuration.staticNetwork)))
    }

    /// Last thing at stop: what this run added goes; what was there before stays.
    func removeStaticNetwork() {
        _ = staticNetwork.perform(staticNetwork.plan(to: []), on: dependencies.network, logger: logger)
    }
}
