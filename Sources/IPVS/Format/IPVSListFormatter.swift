/// Which table `ipvsadm -L` prints; the precedence among them is ipvsadm's (stats, rate, thresholds, persistent-conn).
public enum IPVSListVariant: String, Sendable, CaseIterable {
    case standard
    case stats
    case rate
    case thresholds
    case persistentConnections
}

public struct IPVSListOptions: Sendable, Hashable {
    public var variant: IPVSListVariant
    /// `--exact`: full counter values instead of K/M/G/T.
    public var exact: Bool

    public init(variant: IPVSListVariant = .standard, exact: Bool = false) {
        self.variant = variant
        self.exact = exact
    }
}

/// Prints IPVS state byte for byte as ipvsadm 1.31 `-Ln` does (print_title, print_service_entry,
/// print_largenum, print_timeout, print_daemon in ipvsadm.c). Pure: values in, text out.
public enum IPVSListFormatter {
    /// `ipvsadm -Ln [variant]`: the version header, the column titles, every service sorted as ipvsadm sorts.
    public static func table(info: IPVSInfo, services: [IPVSServiceEntry], options: IPVSListOptions = .init()) -> String {
        var out = "IP Virtual Server version \(info.versionString) (size=\(Int32(bitPattern: info.connectionTableSize)))\n"
        out += title(options.variant)
        for entry in glibcMergeSort(services, by: compareServices) {
            out += service(entry, options: options)
        }
        return out
    }

    /// `ipvsadm -Ln -t ADDR:PORT`: no version header, just the titles and the one service.
    public static func single(_ entry: IPVSServiceEntry, options: IPVSListOptions = .init()) -> String {
        title(options.variant) + service(entry, options: options)
    }

    /// `ipvsadm -Ln --timeout`.
    public static func timeouts(_ t: IPVSTimeouts) -> String {
        "Timeout (tcp tcpfin udp): \(Int32(bitPattern: t.tcp)) \(Int32(bitPattern: t.tcpFin)) \(Int32(bitPattern: t.udp))\n"
    }

    /// `ipvsadm -Ln --daemon`: master before backup, optional fields only when the kernel reports them.
    public static func daemons(_ daemons: [IPVSSyncDaemon]) -> String {
        var out = ""
        // libipvs fills two slots in dump order; the kernel dumps master first.
        for d in daemons.prefix(2) {
            out += "\(d.state.name) sync daemon (mcast=\(d.interface), syncid=\(Int32(bitPattern: d.syncID))"
            if d.maxLength != 0 { out += ", maxlen=\(d.maxLength)" }
            if let g = d.group { out += ", group=\(g)" }
            if d.port != 0 { out += ", port=\(d.port)" }
            if d.ttl != 0 { out += ", ttl=\(d.ttl)" }
            out += ")\n"
        }
        return out
    }

    // MARK: Pieces of print_service_entry

    static func title(_ variant: IPVSListVariant) -> String {
        switch variant {
        case .stats:
            return pad("Prot LocalAddress:Port", 33) + " " + ["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"].map { left($0, 8) }.joined(separator: " ")
                + "\n  -> RemoteAddress:Port\n"
        case .rate:
            return pad("Prot LocalAddress:Port", 33) + " " + ["CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"].map { left($0, 8) }.joined(separator: " ")
                + "\n  -> RemoteAddress:Port\n"
        case .thresholds:
            return pad("Prot LocalAddress:Port", 33) + " " + ["Uthreshold", "Lthreshold", "ActiveConn", "InActConn"].map { pad($0, 10) }.joined(separator: " ")
                + "\n  -> RemoteAddress:Port\n"
        case .persistentConnections:
            return pad("Prot LocalAddress:Port", 33) + " " + pad("Weight", 9) + " " + pad("PersistConn", 11) + " "
                + pad("ActiveConn", 10) + " " + pad("InActConn", 10) + "\n  -> RemoteAddress:Port\n"
        case .standard:
            return "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
        }
    }

    /// The service column: "TCP  10.0.0.1:80", "FWM  7", "FWM  7 IPv6".
    static func serviceName(_ key: IPVSServiceKey) -> String {
        switch key {
        case .firewallMark(let mark, let family):
            // ipvsadm prints the mark with %d.
            return "FWM  \(Int32(bitPattern: mark))" + (family == .ipv6 ? " IPv6" : "")
        case .address(let proto, let address, let port):
            return pad(proto.listName, 4) + " " + addressPort(address, port)
        }
    }

