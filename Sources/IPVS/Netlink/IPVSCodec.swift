import CNetlink

/// Generic netlink commands of the IPVS family (enum in linux/ip_vs.h).
enum IPVSCommand: UInt8, CaseIterable {
    case newService = 1, setService, delService, getService
    case newDest, setDest, delDest, getDest
    case newDaemon, delDaemon, getDaemon
    case setConfig, getConfig
    case setInfo, getInfo
    case zero, flush
}

/// Attribute numbers from linux/ip_vs.h, imported from the header so they cannot drift.
enum IPVSAttr {
    static let cmdService = UInt16(IPVS_CMD_ATTR_SERVICE)
    static let cmdDest = UInt16(IPVS_CMD_ATTR_DEST)
    static let cmdDaemon = UInt16(IPVS_CMD_ATTR_DAEMON)
    static let cmdTimeoutTCP = UInt16(IPVS_CMD_ATTR_TIMEOUT_TCP)
    static let cmdTimeoutTCPFin = UInt16(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN)
    static let cmdTimeoutUDP = UInt16(IPVS_CMD_ATTR_TIMEOUT_UDP)

    static let svcAF = UInt16(IPVS_SVC_ATTR_AF)
    static let svcProtocol = UInt16(IPVS_SVC_ATTR_PROTOCOL)
    static let svcAddr = UInt16(IPVS_SVC_ATTR_ADDR)
    static let svcPort = UInt16(IPVS_SVC_ATTR_PORT)
    static let svcFwmark = UInt16(IPVS_SVC_ATTR_FWMARK)
    static let svcSchedName = UInt16(IPVS_SVC_ATTR_SCHED_NAME)
    static let svcFlags = UInt16(IPVS_SVC_ATTR_FLAGS)
    static let svcTimeout = UInt16(IPVS_SVC_ATTR_TIMEOUT)
    static let svcNetmask = UInt16(IPVS_SVC_ATTR_NETMASK)
    static let svcStats = UInt16(IPVS_SVC_ATTR_STATS)
    static let svcPEName = UInt16(IPVS_SVC_ATTR_PE_NAME)
    static let svcStats64 = UInt16(IPVS_SVC_ATTR_STATS64)

    static let destAddr = UInt16(IPVS_DEST_ATTR_ADDR)
    static let destPort = UInt16(IPVS_DEST_ATTR_PORT)
    static let destFwdMethod = UInt16(IPVS_DEST_ATTR_FWD_METHOD)
    static let destWeight = UInt16(IPVS_DEST_ATTR_WEIGHT)
    static let destUThresh = UInt16(IPVS_DEST_ATTR_U_THRESH)
    static let destLThresh = UInt16(IPVS_DEST_ATTR_L_THRESH)
    static let destActiveConns = UInt16(IPVS_DEST_ATTR_ACTIVE_CONNS)
    static let destInactConns = UInt16(IPVS_DEST_ATTR_INACT_CONNS)
    static let destPersistConns = UInt16(IPVS_DEST_ATTR_PERSIST_CONNS)
    static let destStats = UInt16(IPVS_DEST_ATTR_STATS)
    static let destAddrFamily = UInt16(IPVS_DEST_ATTR_ADDR_FAMILY)
    static let destStats64 = UInt16(IPVS_DEST_ATTR_STATS64)

    static let daemonState = UInt16(IPVS_DAEMON_ATTR_STATE)
    static let daemonMcastIfn = UInt16(IPVS_DAEMON_ATTR_MCAST_IFN)
    static let daemonSyncID = UInt16(IPVS_DAEMON_ATTR_SYNC_ID)
    static let daemonSyncMaxlen = UInt16(IPVS_DAEMON_ATTR_SYNC_MAXLEN)
    static let daemonMcastGroup = UInt16(IPVS_DAEMON_ATTR_MCAST_GROUP)
    static let daemonMcastGroup6 = UInt16(IPVS_DAEMON_ATTR_MCAST_GROUP6)
    static let daemonMcastPort = UInt16(IPVS_DAEMON_ATTR_MCAST_PORT)
    static let daemonMcastTTL = UInt16(IPVS_DAEMON_ATTR_MCAST_TTL)

