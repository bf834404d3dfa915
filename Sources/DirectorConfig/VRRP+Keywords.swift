// Keyword tables for vrrp_script, vrrp_sync_group and vrrp_instance, and the drafts they fill in.
import Addresses

struct VRRPScriptDraft: Sendable {
    var name: ConfigWord
    var command: String?
    var interval: Duration = .seconds(1)
    var timeout: Duration?
    var weight = 0
    var reverse = false
    var rise = 1
    var fall = 1
    var user: ScriptUser?
    var initFail = false

    static let keywords = KeywordTable<VRRPScriptDraft>("vrrp_script", [
        .value("script", 1...Int.max) { d, node, log in
            // keepalived joins an unquoted command's words; a quoted one arrives as a single word.
            let command = node.arguments.map(\.text).joined(separator: " ")
            if command.trimmingSpaces.isEmpty {
                log.error(node.arguments[0].location, "'script' needs a command")
            } else {
                d.command = command
            }
        },
        .value("interval") { d, node, log in
            if let v = log.duration(node.arguments[0], 0.000001...86400, "'interval'") { d.interval = v }
        },
        .value("timeout") { d, node, log in
            if let v = log.duration(node.arguments[0], 0.000001...86400, "'timeout'") { d.timeout = v }
        },
        .value("weight", 1...2) { d, node, log in
            if let v = log.integer(node.arguments[0], -253...253, "'weight'") { d.weight = v }
            if node.arguments.count > 1, let r = log.choice(node.arguments[1], "the word after the weight", [("reverse", true), ("noreverse", false)]) {
                d.reverse = r
            }
        },
        .value("rise") { d, node, log in
            if let v = log.integer(node.arguments[0], 1...1_000_000, "'rise'") { d.rise = v }
        },
        .value("fall") { d, node, log in
            if let v = log.integer(node.arguments[0], 1...1_000_000, "'fall'") { d.fall = v }
        },
        .value("user", 1...2) { d, node, _ in
            d.user = ScriptUser(user: node.arguments[0].text, group: node.arguments.count > 1 ? node.arguments[1].text : nil)
        },
        .value("init_fail", 0...0) { d, _, _ in d.initFail = true },
    ])

    func resolve(log: inout DiagnosticLog) -> VRRPScript? {
        guard let command else {
            log.error(name.location, "vrrp_script '\(name.text)' has no 'script' command")
            return nil
        }
        return VRRPScript(
            name: name.text, command: command, interval: interval, timeout: timeout, weight: weight, reverse: reverse,
            rise: rise, fall: fall, user: user, initFail: initFail, origin: SourceOrigin(name.location))
    }
}

// MARK: - Tracking blocks shared by sync groups and instances

enum TrackingEntries {
    /// `NAME [weight N] [reverse|noreverse|no_reverse]`, one per line.
    static func scripts(_ node: ConfigNode, log: inout DiagnosticLog) -> [TrackedScript] {
        (node.block ?? []).compactMap { entry in
            if entry.block != nil {
                log.error(entry.blockLocation ?? entry.location, "a track_script entry does not take a block")
                return nil
            }
            var tracked = TrackedScript(name: entry.name, origin: SourceOrigin(entry.location))
            guard let (weight, reverse) = weightAndReverse(entry, range: -253...253, log: &log) else { return nil }
            tracked.weight = weight
            tracked.reverse = reverse
            return tracked
        }
    }

    /// `NAME [weight N [reverse|noreverse]]`, weight -254..254 (keepalived's vrrp_alloc_track_file).
    static func files(_ node: ConfigNode, log: inout DiagnosticLog) -> [TrackedFile] {
        (node.block ?? []).compactMap { entry in
            if entry.block != nil {
                log.error(entry.blockLocation ?? entry.location, "a track_file entry does not take a block")
                return nil
            }
            guard let (weight, reverse) = weightAndReverse(entry, range: -254...254, log: &log) else { return nil }
            return TrackedFile(name: entry.name, weight: weight, reverse: reverse, origin: SourceOrigin(entry.location))
        }
    }

    static func interfaces(_ node: ConfigNode, log: inout DiagnosticLog) -> [TrackedInterface] {
        (node.block ?? []).compactMap { entry in
            if entry.block != nil {
                log.error(entry.blockLocation ?? entry.location, "a track_interface entry does not take a block")
                return nil
            }
            guard let (weight, reverse) = weightAndReverse(entry, range: -253...253, log: &log) else { return nil }
            return TrackedInterface(name: entry.name, weight: weight ?? 0, reverse: reverse ?? false)
        }
    }

