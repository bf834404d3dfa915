/// A virtual service as directord wants it: the rule and its real servers (the sorry server is just one of them).
public struct IPVSServiceRules: Hashable, Sendable {
    public var service: IPVSService
    public var destinations: [IPVSDestination]

    public init(service: IPVSService, destinations: [IPVSDestination] = []) {
        self.service = service
        self.destinations = destinations
    }

    public init(entry: IPVSServiceEntry) {
        self.init(service: entry.service, destinations: entry.destinations.map(\.destination))
    }

    public var key: IPVSServiceKey { service.key }
}

/// Which services directord may change.
public enum IPVSOwnership: Hashable, Sendable {
    /// `lvs_flush`: the whole table is ours; anything not desired is deleted.
    case wholeTable
    /// Only these services (plus every desired one): those declared now and those we created before a reload.
    case services(Set<IPVSServiceKey>)
}

/// What to do to make the kernel match the configuration.
public struct IPVSPlan: Hashable, Sendable {
    public var operations: [IPVSOperation]
    /// Services in the kernel that directord does not own and therefore left alone (to be reported).
    public var foreignServices: [IPVSServiceKey]
}

/// Desired vs actual → the smallest ordered list of operations. Pure.
///
/// Order: new services (each followed by its real servers), then changed services (SET), then per kept service
/// real-server additions, changes (SET) and removals, and last the deletion of services no longer wanted — so
/// traffic always has somewhere to go: a replacement is in place before what it replaces is removed, and a
/// service never passes through "no real server" while its set is being swapped (sorry server in or out).
public enum IPVSReconciler {
    public static func plan(desired: [IPVSServiceRules], actual: [IPVSServiceEntry], ownership: IPVSOwnership) -> IPVSPlan {
        var actualByKey: [IPVSServiceKey: IPVSServiceEntry] = [:]
        for e in actual { actualByKey[e.service.key] = e }
        var desiredKeys = Set<IPVSServiceKey>()
        var additions: [IPVSOperation] = []
        var serviceChanges: [IPVSOperation] = []
        var destinationChanges: [IPVSOperation] = []

        for rules in desired where desiredKeys.insert(rules.key).inserted {
            let key = rules.key
            guard let current = actualByKey[key] else {
                additions.append(.addService(rules.service))
                for d in uniqueDestinations(rules.destinations) { additions.append(.addDestination(key, d)) }
                continue
            }
            if !sameService(rules.service, current.service) {
                serviceChanges.append(.updateService(rules.service))
            }
            destinationChanges += diffDestinations(key: key, desired: uniqueDestinations(rules.destinations),
                                                   actual: current.destinations.map(\.destination))
        }

        var deletions: [IPVSOperation] = []
        var foreign: [IPVSServiceKey] = []
        for e in actual where !desiredKeys.contains(e.service.key) {
            switch ownership {
            case .wholeTable:
                deletions.append(.deleteService(e.service.key))
            case .services(let owned):
                if owned.contains(e.service.key) {
                    deletions.append(.deleteService(e.service.key))
                } else {
                    foreign.append(e.service.key)
                }
            }
        }
        return IPVSPlan(operations: additions + serviceChanges + destinationChanges + deletions, foreignServices: foreign)
    }

    /// Compares what userspace controls; HASHED and an empty persistence engine are kernel noise.
    static func sameService(_ desired: IPVSService, _ actual: IPVSService) -> Bool {
        desired.normalized == actual.normalized
    }

    /// The kernel may report LOCAL for a real server whose address is on this host, whatever was asked; that is
    /// not a difference userspace can fix, so it is not one.
    static func sameDestination(_ desired: IPVSDestination, _ actual: IPVSDestination) -> Bool {
        if desired == actual { return true }
        guard actual.forwarding == .local else { return false }
        var adjusted = actual
        adjusted.forwarding = desired.forwarding
        return adjusted == desired
    }

    static func uniqueDestinations(_ ds: [IPVSDestination]) -> [IPVSDestination] {
        var seen = Set<Endpoint>()
        return ds.filter { seen.insert($0.endpoint).inserted }
    }

    static func diffDestinations(key: IPVSServiceKey, desired: [IPVSDestination], actual: [IPVSDestination]) -> [IPVSOperation] {
        var actualByEndpoint: [Endpoint: IPVSDestination] = [:]
        for d in actual { actualByEndpoint[d.endpoint] = d }
        var adds: [IPVSOperation] = []
        var updates: [IPVSOperation] = []
        var wanted = Set<Endpoint>()
        for d in desired {
            wanted.insert(d.endpoint)
            if let current = actualByEndpoint[d.endpoint] {
                if !sameDestination(d, current) { updates.append(.updateDestination(key, d)) }
            } else {
                adds.append(.addDestination(key, d))
            }
        }
        let removals = actual.filter { !wanted.contains($0.endpoint) }.map { IPVSOperation.deleteDestination(key, $0.endpoint) }
        return adds + updates + removals
    }
}
