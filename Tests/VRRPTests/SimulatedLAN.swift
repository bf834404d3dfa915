import Timeline
import Addresses
import Testing
import VRRP

/// One vrrp_instance on a simulated router: the state-machine configuration plus what goes into its adverts.
struct InstanceSpec {
    var configuration: VRRPInstance.Configuration
    var virtualRouterID: UInt8
    var virtualAddresses: [IPAddress]
    var authentication: Authentication = .none
    /// Its track_* objects, all up at boot.
    var tracked: [TrackedObject] = []
}

/// A simulated director: the production router (instances, an optional sync group, tracking), timers, and a
/// record of everything it did.
final class SimulatedRouter {
    struct TimerKey: Hashable {
        var instance: String
        var kind: VRRPInstance.TimerKind
    }

    let name: String
    let address: IPAddress
    let specs: [InstanceSpec]
    let groupMembers: [String]?
    var vrrp = VRRPRouter()
    var alive = false
    var timers: [TimerKey: Moment] = [:]
    /// Instances whose virtual addresses are configured here right now.
    var holding: Set<String> = []
    var sentAdverts: [(at: Duration, instance: String, priority: UInt8)] = []
    var transitions: [(at: Duration, instance: String, to: VRRPInstance.State)] = []
    var notifications: [NotifyEvent] = []
    var gratuitous: [(at: Duration, instance: String, count: Int)] = []
    var syncDaemon: [VRRPInstance.SyncDaemonRole] = []
    var drops: [DropReason: Int] = [:]

    init(name: String, address: IPAddress, instances: [InstanceSpec], syncGroup members: [String]? = nil) {
        self.name = name
        self.address = address
        self.specs = instances
        self.groupMembers = members
    }

    /// Fresh instances (a restarted process remembers nothing), added in configuration order as HostCore does.
    func boot() throws {
        vrrp = VRRPRouter()
        if let members = groupMembers {
            vrrp.addGroup(SyncGroupPolicy(name: "G", members: members), tracking: TrackingState(objects: [], initiallyUp: []))
        }
        for spec in specs {
            let name = spec.configuration.name
            vrrp.add(
                try VRRPInstance(spec.configuration), group: groupMembers?.contains(name) == true ? "G" : nil,
                tracking: TrackingState(objects: spec.tracked, initiallyUp: Set(spec.tracked.map(\.name))))
        }
        timers = [:]
        alive = true
    }

    func instance(_ name: String) -> VRRPInstance? { vrrp.members[name]?.machine }

    func state(_ name: String) -> VRRPInstance.State? { instance(name)?.state }

    func spec(vrid: UInt8) -> InstanceSpec? { specs.first { $0.virtualRouterID == vrid } }

    func spec(named name: String) -> InstanceSpec? { specs.first { $0.configuration.name == name } }

    /// When `instance` last entered `state`, relative to the lab epoch.
    func lastEntered(_ state: VRRPInstance.State, _ instance: String) -> Duration? {
        transitions.last { $0.instance == instance && $0.to == state }?.at
    }
}

/// A LAN of simulated routers on a manual clock (like NIO's EmbeddedEventLoop.advanceTime): adverts travel as real
/// IPv4 packet bytes through the codec and filter, timers fire in deadline order, links can be cut.
final class SimulatedLAN {
    let epoch = Moment.now
    private(set) var now: Moment
    private(set) var routers: [SimulatedRouter] = []
    /// Ordered (sender, receiver) router-name pairs whose packets are dropped.
    var blocked: Set<[String]> = []
    /// One-way delivery delay.
    var latency: Duration = .zero

    private struct Delivery {
        var at: Moment
        var sequence: Int
        var to: String
        var bytes: [UInt8]
    }
    private var inFlight: [Delivery] = []
    private var sequence = 0

    init() { now = epoch }

    /// Seconds since the epoch, for readable expectations.
    var elapsed: Duration { now - epoch }

    func add(_ router: SimulatedRouter) { routers.append(router) }

    func router(_ name: String) -> SimulatedRouter? { routers.first { $0.name == name } }

    /// Boots a router and starts its instances in configuration order, each told its tracking first (as HostCore
    /// starts them).
    func start(_ router: SimulatedRouter) throws {
        try router.boot()
        for spec in router.specs {
            let name = spec.configuration.name
            if let summary = router.vrrp.summary(of: name) { send(.trackingChanged(summary), to: name, on: router) }
            send(.start, to: name, on: router)
        }
    }

    /// SIGKILL: no goodbye, timers gone, nothing more sent or received.
    func kill(_ router: SimulatedRouter) {
        router.alive = false
        router.timers = [:]
        router.holding = []
    }

    /// Graceful stop: every instance handles `.shutdown` (a MASTER sends priority 0), then the process exits.
    func stop(_ router: SimulatedRouter) {
        for spec in router.specs { send(.shutdown, to: spec.configuration.name, on: router) }
        router.alive = false
        router.timers = [:]
    }