    private static func weightAndReverse(_ entry: ConfigNode, range: ClosedRange<Int>, log: inout DiagnosticLog) -> (Int?, Bool?)? {
        var weight: Int?
        var reverse: Bool?
        var i = 0
        let args = entry.arguments
        while i < args.count {
            switch args[i].text {
            case "weight":
                guard i + 1 < args.count else {
                    log.error(args[i].location, "'weight' needs a value")
                    return nil
                }
                guard let w = log.integer(args[i + 1], range, "'weight'") else { return nil }
                weight = w
                i += 2
            case "reverse":
                reverse = true
                i += 1
            case "noreverse", "no_reverse":
                reverse = false
                i += 1
            default:
                log.error(args[i].location, "unexpected '\(args[i].text)' after '\(entry.name)'; expected 'weight N' or 'reverse'")
                return nil
            }
        }
        return (weight, reverse)
    }
}

extension NotifyScripts {
    /// The notify_* keywords, shared by vrrp_instance and vrrp_sync_group.
    static func keywords<Draft>(_ path: WritableKeyPath<Draft, NotifyScripts> & Sendable) -> [Keyword<Draft>] {
        [
            .value("notify_master", 1...3) { d, node, log in d[keyPath: path].master = log.notifyScript(node) },
            .value("notify_backup", 1...3) { d, node, log in d[keyPath: path].backup = log.notifyScript(node) },
            .value("notify_fault", 1...3) { d, node, log in d[keyPath: path].fault = log.notifyScript(node) },
            .value("notify_stop", 1...3) { d, node, log in d[keyPath: path].stop = log.notifyScript(node) },
            .value("notify", 1...3) { d, node, log in d[keyPath: path].any = log.notifyScript(node) },
        ]
    }
}

// MARK: - vrrp_sync_group

extension SyncGroup {
    static let keywords = KeywordTable<SyncGroup>("vrrp_sync_group", [
        .block("group") { g, node, log in
            for entry in node.block ?? [] {
                if entry.block != nil {
                    log.error(entry.blockLocation ?? entry.location, "a group member does not take a block")
                    continue
                }
                for word in [entry.keyword] + entry.arguments {
                    g.members.append(Member(word.text, origin: SourceOrigin(word.location)))
                }
            }
        },
        .block("track_script") { g, node, log in g.trackScripts += TrackingEntries.scripts(node, log: &log) },
        .block("track_interface") { g, node, log in g.trackInterfaces += TrackingEntries.interfaces(node, log: &log) },
        .block("track_file") { g, node, log in g.trackFiles += TrackingEntries.files(node, log: &log) },
        .block("track_process") { g, node, log in g.trackProcesses += TrackingEntries.processes(node, log: &log) },
        .ignored("smtp_alert", "directord does not send e-mail"),
        .ignored("global_tracking", "deprecated in keepalived; sync group members share tracking anyway"),
        .unsupported("track_bfd", "BFD is not implemented"),
        .ignored("notify_deleted", "keepalived 2.2.7 knows it only in vrrp_instance and ignores it in a sync group"),
        .unsupported("sync_group_tracking_weight", "not implemented"),
    ] + NotifyScripts.keywords(\SyncGroup.notify))
}

// MARK: - vrrp_instance

struct VRRPInstanceDraft: Sendable {
    var name: ConfigWord
    var state: VRRPInitialState = .backup
    var interface: String?
    var virtualRouterID: UInt8?
    var priority: UInt8 = VRRPInstance.defaultPriority
    var advertInterval: (Duration, ConfigWord)?
    var version: (VRRPVersion, ConfigWord)?
    var preempt = true
    var preemptDelay: Duration = .zero
    var authType: AuthenticationType?
    var authPass: ConfigWord?
    var authNode: ConfigNode?
    var virtualAddresses: [(VirtualAddress, ConfigWord)] = []
    var excludedAddresses: [(VirtualAddress, ConfigWord)] = []
    var virtualRoutes: [VirtualRoute] = []
    var virtualRules: [(rule: StaticRule, location: SourceLocation)] = []
    var trackInterfaces: [TrackedInterface] = []
    var trackScripts: [TrackedScript] = []
    var trackFiles: [TrackedFile] = []
    var trackProcesses: [TrackedProcess] = []
    var unicastSourceIP: IPAddress?
    var unicastPeers: [IPAddress] = []
    var unicastPeerTTLs: [IPAddress: UnicastPeerTTL] = [:]
    var multicastSourceIP: IPAddress?
    var multicastGroup: (IPAddress, ConfigWord)?
    var promoteSecondaries = false
    var unicastFaultNoPeer: ConfigWord?
    var notifyMasterRxLowerPriority: NotifyScript?
    var garpMasterDelay: Duration?
    var garpMasterRepeat: Int?
    var garpMasterRefresh: Duration?
    var garpMasterRefreshRepeat: Int?
    var garpLowerPriorityDelay: Duration?
    var garpLowerPriorityRepeat: Int?
    var notify = NotifyScripts()
    var lvsSyncDaemonInterface: String?
    var useVMAC: ConfigNode?
    var vmacXmitBase = false
    var dontTrackPrimary = false
    var skipCheckAdvertAddresses = false
    var checkUnicastSource: ConfigWord?
    var unicastTTL: (UInt8, ConfigWord)?
    var downTimerAdverts: Int?
    var lowerPriorityNoAdvert: Bool?
    var higherPrioritySendAdvert: Bool?

