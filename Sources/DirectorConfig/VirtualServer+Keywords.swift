// Keyword tables for virtual_server_group, virtual_server and real_server, and how values inherit from the
// virtual server to its reals and on to their checkers (keepalived's rule).
import Addresses

/// Check timing and options that a virtual server or real server sets as defaults for the level below.
struct InheritedCheckSettings: Sendable {
    var delayLoop: Duration?
    var connectTimeout: Duration?
    var retry: Int?
    var delayBeforeRetry: Duration?
    var warmup: Duration?
    var inhibitOnFailure: Bool?
    var alpha: Bool?
    var virtualhost: String?

    /// `self` where set, else `outer`.
    func over(_ outer: InheritedCheckSettings) -> InheritedCheckSettings {
        InheritedCheckSettings(
            delayLoop: delayLoop ?? outer.delayLoop, connectTimeout: connectTimeout ?? outer.connectTimeout,
            retry: retry ?? outer.retry, delayBeforeRetry: delayBeforeRetry ?? outer.delayBeforeRetry,
            warmup: warmup ?? outer.warmup, inhibitOnFailure: inhibitOnFailure ?? outer.inhibitOnFailure,
            alpha: alpha ?? outer.alpha, virtualhost: virtualhost ?? outer.virtualhost)
    }

    /// The keywords every level shares; `path` leads from the level's draft to its settings.
    static func keywords<Draft>(_ path: WritableKeyPath<Draft, InheritedCheckSettings> & Sendable) -> [Keyword<Draft>] {
        [
            .value("delay_loop") { d, node, log in
                if let v = log.duration(node.arguments[0], 0.000001...86400, "'delay_loop'") { d[keyPath: path].delayLoop = v }
            },
            .value("connect_timeout") { d, node, log in
                if let v = log.duration(node.arguments[0], 0.000001...3600, "'connect_timeout'") { d[keyPath: path].connectTimeout = v }
            },
            .value("retry") { d, node, log in
                if let v = log.integer(node.arguments[0], 0...1000, "'retry'") { d[keyPath: path].retry = v }
            },
            .value("delay_before_retry") { d, node, log in
                if let v = log.duration(node.arguments[0], 0...86400, "'delay_before_retry'") { d[keyPath: path].delayBeforeRetry = v }
            },
            .value("warmup") { d, node, log in
                if let v = log.duration(node.arguments[0], 0...86400, "'warmup'") { d[keyPath: path].warmup = v }
            },
            .value("inhibit_on_failure", 0...1) { d, node, log in
                if let v = log.flag(node) { d[keyPath: path].inhibitOnFailure = v }
            },
            .value("alpha", 0...1) { d, node, log in
                if let v = log.flag(node) { d[keyPath: path].alpha = v }
            },
            .value("virtualhost") { d, node, _ in d[keyPath: path].virtualhost = node.arguments[0].text },
            .ignored("smtp_alert", "directord does not send e-mail"),
        ]
    }
}

// MARK: - virtual_server_group

extension VirtualServerGroup {
    static let maximumRangeSize: UInt64 = 65_536

    static func parse(_ node: ConfigNode, log: inout DiagnosticLog) -> VirtualServerGroup {
        var group = VirtualServerGroup(name: node.arguments[0].text, members: [], origin: SourceOrigin(node.location))
        for entry in node.block ?? [] {
            if entry.block != nil {
                log.error(entry.blockLocation ?? entry.location, "a virtual_server_group entry does not take a block")
                continue
            }
            if entry.name == "fwmark" {
                guard let markWord = entry.arguments.first, entry.arguments.count <= 2 else {
                    log.error(entry.location, "'fwmark' takes a mark and optionally inet|inet6")
                    continue
                }
                guard let mark = log.integer(markWord, 1...Int(UInt32.max), "firewall mark") else { continue }
                var family: AddressFamily?
                if entry.arguments.count == 2 {
                    guard let f = log.choice(entry.arguments[1], "the address family", [("inet", AddressFamily.ipv4), ("inet6", .ipv6)]) else { continue }
                    family = f
                }
                group.members.append(.fwmark(UInt32(mark), family: family))
                continue
            }
            guard let (first, last) = parseRange(entry.keyword, log: &log) else { continue }
            var port: UInt16 = 0
            if let portWord = entry.arguments.first {
                guard let p = log.port(portWord) else { continue }
                port = p
                if entry.arguments.count > 1 {
                    log.error(entry.arguments[1].location, "unexpected '\(entry.arguments[1].text)' after the port")
                    continue
                }
            }
            group.members.append(.range(first: first, last: last, port: port))
        }
        return group
    }

