import ArgumentParser
import ControlProtocol
import FoundationEssentials
import Glibc

/// VIRTUAL REAL, or --all REAL: the targets `drain` and `undrain` share.
struct RealSelection: ParsableArguments {
    @Flag(name: .customLong("all"), help: "Every virtual server REAL is in (a machine going into maintenance).")
    var all = false

    @Argument(help: ArgumentHelp(
        "VIRTUAL REAL, or REAL with --all. VIRTUAL: ADDR:PORT (TCP), udp:ADDR:PORT, sctp:ADDR:PORT, fwmark:N or group:NAME; REAL: ADDR:PORT ([ADDR]:PORT for IPv6).",
        valueName: "target"))
    var targets: [String] = []

    func validate() throws {
        if all, targets.count != 1 { throw ValidationError("with --all, name the real only: --all REAL") }
        if !all, targets.count != 2 { throw ValidationError("name the virtual server and the real: VIRTUAL REAL (or --all REAL)") }
    }

    var virtualServer: String? { all ? nil : targets[0] }
    var real: String { targets[targets.count - 1] }
}

struct Drain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Take a real out of service gently: weight 0 in IPVS, its established connections go on.",
        discussion: """
            The real gets no new connection from the moment directord answers; the connections it serves continue. \
            The drain survives reloads (while the real stays configured) and restarts (the state file). Health \
            still rules: quorum and the sorry server count a drained real as not live. With --wait, directorctl \
            returns when the real's active connections reach 0 (exit 0), or when --timeout passes (exit 1, with \
            the count left). Exit 1 also for an unknown virtual server or real (the message lists those that exist), \
            3 when directord cannot be reached.
            Examples: `directorctl drain 192.0.2.10:80 10.0.0.11:80 --wait --timeout 600`, \
            `directorctl drain --all 10.0.0.11:80`.
            """)

    @OptionGroup var selection: RealSelection

    @Flag(name: .customLong("wait"), help: "Wait until the real's active connections reach 0.")
    var wait = false

    @Option(name: .customLong("timeout"), help: "With --wait: give up after this many seconds (exit 1).")
    var timeout: Int = 300

    @Option(name: .customLong("interval"), help: .hidden)
    var interval: Double = 1

    @OptionGroup var connection: SocketPathOption

    func run() throws {
        let response = try sendExpectingOK(.override(virtualServer: selection.virtualServer, real: selection.real, change: .drain), socket: connection.socket)
        print(response.message)
        guard wait else { return }
        let deadline = Date().addingTimeInterval(Double(timeout))
        var drains = response.drains ?? []
        while true {
            let left = drains.filter { ($0.activeConnections ?? 0) > 0 }
            if left.isEmpty {
                print("drained: no active connection left")
                return
            }
            if Date() >= deadline {
                for d in left { print("\(d.real) in \(d.virtualServer): \(d.activeConnections ?? 0) active connections left") }
                printError("directorctl: timed out after \(timeout)s with \(left.reduce(0) { $0 + Int($1.activeConnections ?? 0) }) active connections left")
                throw ExitCode(1)
            }
            usleep(UInt32(min(interval, max(0.05, deadline.timeIntervalSinceNow)) * 1_000_000))
            let progress = try sendExpectingOK(.drainProgress(virtualServer: selection.virtualServer, real: selection.real), socket: connection.socket)
            drains = progress.drains ?? []
        }
    }
}

struct Undrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Return a drained real to service.",
        discussion: """
            The real returns to its configured weight (or its `directorctl weight` override), as health allows: a \
            real that is down by its checks stays out until they pass. Exit 1 for an unknown virtual server or \
            real, 3 when directord cannot be reached.
            """)

    @OptionGroup var selection: RealSelection
    @OptionGroup var connection: SocketPathOption

    func run() throws {
        let response = try sendExpectingOK(.override(virtualServer: selection.virtualServer, real: selection.real, change: .undrain), socket: connection.socket)
        print(response.message)
    }
}
