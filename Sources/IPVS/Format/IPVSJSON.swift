/// The JSON form of `directorctl list --json` (schema in `directorctl list --help`). Hand-written so the
/// field order is stable and no Foundation is needed.
public enum IPVSJSON {
    /// Reads what the document needs from a table; `only` restricts it to one service.
    public static func document(table: IPVSTable, only key: IPVSServiceKey?) throws -> String {
        let info = try table.info()
        let services = try key.map { [try table.service($0)] } ?? table.services()
        return document(info: info, services: services, timeouts: try table.timeouts(), daemons: try table.syncDaemons())
    }

    public static func document(info: IPVSInfo, services: [IPVSServiceEntry], timeouts: IPVSTimeouts, daemons: [IPVSSyncDaemon]) -> String {
        var o = JSONObject()
        o.add("version", string: info.versionString)
        o.add("connectionTableSize", raw: String(info.connectionTableSize))
        let sorted = glibcMergeSort(services, by: IPVSListFormatter.compareServices)
        o.add("services", raw: array(sorted.map(service)))
        var t = JSONObject()
        t.add("tcp", raw: String(timeouts.tcp))
        t.add("tcpFin", raw: String(timeouts.tcpFin))
        t.add("udp", raw: String(timeouts.udp))
        o.add("timeouts", raw: t.text)
        o.add("daemons", raw: array(daemons.map(daemon)))
        return o.text + "\n"
    }

    static func service(_ e: IPVSServiceEntry) -> String {
        let s = e.service
        var o = JSONObject()
        switch s.key {
        case .address(let proto, let address, let port):
            o.add("protocol", string: String(describing: proto))
            o.add("address", string: address.description)
            o.add("port", raw: String(port))
            o.add("fwmark", raw: "0")
        case .firewallMark(let mark, _):
            o.add("protocol", raw: "null")
            o.add("address", raw: "null")
            o.add("port", raw: "null")
            o.add("fwmark", raw: String(mark))
        }
        o.add("family", string: s.key.family == .ipv4 ? "inet" : "inet6")
        o.add("scheduler", string: s.scheduler)
        o.add("flags", raw: array(flagNames(s).map(quote)))
        o.add("flagBits", raw: String(s.flags.rawValue))
        o.add("timeout", raw: String(s.timeout))
        if s.key.family == .ipv4 {
            o.add("netmask", string: IPVSListFormatter.dotted(s.netmask))
        } else {
            o.add("netmask", raw: String(s.netmask))
        }
        o.add("persistenceEngine", raw: s.persistenceEngine.map(quote) ?? "null")
        o.add("stats", raw: stats(e.stats))
        let dests = glibcMergeSort(e.destinations, by: IPVSListFormatter.compareDestinations)
        o.add("destinations", raw: array(dests.map(destination)))
        return o.text
    }

    static func flagNames(_ s: IPVSService) -> [String] {
        var names: [String] = []
        if s.flags.contains(.persistent) { names.append("persistent") }
        if s.flags.contains(.hashed) { names.append("hashed") }
        if s.flags.contains(.onePacket) { names.append("one-packet") }
        let sched = IPVSListFormatter.schedulerFlags(s)
        if !sched.isEmpty { names += sched.split(separator: ",").map(String.init) }
        return names
    }

    static func destination(_ e: IPVSDestinationEntry) -> String {
        let d = e.destination
        var o = JSONObject()
        o.add("address", string: d.address.description)
        o.add("port", raw: String(d.port))
        let fwd: String
        switch d.forwarding {
        case .masquerade: fwd = "masq"
        case .route: fwd = "route"
        case .tunnel: fwd = "tunnel"
        case .local: fwd = "local"
        case .bypass: fwd = "bypass"
        case .other(let raw): fwd = "fwd-\(raw)"
        }
        o.add("forwarding", string: fwd)
        o.add("weight", raw: String(d.weight))
        o.add("upperThreshold", raw: String(d.upperThreshold))
        o.add("lowerThreshold", raw: String(d.lowerThreshold))
        o.add("activeConnections", raw: String(e.activeConnections))
        o.add("inactiveConnections", raw: String(e.inactiveConnections))
        o.add("persistentConnections", raw: String(e.persistentConnections))
        o.add("stats", raw: stats(e.stats))
        return o.text
    }

    static func stats(_ s: IPVSStats) -> String {
        var o = JSONObject()
        o.add("connections", raw: String(s.connections))
        o.add("inPackets", raw: String(s.inPackets))
        o.add("outPackets", raw: String(s.outPackets))
        o.add("inBytes", raw: String(s.inBytes))
        o.add("outBytes", raw: String(s.outBytes))
        o.add("connectionRate", raw: String(s.connectionRate))
        o.add("inPacketRate", raw: String(s.inPacketRate))
        o.add("outPacketRate", raw: String(s.outPacketRate))
        o.add("inByteRate", raw: String(s.inByteRate))
        o.add("outByteRate", raw: String(s.outByteRate))
        return o.text
    }

    static func daemon(_ d: IPVSSyncDaemon) -> String {
        var o = JSONObject()
        o.add("state", string: d.state.name)
        o.add("interface", string: d.interface)
        o.add("syncID", raw: String(d.syncID))
        o.add("maxLength", raw: String(d.maxLength))
        o.add("group", raw: d.group.map { quote($0.description) } ?? "null")
        o.add("port", raw: String(d.port))
        o.add("ttl", raw: String(d.ttl))
        return o.text
    }

    static func array(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }

    /// A JSON string literal; control characters escaped (interface and scheduler names come from the kernel).
    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}

struct JSONObject {
    private var fields: [String] = []
    mutating func add(_ key: String, raw: String) { fields.append(IPVSJSON.quote(key) + ":" + raw) }
    mutating func add(_ key: String, string: String) { add(key, raw: IPVSJSON.quote(string)) }
    var text: String { "{" + fields.joined(separator: ",") + "}" }
}