    /// `ADDR`, `A.B.C.D-E`, `A.B.C.D-E.F.G.H`, `ADDR/PLEN` (and the IPv6 forms, last group in hex).
    static func parseRange(_ word: ConfigWord, log: inout DiagnosticLog) -> (IPAddress, IPAddress)? {
        let text = word.text
        if text.contains("/") {
            guard let prefix = log.prefix(word, "address range") else { return nil }
            let hostBits = prefix.address.family.maximumPrefixLength - prefix.length
            guard hostBits <= 16 else {
                log.error(word.location, "address range \(text) has more than \(maximumRangeSize) addresses")
                return nil
            }
            switch prefix.address {
            case .v4(let a):
                let mask: UInt32 = hostBits == 0 ? ~0 : ~0 << UInt32(hostBits)
                return (.v4(IPv4Address(a.value & mask)), .v4(IPv4Address(a.value | ~mask)))
            case .v6(let a):
                let mask: UInt64 = hostBits == 0 ? ~0 : ~0 << UInt64(hostBits)
                return (.v6(IPv6Address(high: a.high, low: a.low & mask)), .v6(IPv6Address(high: a.high, low: a.low | ~mask)))
            }
        }
        guard let dash = text.lastIndex(of: "-") else {
            guard let a = log.address(word, "virtual server address") else { return nil }
            return (a, a)
        }
        let firstText = String(text[..<dash])
        let lastText = String(text[text.index(after: dash)...])
        guard let first = log.address(ConfigWord(firstText, at: word.location), "range start") else { return nil }
        var last: IPAddress?
        if lastText.contains(".") || lastText.contains(":") {
            last = log.address(ConfigWord(lastText, at: word.location), "range end")
        } else {
            switch first {
            case .v4(let a):
                if let end = UInt8(lastText), lastText.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
                    last = .v4(IPv4Address(a.value & ~0xff | UInt32(end)))
                }
            case .v6(let a):
                if lastText.count <= 4, let end = UInt16(lastText, radix: 16) {
                    last = .v6(IPv6Address(high: a.high, low: a.low & ~0xffff | UInt64(end)))
                }
            }
            if last == nil { log.error(word.location, "range end '\(lastText)' is not a valid last \(first.family == .ipv4 ? "octet" : "group")") }
        }
        guard let last else { return nil }
        guard first.family == last.family, first <= last, rangeSize(first, last) <= maximumRangeSize else {
            log.error(word.location, "address range \(text) must run upwards within one family and hold at most \(maximumRangeSize) addresses")
            return nil
        }
        return (first, last)
    }

    private static func rangeSize(_ a: IPAddress, _ b: IPAddress) -> UInt64 {
        switch (a, b) {
        case (.v4(let x), .v4(let y)): UInt64(y.value - x.value) + 1
        case (.v6(let x), .v6(let y)): x.high == y.high ? (y.low - x.low) &+ 1 : UInt64.max
        default: UInt64.max
        }
    }
}

// MARK: - virtual_server