    /// A tracked object's new status, as HostCore reports a link, a process or a script.
    func setTracked(_ name: String, up: Bool, on router: SimulatedRouter) {
        guard router.alive else { return }
        perform(router.vrrp.handle(.tracked(name, up: up), now: now), on: router)
    }

    /// Runs every delivery and timer due up to `now + duration`, in time order.
    func advance(by duration: Duration) {
        let end = now + duration
        while true {
            let nextDelivery = inFlight.min { ($0.at, $0.sequence) < ($1.at, $1.sequence) }
            // Ties break by router, instance and timer name so runs are reproducible.
            let nextTimer = routers.filter(\.alive).flatMap { r in r.timers.map { (r, $0.key, $0.value) } }
                .min {
                    ($0.2, $0.0.name, $0.1.instance, $0.1.kind.rawValue)
                        < ($1.2, $1.0.name, $1.1.instance, $1.1.kind.rawValue)
                }
            if let d = nextDelivery, d.at <= end, nextTimer.map({ d.at <= $0.2 }) ?? true {
                inFlight.removeAll { $0.sequence == d.sequence }
                now = d.at
                receive(d.bytes, on: d.to)
            } else if let (router, key, deadline) = nextTimer, deadline <= end {
                router.timers[key] = nil
                now = deadline
                send(.timerFired(key.kind), to: key.instance, on: router)
            } else {
                break
            }
        }
        now = end
    }

    /// Hands an event to an instance through the router and performs what it and its sync group do.
    func send(_ event: VRRPInstance.Event, to name: String, on router: SimulatedRouter) {
        guard router.alive else { return }
        perform(router.vrrp.handle(.instance(name, event), now: now), on: router)
    }

    private func perform(_ actions: [VRRPRouter.Action], on router: SimulatedRouter) {
        for action in actions {
            switch action {
            case .instance(let name, let step, _):
                perform(step, instance: name, on: router)
            case .groupNotify(_, let event):
                router.notifications.append(event)
            case .switchSyncDaemon(let role):
                router.syncDaemon.append(role)
            case .groupState, .scriptStatus:
                break
            }
        }
    }

    private func perform(_ action: VRRPInstance.Action, instance name: String, on router: SimulatedRouter) {
        switch action {
        case .stateChanged(_, let to):
            router.transitions.append((elapsed, name, to))
        case .sendAdvert(let priority):
            router.sentAdverts.append((elapsed, name, priority))
            transmit(priority: priority, instance: name, from: router)
        case .armTimer(let kind, let deadline):
            router.timers[SimulatedRouter.TimerKey(instance: name, kind: kind)] = deadline
        case .cancelTimer(let kind):
            router.timers[SimulatedRouter.TimerKey(instance: name, kind: kind)] = nil
        case .addVirtualAddresses:
            router.holding.insert(name)
        case .removeVirtualAddresses:
            router.holding.remove(name)
        case .sendGratuitous(let count):
            router.gratuitous.append((elapsed, name, count))
        case .notify(let event):
            router.notifications.append(event)
        case .switchSyncDaemon(let role):
            router.syncDaemon.append(role)
        case .masterReceivedLowerPriority:
            break
        }
    }

    private func transmit(priority: UInt8, instance name: String, from router: SimulatedRouter) {
        guard let spec = router.spec(named: name) else { return }
        let bytes: [UInt8]
        do {
            let advert = try Advertisement(
                version: spec.configuration.version, family: .ipv4, virtualRouterID: spec.virtualRouterID,
                priority: priority, addresses: spec.virtualAddresses,
                advertIntervalCentiseconds: spec.configuration.advertIntervalCentiseconds,
                authentication: spec.authentication)
            let payload = try advert.encoded(source: router.address, destination: .multicastIPv4)
            bytes = ipv4Packet(source: router.address, destination: .multicastIPv4, payload: payload)
        } catch {
            Issue.record("cannot encode advert of \(name) on \(router.name): \(error)")
            return
        }
        for other in routers where other !== router && !blocked.contains([router.name, other.name]) {
            sequence += 1
            inFlight.append(Delivery(at: now + latency, sequence: sequence, to: other.name, bytes: bytes))
        }
    }

    private func receive(_ bytes: [UInt8], on routerName: String) {
        guard let router = router(routerName), router.alive else { return }
        switch Advertisement.decode(ipv4Packet: bytes) {
        case .failure(let rejection):
            router.drops[rejection.reason, default: 0] += 1
        case .success(let received):
            guard let spec = router.spec(vrid: received.advertisement.virtualRouterID) else {
                router.drops[.unknownVirtualRouter, default: 0] += 1
                return
            }
            let filter = AdvertisementFilter(
                version: spec.configuration.version, virtualRouterID: spec.virtualRouterID,
                advertIntervalCentiseconds: spec.configuration.advertIntervalCentiseconds,
                authentication: spec.authentication, addresses: spec.virtualAddresses,
                localPriority: spec.configuration.priority)
            if let rejection = filter.check(received) {
                router.drops[rejection.reason, default: 0] += 1
                return
            }
            send(.advertReceived(VRRPInstance.PeerAdvert(received)), to: spec.configuration.name, on: router)
        }
    }
}