    static let statsConns = UInt16(IPVS_STATS_ATTR_CONNS)
    static let statsInPkts = UInt16(IPVS_STATS_ATTR_INPKTS)
    static let statsOutPkts = UInt16(IPVS_STATS_ATTR_OUTPKTS)
    static let statsInBytes = UInt16(IPVS_STATS_ATTR_INBYTES)
    static let statsOutBytes = UInt16(IPVS_STATS_ATTR_OUTBYTES)
    static let statsCPS = UInt16(IPVS_STATS_ATTR_CPS)
    static let statsInPPS = UInt16(IPVS_STATS_ATTR_INPPS)
    static let statsOutPPS = UInt16(IPVS_STATS_ATTR_OUTPPS)
    static let statsInBPS = UInt16(IPVS_STATS_ATTR_INBPS)
    static let statsOutBPS = UInt16(IPVS_STATS_ATTR_OUTBPS)

    static let infoVersion = UInt16(IPVS_INFO_ATTR_VERSION)
    static let infoConnTabSize = UInt16(IPVS_INFO_ATTR_CONN_TAB_SIZE)
}

/// The IPVS generic netlink codec: Swift values to attribute bytes and back. Pure; no socket.
public enum IPVSCodec {
    static let genlVersion: UInt8 = UInt8(IPVS_GENL_VERSION)

    // MARK: Requests

    /// A request for one table operation, asking for an acknowledgement so batches can be matched by sequence.
    static func request(_ operation: IPVSOperation, family: UInt16, seq: UInt32) -> [UInt8] {
        var out: [UInt8] = []
        appendRequest(operation, family: family, seq: seq, to: &out)
        return out
    }

    /// The same request appended to a datagram being filled (no intermediate arrays).
    static func appendRequest(_ operation: IPVSOperation, family: UInt16, seq: UInt32, to buffer: inout [UInt8]) {
        let command: IPVSCommand
        switch operation {
        case .addService: command = .newService
        case .updateService: command = .setService
        case .deleteService: command = .delService
        case .addDestination: command = .newDest
        case .updateDestination: command = .setDest
        case .deleteDestination: command = .delDest
        }
        NetlinkCodec.appendRequest(
            to: &buffer, family: family, command: command.rawValue, version: genlVersion, flags: NLM.request | NLM.ack,
            seq: seq
        ) { w in
            switch operation {
            case .addService(let s), .updateService(let s):
                w.putNested(IPVSAttr.cmdService) { putService(s, into: &$0) }
            case .deleteService(let key):
                w.putNested(IPVSAttr.cmdService) { putServiceKey(key, into: &$0) }
            case .addDestination(let key, let d), .updateDestination(let key, let d):
                w.putNested(IPVSAttr.cmdService) { putServiceKey(key, into: &$0) }
                w.putNested(IPVSAttr.cmdDest) { putDestination(d, into: &$0) }
            case .deleteDestination(let key, let e):
                w.putNested(IPVSAttr.cmdService) { putServiceKey(key, into: &$0) }
                w.putNested(IPVSAttr.cmdDest) { putEndpoint(e, into: &$0) }
            }
        }
    }

    static func message(_ command: IPVSCommand, family: UInt16, flags: UInt16, seq: UInt32, attributes: [UInt8] = []) -> [UInt8] {
        NetlinkCodec.request(family: family, command: command.rawValue, version: genlVersion, flags: flags, seq: seq, attributes: attributes)
    }

    static func getInfo(family: UInt16, seq: UInt32) -> [UInt8] {
        message(.getInfo, family: family, flags: NLM.request, seq: seq)
    }

    static func getConfig(family: UInt16, seq: UInt32) -> [UInt8] {
        message(.getConfig, family: family, flags: NLM.request, seq: seq)
    }