struct VirtualServerDraft: Sendable {
    var header: ConfigNode
    var key: VirtualServerKey?
    var portOmitted = false
    var protocolType: TransportProtocol?
    var scheduler: Scheduler = VirtualServer.defaultScheduler
    var flags = SchedulerFlags()
    var flagWords: [ConfigWord] = []
    var forwarding: ForwardingMethod = .nat
    var persistenceTimeout: UInt32?
    var persistenceGranularity: (Int, ConfigWord)?
    var persistenceEngine: ConfigWord?
    var onePacketScheduling: ConfigWord?
    var omega = false
    var quorum: UInt32 = 1
    var hysteresis: UInt32 = 0
    var quorumUp: NotifyScript?
    var quorumDown: NotifyScript?
    var sorryServer: (IPAddress, UInt16?, ConfigNode)?
    var sorryInhibit = false
    var sorryForwarding: ForwardingMethod?
    /// Where `ha_suspend` was written; nil without it.
    var haSuspend: SourceLocation?
    var drainOnRemoval: Duration?
    var announce = false
    var ipFamily: (AddressFamily, ConfigWord)?
    var inherited = InheritedCheckSettings()
    var realServers: [RealServerDraft] = []
    /// Taken from the parse cache: the block was read before, byte for byte.
    var cached: VirtualServer?
    /// Read for the first time into a cache entry, which resolving completes.
    var pending: PendingSegment?

    static func start(_ node: ConfigNode, log: inout DiagnosticLog) -> VirtualServerDraft {
        var draft = VirtualServerDraft(header: node)
        let args = node.arguments
        switch args.first?.text {
        case "fwmark":
            guard args.count == 2 else {
                log.error(args.count > 2 ? args[2].location : node.location, "expected 'virtual_server fwmark MARK'")
                break
            }
            if let mark = log.integer(args[1], 1...Int(UInt32.max), "firewall mark") { draft.key = .fwmark(UInt32(mark)) }
        case "group":
            guard args.count == 2 else {
                log.error(args.count > 2 ? args[2].location : node.location, "expected 'virtual_server group NAME'")
                break
            }
            draft.key = .group(args[1].text)
        default:
            guard !args.isEmpty else {
                log.error(node.location, "expected 'virtual_server ADDRESS PORT', 'virtual_server fwmark MARK' or 'virtual_server group NAME'")
                break
            }
            if args.count > 2 {
                // keepalived 2.2.7 reads the address and the port and ignores the rest of the line (vs_handler).
                let rest = args[2...].map(\.text).joined(separator: " ")
                log.warning(args[2].location, "keepalived 2.2.7 ignores '\(rest)' after the port, and so does directord")
            }
            guard let address = log.address(args[0], "virtual server address") else { break }
            var port: UInt16 = 0
            if args.count >= 2 {
                guard let p = log.port(args[1], "virtual server port") else { break }
                port = p
            } else {
                draft.portOmitted = true
            }
            draft.key = .endpoint(Endpoint(address: address, port: port))
        }
        return draft
    }

    static let forwardingChoices: [(String, ForwardingMethod?)] = [("NAT", .nat), ("DR", .dr), ("TUN", nil)]

    static func forwardingMethod(_ word: ConfigWord, _ what: String, log: inout DiagnosticLog) -> ForwardingMethod? {
        guard let choice = log.exactChoice(word, what, forwardingChoices,
                                           keepalivedDoes: "would log an error and forward with NAT") else { return nil }
        guard let method = choice else {
            log.error(word.location, "\(what) TUN: directord drives NAT and DR only (no IP tunnelling)")
            return nil
        }
        return method
    }

    private static func setScheduler(_ d: inout VirtualServerDraft, _ node: ConfigNode, _ log: inout DiagnosticLog) {
        if let s = log.exactChoice(node.arguments[0], "'\(node.name)'", Scheduler.allCases.map { ($0.rawValue, $0) },
                                   keepalivedDoes: "would log an error and schedule with the default, wlc") { d.scheduler = s }
    }

    private static func setForwarding(_ d: inout VirtualServerDraft, _ node: ConfigNode, _ log: inout DiagnosticLog) {
        if let m = forwardingMethod(node.arguments[0], "'\(node.name)'", log: &log) { d.forwarding = m }
    }