    static let keywords = KeywordTable<VRRPInstanceDraft>("vrrp_instance", [
        .value("state") { d, node, log in
            let word = node.arguments[0]
            if word.text == "SLAVE" {
                // keepalived 2.2.7 starts an instance whose state it does not know in BACKUP, with a warning.
                log.warning(word.location, "state 'SLAVE' is obsolete: read as BACKUP, as keepalived does; write BACKUP")
                d.state = .backup
                return
            }
            guard let state = log.choice(word, "'state'", [("MASTER", VRRPInitialState.master), ("BACKUP", .backup)]) else { return }
            if word.text != state.rawValue {
                log.warning(word.location, "state '\(word.text)' read as \(state.rawValue) (keepalived 2.2 only knows upper case and would start in BACKUP)")
            }
            d.state = state
        },
        .value("interface") { d, node, _ in d.interface = node.arguments[0].text },
        .value("virtual_router_id") { d, node, log in
            if let v = log.integer(node.arguments[0], 1...255, "'virtual_router_id'") { d.virtualRouterID = UInt8(v) }
        },
        .value("priority") { d, node, log in
            if let v = log.integer(node.arguments[0], 1...255, "'priority'") { d.priority = UInt8(v) }
        },
        .value("advert_int") { d, node, log in
            // Bounds depend on the version, which may come later: checked in resolve.
            if let v = log.duration(node.arguments[0], 0.01...255, "'advert_int'") { d.advertInterval = (v, node.arguments[0]) }
        },
        .value("version") { d, node, log in
            if let v = log.choice(node.arguments[0], "'version'", [("2", VRRPVersion.v2), ("3", .v3)]) { d.version = (v, node.arguments[0]) }
        },
        .value("nopreempt", 0...0) { d, _, _ in d.preempt = false },
        .value("preempt", 0...0) { d, _, _ in d.preempt = true },
        .value("preempt_delay") { d, node, log in
            if let v = log.duration(node.arguments[0], 0...1000, "'preempt_delay'") { d.preemptDelay = v }
        },
        .block("authentication") { d, node, log in
            d.authNode = node
            authenticationKeywords.apply(node.block ?? [], to: &d, log: &log)
        },
        .block("virtual_ipaddress") { d, node, log in
            d.virtualAddresses += (node.block ?? []).compactMap { parseVirtualAddress($0, log: &log) }
        },
        .block("virtual_ipaddress_excluded") { d, node, log in
            d.excludedAddresses += (node.block ?? []).compactMap { parseVirtualAddress($0, log: &log) }
        },
        .block("virtual_routes") { d, node, log in
            d.virtualRoutes += (node.block ?? []).compactMap { parseVirtualRoute($0, log: &log) }
        },
        .block("virtual_rules") { d, node, log in
            // static_rules' grammar; the preference numbering happens where the instance is added (DirectorConfig).
            for entry in node.block ?? [] {
                if let rule = StaticNetwork.parseRule(entry, log: &log) { d.virtualRules.append((rule, entry.location)) }
            }
        },
        .block("track_interface") { d, node, log in d.trackInterfaces += TrackingEntries.interfaces(node, log: &log) },
        .block("track_script") { d, node, log in d.trackScripts += TrackingEntries.scripts(node, log: &log) },
        .block("track_file") { d, node, log in d.trackFiles += TrackingEntries.files(node, log: &log) },
        .block("track_process") { d, node, log in d.trackProcesses += TrackingEntries.processes(node, log: &log) },
        .value("unicast_src_ip") { d, node, log in d.unicastSourceIP = unicastAddress(node.arguments[0], "'unicast_src_ip'", log: &log) },
        .block("unicast_peer") { d, node, log in
            for entry in node.block ?? [] {
                guard let address = unicastAddress(entry.keyword, "unicast peer", log: &log) else { continue }
                // keepalived's `ADDR [min_ttl N] [max_ttl N]` (0..255): giving either turns check_unicast_src on.
                var ttl = UnicastPeerTTL()
                var ok = true
                var i = 0
                let args = entry.arguments
                while ok && i < args.count {
                    guard args[i].text == "min_ttl" || args[i].text == "max_ttl" else {
                        log.error(args[i].location, "unexpected '\(args[i].text)' after the unicast peer address; expected min_ttl N or max_ttl N")
                        ok = false
                        break
                    }
                    guard i + 1 < args.count, let v = log.integer(args[i + 1], 0...255, "'\(args[i].text)'") else {
                        if i + 1 >= args.count { log.error(args[i].location, "'\(args[i].text)' needs a value") }
                        ok = false
                        break
                    }
                    if args[i].text == "min_ttl" { ttl.min = UInt8(v) } else { ttl.max = UInt8(v) }
                    i += 2
                }
                guard ok else { continue }
                if ttl.min > ttl.max {
                    log.warning(entry.location, "min_ttl \(ttl.min) > max_ttl \(ttl.max): every advert from \(address) is dropped (keepalived warns too)")
                }
                if !args.isEmpty {
                    d.unicastPeerTTLs[address] = ttl
                    if d.checkUnicastSource == nil { d.checkUnicastSource = entry.keyword }
                }
                d.unicastPeers.append(address)
            }
        },
        .value("unicast_ttl") { d, node, log in
            if let v = log.integer(node.arguments[0], 0...255, "'unicast_ttl'") { d.unicastTTL = (UInt8(v), node.arguments[0]) }
        },
        .value("down_timer_adverts") { d, node, log in
            if let v = log.integer(node.arguments[0], 1...100, "'down_timer_adverts'") { d.downTimerAdverts = v }
        },
        .value("lower_prio_no_advert", 0...1) { d, node, log in
            if let v = log.flag(node) { d.lowerPriorityNoAdvert = v }
        },
        .value("higher_prio_send_advert", 0...1) { d, node, log in
            if let v = log.flag(node) { d.higherPrioritySendAdvert = v }
        },
        .value("check_unicast_src", 0...0) { d, node, _ in d.checkUnicastSource = node.keyword },
        .value("notify_master_rx_lower_pri", 1...3) { d, node, log in d.notifyMasterRxLowerPriority = log.notifyScript(node) },
        .value("unicast_fault_no_peer", 0...0) { d, node, _ in d.unicastFaultNoPeer = node.keyword },
        .value("promote_secondaries", 0...0) { d, _, _ in d.promoteSecondaries = true },
        .value("mcast_dst_ip") { d, node, log in
            if let a = log.address(node.arguments[0], "'mcast_dst_ip'") { d.multicastGroup = (a, node.arguments[0]) }
        },
        .value("mcast_src_ip") { d, node, log in d.multicastSourceIP = log.address(node.arguments[0], "'mcast_src_ip'") },
        .value("garp_master_delay") { d, node, log in
            d.garpMasterDelay = log.duration(node.arguments[0], 0...1000, "'garp_master_delay'")
        },
        .value("garp_master_repeat") { d, node, log in
            d.garpMasterRepeat = log.integer(node.arguments[0], 1...255, "'garp_master_repeat'")
        },
        .value("garp_master_refresh") { d, node, log in
            d.garpMasterRefresh = log.duration(node.arguments[0], 0...86400, "'garp_master_refresh'")
        },
        .value("garp_master_refresh_repeat") { d, node, log in
            d.garpMasterRefreshRepeat = log.integer(node.arguments[0], 1...255, "'garp_master_refresh_repeat'")
        },
        .value("garp_lower_prio_delay") { d, node, log in
            d.garpLowerPriorityDelay = log.duration(node.arguments[0], 0...1000, "'garp_lower_prio_delay'")
        },
        .value("garp_lower_prio_repeat") { d, node, log in
            d.garpLowerPriorityRepeat = log.integer(node.arguments[0], 0...255, "'garp_lower_prio_repeat'")
        },
        .value("lvs_sync_daemon_interface") { d, node, _ in d.lvsSyncDaemonInterface = node.arguments[0].text },
        .value("lvs_sync_daemon_inteface") { d, node, log in misspelledSyncDaemon(&d, node, &log) },
        .value("vs_sync_daemon_inteface") { d, node, log in misspelledSyncDaemon(&d, node, &log) },
        .value("vs_sync_daemon_interface") { d, node, log in misspelledSyncDaemon(&d, node, &log) },
        .ignored("smtp_alert", "directord does not send e-mail"),
        .value("dont_track_primary", 0...0) { d, _, _ in d.dontTrackPrimary = true },
        .ignored("debug", "use directord --log-level"),
        .ignored("notify_priority_changes", "directord has no notify FIFO"),
        .value("skip_check_adv_addr", 0...0) { d, _, _ in d.skipCheckAdvertAddresses = true },
        .ignored("strict_mode", "directord installs no firewall rules and does not implement keepalived's strict mode"),
        .ignored("accept", "directord never filters traffic to the virtual addresses"),
        .unsupported("no_accept", "directord installs no firewall rules, so it cannot drop traffic to the virtual addresses"),
        .value("use_vmac", 0...2) { d, node, _ in d.useVMAC = node },
        .value("vmac_xmit_base", 0...0) { d, _, _ in d.vmacXmitBase = true },
        .unsupported("track_bfd", "BFD is not implemented"),
        .ignored("garp_interval", "directord sends each burst of gratuitous ARPs at once"),
        .ignored("gna_interval", "directord sends each burst of neighbour advertisements at once"),
        .ignored("kernel_rx_buf_size", "directord sizes its own socket buffers"),
        .ignored("linkbeat_use_polling", "directord follows link state through netlink"),
        .ignored("vmac_garp_intvl", "VRRP virtual MAC interfaces are not implemented"),
        .unsupported("use_vmac_addr", "VRRP virtual MAC interfaces are not implemented"),
        .unsupported("use_ipvlan", "ipvlan interfaces are not implemented"),
        .unsupported("vrf", "VRFs are not implemented"),
        .unsupported("native_ipv6", "give the instance IPv6 virtual addresses, or vrrp_version 3"),
        .unsupported("old_unicast_checksum", "directord computes unicast checksums as RFC 5798 says"),
        .unsupported("track_src_ip", "not implemented"),
        .unsupported("garp_extra_if", "gratuitous ARPs on other interfaces are not implemented"),
        .value("notify_deleted", 0...3) { d, node, log in
            d.notify.notifyDeleted = true
            if !node.arguments.isEmpty { d.notify.deleted = log.notifyScript(node) }
        },
    ] + NotifyScripts.keywords(\VRRPInstanceDraft.notify))

