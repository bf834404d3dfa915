import Glibc

/// An in-memory IPVS table that behaves like the kernel's (same errnos for the same mistakes) and records every
/// call, so tests of the reconciler and of the daemon can assert on what was asked of the kernel.
public final class RecordingIPVSTable: IPVSTable {
    public enum Call: Hashable, Sendable {
        case info, services, service(IPVSServiceKey), apply([IPVSOperation])
        case syncDaemons, startSyncDaemon(IPVSSyncDaemon), stopSyncDaemon(IPVSSyncState)
        case timeouts, setTimeouts(IPVSTimeouts), zero(IPVSServiceKey?), flush
    }

    public private(set) var calls: [Call] = []
    /// Services in insertion order, each with destinations in insertion order.
    public private(set) var entries: [IPVSServiceEntry] = []
    public private(set) var daemons: [IPVSSyncDaemon] = []
    public var currentTimeouts = IPVSTimeouts(tcp: 900, tcpFin: 120, udp: 300)
    public var tableInfo = IPVSInfo(version: 0x010201, connectionTableSize: 4096)
    /// Schedulers whose modules "exist"; others fail with ENOENT as a missing ip_vs_X module does.
    public var schedulers: Set<String> = ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"]
    /// Forced failures: the next operation equal to a key fails with that errno (once).
    public var injectedFailures: [IPVSOperation: Int32] = [:]
    /// When set, every call fails this way (e.g. `.unavailable`), to test callers' error paths.
    public var unavailableError: IPVSError? = nil

    public init(services: [IPVSServiceRules] = []) {
        entries = services.map { rules in
            IPVSServiceEntry(service: rules.service, destinations: rules.destinations.map { IPVSDestinationEntry(destination: $0) })
        }
    }

    /// The rules currently held, for comparisons.
    public var rules: [IPVSServiceRules] { entries.map(IPVSServiceRules.init(entry:)) }

    public func clearCalls() { calls.removeAll() }

    /// Sets the kernel's connection counters of one destination, as traffic would (not a call: nothing is recorded).
    public func setConnections(_ key: IPVSServiceKey, _ endpoint: Endpoint, active: UInt32, inactive: UInt32 = 0) {
        guard let s = entries.firstIndex(where: { $0.service.key == key }),
              let d = entries[s].destinations.firstIndex(where: { $0.destination.endpoint == endpoint })
        else { return }
        entries[s].destinations[d].activeConnections = active
        entries[s].destinations[d].inactiveConnections = inactive
    }

    private func check() throws {
        if let unavailableError { throw unavailableError }
    }

    public func info() throws -> IPVSInfo {
        calls.append(.info)
        try check()
        return tableInfo
    }

    public func services() throws -> [IPVSServiceEntry] {
        calls.append(.services)
        try check()
        return entries.map { e in
            var copy = e
            copy.service.flags.insert(.hashed)
            return copy
        }
    }

    public func service(_ key: IPVSServiceKey) throws -> IPVSServiceEntry {
        calls.append(.service(key))
        try check()
        guard var e = entries.first(where: { $0.service.key == key }) else {
            throw IPVSError.kernel(.getService, errno: ESRCH, subject: key.description, detail: nil)
        }
        e.service.flags.insert(.hashed)
        return e
    }

    public func apply(_ operations: [IPVSOperation]) throws -> [IPVSOperationFailure] {
        calls.append(.apply(operations))
        try check()
        var failures: [IPVSOperationFailure] = []
        for (index, op) in operations.enumerated() {
            let code: Int32
            if let injected = injectedFailures.removeValue(forKey: op) {
                code = injected
            } else {
                code = perform(op)
            }
            if code != 0 {
                failures.append(IPVSOperationFailure(
                    index: index, operation: op,
                    error: .kernel(op.kind, errno: code, subject: KernelIPVSTable.subject(of: op, errno: code), detail: nil)))
            }
        }
        return failures
    }

    /// The kernel's checks, in ip_vs_ctl.c's order; 0 or the errno.
    /// Where each service is in `entries` (nil after a delete, until the next lookup rebuilds it): a table of
    /// thousands of services is searched once per operation, as the kernel's hash does it.
    private var positions: [IPVSServiceKey: Int]?