    static let keywords = KeywordTable<VirtualServerDraft>("virtual_server", [
        .value("lb_algo") { d, node, log in setScheduler(&d, node, &log) },
        .value("lvs_sched") { d, node, log in setScheduler(&d, node, &log) },
        .value("lb_kind") { d, node, log in setForwarding(&d, node, &log) },
        .value("lvs_method") { d, node, log in setForwarding(&d, node, &log) },
        .value("protocol") { d, node, log in
            d.protocolType = log.choice(node.arguments[0], "'protocol'", [("TCP", TransportProtocol.tcp), ("UDP", .udp), ("SCTP", .sctp)])
        },
        .value("persistence_timeout", 0...1) { d, node, log in
            guard let word = node.arguments.first else {
                d.persistenceTimeout = VirtualServer.defaultPersistenceTimeout
                return
            }
            if let v = log.integer(word, 0...31_536_000, "'persistence_timeout'") { d.persistenceTimeout = v == 0 ? nil : UInt32(v) }
        },
        .value("persistence_granularity") { d, node, log in
            let word = node.arguments[0]
            if word.text.contains(".") {
                guard case .success(.v4(let mask)) = IPAddress.parse(word.text),
                    mask.value == 0 || (~mask.value) & (~mask.value &+ 1) == 0
                else {
                    log.error(word.location, "'persistence_granularity' must be a netmask such as 255.255.255.0 or a prefix length, not '\(word.text)'")
                    return
                }
                d.persistenceGranularity = (mask.value.nonzeroBitCount, word)
            } else if let length = log.integer(word, 1...128, "'persistence_granularity'") {
                d.persistenceGranularity = (length, word)
            }
        },
        .value("persistence_engine") { d, node, log in
            let word = node.arguments[0]
            // IP_VS_PENAME_MAXLEN is 16 with the terminating NUL (keepalived truncates a longer name; we refuse it).
            guard (1...15).contains(word.text.utf8.count) else {
                log.error(word.location, "'persistence_engine' must be an IPVS persistence engine name of 1-15 characters, such as sip")
                return
            }
            if word.text != "sip" {
                log.warning(word.location, "'persistence_engine \(word.text)': Linux has only the 'sip' engine; the kernel will refuse this service unless a module provides it")
            }
            d.persistenceEngine = word
        },
        .value("ops", 0...0) { d, node, _ in d.onePacketScheduling = node.keyword },
        .value("sh-port", 0...0) { d, node, _ in d.flags.shPort = true; d.flagWords.append(node.keyword) },
        .value("sh-fallback", 0...0) { d, node, _ in d.flags.shFallback = true; d.flagWords.append(node.keyword) },
        .value("mh-port", 0...0) { d, node, _ in d.flags.mhPort = true; d.flagWords.append(node.keyword) },
        .value("mh-fallback", 0...0) { d, node, _ in d.flags.mhFallback = true; d.flagWords.append(node.keyword) },
        // The raw scheduler flags, set for any scheduler without a warning (keepalived's lbflags_handler).
        .value("flag-1", 0...0) { d, _, _ in d.flags.flag1 = true },
        .value("flag-2", 0...0) { d, _, _ in d.flags.flag2 = true },
        .value("flag-3", 0...0) { d, _, _ in d.flags.flag3 = true },
        .value("omega", 0...1) { d, node, log in if log.flagIgnoringValue(node) != nil { d.omega = true } },
        .value("quorum") { d, node, log in
            guard let v = log.integer(node.arguments[0], 0...Int(Int32.max), "'quorum'") else { return }
            if v == 0 { log.warning(node.arguments[0].location, "quorum 0 is read as 1, as keepalived 2.2.7 reads it") }
            d.quorum = UInt32(max(v, 1))
        },
        .value("hysteresis") { d, node, log in
            if let v = log.integer(node.arguments[0], 0...Int(Int32.max), "'hysteresis'") { d.hysteresis = UInt32(v) }
        },
        .value("announce", 0...1) { d, node, log in
            guard let on = log.flag(node) else { return }
            if on, let key = d.key, !(key.isEndpoint) {
                log.error(node.keyword.location, "'announce' needs a virtual_server ADDRESS PORT: a \(key.isGroup ? "virtual_server group" : "fwmark service") has no one address to announce (announce the addresses with virtual_server ADDRESS PORT blocks)")
                return
            }
            d.announce = on
        },
        .value("drain_on_removal") { d, node, log in
            if let v = log.duration(node.arguments[0], 0...86400, "'drain_on_removal'") { d.drainOnRemoval = v }
        },
        .value("quorum_up", 1...3) { d, node, log in d.quorumUp = log.notifyScript(node) },
        .value("quorum_down", 1...3) { d, node, log in d.quorumDown = log.notifyScript(node) },
        .value("sorry_server", 1...2) { d, node, log in
            guard let address = log.address(node.arguments[0], "sorry server address") else { return }
            var port: UInt16?
            if node.arguments.count == 2 {
                guard let p = log.serverPort(node.arguments[1], "sorry server port") else { return }
                port = p
            }
            d.sorryServer = (address, port, node)
        },
        .value("sorry_server_inhibit", 0...1) { d, node, log in
            if let v = log.flag(node) { d.sorryInhibit = v }
        },
        .value("sorry_server_lvs_method") { d, node, log in
            if let m = forwardingMethod(node.arguments[0], "'sorry_server_lvs_method'", log: &log) { d.sorryForwarding = m }
        },
        .value("ha_suspend", 0...0) { d, node, _ in d.haSuspend = node.location },
        .value("ip_family") { d, node, log in
            if let f = log.choice(node.arguments[0], "'ip_family'", [("inet", AddressFamily.ipv4), ("inet6", .ipv6)]) {
                d.ipFamily = (f, node.arguments[0])
            }
        },
        .block("real_server", 1...2) { d, node, log in
            guard var real = RealServerDraft.start(node, log: &log) else { return }
            RealServerDraft.keywords.apply(node.block ?? [], to: &real, log: &log)
            d.realServers.append(real)
        },
        .ignored("snmp_name", "directord has no SNMP agent"),
        .ignored("nat_mask", "obsolete (Linux 2.2 masquerading): keepalived 2.2.7 reports it as an unknown keyword and ignores it"),
        // keepalived's virtual_server alpha ignores its value (check_parser.c), unlike real_server's and checkers'.
        .value("alpha", 0...1) { d, node, log in if log.flagIgnoringValue(node) != nil { d.inherited.alpha = true } },
    ] + InheritedCheckSettings.keywords(\VirtualServerDraft.inherited).filter { $0.name != "alpha" })