    static let authenticationKeywords = KeywordTable<VRRPInstanceDraft>("authentication", [
        .value("auth_type") { d, node, log in
            d.authType = log.choice(node.arguments[0], "'auth_type'", [("PASS", AuthenticationType.pass), ("AH", .ah)])
        },
        .value("auth_pass") { d, node, _ in d.authPass = node.arguments[0] },
    ])

    private static func misspelledSyncDaemon(_ d: inout VRRPInstanceDraft, _ node: ConfigNode, _ log: inout DiagnosticLog) {
        // keepalived's own synopsis spelled it so until 2024 and the seed configurations copy it, but keepalived
        // 2.2.7 does not know it: it logs "Unknown keyword" and runs no sync daemon. directord keeps the intent.
        log.warning(node.location, "'\(node.name)' is a misspelling of 'lvs_sync_daemon_interface': directord reads it so, but keepalived 2.2.7 ignores it (Unknown keyword) and runs no sync daemon; write 'lvs_sync_daemon_interface'")
        d.lvsSyncDaemonInterface = node.arguments[0].text
    }

    /// An address entry as `ip addr add` and keepalived take it:
    /// `ADDR[/PLEN] [brd ADDR|+|-] [dev IF] [scope S] [label L] [peer ADDR] [home] [-nodad] [mngtmpaddr]
    /// [noprefixroute] [autojoin] [no_track] [preferred_lft N|forever]`.
    static func parseVirtualAddress(_ entry: ConfigNode, log: inout DiagnosticLog) -> (VirtualAddress, ConfigWord)? {
        if entry.block != nil {
            log.error(entry.blockLocation ?? entry.location, "an address entry does not take a block")
            return nil
        }
        guard let prefix = log.prefix(entry.keyword, "virtual address") else { return nil }
        var address = VirtualAddress(prefix: prefix)
        let isIPv6 = prefix.address.family == .ipv6
        var broadcastBits: String?
        let args = entry.arguments
        var i = 0
        while i < args.count {
            let option = args[i]
            if let flag = AddressFlags.words.first(where: { $0.0 == option.text })?.1 {
                address.flags.insert(flag)
                i += 1
                continue
            }
            switch option.text {
            case "-nodad":
                address.duplicateAddressDetection = true
                i += 1
                continue
            case "no_track":
                // keepalived stops watching the address for removal; directord does not watch addresses for that.
                i += 1
                continue
            case "track_group":
                log.error(option.location, "address option 'track_group' is not supported: directord has no track_group blocks")
                return nil
            case "use_vmac":
                log.error(option.location, "address option 'use_vmac' is not supported: VRRP virtual MAC interfaces are not implemented")
                return nil
            case "brd", "broadcast", "dev", "scope", "label", "peer", "preferred_lft":
                break
            default:
                log.error(option.location, "unknown address option '\(option.text)'; expected brd, dev, scope, label, peer, home, -nodad, mngtmpaddr, noprefixroute, autojoin, no_track or preferred_lft")
                return nil
            }
            guard i + 1 < args.count else {
                log.error(option.location, "'\(option.text)' needs a value")
                return nil
            }
            let value = args[i + 1]
            switch option.text {
            case "brd", "broadcast":
                if value.text == "+" || value.text == "-" {
                    broadcastBits = value.text
                    break
                }
                guard case .v4 = prefix.address, case .success(.v4(let b)) = IPAddress.parse(value.text) else {
                    log.error(value.location, "'brd' needs an IPv4 broadcast address (or + or -) for an IPv4 virtual address, not '\(value.text)'")
                    return nil
                }
                address.broadcast = b
            case "dev":
                address.device = value.text
            case "scope":
                guard let scope = log.choice(value, "'scope'", scopes) else { return nil }
                if isIPv6 {
                    log.warning(value.location, "keepalived ignores 'scope' on an IPv6 address; ignored")
                } else {
                    address.scope = scope
                }
            case "label":
                if isIPv6 {
                    log.warning(value.location, "keepalived ignores 'label' on an IPv6 address; ignored")
                } else if value.text.utf8.count >= 16 {
                    log.error(value.location, "address label '\(value.text)' is longer than 15 characters (the kernel's IFNAMSIZ)")
                    return nil
                } else {
                    address.label = value.text
                }
            case "peer":
                guard let peer = log.prefix(value, "peer address") else { return nil }
                guard peer.address.family == prefix.address.family else {
                    log.error(value.location, "peer \(peer) is not of the address's family")
                    return nil
                }
                if prefix.length != (isIPv6 ? 128 : 32) {
                    log.warning(entry.keyword.location, "keepalived ignores the address's prefix when a peer is given; the peer's prefix length is used")
                }
                address.peer = peer
            default:
                if value.text == "forever" {
                    address.preferredLifetime = nil
                } else {
                    guard let n = log.integer(value, 0...Int(UInt32.max), "'preferred_lft'") else { return nil }
                    address.preferredLifetime = UInt32(n)
                }
                if !isIPv6 {
                    log.warning(option.location, "'preferred_lft' applies to IPv6 addresses; keepalived ignores it here")
                    address.preferredLifetime = nil
                }
            }
            i += 2
        }
        if address.peer != nil, address.broadcast != nil || broadcastBits != nil {
            log.warning(entry.keyword.location, "keepalived ignores the broadcast address when a peer is given; ignored")
            address.broadcast = nil
        } else if let bits = broadcastBits {
            guard case .v4(let a) = (address.peer?.address ?? prefix.address), prefix.length <= 30 else {
                log.error(entry.keyword.location, "'brd \(bits)' needs an IPv4 address with a prefix of /30 or shorter")
                return nil
            }
            let host: UInt32 = prefix.length == 0 ? .max : (UInt32.max >> UInt32(prefix.length))
            address.broadcast = IPv4Address(bits == "+" ? a.value | host : a.value & ~host)
        }
        return (address, entry.keyword)
    }

