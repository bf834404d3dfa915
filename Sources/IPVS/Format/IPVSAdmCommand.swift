/// One ipvsadm command line (the syntax of `ipvsadm` and of `ipvsadm-restore` lines), as table changes.
/// Lets the lab and tools drive directord's binding with the exact spelling they would give ipvsadm.
public enum IPVSAdmCommand: Hashable, Sendable {
    case operation(IPVSOperation)
    case flush
    case zero(IPVSServiceKey?)
    case setTimeouts(IPVSTimeouts)
    case startDaemon(IPVSSyncDaemon)
    case stopDaemon(IPVSSyncState)
}

public struct IPVSAdmSyntaxError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension IPVSAdmCommand {
    /// Parses ipvsadm arguments with ipvsadm's defaults: scheduler wlc, persistence 360 s, forwarding -g,
    /// weight 1, real-server port = service port (0 for fwmark services). A leading "ipvsadm" is ignored.
    public static func parse(_ arguments: [String]) throws -> IPVSAdmCommand {
        var args = arguments[...]
        if args.first == "ipvsadm" { args = args.dropFirst() }
        func fail(_ m: String) -> IPVSAdmSyntaxError { IPVSAdmSyntaxError(message: m) }

        enum Verb { case addService, editService, deleteService, addServer, editServer, deleteServer, clear, zero, set, start, stop }
        var verb: Verb? = nil
        var proto: IPVSProtocol? = nil
        var endpoint: Endpoint? = nil
        var fwmark: UInt32? = nil
        var ipv6 = false
        var scheduler = "wlc"
        var persistent: UInt32? = nil
        var netmaskText: String? = nil
        var schedFlags: [String] = []
        var pe: String? = nil
        var onePacket = false
        var real: String? = nil
        var forwarding: IPVSForwarding = .route
        var weight: Int32 = 1
        var upper: UInt32 = 0
        var lower: UInt32 = 0
        var setValues: [UInt32] = []
        var daemonState: IPVSSyncState? = nil
        var syncID: UInt32 = 0
        var maxLength: UInt16 = 0
        var interface = ""
        var group: IPAddress? = nil
        var mcastPort: UInt16 = 0
        var ttl: UInt8 = 0

        func value(_ option: String) throws -> String {
            guard let v = args.popFirst() else { throw fail("option \(option) needs a value") }
            return v
        }
        func number<T: FixedWidthInteger>(_ option: String, _ t: T.Type) throws -> T {
            let text = try value(option)
            guard let n = T(text) else { throw fail("\(option): `\(text)' is not a valid number") }
            return n
        }
        func setVerb(_ v: Verb, _ option: String) throws {
            if verb != nil { throw fail("more than one command (\(option))") }
            verb = v
        }
        func state(_ option: String) throws -> IPVSSyncState {
            switch try value(option) {
            case "master": return .master
            case "backup": return .backup
            case let other: throw fail("\(option): `\(other)' is neither master nor backup")
            }
        }

        while let arg = args.popFirst() {
            switch arg {
            case "-A", "--add-service": try setVerb(.addService, arg)
            case "-E", "--edit-service": try setVerb(.editService, arg)
            case "-D", "--delete-service": try setVerb(.deleteService, arg)
            case "-a", "--add-server": try setVerb(.addServer, arg)
            case "-e", "--edit-server": try setVerb(.editServer, arg)
            case "-d", "--delete-server": try setVerb(.deleteServer, arg)
            case "-C", "--clear": try setVerb(.clear, arg)
            case "-Z", "--zero": try setVerb(.zero, arg)
            case "--set":
                try setVerb(.set, arg)
                setValues = [try number(arg, UInt32.self), try number(arg, UInt32.self), try number(arg, UInt32.self)]
            case "--start-daemon":
                try setVerb(.start, arg)
                daemonState = try state(arg)
            case "--stop-daemon":
                try setVerb(.stop, arg)
                daemonState = try state(arg)
            case "-t", "--tcp-service", "-u", "--udp-service", "--sctp-service":
                let text = try value(arg)
                guard let e = Endpoint(parsing: text) else { throw fail("\(arg): `\(text)' is not a numeric address[:port]") }
                proto = arg.hasPrefix("-t") || arg == "--tcp-service" ? .tcp : (arg.hasPrefix("-u") || arg == "--udp-service" ? .udp : .sctp)
                endpoint = e
            case "-f", "--fwmark-service":
                let mark = try number(arg, UInt32.self)
                guard mark != 0 else { throw fail("invalid fwmark value `0' specified") }
                fwmark = mark
            case "-6", "--ipv6": ipv6 = true
            case "-s", "--scheduler": scheduler = try value(arg)
            case "-p", "--persistent":
                // The timeout is optional: only a following number is taken as it.
                if let next = args.first, let t = UInt32(next) {
                    args = args.dropFirst()
                    persistent = t
                } else {
                    // libipvs's IPVS_SVC_PERSISTENT_TIMEOUT is 6*60, whatever the man page's "300" says.
                    persistent = 360
                }
            case "-M", "--netmask": netmaskText = try value(arg)
            case "-b", "--sched-flags": schedFlags = try value(arg).split(separator: ",").map(String.init)
            case "--pe": pe = try value(arg)
            case "-o", "--ops": onePacket = true
            case "-r", "--real-server": real = try value(arg)
            case "-g", "--gatewaying": forwarding = .route
            case "-m", "--masquerading": forwarding = .masquerade
            case "-i", "--ipip": forwarding = .tunnel
            case "-w", "--weight": weight = try number(arg, Int32.self)
            case "-x", "--u-threshold": upper = try number(arg, UInt32.self)
            case "-y", "--l-threshold": lower = try number(arg, UInt32.self)
            case "--syncid": syncID = try number(arg, UInt32.self)
            case "--sync-maxlen": maxLength = try number(arg, UInt16.self)
            case "--mcast-interface": interface = try value(arg)
            case "--mcast-group":
                let text = try value(arg)
                guard let g = IPAddress(text) else { throw fail("invalid mcast-group `\(text)'") }
                group = g
            case "--mcast-port": mcastPort = try number(arg, UInt16.self)
            case "--mcast-ttl": ttl = try number(arg, UInt8.self)
            case "-n", "--numeric": continue
            default: throw fail("unknown or unsupported option `\(arg)'")
            }
        }

        guard let verb else { throw fail("no command (-A, -E, -D, -a, -e, -d, -C, -Z, --set, --start-daemon, --stop-daemon)") }
        var key: IPVSServiceKey? = nil
        if let fwmark {
            key = .firewallMark(fwmark, family: ipv6 ? .ipv6 : .ipv4)
        } else if let proto, let endpoint {
            key = .address(proto, endpoint.address, port: endpoint.port)
        }
        func requireKey() throws -> IPVSServiceKey {
            guard let key else { throw fail("a virtual service (-t, -u, --sctp-service or -f) is required") }
            return key
        }
        func service() throws -> IPVSService {
            let key = try requireKey()
            var flags: IPVSServiceFlags = []
            if persistent != nil { flags.insert(.persistent) }
            if onePacket { flags.insert(.onePacket) }
            for name in schedFlags {
                switch name {
                case "flag-1", "sh-fallback", "mh-fallback": flags.insert(.scheduler1)
                case "flag-2", "sh-port", "mh-port": flags.insert(.scheduler2)
                case "flag-3": flags.insert(.scheduler3)
                default: throw fail("invalid scheduler flag `\(name)'")
                }
            }
            var netmask = IPVSService.defaultNetmask(key.family)
            if let text = netmaskText {
                if key.family == .ipv6 {
                    guard let p = UInt32(text), (1...128).contains(p) else { throw fail("illegal ipv6 netmask specified") }
                    netmask = p
                } else {
                    guard let a = IPAddress(text), a.family == .ipv4 else { throw fail("illegal virtual server persistent mask specified") }
                    netmask = a.words[0]
                }
            }
            return IPVSService(key: key, scheduler: scheduler, flags: flags, timeout: persistent ?? 0, netmask: netmask, persistenceEngine: pe)
        }
        func destination() throws -> IPVSDestination {
            let key = try requireKey()
            guard let real else { throw fail("a real server (-r) is required") }
            guard let (parsed, portGiven) = Endpoint.parse(real) else {
                throw fail("-r: `\(real)' is not a numeric address[:port]")
            }
            var e = parsed
            // ipvsadm: without a port the real server takes the service's port (0 for fwmark services).
            if !portGiven, case .address(_, _, let port) = key { e.port = port }
            // ipvsadm also forces the service's port on direct-routing and tunnel servers it adds or edits.
            if verb != .deleteServer, forwarding != .masquerade, case .address(_, _, let port) = key { e.port = port }
            return IPVSDestination(address: e.address, port: e.port, forwarding: forwarding, weight: weight,
                                   upperThreshold: upper, lowerThreshold: lower)
        }

        switch verb {
        case .addService: return .operation(.addService(try service()))
        case .editService: return .operation(.updateService(try service()))
        case .deleteService: return .operation(.deleteService(try requireKey()))
        case .addServer: return .operation(.addDestination(try requireKey(), try destination()))
        case .editServer: return .operation(.updateDestination(try requireKey(), try destination()))
        case .deleteServer:
            let d = try destination()
            return .operation(.deleteDestination(try requireKey(), d.endpoint))
        case .clear: return .flush
        case .zero: return .zero(key)
        case .set: return .setTimeouts(IPVSTimeouts(tcp: setValues[0], tcpFin: setValues[1], udp: setValues[2]))
        case .start:
            guard let daemonState else { throw fail("--start-daemon needs master or backup") }
            if interface.isEmpty { throw fail("--start-daemon needs --mcast-interface") }
            return .startDaemon(IPVSSyncDaemon(state: daemonState, interface: interface, syncID: syncID, maxLength: maxLength,
                                               group: group, port: mcastPort, ttl: ttl))
        case .stop:
            guard let daemonState else { throw fail("--stop-daemon needs master or backup") }
            return .stopDaemon(daemonState)
        }
    }

    /// Splits an ipvsadm-restore line into words (blank lines and # comments give nil).
    public static func words(ofLine line: Substring) -> [String]? {
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        if trimmed.isEmpty || trimmed.hasPrefix("#") { return nil }
        return trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
    }
}