    /// `resolve`, through the parse cache: a cached block is taken as it is, and a block read for the first time
    /// is stored when it resolved without an error.
    func resolveCaching(groups: [VirtualServerGroup], log: inout DiagnosticLog) -> VirtualServer? {
        if let cached { return cached }
        let mark = log.mark
        guard var server = resolve(groups: groups, log: &log) else { return nil }
        ConfigurationValidator.checkWithin(server, complete: log.warnings(since: mark) != nil, log: &log)
        if let pending, let warnings = log.warnings(since: mark) {
            server.parseSerial = ParseSerial(pending.link.entry.serial)
            pending.link.entry.store(ParseCache.Entry.Parsed(
                baseLine: pending.link.line, header: pending.header, server: server, diagnostics: pending.diagnostics + warnings))
        }
        return server
    }

    func resolve(groups: [VirtualServerGroup], log: inout DiagnosticLog) -> VirtualServer? {
        guard let key else { return nil }
        var protocolType = self.protocolType ?? .udp
        if self.protocolType == nil {
            if case .fwmark = key {
                protocolType = .tcp
            } else {
                log.warning(header.location, "virtual_server \(key) has no 'protocol'; it is UDP, as in keepalived 2.2 (write 'protocol TCP' for a TCP service)")
            }
        }
        var ok = true
        if portOmitted && persistenceTimeout == nil {
            log.error(header.location, "virtual_server \(key) has no port; a port may only be left out of a persistent service (persistence_timeout)")
            ok = false
        }
        if let ops = onePacketScheduling, protocolType != .udp {
            log.error(ops.location, "'ops' (one-packet scheduling) applies to UDP services only")
            ok = false
        }
        for word in flagWords {
            let wanted: Scheduler = word.text.hasPrefix("sh") ? .sh : .mh
            if scheduler != wanted {
                log.warning(word.location, "'\(word.text)' only affects the \(wanted.rawValue) scheduler; this service uses \(scheduler.rawValue)")
            }
        }
        var engine: String?
        if let word = persistenceEngine {
            if persistenceTimeout == nil {
                // keepalived sends the engine only with persistence (ipvs_set_srule); so the kernel never sees it.
                log.warning(word.location, "'persistence_engine' needs 'persistence_timeout': without persistence it is ignored, as in keepalived")
            } else {
                engine = word.text
            }
        }
        var granularity: Int?
        if let (length, word) = persistenceGranularity {
            if case .endpoint(let e) = key, length > e.address.family.maximumPrefixLength {
                log.error(word.location, "'persistence_granularity' /\(length) is longer than an \(e.address.family.rawValue) address")
                ok = false
            }
            granularity = length
        }
        let defaults = inherited
        var reals: [RealServer] = []
        for draft in realServers {
            if let real = draft.resolve(virtualServer: self, defaults: defaults, log: &log) { reals.append(real) } else { ok = false }
        }
        var sorry: SorryServer?
        if let (address, port, node) = sorryServer {
            let vsPort: UInt16 = if case .endpoint(let e) = key { e.port } else { 0 }
            sorry = SorryServer(
                endpoint: Endpoint(address: address, port: port ?? vsPort), inhibit: sorryInhibit,
                forwarding: sorryForwarding ?? forwarding, origin: SourceOrigin(node.location))
        }
        var family = ipFamily?.0
        switch key {
        case .endpoint(let e):
            if let (wanted, word) = ipFamily, wanted != e.address.family {
                log.error(word.location, "'ip_family' \(word.text) contradicts the \(e.address.family.rawValue) address of this virtual_server")
                ok = false
            }
            family = e.address.family
        case .group(let name):
            if let group = groups.first(where: { $0.name == name }), let groupFamily = group.family {
                if let (wanted, word) = ipFamily, wanted != groupFamily {
                    log.error(word.location, "'ip_family' \(word.text) contradicts the \(groupFamily.rawValue) addresses of virtual_server_group \(name)")
                    ok = false
                }
                family = groupFamily
            }
        case .fwmark:
            break
        }
        // keepalived reports ha_suspend on a fwmark service (or a group with fwmark entries) and clears it: a mark
        // has no address to be on this director.
        var haSuspend = haSuspend != nil
        if let at = self.haSuspend {
            let marked: Bool
            switch key {
            case .fwmark: marked = true
            case .group(let name):
                marked = groups.first { $0.name == name }?.members.contains { if case .fwmark = $0 { true } else { false } } ?? false
            case .endpoint: marked = false
            }
            if marked {
                log.warning(at, "'ha_suspend' is ignored on a fwmark virtual server (a mark has no address to follow): its checks always run, as keepalived clears it")
                haSuspend = false
            } else if case .group = key {
                log.warning(at, "'ha_suspend' on a group's virtual server: directord runs its checks while any of the group's addresses is on this director (keepalived 2.2.7 never matches a group's address, so there they never run)")
            }
        }
        guard ok else { return nil }
        guard !realServers.isEmpty else {
            // keepalived drops it ("has no real servers - ignoring"): no IPVS service, so the address's traffic
            // goes to the host as if none were configured, where an empty service would drop it.
            log.warning(header.location, "virtual_server \(key) has no real_server: it is ignored (no IPVS service), as keepalived ignores it")
            return nil
        }
        return VirtualServer(
            key: key, family: family ?? reals.first?.endpoint.address.family ?? sorry?.endpoint.address.family ?? .ipv4,
            protocolType: protocolType, scheduler: scheduler, schedulerFlags: flags, forwarding: forwarding,
            persistenceTimeout: persistenceTimeout, persistenceGranularity: granularity, persistenceEngine: engine,
            onePacketScheduling: onePacketScheduling != nil, alpha: defaults.alpha ?? false, omega: omega,
            quorum: quorum, hysteresis: hysteresis, quorumUp: quorumUp, quorumDown: quorumDown, sorryServer: sorry,
            haSuspend: haSuspend, drainOnRemoval: drainOnRemoval, announce: announce, realServers: reals, origin: SourceOrigin(header.location))
    }
}