    static func setConfig(_ t: IPVSTimeouts, family: UInt16, seq: UInt32) -> [UInt8] {
        var w = NetlinkAttributeWriter()
        w.putU32(IPVSAttr.cmdTimeoutTCP, t.tcp)
        w.putU32(IPVSAttr.cmdTimeoutTCPFin, t.tcpFin)
        w.putU32(IPVSAttr.cmdTimeoutUDP, t.udp)
        return message(.setConfig, family: family, flags: NLM.request | NLM.ack, seq: seq, attributes: w.bytes)
    }

    static func dumpServices(family: UInt16, seq: UInt32) -> [UInt8] {
        message(.getService, family: family, flags: NLM.request | NLM.dump, seq: seq)
    }

    /// GET_SERVICE without DUMP: the kernel answers with the one service or ESRCH.
    static func getService(_ key: IPVSServiceKey, family: UInt16, seq: UInt32) -> [UInt8] {
        var w = NetlinkAttributeWriter()
        w.putNested(IPVSAttr.cmdService) { putServiceKey(key, into: &$0) }
        return message(.getService, family: family, flags: NLM.request, seq: seq, attributes: w.bytes)
    }

    static func dumpDestinations(_ key: IPVSServiceKey, family: UInt16, seq: UInt32) -> [UInt8] {
        var w = NetlinkAttributeWriter()
        w.putNested(IPVSAttr.cmdService) { putServiceKey(key, into: &$0) }
        return message(.getDest, family: family, flags: NLM.request | NLM.dump, seq: seq, attributes: w.bytes)
    }

    static func dumpDaemons(family: UInt16, seq: UInt32) -> [UInt8] {
        message(.getDaemon, family: family, flags: NLM.request | NLM.dump, seq: seq)
    }

    static func startDaemon(_ d: IPVSSyncDaemon, family: UInt16, seq: UInt32) -> [UInt8] {
        var w = NetlinkAttributeWriter()
        w.putNested(IPVSAttr.cmdDaemon) { n in
            n.putU32(IPVSAttr.daemonState, d.state.rawValue)
            n.putString(IPVSAttr.daemonMcastIfn, d.interface)
            n.putU32(IPVSAttr.daemonSyncID, d.syncID)
            // Zero means "kernel default" for the optional ones; leaving them out is how ipvsadm asks for that.
            if d.maxLength != 0 { n.putU16(IPVSAttr.daemonSyncMaxlen, d.maxLength) }
            if let g = d.group {
                if g.family == .ipv4 { n.put(IPVSAttr.daemonMcastGroup, g.bytes) } else { n.put(IPVSAttr.daemonMcastGroup6, g.bytes) }
            }
            if d.port != 0 { n.putU16(IPVSAttr.daemonMcastPort, d.port) }
            if d.ttl != 0 { n.putU8(IPVSAttr.daemonMcastTTL, d.ttl) }
        }
        return message(.newDaemon, family: family, flags: NLM.request | NLM.ack, seq: seq, attributes: w.bytes)
    }

    static func stopDaemon(_ state: IPVSSyncState, family: UInt16, seq: UInt32) -> [UInt8] {
        var w = NetlinkAttributeWriter()
        w.putNested(IPVSAttr.cmdDaemon) { $0.putU32(IPVSAttr.daemonState, state.rawValue) }
        return message(.delDaemon, family: family, flags: NLM.request | NLM.ack, seq: seq, attributes: w.bytes)
    }

    /// ZERO for one service, or for the whole table when `key` is nil.
    static func zero(_ key: IPVSServiceKey?, family: UInt16, seq: UInt32) -> [UInt8] {
        var w = NetlinkAttributeWriter()
        if let key { w.putNested(IPVSAttr.cmdService) { putServiceKey(key, into: &$0) } }
        return message(.zero, family: family, flags: NLM.request | NLM.ack, seq: seq, attributes: w.bytes)
    }

    static func flush(family: UInt16, seq: UInt32) -> [UInt8] {
        message(.flush, family: family, flags: NLM.request | NLM.ack, seq: seq)
    }

    // MARK: Attribute encoders

    /// Addresses travel as a 16-byte union nf_inet_addr, IPv4 in the first four bytes (as libipvs sends them).
    static let inetAddrSize = 16