    private func perform(_ op: IPVSOperation) -> Int32 {
        func index(_ key: IPVSServiceKey) -> Int? {
            if positions == nil {
                positions = Dictionary(entries.enumerated().map { ($1.service.key, $0) }, uniquingKeysWith: { a, _ in a })
            }
            return positions?[key]
        }
        func destIndex(_ s: Int, _ e: Endpoint) -> Int? { entries[s].destinations.firstIndex { $0.destination.endpoint == e } }
        switch op {
        case .addService(let s):
            guard index(s.key) == nil else { return EEXIST }
            guard schedulers.contains(s.scheduler) else { return ENOENT }
            var stored = s
            stored.flags = s.flags.intersection(.writable)
            entries.append(IPVSServiceEntry(service: stored))
            positions?[s.key] = entries.count - 1
        case .updateService(let s):
            guard let i = index(s.key) else { return ESRCH }
            guard schedulers.contains(s.scheduler) else { return ENOENT }
            entries[i].service = s
            entries[i].service.flags = s.flags.intersection(.writable)
        case .deleteService(let key):
            guard let i = index(key) else { return ESRCH }
            entries.remove(at: i)
            positions = nil
        case .addDestination(let key, let d):
            guard let i = index(key) else { return ESRCH }
            guard destIndex(i, d.endpoint) == nil else { return EEXIST }
            entries[i].destinations.append(IPVSDestinationEntry(destination: d))
        case .updateDestination(let key, let d):
            guard let i = index(key) else { return ESRCH }
            guard let j = destIndex(i, d.endpoint) else { return ENOENT }
            entries[i].destinations[j].destination = d
        case .deleteDestination(let key, let e):
            guard let i = index(key) else { return ESRCH }
            guard let j = destIndex(i, e) else { return ENOENT }
            entries[i].destinations.remove(at: j)
        }
        return 0
    }

    public func syncDaemons() throws -> [IPVSSyncDaemon] {
        calls.append(.syncDaemons)
        try check()
        return daemons.sorted { $0.state.rawValue < $1.state.rawValue }
    }

    public func startSyncDaemon(_ daemon: IPVSSyncDaemon) throws {
        calls.append(.startSyncDaemon(daemon))
        try check()
        guard !daemons.contains(where: { $0.state == daemon.state }) else {
            throw IPVSError.kernel(.startDaemon, errno: EEXIST, subject: daemon.state.name, detail: nil)
        }
        daemons.append(daemon)
    }

    public func stopSyncDaemon(_ state: IPVSSyncState) throws {
        calls.append(.stopSyncDaemon(state))
        try check()
        guard let i = daemons.firstIndex(where: { $0.state == state }) else {
            throw IPVSError.kernel(.stopDaemon, errno: ESRCH, subject: state.name, detail: nil)
        }
        daemons.remove(at: i)
    }

    public func timeouts() throws -> IPVSTimeouts {
        calls.append(.timeouts)
        try check()
        return currentTimeouts
    }

    public func setTimeouts(_ timeouts: IPVSTimeouts) throws {
        calls.append(.setTimeouts(timeouts))
        try check()
        if timeouts.tcp != 0 { currentTimeouts.tcp = timeouts.tcp }
        if timeouts.tcpFin != 0 { currentTimeouts.tcpFin = timeouts.tcpFin }
        if timeouts.udp != 0 { currentTimeouts.udp = timeouts.udp }
    }

    public func zero(_ key: IPVSServiceKey?) throws {
        calls.append(.zero(key))
        try check()
        for i in entries.indices where key == nil || entries[i].service.key == key {
            entries[i].stats = IPVSStats()
            for j in entries[i].destinations.indices { entries[i].destinations[j].stats = IPVSStats() }
        }
        if let key, !entries.contains(where: { $0.service.key == key }) {
            throw IPVSError.kernel(.zero, errno: ESRCH, subject: key.description, detail: nil)
        }
    }

    public func flush() throws {
        calls.append(.flush)
        try check()
        entries.removeAll()
        positions = nil
    }
}
