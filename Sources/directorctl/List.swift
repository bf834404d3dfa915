// `directorctl list`: the IPVS table as `ipvsadm -Ln` prints it, read straight from the kernel.
import ArgumentParser
import Glibc
import IPVS

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the kernel's IPVS table exactly as `ipvsadm -Ln` would.",
        discussion: """
            Reads the kernel directly over generic netlink (the daemon need not run) and prints byte for byte
            what `ipvsadm -Ln` prints with the same options. Addresses and ports are always numeric.

            --json prints the same data as one JSON object:
              {"version": "1.2.1", "connectionTableSize": 4096,
               "services": [{"protocol": "tcp"|"udp"|"sctp"|null, "address": "10.0.0.1"|null, "port": 80|null,
                             "fwmark": 0, "family": "inet"|"inet6", "scheduler": "wlc",
                             "flags": ["persistent", "one-packet", "sh-fallback", ...], "flagBits": 1,
                             "timeout": 300, "netmask": "255.255.255.255" | 128, "persistenceEngine": "sip"|null,
                             "stats": STATS,
                             "destinations": [{"address": "192.168.1.1", "port": 80, "forwarding": "masq"|"route"|"tunnel"|"local"|"bypass",
                                               "weight": 1, "upperThreshold": 0, "lowerThreshold": 0,
                                               "activeConnections": 0, "inactiveConnections": 0,
                                               "persistentConnections": 0, "stats": STATS}]}],
               "timeouts": {"tcp": 900, "tcpFin": 120, "udp": 300},
               "daemons": [{"state": "master"|"backup", "interface": "eth0", "syncID": 0, "maxLength": 1472,
                            "group": "224.0.0.81"|null, "port": 8848, "ttl": 1}]}
              STATS = {"connections", "inPackets", "outPackets", "inBytes", "outBytes", "connectionRate",
                       "inPacketRate", "outPacketRate", "inByteRate", "outByteRate"} (integers)
            Services and destinations appear in the same order as in the text listing.

            Examples:
              directorctl list                      the whole table
              directorctl list --stats --exact      counters, unrounded
              directorctl list -t 10.0.0.1:80       one service
              directorctl list -f 7 -6              an IPv6 firewall-mark service
              directorctl list --daemon             the sync daemons
            """
    )

    @Option(name: [.customShort("t"), .customLong("tcp-service")], help: "Only this TCP service (ADDR:PORT, [V6]:PORT).")
    var tcpService: String?

    @Option(name: [.customShort("u"), .customLong("udp-service")], help: "Only this UDP service.")
    var udpService: String?

    @Option(name: .customLong("sctp-service"), help: "Only this SCTP service.")
    var sctpService: String?

    @Option(name: [.customShort("f"), .customLong("fwmark-service")], help: "Only this firewall-mark service.")
    var fwmarkService: UInt32?

    @Flag(name: [.customShort("6"), .customLong("ipv6")], help: "With -f: the IPv6 firewall-mark service.")
    var ipv6 = false

    @Flag(help: "Packet, byte and connection counters.")
    var stats = false

    @Flag(help: "Connection, packet and byte rates.")
    var rate = false

    @Flag(help: "Upper and lower connection thresholds of each real server.")
    var thresholds = false

    @Flag(name: .customLong("persistent-conn"), help: "Persistent connection counts of each real server.")
    var persistentConn = false

    @Flag(help: "Only the TCP, TCP FIN and UDP connection timeouts.")
    var timeout = false

    @Flag(help: "Only the connection synchronization daemons.")
    var daemon = false

    @Flag(help: "Exact counter values instead of K/M/G/T multiples (with --stats or --rate).")
    var exact = false

    @Flag(name: [.customShort("n"), .customLong("numeric")], help: "Accepted for ipvsadm compatibility; output is always numeric.")
    var numeric = false

    @Flag(help: "The table, timeouts and sync daemons as JSON (schema above).")
    var json = false

    func validate() throws {
        let views = [stats, rate, thresholds, persistentConn].filter { $0 }.count
        let selections = [tcpService != nil, udpService != nil, sctpService != nil, fwmarkService != nil].filter { $0 }.count
        if views > 1 { throw ValidationError("--stats, --rate, --thresholds and --persistent-conn exclude each other") }
        if selections > 1 { throw ValidationError("select at most one service (-t, -u, --sctp-service or -f)") }
        if (timeout || daemon) && (views > 0 || selections > 0 || (timeout && daemon)) {
            throw ValidationError("--timeout and --daemon cannot be combined with other listing options")
        }
        if json && (views > 0 || timeout || daemon || exact) {
            throw ValidationError("--json includes everything; it takes no other view option")
        }
        if ipv6 && fwmarkService == nil { throw ValidationError("-6 applies to -f only") }
        if fwmarkService == 0 { throw ValidationError("invalid fwmark value `0' specified") }
    }

    var variant: IPVSListVariant {
        if stats { return .stats }
        if rate { return .rate }
        if thresholds { return .thresholds }
        if persistentConn { return .persistentConnections }
        return .standard
    }

    func selectedKey() throws -> IPVSServiceKey? {
        func parse(_ text: String, _ proto: IPVSProtocol, _ option: String) throws -> IPVSServiceKey {
            guard let e = Endpoint(parsing: text) else {
                throw ValidationError("\(option): `\(text)' is not a numeric ADDR:PORT or [IPV6]:PORT")
            }
            return .address(proto, e.address, port: e.port)
        }
        if let t = tcpService { return try parse(t, .tcp, "-t") }
        if let u = udpService { return try parse(u, .udp, "-u") }
        if let s = sctpService { return try parse(s, .sctp, "--sctp-service") }
        if let f = fwmarkService { return .firewallMark(f, family: ipv6 ? .ipv6 : .ipv4) }
        return nil
    }

    mutating func run() throws {
        let key = try selectedKey()
        do {
            let table = try KernelIPVSTable()
            let options = IPVSListOptions(variant: variant, exact: exact)
            let text: String
            if json {
                text = try IPVSJSON.document(table: table, only: key)
            } else if timeout {
                text = IPVSListFormatter.timeouts(try table.timeouts())
            } else if daemon {
                text = IPVSListFormatter.daemons(try table.syncDaemons())
            } else if let key {
                text = IPVSListFormatter.single(try table.service(key), options: options)
            } else {
                let info = try table.info()
                text = IPVSListFormatter.table(info: info, services: try table.services(), options: options)
            }
            writeStdout(text)
        } catch let error as IPVSError {
            writeStderr("directorctl list: \(error)\n")
            throw ExitCode(error == .unavailable ? 3 : 1)
        }
    }
}

/// One write for the whole listing: a 32k-destination table is printed without per-line overhead.
private func writeStdout(_ text: String) {
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            return
        }
        offset += n
    }
}

private func writeStderr(_ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