    static func putServiceKey(_ key: IPVSServiceKey, into w: inout NetlinkAttributeWriter) {
        w.putU16(IPVSAttr.svcAF, key.family.kernelValue)
        switch key {
        case .address(let proto, let address, let port):
            w.putU16(IPVSAttr.svcProtocol, proto.rawValue)
            w.putZeroExtended(IPVSAttr.svcAddr, address.bytes, size: inetAddrSize)
            w.putBE16(IPVSAttr.svcPort, port)
        case .firewallMark(let mark, _):
            w.putU32(IPVSAttr.svcFwmark, mark)
        }
    }

    static func putService(_ s: IPVSService, into w: inout NetlinkAttributeWriter) {
        putServiceKey(s.key, into: &w)
        w.putString(IPVSAttr.svcSchedName, s.scheduler)
        if let pe = s.persistenceEngine, !pe.isEmpty { w.putString(IPVSAttr.svcPEName, pe) }
        // struct ip_vs_flags {flags, mask}: a full mask replaces every flag. HASHED must never be sent:
        // the kernel would then believe a new service is already hashed and never insert it.
        w.put(IPVSAttr.svcFlags, hostBytes(s.flags.intersection(.writable).rawValue) + hostBytes(UInt32.max))
        w.putU32(IPVSAttr.svcTimeout, s.timeout)
        w.put(IPVSAttr.svcNetmask, netmaskBytes(s.netmask, family: s.key.family))
    }

    /// The kernel keeps the netmask as __be32: an IPv4 mask in network order, an IPv6 prefix length as a plain int.
    static func netmaskBytes(_ mask: UInt32, family: AddressFamily) -> [UInt8] {
        family == .ipv4 ? hostBytes(mask.bigEndian) : hostBytes(mask)
    }

    static func putEndpoint(_ e: Endpoint, into w: inout NetlinkAttributeWriter) {
        w.putZeroExtended(IPVSAttr.destAddr, e.address.bytes, size: inetAddrSize)
        w.putBE16(IPVSAttr.destPort, e.port)
        w.putU16(IPVSAttr.destAddrFamily, e.address.family.kernelValue)
    }

    static func putDestination(_ d: IPVSDestination, into w: inout NetlinkAttributeWriter) {
        putEndpoint(d.endpoint, into: &w)
        w.putU32(IPVSAttr.destFwdMethod, d.forwarding.connectionFlags)
        w.putU32(IPVSAttr.destWeight, UInt32(bitPattern: d.weight))
        w.putU32(IPVSAttr.destUThresh, d.upperThreshold)
        w.putU32(IPVSAttr.destLThresh, d.lowerThreshold)
    }

    // MARK: Decoders

    static func decodeInfo(_ attributes: ArraySlice<UInt8>) throws -> IPVSInfo {
        let a = try NetlinkAttributes(parsing: attributes, context: "GET_INFO reply")
        guard let version = try a.u32(IPVSAttr.infoVersion, "info version"),
            let size = try a.u32(IPVSAttr.infoConnTabSize, "info table size")
        else { throw IPVSError.malformed("GET_INFO reply without version or table size") }
        return IPVSInfo(version: version, connectionTableSize: size)
    }

    static func decodeTimeouts(_ attributes: ArraySlice<UInt8>) throws -> IPVSTimeouts {
        let a = try NetlinkAttributes(parsing: attributes, context: "GET_CONFIG reply")
        return IPVSTimeouts(
            tcp: try a.u32(IPVSAttr.cmdTimeoutTCP, "tcp timeout") ?? 0,
            tcpFin: try a.u32(IPVSAttr.cmdTimeoutTCPFin, "tcpfin timeout") ?? 0,
            udp: try a.u32(IPVSAttr.cmdTimeoutUDP, "udp timeout") ?? 0)
    }

    static func address(_ payload: ArraySlice<UInt8>?, family: AddressFamily, _ context: String) throws -> IPAddress {
        guard let payload, payload.count >= family.byteCount,
              let address = IPAddress(bytes: payload.prefix(family.byteCount))
        else {
            throw IPVSError.malformed("\(context): missing or short address")
        }
        return address
    }

