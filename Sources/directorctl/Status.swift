import ArgumentParser
import ControlProtocol
import FoundationEssentials

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show directord's VRRP instances, virtual servers and real-server health.",
        discussion: """
            Every VRRP instance and sync group (state, priority now and configured, master seen, time in state, \
            adverts and drops), every vrrp_script (up or down, failures or successes in a row, the last run's \
            result), every virtual server with each real server's health and weight in the kernel, \
            the sorry server and quorum, the sync daemons, and the configuration's file, load time and last \
            reload. --json prints the same as one JSON object (the ControlProtocol DaemonStatus schema).
            """)

    @Flag(name: .customLong("json"), help: "Print the status as JSON.")
    var json = false

    @OptionGroup var connection: SocketOption

    func run() throws {
        let response = try connection.send(.status)
        guard response.ok, let status = response.status else {
            printError("directorctl: \(response.message)")
            throw ExitCode(1)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(status), as: UTF8.self))
        } else {
            print(StatusText.render(status, now: Date().timeIntervalSince1970), terminator: "")
        }
    }
}

/// The human form of a status: sections an operator scans at 3 a.m.
enum StatusText {
    static func render(_ s: DaemonStatus, now: Double) -> String {
        var out = "directord pid \(s.pid), config \(s.configFile) loaded \(ago(s.configLoadedAt, now)) ago\n"
        if let r = s.lastReload {
            out += "last reload \(ago(r.at, now)) ago: \(r.ok ? "ok" : "FAILED") — \(r.message.split(separator: "\n").first ?? "")\n"
        }
        if !s.syncGroups.isEmpty {
            out += "\nVRRP sync groups\n"
            for g in s.syncGroups { out += "  \(g.name): \(g.state) [\(g.members.joined(separator: ", "))]\n" }
        }
        if !s.instances.isEmpty {
            out += "\nVRRP instances\n"
            for i in s.instances {
                out += "  \(i.name) on \(i.interface) vrid \(i.virtualRouterID) v\(i.version): \(i.state) for \(ago(i.since, now))"
                out += ", priority \(i.priority) (configured \(i.configuredPriority))"
                if let m = i.masterAddress { out += ", master \(m)" }
                out += "\n    adverts sent \(i.advertsSent), received \(i.advertsReceived)"
                let drops = i.drops.filter { $0.value > 0 }.sorted { $0.key < $1.key }
                if !drops.isEmpty { out += ", dropped " + drops.map { "\($0.key) \($0.value)" }.joined(separator: ", ") }
                out += "\n"
                if !i.addresses.isEmpty { out += "    addresses \(i.addresses.joined(separator: " "))\n" }
            }
        }
        if let scripts = s.scripts, !scripts.isEmpty {
            out += "\nVRRP scripts\n"
            for t in scripts {
                out += "  \(t.name): \(t.up ? "up" : "DOWN")"
                if t.failuresInARow > 0 {
                    out += ", \(t.failuresInARow) failure(s) in a row (fall \(t.fall))"
                } else if t.successesInARow > 0 {
                    out += ", \(t.successesInARow) success(es) in a row (rise \(t.rise))"
                }
                if t.running { out += ", running now" }
                out += "\n    \(t.command)\n"
                if let at = t.lastRun { out += "    last run \(ago(at, now)) ago: \(t.lastResult)\n" }
                else if !t.lastResult.isEmpty { out += "    \(t.lastResult)\n" }
            }
        }
        if !s.syncDaemons.isEmpty {
            out += "\nIPVS sync daemons\n"
            for d in s.syncDaemons { out += "  \(d.role) on \(d.interface) syncid \(d.syncID)\n" }
        }
        if !s.virtualServers.isEmpty {
            out += "\nVirtual servers\n"
            for v in s.virtualServers {
                out += "  \(v.name): quorum \(v.quorumUp ? "up" : "DOWN") (live weight \(v.liveWeight) of \(v.quorum) needed)"
                if let sorry = v.sorryServer { out += ", sorry server \(sorry) \(v.sorryServerActive ? "ACTIVE" : "standby")" }
                out += "\n"
                if let refused = v.notInForce { out += "    NOT IN FORCE: \(refused)\n" }
                if v.checksSuspended == true { out += "    health checks suspended: the address is not on this director (ha_suspend)\n" }
                if let announced = v.announced {
                    out += announced ? "    announced for \(ago(v.announcedSince ?? now, now))" : "    NOT announced for \(ago(v.announcedSince ?? now, now))"
                    if let reason = v.announceReason { out += ": \(reason)" }
                    out += "\n"
                }
                for r in v.reals {
                    out += r.removing == true ? "    \(r.address) removed" : "    \(r.address) \(r.up ? "up" : "DOWN") for \(ago(r.since, now))"
                    out += r.kernelWeight.map { ", weight \($0) in kernel" } ?? ", not in kernel"
                    if let summary = r.overrideSummary { out += " [\(summary)]" }
                    if !r.lastResult.isEmpty { out += " — \(r.lastResult)" }
                    out += "\n"
                }
            }
        }
        return out
    }

    static func ago(_ then: Double, _ now: Double) -> String {
        let s = max(0, Int(now - then))
        if s < 120 { return "\(s)s" }
        if s < 7200 { return "\(s / 60)m" }
        if s < 172_800 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
    }
}