    /// addrport_to_anyname() with -n: IPv6 in brackets.
    static func addressPort(_ address: IPAddress, _ port: UInt16) -> String {
        address.family == .ipv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    static func service(_ entry: IPVSServiceEntry, options: IPVSListOptions) -> String {
        let s = entry.service
        let name = serviceName(s.key)
        var out: String
        switch options.variant {
        case .stats:
            let st = entry.stats
            out = pad(name, 33) + [st.connections, st.inPackets, st.outPackets, st.inBytes, st.outBytes]
                .map { largeNumber($0, exact: options.exact) }.joined()
        case .rate:
            let st = entry.stats
            out = pad(name, 33) + [st.connectionRate, st.inPacketRate, st.outPacketRate, st.inByteRate, st.outByteRate]
                .map { largeNumber($0, exact: options.exact) }.joined()
        case .standard, .thresholds, .persistentConnections:
            out = name + " " + s.scheduler
            if !s.flags.intersection([.scheduler1, .scheduler2, .scheduler3]).isEmpty {
                out += " (" + schedulerFlags(s) + ")"
            }
            if s.flags.contains(.persistent) {
                out += " persistent \(s.timeout)"
                switch s.key.family {
                case .ipv4:
                    if s.netmask != 0xFFFF_FFFF { out += " mask \(dotted(s.netmask))" }
                case .ipv6:
                    if s.netmask != 128 { out += " mask \(Int32(bitPattern: s.netmask))" }
                }
                // ipvsadm shows the persistence engine only inside the persistent branch.
                if let pe = s.persistenceEngine, !pe.isEmpty { out += " pe \(pe)" }
            }
            if s.flags.contains(.onePacket) { out += " ops" }
        }
        out += "\n"
        for d in glibcMergeSort(entry.destinations, by: compareDestinations) {
            out += destination(d, options: options)
        }
        return out
    }

    /// print_sched_flags(): names for sh and mh (which never show flag-3), "flag-N" otherwise, comma separated.
    static func schedulerFlags(_ s: IPVSService) -> String {
        var names: [String] = []
        switch s.scheduler {
        case "sh":
            if s.flags.contains(.scheduler1) { names.append("sh-fallback") }
            if s.flags.contains(.scheduler2) { names.append("sh-port") }
        case "mh":
            if s.flags.contains(.scheduler1) { names.append("mh-fallback") }
            if s.flags.contains(.scheduler2) { names.append("mh-port") }
        default:
            if s.flags.contains(.scheduler1) { names.append("flag-1") }
            if s.flags.contains(.scheduler2) { names.append("flag-2") }
            if s.flags.contains(.scheduler3) { names.append("flag-3") }
        }
        return names.joined(separator: ",")
    }

    static func destination(_ e: IPVSDestinationEntry, options: IPVSListOptions) -> String {
        let d = e.destination
        var name = addressPort(d.address, d.port)
        // ipvsadm cuts IPv4 names to 28 characters (they never are that long); IPv6 ones overflow the column.
        if d.address.family == .ipv4 { name = String(name.prefix(28)) }
        let arrow = "  -> " + pad(name, 28)
        switch options.variant {
        case .stats:
            let st = e.stats
            return arrow + [st.connections, st.inPackets, st.outPackets, st.inBytes, st.outBytes]
                .map { largeNumber($0, exact: options.exact) }.joined() + "\n"
        case .rate:
            let st = e.stats
            return arrow + " " + left(String(st.connectionRate), 8) + " " + left(String(st.inPacketRate), 8) + " "
                + left(String(st.outPacketRate), 8)
                + largeNumber(st.inByteRate, exact: options.exact) + largeNumber(st.outByteRate, exact: options.exact) + "\n"
        case .thresholds:
            return arrow + " " + pad(String(d.upperThreshold), 10) + " " + pad(String(d.lowerThreshold), 10) + " "
                + pad(String(e.activeConnections), 10) + " " + pad(String(e.inactiveConnections), 10) + "\n"
        case .persistentConnections:
            return arrow + " " + pad(String(d.weight), 9) + " " + pad(String(e.persistentConnections), 11) + " "
                + pad(String(e.activeConnections), 10) + " " + pad(String(e.inactiveConnections), 10) + "\n"
        case .standard:
            return arrow + " " + pad(d.forwarding.listName, 7) + " " + pad(String(d.weight), 6) + " "
                + pad(String(e.activeConnections), 10) + " " + pad(String(e.inactiveConnections), 10) + "\n"
        }
    }

    /// print_largenum(): each number with its leading space; 9 columns, scaled to K/M/G/T past 8 digits.
    static func largeNumber(_ n: UInt64, exact: Bool) -> String {
        if exact {
            let digits = String(n)
            return left(digits, max(digits.count, 8) + 1)
        }
        if n <= 99_999_999 { return left(String(n), 9) }
        if n <= 999_999_999 { return left(String(n / 1000), 8) + "K" }
        if n <= 99_999_999_999 { return left(String(n / 1_000_000), 8) + "M" }
        if n <= 99_999_999_999_999 { return left(String(n / 1_000_000_000), 8) + "G" }
        return left(String(n / 1_000_000_000_000), 8) + "T"
    }

    static func dotted(_ mask: UInt32) -> String {
        "\(mask >> 24).\((mask >> 16) & 0xFF).\((mask >> 8) & 0xFF).\(mask & 0xFF)"
    }

    /// printf("%-Ns").
    static func pad(_ s: String, _ width: Int) -> String {
        let n = s.utf8.count
        return n >= width ? s : s + String(repeating: " ", count: width - n)
    }

    /// printf("%Ns").
    static func left(_ s: String, _ width: Int) -> String {
        let n = s.utf8.count
        return n >= width ? s : String(repeating: " ", count: width - n) + s
    }

    // MARK: libipvs's sort, reproduced exactly

    /// ipvs_cmp_services(): the differences are computed in unsigned 32-bit and read as int, so addresses more
    /// than 2^31 apart compare "backwards" (192.168.0.1 sorts before 10.0.0.1). ipvsadm shows that order.
    static func compareServices(_ a: IPVSServiceEntry, _ b: IPVSServiceEntry) -> Int32 {
        let ka = a.service.key, kb = b.service.key
        var r = wrappedDifference(fwmark(ka), fwmark(kb))
        if r != 0 { return r }
        r = Int32(ka.family.kernelValue) - Int32(kb.family.kernelValue)
        if r != 0 { return r }
        r = Int32(proto(ka)) - Int32(proto(kb))
        if r != 0 { return r }
        r = compareAddresses(address(ka), address(kb))
        if r != 0 { return r }
        return Int32(port(ka)) - Int32(port(kb))
    }

    /// ipvs_cmp_dests(): same arithmetic on address then port.
    static func compareDestinations(_ a: IPVSDestinationEntry, _ b: IPVSDestinationEntry) -> Int32 {
        let r = compareAddresses(a.destination.address, b.destination.address)
        if r != 0 { return r }
        return Int32(a.destination.port) - Int32(b.destination.port)
    }

    /// The first operand's family decides how many words are compared (as in libipvs).
    static func compareAddresses(_ a: IPAddress, _ b: IPAddress) -> Int32 {
        let wa = a.words, wb = b.words
        let count = a.family == .ipv6 ? 4 : 1
        var r: Int32 = 0
        var i = 0
        while r == 0, i < count {
            r = wrappedDifference(i < wa.count ? wa[i] : 0, i < wb.count ? wb[i] : 0)
            i += 1
        }
        return r
    }

    static func wrappedDifference(_ a: UInt32, _ b: UInt32) -> Int32 { Int32(bitPattern: a &- b) }

    private static func fwmark(_ k: IPVSServiceKey) -> UInt32 {
        if case .firewallMark(let m, _) = k { return m }
        return 0
    }
    private static func proto(_ k: IPVSServiceKey) -> UInt16 {
        if case .address(let p, _, _) = k { return p.rawValue }
        return 0
    }
    private static func address(_ k: IPVSServiceKey) -> IPAddress {
        if case .address(_, let a, _) = k { return a }
        return .zero(k.family)
    }
    private static func port(_ k: IPVSServiceKey) -> UInt16 {
        if case .address(_, _, let p) = k { return p }
        return 0
    }
}

/// glibc's qsort (2.36; msort.c): a top-down merge sort taking the left element when cmp <= 0. With libipvs's
/// non-transitive comparators the result depends on the algorithm, so we run the same one on the same input order.
func glibcMergeSort<T>(_ items: [T], by compare: (T, T) -> Int32) -> [T] {
    var a = items
    var tmp = items
    func sort(_ lo: Int, _ n: Int) {
        if n <= 1 { return }
        let n1 = n / 2
        let n2 = n - n1
        sort(lo, n1)
        sort(lo + n1, n2)
        var i = lo, j = lo + n1, k = lo
        let iEnd = lo + n1, jEnd = lo + n
        while i < iEnd, j < jEnd {
            if compare(a[i], a[j]) <= 0 {
                tmp[k] = a[i]; i += 1
            } else {
                tmp[k] = a[j]; j += 1
            }
            k += 1
        }
        while i < iEnd { tmp[k] = a[i]; i += 1; k += 1 }
        // The tail of the right run is already in place.
        for x in lo..<k { a[x] = tmp[x] }
    }
    sort(0, a.count)
    return a
}