    static func family(_ raw: UInt16?, _ context: String) throws -> AddressFamily {
        guard let raw else { throw IPVSError.malformed("\(context): no address family") }
        guard let f = AddressFamily(kernelValue: raw) else { throw IPVSError.malformed("\(context): unknown address family \(raw)") }
        return f
    }

    /// A NEW_SERVICE message (dump entry or GET answer) carrying IPVS_CMD_ATTR_SERVICE.
    static func decodeServiceMessage(_ attributes: ArraySlice<UInt8>) throws -> IPVSServiceEntry {
        let top = try NetlinkAttributes(parsing: attributes, context: "service message")
        guard let svc = try top.nested(IPVSAttr.cmdService, "service") else {
            throw IPVSError.malformed("service message without IPVS_CMD_ATTR_SERVICE")
        }
        return try decodeService(svc)
    }

    static func decodeService(_ a: NetlinkAttributes) throws -> IPVSServiceEntry {
        let ctx = "service"
        let fam = try family(try a.u16(IPVSAttr.svcAF, ctx), ctx)
        let key: IPVSServiceKey
        if let mark = try a.u32(IPVSAttr.svcFwmark, ctx), mark != 0 {
            key = .firewallMark(mark, family: fam)
        } else {
            guard let raw = try a.u16(IPVSAttr.svcProtocol, ctx) else { throw IPVSError.malformed("service without protocol or fwmark") }
            guard let proto = IPVSProtocol(rawValue: raw) else { throw IPVSError.malformed("service with unknown protocol \(raw)") }
            let addr = try address(a[IPVSAttr.svcAddr], family: fam, ctx)
            guard let port = try a.be16(IPVSAttr.svcPort, ctx) else { throw IPVSError.malformed("service without port") }
            key = .address(proto, addr, port: port)
        }
        var flags: UInt32 = 0
        if let f = a[IPVSAttr.svcFlags] {
            guard let v = readHost(UInt32.self, f, at: 0) else { throw IPVSError.malformed("service flags of \(f.count) bytes") }
            flags = v
        }
        var netmask = IPVSService.defaultNetmask(fam)
        if let m = a[IPVSAttr.svcNetmask] {
            guard let raw = readHost(UInt32.self, m, at: 0) else { throw IPVSError.malformed("service netmask of \(m.count) bytes") }
            netmask = fam == .ipv4 ? UInt32(bigEndian: raw) : raw
        }
        let pe = a.string(IPVSAttr.svcPEName)
        let service = IPVSService(
            key: key, scheduler: a.string(IPVSAttr.svcSchedName) ?? "", flags: IPVSServiceFlags(rawValue: flags),
            timeout: try a.u32(IPVSAttr.svcTimeout, ctx) ?? 0, netmask: netmask,
            persistenceEngine: (pe?.isEmpty ?? true) ? nil : pe)
        let stats = try decodeStats(a, stats64: IPVSAttr.svcStats64, stats32: IPVSAttr.svcStats, ctx)
        return IPVSServiceEntry(service: service, stats: stats)
    }

    /// A NEW_DEST dump entry carrying IPVS_CMD_ATTR_DEST; `serviceFamily` applies when no ADDR_FAMILY is sent.
    static func decodeDestinationMessage(_ attributes: ArraySlice<UInt8>, serviceFamily: AddressFamily) throws -> IPVSDestinationEntry {
        let top = try NetlinkAttributes(parsing: attributes, context: "destination message")
        guard let a = try top.nested(IPVSAttr.cmdDest, "destination") else {
            throw IPVSError.malformed("destination message without IPVS_CMD_ATTR_DEST")
        }
        let ctx = "destination"
        let fam = try a.u16(IPVSAttr.destAddrFamily, ctx).map { try family($0, ctx) } ?? serviceFamily
        let addr = try address(a[IPVSAttr.destAddr], family: fam, ctx)
        guard let port = try a.be16(IPVSAttr.destPort, ctx) else { throw IPVSError.malformed("destination without port") }
        let dest = IPVSDestination(
            address: addr, port: port,
            forwarding: IPVSForwarding(connectionFlags: try a.u32(IPVSAttr.destFwdMethod, ctx) ?? 0),
            weight: Int32(bitPattern: try a.u32(IPVSAttr.destWeight, ctx) ?? 0),
            upperThreshold: try a.u32(IPVSAttr.destUThresh, ctx) ?? 0,
            lowerThreshold: try a.u32(IPVSAttr.destLThresh, ctx) ?? 0)
        return IPVSDestinationEntry(
            destination: dest,
            activeConnections: try a.u32(IPVSAttr.destActiveConns, ctx) ?? 0,
            inactiveConnections: try a.u32(IPVSAttr.destInactConns, ctx) ?? 0,
            persistentConnections: try a.u32(IPVSAttr.destPersistConns, ctx) ?? 0,
            stats: try decodeStats(a, stats64: IPVSAttr.destStats64, stats32: IPVSAttr.destStats, ctx))
    }

