// global_defs: keepalived's globals that matter to IPVS and VRRP, directord's own settings, and the ignored e-mail.
import Addresses

extension GlobalSettings {
    static let keywords = KeywordTable<GlobalSettings>("global_defs", [
        .value("router_id") { g, node, _ in g.routerID = node.arguments[0].text },
        .value("lvs_sync_daemon", 1...Int.max) { g, node, log in
            guard let daemon = LVSSyncDaemon.parse(node, log: &log) else { return }
            // keepalived keeps the first and ignores the others, each with a message.
            if let first = g.syncDaemon {
                log.warning(node.location, "'lvs_sync_daemon' is already set to \(first.interface)\(first.instance.map { " for vrrp_instance '\($0)'" } ?? ""): this one is ignored, as keepalived ignores every one after the first")
                return
            }
            g.syncDaemon = daemon
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
        .value("vrrp_garp_master_refresh_repeat") { g, node, log in
            if let v = log.integer(node.arguments[0], 1...255, "'vrrp_garp_master_refresh_repeat'") { g.garp.masterRefreshRepeat = v }
        },
        .value("vrrp_garp_lower_prio_delay") { g, node, log in
            if let v = log.duration(node.arguments[0], 0...1000, "'vrrp_garp_lower_prio_delay'") { g.garp.lowerPriorityDelay = v }
        },
        .value("vrrp_garp_lower_prio_repeat") { g, node, log in
            if let v = log.integer(node.arguments[0], 0...255, "'vrrp_garp_lower_prio_repeat'") { g.garp.lowerPriorityRepeat = v }
        },
        .value("vrrp_version") { g, node, log in
            if let v = log.choice(node.arguments[0], "'vrrp_version'", [("2", VRRPVersion.v2), ("3", .v3)]) { g.vrrpVersion = v }
        },
        .value("vrrp_down_timer_adverts") { g, node, log in
            if let v = log.integer(node.arguments[0], 1...100, "'vrrp_down_timer_adverts'") { g.vrrpDownTimerAdverts = v }
        },
        .value("vrrp_startup_delay") { g, node, log in
            if let v = log.duration(node.arguments[0], 0...4294, "'vrrp_startup_delay'") {
                if v >= .seconds(60) { log.warning(node.arguments[0].location, "'vrrp_startup_delay' \(node.arguments[0].text) is very large (keepalived warns too)") }
                g.vrrpStartupDelay = v
            }
        },
        .value("default_interface") { g, node, log in
            let word = node.arguments[0]
            guard (1...15).contains(word.text.utf8.count), !word.text.contains("/") else {
                log.error(word.location, "'default_interface' must be an interface name (1-15 characters, no '/')")
                return
            }
            g.defaultInterface = word.text
        },
        .value("vrrp_min_garp", 0...1) { g, node, log in
            guard log.flag(node) == true else { return }
            // keepalived: one message, no second burst; only settings still at their defaults change, so a
            // vrrp_garp_* line before it wins and one after it overrides it.
            let defaults = GARPSettings()
            if g.garp.masterRepeat == defaults.masterRepeat { g.garp.masterRepeat = 1 }
            if g.garp.masterDelay == defaults.masterDelay { g.garp.masterDelay = .zero }
        },
        .value("vrrp_lower_prio_no_advert", 0...1) { g, node, log in
            if let v = log.flag(node) { g.vrrpLowerPriorityNoAdvert = v }
        },
        .value("vrrp_higher_prio_send_advert", 0...1) { g, node, log in
            if let v = log.flag(node) { g.vrrpHigherPrioritySendAdvert = v }
        },
        .value("vrrp_mcast_group4") { g, node, log in
            guard let a = log.address(node.arguments[0], "'vrrp_mcast_group4'") else { return }
            guard a.family == .ipv4, a.isMulticast else {
                // keepalived skips it with an error and keeps 224.0.0.18.
                log.warning(node.arguments[0].location, "'vrrp_mcast_group4' \(a) is not an IPv4 multicast address: ignored, as keepalived does")
                return
            }
            g.vrrpMulticastGroup4 = a
        },
        .value("vrrp_mcast_group6") { g, node, log in
            guard let a = log.address(node.arguments[0], "'vrrp_mcast_group6'") else { return }
            guard a.family == .ipv6, a.isMulticast else {
                log.warning(node.arguments[0].location, "'vrrp_mcast_group6' \(a) is not an IPv6 multicast address: ignored, as keepalived does")
                return
            }
            g.vrrpMulticastGroup6 = a
        },
        .value("vrrp_check_unicast_src", 0...0) { g, _, _ in g.vrrpCheckUnicastSource = true },
        .value("script_user", 1...2) { g, node, _ in
            g.scriptUser = ScriptUser(user: node.arguments[0].text, group: node.arguments.count > 1 ? node.arguments[1].text : nil)
        },
        .value("enable_script_security", 0...0) { g, _, _ in g.enableScriptSecurity = true },
        .value("lvs_flush", 0...0) { g, _, _ in g.lvsFlush = true },
        .value("lvs_timeouts", 2...Int.max) { g, node, log in LVSTimeouts.parse(node, into: &g.lvsTimeouts, log: &log) },
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
        .value("drain_on_removal") { g, node, log in
            if let v = log.duration(node.arguments[0], 0...86400, "'drain_on_removal'") { g.drainOnRemoval = v }
        },
        .value("announce_table") { g, node, log in
            if let v = log.integer(node.arguments[0], 1...Int(UInt32.max - 1), "'announce_table'") { g.announce.table = UInt32(v) }
        },
        .value("announce_protocol") { g, node, log in
            // 0-4 are the kernel's own (unspec, redirect, kernel, boot, static): routing daemons treat them apart.
            if let v = log.integer(node.arguments[0], 5...255, "'announce_protocol'") { g.announce.routeProtocol = UInt8(v) }
        },
        .value("announce_device") { g, node, log in
            let word = node.arguments[0]
            guard (1...15).contains(word.text.utf8.count), !word.text.contains("/") else {
                log.error(word.location, "'announce_device' must be an interface name (1-15 characters, no '/')")
                return
            }
            g.announce.device = word.text
        },
        .value("announce_rise") { g, node, log in
            if let v = log.duration(node.arguments[0], 0...3600, "'announce_rise'") { g.announce.rise = v }
        },
        .value("announce_fall") { g, node, log in
            if let v = log.duration(node.arguments[0], 0...3600, "'announce_fall'") { g.announce.fall = v }
        },
        .value("announce_min_uptime") { g, node, log in
            if let v = log.duration(node.arguments[0], 0...3600, "'announce_min_uptime'") { g.announce.minimumUptime = v }
        },
        .value("announce_withdraw_delay") { g, node, log in
            if let v = log.duration(node.arguments[0], 0...600, "'announce_withdraw_delay'") { g.announce.withdrawDelay = v }
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
        .value("vrrp_skip_check_adv_addr", 0...0) { g, _, _ in g.vrrpSkipCheckAdvertAddresses = true },
        .ignored("vrrp_strict", "directord installs no firewall rules and does not implement keepalived's strict mode"),
        .ignored("vrrp_garp_interval", "directord sends each burst of gratuitous ARPs at once"),
        .ignored("vrrp_gna_interval", "directord sends each burst of neighbour advertisements at once"),
        .ignored("enable_snmp_vrrp", "directord has no SNMP agent; see metrics_listen"),
        .ignored("enable_snmp_checker", "directord has no SNMP agent; see metrics_listen"),
        .ignored("enable_traps", "directord has no SNMP agent; see metrics_listen"),
        .ignored("max_auto_priority", "directord's VRRP loop has its own thread and absolute deadlines"),
        .value("lvs_flush_onstop", 0...1) { g, node, log in
            // keepalived 2.2.7 still reads the spelling it deprecated after 2.1.5.
            log.warning(node.location, "'lvs_flush_onstop' is deprecated: read as 'lvs_flush_on_stop', as keepalived does")
            guard let word = node.arguments.first else {
                g.lvsFlushOnStop = .all
                return
            }
            if log.choice(word, "'lvs_flush_onstop'", [("VS", true)]) != nil { g.lvsFlushOnStop = .virtualServers }
        },
    ] + processTuning.map { .ignored($0, "directord is one process; its scheduling, memory and names are the service manager's") }
      + netlinkBuffers.map { .ignored($0, "directord sizes its own netlink and socket buffers") }
      + notifyFIFOs.map { .ignored($0, "directord has no notify FIFO; use notify scripts") }
      + [
        .ignored("no_checker_emails", "directord does not send e-mail"),
        .ignored("enable_snmp_keepalived", "directord has no SNMP agent; see metrics_listen"),
        .ignored("enable_snmp_rfc", "directord has no SNMP agent; see metrics_listen"),
        .ignored("enable_snmp_rfcv2", "directord has no SNMP agent; see metrics_listen"),
        .ignored("enable_snmp_rfcv3", "directord has no SNMP agent; see metrics_listen"),
        .ignored("snmp_socket", "directord has no SNMP agent; see metrics_listen"),
        .ignored("enable_dbus", "directord has no D-Bus interface; see directorctl"),
        .ignored("dbus_service_name", "directord has no D-Bus interface; see directorctl"),
        .ignored("nftables", "directord installs no firewall rules"),
        .ignored("nftables_priority", "directord installs no firewall rules"),
        .ignored("nftables_ifindex", "directord installs no firewall rules"),
        .ignored("nftables_counters", "directord installs no firewall rules"),
        .ignored("vrrp_iptables", "directord installs no firewall rules"),
        .ignored("vrrp_ipsets", "directord installs no firewall rules"),
        .ignored("namespace_with_ipsets", "directord installs no firewall rules"),
        .ignored("vrrp_notify_priority_changes", "directord has no notify FIFO"),
        .ignored("min_auto_priority_delay", "directord's VRRP loop has its own thread and absolute deadlines"),
        .ignored("linkbeat_use_polling", "directord follows link state through netlink"),
        .ignored("log_unknown_vrids", "directord logs adverts for unknown routers at debug level"),
        .ignored("disable_local_igmp", "directord leaves IGMP to the kernel"),
        .ignored("dynamic_interfaces", "directord waits for a missing interface and follows it through netlink"),
        .value("vmac_prefix") { g, node, log in
            let word = node.arguments[0]
            guard !word.text.isEmpty, word.text.utf8.count <= 11, !word.text.contains("/") else {
                log.error(word.location, "'vmac_prefix' must be 1 to 11 bytes without '/', so that PREFIX.VRID is an interface name")
                return
            }
            g.vmacPrefix = word.text
        },
        .ignored("vmac_addr_prefix", "VRRP virtual MAC interfaces are not implemented"),
        .ignored("vrrp_vmac_garp_intvl", "VRRP virtual MAC interfaces are not implemented"),
        .ignored("reload_check_config", "directord always checks a configuration completely before it reloads"),
        .ignored("config_save_dir", "directord keeps no copy of the configuration"),
        .ignored("tmp_config_directory", "directord keeps no copy of the configuration"),
        .ignored("include_check", "directord reports every include problem at the include"),
        .ignored("data_use_instance", "directord writes no data or stats files"),
        .ignored("instance", "directord names no files after an instance"),
        .ignored("random_seed", "directord does not seed ${_RANDOM}"),
        .ignored("rs_init_notifies", "not implemented: real servers' notify scripts run on changes only"),
        .value("startup_script", 1...3) { g, node, log in lifecycleScript(&g.startupScript, node, &log) },
        .value("startup_script_timeout") { g, node, log in
            if let v = log.integer(node.arguments[0], 1...1000, "'startup_script_timeout'") { g.startupScriptTimeout = .seconds(v) }
        },
        .value("shutdown_script", 1...3) { g, node, log in lifecycleScript(&g.shutdownScript, node, &log) },
        .value("shutdown_script_timeout") { g, node, log in
            if let v = log.integer(node.arguments[0], 1...1000, "'shutdown_script_timeout'") { g.shutdownScriptTimeout = .seconds(v) }
        },
        .unsupported("reload_time_file", "scheduled reloads are not implemented; use directorctl reload"),
        .unsupported("reload_repeat", "scheduled reloads are not implemented; use directorctl reload"),
        .unsupported("reload_file", "reload on a file's change is not implemented; use directorctl reload"),
        .unsupported("vrrp_garp_extra_if", "gratuitous ARPs on other interfaces are not implemented"),
        .unsupported("nftables_ipvs", "keepalived's nftables marking for IPVS is not implemented"),
        .unsupported("nftables_ipvs_priority", "keepalived's nftables marking for IPVS is not implemented"),
        .unsupported("nftables_ipvs_start_fwmark", "keepalived's nftables marking for IPVS is not implemented"),
        .unsupported("net_namespace_ipvs", "start directord inside the namespace (ip netns exec) instead"),
        .value("net_namespace") { g, node, log in g.setNetNamespace(node.arguments[0], log: &log) },
    ])

    /// keepalived keeps the first startup_script (or shutdown_script) and reports a second one.
    static func lifecycleScript(_ script: inout NotifyScript?, _ node: ConfigNode, _ log: inout DiagnosticLog) {
        guard script == nil else {
            log.warning(node.location, "'\(node.name)' given twice: the first one counts, as in keepalived")
            return
        }
        script = log.notifyScript(node)
    }

    /// Process scheduling, memory and naming of keepalived's three processes.
    static let processTuning = ["process_names", "process_name", "vrrp_process_name", "checker_process_name", "bfd_process_name",
        "lvs_process_name", "vrrp_priority", "checker_priority", "bfd_priority", "vrrp_no_swap", "checker_no_swap", "bfd_no_swap",
        "vrrp_rt_priority", "checker_rt_priority", "bfd_rt_priority", "vrrp_rlimit_rtime", "checker_rlimit_rtime", "bfd_rlimit_rtime",
        "vrrp_rlimit_rttime", "checker_rlimit_rttime", "bfd_rlimit_rttime", "vrrp_cpu_affinity", "checker_cpu_affinity",
        "bfd_cpu_affinity", "child_wait_time", "umask", "use_pid_dir"]
    static let netlinkBuffers = ["vrrp_netlink_cmd_rcv_bufs", "vrrp_netlink_cmd_rcv_bufs_force", "vrrp_netlink_monitor_rcv_bufs",
        "vrrp_netlink_monitor_rcv_bufs_force", "lvs_netlink_cmd_rcv_bufs", "lvs_netlink_cmd_rcv_bufs_force",
        "lvs_netlink_monitor_rcv_bufs", "lvs_netlink_monitor_rcv_bufs_force", "process_monitor_rcv_bufs",
        "process_monitor_rcv_bufs_force", "vrrp_rx_bufs_policy", "vrrp_rx_bufs_multiplier"]
    static let notifyFIFOs = ["notify_fifo", "notify_fifo_script", "vrrp_notify_fifo", "vrrp_notify_fifo_script", "lvs_notify_fifo",
        "lvs_notify_fifo_script", "fifo_write_vrrp_states_on_reload"]
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

extension LVSTimeouts {
    /// keepalived's LVS_MAX_TIMEOUT: 31 days.
    static let maximum = 86400 * 31

    /// `[tcp N] [tcpfin N] [udp N]`, in any order; each line sets only the fields it names (as keepalived).
    static func parse(_ node: ConfigNode, into timeouts: inout LVSTimeouts, log: inout DiagnosticLog) {
        let args = node.arguments
        var i = 0
        while i < args.count {
            let option = args[i]
            let field: WritableKeyPath<LVSTimeouts, UInt32>
            switch option.text {
            case "tcp": field = \.tcp
            case "tcpfin": field = \.tcpFin
            case "udp": field = \.udp
            default:
                log.error(option.location, "unknown 'lvs_timeouts' option '\(option.text)'; expected tcp, tcpfin or udp")
                i += 1
                continue
            }
            guard i + 1 < args.count else {
                log.error(option.location, "'lvs_timeouts \(option.text)' needs a number of seconds")
                return
            }
            if let v = log.integer(args[i + 1], 0...maximum, "'lvs_timeouts \(option.text)'") { timeouts[keyPath: field] = UInt32(v) }
            i += 2
        }
    }
}

extension IPAddress {
    public var isMulticast: Bool {
        switch self {
        case .v4(let a): a.value >> 28 == 0xE
        case .v6(let a): a.high >> 56 == 0xFF
        }
    }

    /// What keepalived takes as an instance's mcast_dst_ip: IPv4 multicast, or IPv6 link-local multicast (ff02::/16,
    /// any flags: IN6_IS_ADDR_MC_LINKLOCAL).
    var isVRRPMulticastGroup: Bool {
        switch self {
        case .v4: isMulticast
        case .v6(let a): a.high >> 56 == 0xFF && (a.high >> 48) & 0x0F == 0x2
        }
    }
}

extension GlobalSettings {
    /// A name `ip netns add` could have made: one path component under /run/netns.
    mutating func setNetNamespace(_ word: ConfigWord, log: inout DiagnosticLog) {
        let name = word.text
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), name.utf8.count <= 255 else {
            log.error(word.location, "net_namespace '\(name)' is not a namespace name (one file name under /run/netns, as 'ip netns add' makes it)")
            return
        }
        if let set = netNamespace, set != name {
            log.error(word.location, "net_namespace is given twice ('\(set)', then '\(name)'); directord runs in one namespace")
            return
        }
        netNamespace = name
    }
}
