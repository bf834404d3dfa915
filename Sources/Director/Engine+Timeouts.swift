import DirectorConfig
import IPVS

/// `lvs_timeouts`, as keepalived 2.2.7 applies them: the kernel's own values are read once, before the first change,
/// and every field the configuration leaves unset gets its original back; a reload without `lvs_timeouts` and a stop
/// restore all three.
struct TimeoutKeeper: Sendable {
    /// The kernel's timeouts before directord first changed them (nil: never changed).
    private(set) var original: IPVSTimeouts?

    /// What to set for `wanted` (nil: nothing to do). `read` gives the kernel's current values; it is called only
    /// before the first change.
    mutating func target(for wanted: LVSTimeouts, read: () throws -> IPVSTimeouts) rethrows -> IPVSTimeouts? {
        if wanted.isEmpty { return original }
        let original = try self.original ?? read()
        self.original = original
        return IPVSTimeouts(
            tcp: wanted.tcp != 0 ? wanted.tcp : original.tcp,
            tcpFin: wanted.tcpFin != 0 ? wanted.tcpFin : original.tcpFin,
            udp: wanted.udp != 0 ? wanted.udp : original.udp)
    }

    /// A reload plan's line for a change of `lvs_timeouts` to `wanted`.
    static func describe(_ wanted: LVSTimeouts) -> String {
        if wanted.isEmpty { return "restore the kernel's IPVS timeouts" }
        let fields = [("tcp", wanted.tcp), ("tcpfin", wanted.tcpFin), ("udp", wanted.udp)].filter { $0.1 != 0 }
        return "set IPVS timeouts " + fields.map { "\($0.0) \($0.1)" }.joined(separator: " ")
    }
}

extension Engine {
    /// Sets the kernel's connection timeouts for `wanted`; a failure is logged and the daemon goes on (as keepalived).
    func applyTimeouts(_ wanted: LVSTimeouts, reason: String) {
        guard let table else { return }
        do {
            guard let target = try timeoutKeeper.target(for: wanted, read: { try table.timeouts() }) else { return }
            try table.setTimeouts(target)
            logger.notice("\(reason): IPVS timeouts tcp \(target.tcp) tcpfin \(target.tcpFin) udp \(target.udp)\(wanted.isEmpty ? " (the kernel's own, restored)" : "")")
        } catch {
            logger.error("\(reason): cannot set the IPVS timeouts: \(error)")
        }
    }
}