    static let scopes: [(String, AddressScope)] = [
        ("global", .global), ("site", .site), ("link", .link), ("host", .host), ("nowhere", .nowhere),
    ]

    /// The addresses one advert holds: the count field's 255, or what fits in a 1500-byte Ethernet frame after the
    /// headers (keepalived's DEFAULT_MTU; IPv6: 89).
    static func advertisedAddressLimit(_ family: AddressFamily) -> Int {
        let headers = family == .ipv4 ? 14 + 20 + 8 : 14 + 40 + 8
        return min(255, (1500 - headers) / (family == .ipv4 ? 4 : 16))
    }

    func resolve(globals: GlobalSettings, log: inout DiagnosticLog) -> VRRPInstance? {
        var ok = true
        if interface == nil {
            log.error(name.location, "vrrp_instance '\(name.text)' has no 'interface'")
            ok = false
        }
        if virtualRouterID == nil {
            log.error(name.location, "vrrp_instance '\(name.text)' has no 'virtual_router_id'")
            ok = false
        }
        let families = Set(virtualAddresses.map { $0.0.prefix.address.family })
        if families.count > 1, let first = virtualAddresses.first {
            let odd = virtualAddresses.first { $0.0.prefix.address.family != first.0.prefix.address.family }
            log.error(
                odd?.1.location ?? name.location,
                "virtual_ipaddress mixes IPv4 and IPv6 (adverts carry one family); put the other family in virtual_ipaddress_excluded")
            ok = false
        }
        var resolvedVersion = version?.0 ?? globals.vrrpVersion
        if families == [.ipv6] && resolvedVersion == .v2 {
            if let word = version?.1 {
                log.warning(word.location, "VRRPv2 has no IPv6; instance '\(name.text)' runs VRRPv3")
            }
            resolvedVersion = .v3
        }
        var advert: Duration = .seconds(1)
        if let (interval, word) = advertInterval {
            let (seconds, attoseconds) = interval.components
            switch resolvedVersion {
            case .v2:
                if attoseconds != 0 || seconds < 1 || seconds > 255 {
                    log.error(word.location, "VRRPv2 'advert_int' must be whole seconds in 1..255, not \(word.text) (use 'version 3' for shorter intervals)")
                    ok = false
                }
            case .v3:
                let centiseconds = seconds * 100 + attoseconds / 10_000_000_000_000_000
                if attoseconds % 10_000_000_000_000_000 != 0 || centiseconds < 1 || centiseconds > 4095 {
                    log.error(word.location, "VRRPv3 'advert_int' must be 0.01..40.95 seconds in steps of 0.01, not \(word.text)")
                    ok = false
                }
            }
            advert = interval
        }
        var authentication: VRRPAuthentication?
        if let authNode {
            if let authPass {
                var password = authPass.text
                if password.utf8.count > 8 {
                    log.warning(authPass.location, "only the first 8 bytes of 'auth_pass' are used, as in keepalived")
                    password = String(decoding: Array(password.utf8.prefix(8)), as: UTF8.self)
                }
                authentication = VRRPAuthentication(type: authType ?? .pass, password: password)
            } else {
                log.error(authNode.location, "'authentication' has no 'auth_pass'")
                ok = false
            }
            if resolvedVersion == .v3 {
                log.warning(authNode.location, "VRRPv3 has no authentication; the 'authentication' block is ignored")
                authentication = nil
            }
        }
        if authentication?.type == .ah && state == .master {
            log.warning(name.location, "instance '\(name.text)': initial state MASTER is incompatible with auth_type AH (the anti-replay sequence must be learnt first); it starts as BACKUP, as keepalived does")
        }
        if !preempt && state == .master {
            log.warning(name.location, "'nopreempt' only works with 'state BACKUP'; instance '\(name.text)' starts as MASTER")
        }
        if let word = checkUnicastSource, unicastPeers.isEmpty {
            // keepalived 2.2.7 falls back to multicast (deprecated) when a unicast keyword has no peers.
            log.warning(word.location, "'check_unicast_src' has no effect without 'unicast_peer': instance '\(name.text)' uses multicast")
        }
        var ttl = unicastTTL?.0
        if let (_, word) = unicastTTL, unicastPeers.isEmpty {
            // keepalived resets it too ("Cannot use unicast_ttl without unicast peers"); multicast keeps TTL 255.
            log.warning(word.location, "'unicast_ttl' needs 'unicast_peer': ignored, multicast adverts keep TTL 255")
            ttl = nil
        } else if let (value, word) = unicastTTL, value == 0, families != [.ipv6] {
            log.warning(word.location, "'unicast_ttl 0' is sent as TTL 1: the kernel refuses TTL 0 on a raw IPv4 socket (peers on the link see no difference)")
            ttl = 1
        }
        // keepalived skips a group of the wrong family, or not multicast (IPv6: not link-local multicast), with an
        // error and runs with the default: so does directord, with a warning.
        let family: AddressFamily = families == [.ipv6] ? .ipv6 : .ipv4
        var group: IPAddress?
        if let (address, word) = multicastGroup {
            if address.family != family {
                log.warning(word.location, "'mcast_dst_ip' \(word.text) is not \(family == .ipv4 ? "IPv4" : "IPv6") like instance '\(name.text)': ignored, as keepalived does")
            } else if !address.isVRRPMulticastGroup {
                log.warning(word.location, "'mcast_dst_ip' \(word.text) is not \(family == .ipv6 ? "a link-local multicast (ff02::/16)" : "a multicast") address: ignored, as keepalived does")
            } else {
                group = address
            }
        }
        if group == nil { group = family == .ipv4 ? globals.vrrpMulticastGroup4 : globals.vrrpMulticastGroup6 }
        if let word = unicastFaultNoPeer, unicastPeers.isEmpty {
            log.warning(word.location, "'unicast_fault_no_peer' and no 'unicast_peer': instance '\(name.text)' stays in FAULT, as in keepalived")
        }
        guard ok, let interface, let virtualRouterID else { return nil }
        var garp = globals.garp
        if let garpMasterDelay { garp.masterDelay = garpMasterDelay }
        if let garpMasterRepeat { garp.masterRepeat = garpMasterRepeat }
        if let garpMasterRefresh { garp.masterRefresh = garpMasterRefresh }
        if let garpMasterRefreshRepeat { garp.masterRefreshRepeat = garpMasterRefreshRepeat }
        if let garpLowerPriorityDelay { garp.lowerPriorityDelay = garpLowerPriorityDelay }
        if let garpLowerPriorityRepeat { garp.lowerPriorityRepeat = garpLowerPriorityRepeat }
        let vmac = resolveVirtualMAC(globals: globals, virtualRouterID: virtualRouterID, log: &log)
        if useVMAC != nil && vmac == nil { return nil }
        // keepalived's vrrp_complete_instance: what does not fit in an advert (255 addresses, or a 1500-byte frame for
        // IPv6) is moved to virtual_ipaddress_excluded, added but not advertised.
        var advertised = virtualAddresses
        var excluded = excludedAddresses
        let limit = Self.advertisedAddressLimit(families.first ?? .ipv4)
        if advertised.count > limit {
            log.warning(advertised[limit].1.location, "vrrp_instance '\(name.text)' has \(advertised.count) virtual_ipaddress entries and an advert carries at most \(limit): the ones from here on are added but not advertised (virtual_ipaddress_excluded), as keepalived does")
            excluded = Array(advertised[limit...]) + excluded
            advertised.removeSubrange(limit...)
        }
        var instance = VRRPInstance(
            name: name.text, initialState: authentication?.type == .ah ? .backup : state, interface: interface, virtualRouterID: virtualRouterID,
            priority: priority, advertInterval: advert, version: resolvedVersion, preempt: preempt,
            preemptDelay: preemptDelay, authentication: authentication, virtualAddresses: advertised.map(\.0),
            excludedAddresses: excluded.map(\.0), virtualRoutes: virtualRoutes, trackInterfaces: trackInterfaces,
            trackScripts: trackScripts, unicastSourceIP: unicastSourceIP, unicastPeers: unicastPeers,
            unicastPeerTTLs: unicastPeerTTLs,
            multicastSourceIP: multicastSourceIP, garp: garp, notify: notify,
            lvsSyncDaemonInterface: lvsSyncDaemonInterface,
            unicastTTL: ttl, downTimerAdverts: downTimerAdverts ?? globals.vrrpDownTimerAdverts,
            lowerPriorityNoAdvert: lowerPriorityNoAdvert ?? globals.vrrpLowerPriorityNoAdvert,
            higherPrioritySendAdvert: higherPrioritySendAdvert ?? globals.vrrpHigherPrioritySendAdvert,
            trackFiles: trackFiles, virtualRules: virtualRules.map(\.rule), multicastGroup: unicastPeers.isEmpty ? group : nil,
            promoteSecondaries: promoteSecondaries, faultsWithoutPeers: unicastFaultNoPeer != nil && unicastPeers.isEmpty,
            notifyMasterRxLowerPriority: notifyMasterRxLowerPriority,
            checkUnicastSource: !unicastPeers.isEmpty && (checkUnicastSource != nil || globals.vrrpCheckUnicastSource),
            origin: SourceOrigin(name.location))
        instance.virtualMAC = vmac
        instance.tracksPrimary = !dontTrackPrimary
        instance.trackProcesses = trackProcesses
        instance.checksAdvertAddresses = !(skipCheckAdvertAddresses || globals.vrrpSkipCheckAdvertAddresses)
        return instance
    }