// MARK: - real_server

struct RealServerDraft: Sendable {
    var header: ConfigNode
    var address: IPAddress
    var port: UInt16?
    var weight = 1
    var forwarding: ForwardingMethod?
    var notifyUp: NotifyScript?
    var notifyDown: NotifyScript?
    var upperThreshold: UInt32 = 0
    var lowerThreshold: UInt32 = 0
    var inherited = InheritedCheckSettings()
    var checks: [HealthCheckDraft] = []

    static func start(_ node: ConfigNode, log: inout DiagnosticLog) -> RealServerDraft? {
        guard let address = log.address(node.arguments[0], "real server address") else { return nil }
        var draft = RealServerDraft(header: node, address: address)
        if node.arguments.count == 2 {
            guard let port = log.serverPort(node.arguments[1], "real server port") else { return nil }
            draft.port = port
        }
        return draft
    }

    private static func check(_ kind: HealthCheckKind) -> Keyword<RealServerDraft> {
        .block(kind.rawValue, 0...0, .required) { d, node, log in
            var check = HealthCheckDraft(kind: kind, header: node)
            let table = HealthCheckDraft.networkKeywords(kind) ?? (kind == .tcp ? HealthCheckDraft.tcpKeywords : HealthCheckDraft.httpKeywords)
            table.apply(node.block ?? [], to: &check, log: &log)
            d.checks.append(contentsOf: check.expandingHosts(log: &log))
        }
    }