    /// STATS64 where the kernel has it (4.1+), else the 32-bit STATS (whose byte counters are already u64).
    static func decodeStats(_ a: NetlinkAttributes, stats64: UInt16, stats32: UInt16, _ context: String) throws -> IPVSStats {
        guard let s = try a.nested(stats64, "\(context) stats64") ?? a.nested(stats32, "\(context) stats") else {
            return IPVSStats()
        }
        func value(_ type: UInt16) throws -> UInt64 {
            guard let p = s[type] else { return 0 }
            switch p.count {
            case 8: return readHost(UInt64.self, p, at: 0) ?? 0
            case 4: return UInt64(readHost(UInt32.self, p, at: 0) ?? 0)
            default: throw IPVSError.malformed("\(context) statistic \(type) of \(p.count) bytes")
            }
        }
        var st = IPVSStats()
        st.connections = try value(IPVSAttr.statsConns)
        st.inPackets = try value(IPVSAttr.statsInPkts)
        st.outPackets = try value(IPVSAttr.statsOutPkts)
        st.inBytes = try value(IPVSAttr.statsInBytes)
        st.outBytes = try value(IPVSAttr.statsOutBytes)
        st.connectionRate = try value(IPVSAttr.statsCPS)
        st.inPacketRate = try value(IPVSAttr.statsInPPS)
        st.outPacketRate = try value(IPVSAttr.statsOutPPS)
        st.inByteRate = try value(IPVSAttr.statsInBPS)
        st.outByteRate = try value(IPVSAttr.statsOutBPS)
        return st
    }

    static func decodeDaemonMessage(_ attributes: ArraySlice<UInt8>) throws -> IPVSSyncDaemon {
        let top = try NetlinkAttributes(parsing: attributes, context: "daemon message")
        guard let a = try top.nested(IPVSAttr.cmdDaemon, "daemon") else {
            throw IPVSError.malformed("daemon message without IPVS_CMD_ATTR_DAEMON")
        }
        let ctx = "daemon"
        guard let rawState = try a.u32(IPVSAttr.daemonState, ctx) else { throw IPVSError.malformed("daemon without state") }
        guard let state = IPVSSyncState(rawValue: rawState) else { throw IPVSError.malformed("daemon state \(rawState)") }
        var group: IPAddress? = nil
        if let g = a[IPVSAttr.daemonMcastGroup] {
            group = try address(g, family: .ipv4, ctx)
        } else if let g = a[IPVSAttr.daemonMcastGroup6] {
            group = try address(g, family: .ipv6, ctx)
        }
        return IPVSSyncDaemon(
            state: state, interface: a.string(IPVSAttr.daemonMcastIfn) ?? "",
            syncID: try a.u32(IPVSAttr.daemonSyncID, ctx) ?? 0,
            maxLength: try a.u16(IPVSAttr.daemonSyncMaxlen, ctx) ?? 0, group: group,
            port: try a.u16(IPVSAttr.daemonMcastPort, ctx) ?? 0,
            ttl: try a.u8(IPVSAttr.daemonMcastTTL, ctx) ?? 0)
    }
}