    /// `use_vmac [NAME] [MAC]` (either order; a word with ':' is the MAC, five octets take the VRID as the sixth).
    func resolveVirtualMAC(globals: GlobalSettings, virtualRouterID: UInt8, log: inout DiagnosticLog) -> VirtualMAC? {
        guard let node = useVMAC else {
            if vmacXmitBase { log.warning(name.location, "'vmac_xmit_base' without 'use_vmac' does nothing, as in keepalived") }
            return nil
        }
        if virtualAddresses.contains(where: { $0.0.prefix.address.family == .ipv6 }) {
            log.error(node.location, "'use_vmac' is not supported for IPv6 instances (their link-local address on the macvlan is not implemented); use it with IPv4 instances")
            return nil
        }
        var interfaceName = "\(globals.vmacPrefix).\(virtualRouterID)"
        var address = VirtualMAC.routerAddress(virtualRouterID)
        for word in node.arguments {
            if word.text.contains(":") {
                guard let mac = Self.parseMAC(word.text, virtualRouterID: virtualRouterID) else {
                    log.error(word.location, "'\(word.text)' is not a MAC address (six hex octets, or five to take the VRID as the sixth)")
                    return nil
                }
                guard mac[0] & 1 == 0 else {
                    log.error(word.location, "VMAC address \(word.text) is a multicast address")
                    return nil
                }
                address = mac
            } else {
                guard !word.text.isEmpty, word.text.utf8.count < 16, !word.text.contains("/"), word.text != ".", word.text != ".." else {
                    log.error(word.location, "'\(word.text)' is not an interface name (at most 15 bytes, no '/')")
                    return nil
                }
                interfaceName = word.text
            }
        }
        if interfaceName == interface {
            log.error(node.location, "the VMAC interface '\(interfaceName)' cannot be the instance's own interface")
            return nil
        }
        var transmitOnBase = vmacXmitBase
        if !unicastPeers.isEmpty && !transmitOnBase {
            log.warning(node.location, "unicast peers with use_vmac need vmac_xmit_base: set, as keepalived sets it")
            transmitOnBase = true
        }
        return VirtualMAC(interface: interfaceName, address: address, transmitOnBase: transmitOnBase)
    }