    static let keywords = KeywordTable<RealServerDraft>("real_server", [
        .value("weight") { d, node, log in
            if let v = log.integer(node.arguments[0], 0...65535, "'weight'") { d.weight = v }
        },
        .value("lb_kind") { d, node, log in d.forwarding = VirtualServerDraft.forwardingMethod(node.arguments[0], "'lb_kind'", log: &log) },
        .value("lvs_method") { d, node, log in d.forwarding = VirtualServerDraft.forwardingMethod(node.arguments[0], "'lvs_method'", log: &log) },
        .value("notify_up", 1...3) { d, node, log in d.notifyUp = log.notifyScript(node) },
        .value("notify_down", 1...3) { d, node, log in d.notifyDown = log.notifyScript(node) },
        .value("uthreshold") { d, node, log in
            if let v = log.integer(node.arguments[0], 0...Int(Int32.max), "'uthreshold'") { d.upperThreshold = UInt32(v) }
        },
        .value("lthreshold") { d, node, log in
            if let v = log.integer(node.arguments[0], 0...Int(Int32.max), "'lthreshold'") { d.lowerThreshold = UInt32(v) }
        },
        check(.httpGet),
        check(.sslGet),
        check(.tcp),
        scriptOrFileCheck(.misc),
        scriptOrFileCheck(.file),
        .unsupported("BFD_CHECK", "BFD is not implemented (every other checker of keepalived 2.2.7 is)"),
        .ignored("snmp_name", "directord has no SNMP agent"),
        check(.smtp),
        check(.dns),
        check(.udp),
        check(.ping),
    ] + InheritedCheckSettings.keywords(\RealServerDraft.inherited))

    func resolve(virtualServer vs: VirtualServerDraft, defaults: InheritedCheckSettings, log: inout DiagnosticLog) -> RealServer? {
        let settings = inherited.over(defaults)
        let vsPort: UInt16 = if case .endpoint(let e) = vs.key { e.port } else { 0 }
        let endpoint = Endpoint(address: address, port: port ?? vsPort)
        var checks: [HealthCheck] = []
        var ok = true
        for draft in self.checks {
            if let check = draft.resolve(real: endpoint, defaults: settings, log: &log) { checks.append(check) } else { ok = false }
        }
        if lowerThreshold > 0 && upperThreshold > 0 && lowerThreshold > upperThreshold, let word = header.arguments.first {
            log.error(word.location, "real_server \(endpoint): lthreshold \(lowerThreshold) is above uthreshold \(upperThreshold)")
            ok = false
        }
        guard ok else { return nil }
        return RealServer(
            endpoint: endpoint, weight: weight, forwarding: forwarding ?? vs.forwarding,
            inhibitOnFailure: settings.inhibitOnFailure ?? false, alpha: settings.alpha ?? false, notifyUp: notifyUp,
            notifyDown: notifyDown, upperThreshold: upperThreshold, lowerThreshold: lowerThreshold, checks: checks,
            origin: SourceOrigin(header.location))
    }
}
