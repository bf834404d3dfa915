// global_defs: keepalived's globals that matter to IPVS and VRRP, directord's own settings, and the ignored e-mail.

extension GlobalSettings {
    static let keywords = KeywordTable<GlobalSettings>("global_defs", [
        .value("router_id") { g, node, _ in g.routerID = node.arguments[0].text },
        .value("lvs_sync_daemon", 1...Int.max) { g, node, log in
            if let daemon = LVSSyncDaemon.parse(node, log: &log) { g.syncDaemon = daemon }
        },
        .value("vrrp_garp_master_delay") { g, node, log in
            if let v = log.duration(node.arguments[0], 0...1000, "'vrrp_garp_master_delay'") { g.garp.masterDelay = v }
        },
        .value("vrrp_garp_master_repeat") { g, node, log in
            if let v = log.integer(node.arguments[0], 1...255, "'vrrp_garp_master_repeat'") { g.garp.masterRepeat = v }
        },
        .value("vrrp_garp_master_refresh") { g, node, log in
            if let v = log.duration(node.arguments[0], 0...86400, "'vrrp_garp_master_refresh'") { g.garp.masterRefresh = v }
        },
        .value("vrrp_version") { g, node, log in
            if let v = log.choice(node.arguments[0], "'vrrp_version'", [("2", VRRPVersion.v2), ("3", .v3)]) { g.vrrpVersion = v }
        },
        .value("script_user", 1...2) { g, node, _ in
            g.scriptUser = ScriptUser(user: node.arguments[0].text, group: node.arguments.count > 1 ? node.arguments[1].text : nil)
        },
        .value("enable_script_security", 0...0) { g, _, _ in g.enableScriptSecurity = true },
        .value("lvs_flush", 0...0) { g, _, _ in g.lvsFlush = true },
        .value("lvs_flush_on_stop", 0...1) { g, node, log in
            guard let word = node.arguments.first else {
                g.lvsFlushOnStop = .all
                return
            }
            if log.choice(word, "'lvs_flush_on_stop'", [("VS", true)]) != nil { g.lvsFlushOnStop = .virtualServers }
        },
        .value("lvs_keep_on_stop", 0...0) { g, _, _ in g.lvsFlushOnStop = .keep },
        .value("control_socket") { g, node, log in
            let word = node.arguments[0]
            guard word.text.hasPrefix("/"), word.text.utf8.count < 108 else {
                log.error(word.location, "'control_socket' must be an absolute path shorter than 108 bytes (a unix socket address)")
                return
            }
            g.controlSocket = word.text
        },
        .value("drift_check_interval") { g, node, log in
            if let v = log.duration(node.arguments[0], 0...86400, "'drift_check_interval'") { g.driftCheckInterval = v }
        },
        .value("metrics_listen", 2...2) { g, node, log in
            guard let address = log.address(node.arguments[0], "'metrics_listen' address"),
                let port = log.port(node.arguments[1], "'metrics_listen' port")
            else { return }
            g.metricsListen = Endpoint(address: address, port: port)
        },
        .ignored("lvs_id", "obsolete: keepalived 2.2.7 reports it as an unknown keyword and ignores it (router_id names the director)"),
        .ignored("notification_email", "directord does not send e-mail"),
        .ignored("notification_email_from", "directord does not send e-mail"),
        .ignored("smtp_server", "directord does not send e-mail"),
        .ignored("smtp_helo_name", "directord does not send e-mail"),
        .ignored("smtp_connect_timeout", "directord does not send e-mail"),
        .ignored("smtp_alert", "directord does not send e-mail"),
        .ignored("smtp_alert_vrrp", "directord does not send e-mail"),
        .ignored("smtp_alert_checker", "directord does not send e-mail"),
        .ignored("no_email_faults", "directord does not send e-mail"),
        .ignored("checker_log_all_failures", "directord logs every health transition with its reason"),
        .ignored("vrrp_skip_check_adv_addr", "directord always checks advertisements as the RFCs require"),
        .ignored("vrrp_strict", "directord installs no firewall rules and does not implement keepalived's strict mode"),
        .ignored("vrrp_garp_interval", "directord sends each burst of gratuitous ARPs at once"),
        .ignored("vrrp_gna_interval", "directord sends each burst of neighbour advertisements at once"),
        .ignored("enable_snmp_vrrp", "directord has no SNMP agent; see metrics_listen"),
        .ignored("enable_snmp_checker", "directord has no SNMP agent; see metrics_listen"),
        .ignored("enable_traps", "directord has no SNMP agent; see metrics_listen"),
        .ignored("max_auto_priority", "directord's VRRP loop has its own thread and absolute deadlines"),
        .unsupported("vrrp_mcast_group4", "VRRP uses the IANA group 224.0.0.18"),
        .unsupported("vrrp_mcast_group6", "VRRP uses the IANA group ff02::12"),
        .unsupported("lvs_timeouts", "set IPVS timeouts with ipvsadm --set"),
        .unsupported("net_namespace", "start directord inside the namespace (ip netns exec) instead"),
    ])
}

extension LVSSyncDaemon {
    private static let options: Set<String> = ["id", "maxlen", "port", "ttl", "group"]

    /// `IF [[inst] INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group ADDR]` (keepalived 2.x).
    static func parse(_ node: ConfigNode, log: inout DiagnosticLog) -> LVSSyncDaemon? {
        let args = node.arguments
        var daemon = LVSSyncDaemon(interface: args[0].text, origin: SourceOrigin(node.location))
        var i = 1
        if i < args.count && args[i].text == "inst" {
            guard i + 1 < args.count else {
                log.error(args[i].location, "'inst' needs a vrrp_instance name")
                return nil
            }
            daemon.instance = args[i + 1].text
            i += 2
        } else if i < args.count && !options.contains(args[i].text) {
            daemon.instance = args[i].text
            i += 1
        }
        var ok = true
        while i < args.count {
            let option = args[i]
            guard options.contains(option.text) else {
                log.error(option.location, "unknown 'lvs_sync_daemon' option '\(option.text)'; expected id, maxlen, port, ttl or group")
                return nil
            }
            guard i + 1 < args.count else {
                log.error(option.location, "'\(option.text)' needs a value")
                return nil
            }
            let value = args[i + 1]
            switch option.text {
            case "id":
                if let v = log.integer(value, 0...255, "sync id") { daemon.syncID = UInt8(v) } else { ok = false }
            case "maxlen":
                if let v = log.integer(value, 1...65507, "'maxlen'") { daemon.maxLength = v } else { ok = false }
            case "port":
                if let v = log.port(value, "sync daemon port") { daemon.port = v } else { ok = false }
            case "ttl":
                if let v = log.integer(value, 1...255, "'ttl'") { daemon.ttl = UInt8(v) } else { ok = false }
            default:
                guard let address = log.address(value, "sync daemon group") else {
                    ok = false
                    break
                }
                if !address.isMulticast {
                    log.error(value.location, "sync daemon group \(address) is not a multicast address")
                    ok = false
                }
                daemon.group = address
            }
            i += 2
        }
        return ok ? daemon : nil
    }
}

extension IPAddress {
    public var isMulticast: Bool {
        switch self {
        case .v4(let a): a.value >> 28 == 0xE
        case .v6(let a): a.high >> 56 == 0xFF
        }
    }
}