    static func parseMAC(_ text: String, virtualRouterID: UInt8) -> [UInt8]? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        var octets: [UInt8] = []
        for (i, part) in parts.enumerated() {
            if part.isEmpty && i == parts.count - 1 && octets.count == 5 { break }  // "00:11:22:33:44:"
            guard (1...2).contains(part.count), let v = UInt8(part, radix: 16) else { return nil }
            octets.append(v)
        }
        if octets.count == 5 { octets.append(virtualRouterID) }
        return octets.count == 6 ? octets : nil
    }
}

extension String {
    var trimmingSpaces: Substring {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !Lexer.isSpace($0) }),
            let last = scalars.lastIndex(where: { !Lexer.isSpace($0) })
        else { return "" }
        return Substring(scalars[first...last])
    }
}

/// A unicast address, where keepalived (inet_stosockaddr) drops a `/prefix`: read without it, with a warning.
func unicastAddress(_ word: ConfigWord, _ what: String, log: inout DiagnosticLog) -> IPAddress? {
    guard let slash = word.text.firstIndex(of: "/") else { return log.address(word, what) }
    let prefix = word.text[word.text.index(after: slash)...]
    guard !prefix.isEmpty, prefix.count <= 3, prefix.allSatisfy(\.isASCII), prefix.allSatisfy(\.isNumber) else {
        log.error(word.location, "\(what) '\(word.text)' is not an address (a prefix length after '/' is a number)")
        return nil
    }
    let address = ConfigWord(String(word.text[..<slash]), at: word.location)
    guard let value = log.address(address, what) else { return nil }
    log.warning(word.location, "the '/\(prefix)' of \(what) \(word.text) is ignored, as keepalived ignores it")
    return value
}
