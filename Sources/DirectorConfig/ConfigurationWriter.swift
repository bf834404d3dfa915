// Prints a configuration back as keepalived syntax with every default spelled out: `directord --dump`.
// Parsing the output gives back an equal configuration (the unit tests and the fuzzer hold it to that).

public enum ConfigurationWriter {
    public static func render(_ config: Configuration) -> String {
        var out = Output()
        renderGlobals(config.globals, &out)
        if let ssl = config.ssl { renderSSL(ssl, &out) }
        renderStatic(config.staticNetwork, &out)
        for script in config.vrrpScripts { renderScript(script, &out) }
        for group in config.syncGroups { renderSyncGroup(group, &out) }
        for instance in config.vrrpInstances { renderInstance(instance, &out) }
        for group in config.virtualServerGroups { renderServerGroup(group, &out) }
        for file in config.trackFiles { renderTrackFile(file, &out) }
        for process in config.trackProcesses { renderTrackProcess(process, &out) }
        for vs in config.virtualServers { renderVirtualServer(vs, &out) }
        return out.text
    }

    private struct Output {
        var text = ""
        var depth = 0

        mutating func line(_ words: String...) { line(words) }

        mutating func line(_ words: [String]) {
            text += String(repeating: "    ", count: depth) + words.filter { !$0.isEmpty }.joined(separator: " ") + "\n"
        }

        mutating func block(_ header: String..., body: (inout Output) -> Void) {
            text += String(repeating: "    ", count: depth) + (header.filter { !$0.isEmpty } + ["{"]).joined(separator: " ") + "\n"
            depth += 1
            body(&self)
            depth -= 1
            text += String(repeating: "    ", count: depth) + "}\n"
        }
    }

    /// A word as the lexer will read it back: quoted when it holds anything the lexer treats specially.
    static func quote(_ text: String) -> String {
        let special: Set<Unicode.Scalar> = [" ", "\t", "#", "!", "\"", "'", "{", "}", "\\", "\u{201C}", "\u{201D}"]
        if !text.isEmpty && !text.unicodeScalars.contains(where: { special.contains($0) || $0.value < 0x20 || $0.value == 0x7f || Lexer.isSpace($0) }) {
            return text
        }
        var quoted = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\t": quoted += "\\t"
            case "\r": quoted += "\\r"
            case "\u{07}": quoted += "\\a"
            case "\u{08}": quoted += "\\b"
            case "\u{0B}": quoted += "\\v"
            case "\u{0C}": quoted += "\\f"
            case "\u{1B}": quoted += "\\E"
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "\""
    }

    private static func seconds(_ d: Duration) -> String { formatDuration(d) }

    private static func onOff(_ b: Bool) -> String { b ? "on" : "off" }

    private static func notify(_ keyword: String, _ script: NotifyScript?, _ out: inout Output) {
        guard let script else { return }
        out.line(keyword, quote(script.command), script.user.map { quote($0.user) } ?? "", script.user?.group.map(quote) ?? "")
    }

    private static func renderSSL(_ ssl: SSLSettings, _ out: inout Output) {
        out.block("SSL") { out in
            if let p = ssl.password { out.line("password", quote(p)) }
            if let c = ssl.ca { out.line("ca", quote(c)) }
            if let c = ssl.certificate { out.line("certificate", quote(c)) }
            if let k = ssl.key { out.line("key", quote(k)) }
        }
    }

    private static func renderGlobals(_ g: GlobalSettings, _ out: inout Output) {
        out.block("global_defs") { out in
            if let id = g.routerID { out.line("router_id", quote(id)) }
            if let d = g.syncDaemon {
                var words = ["lvs_sync_daemon", quote(d.interface)]
                if let instance = d.instance { words += ["inst", quote(instance)] }
                if let id = d.syncID { words += ["id", String(id)] }
                if let maxlen = d.maxLength { words += ["maxlen", String(maxlen)] }
                words += ["port", String(d.port)]
                if let ttl = d.ttl { words += ["ttl", String(ttl)] }
                words += ["group", d.group.description]
                out.line(words.joined(separator: " "))
            }
            out.line("vrrp_garp_master_delay", seconds(g.garp.masterDelay))
            out.line("vrrp_garp_master_repeat", String(g.garp.masterRepeat))
            out.line("vrrp_garp_master_refresh", seconds(g.garp.masterRefresh))
            out.line("vrrp_garp_master_refresh_repeat", String(g.garp.masterRefreshRepeat))
            if let d = g.garp.lowerPriorityDelay { out.line("vrrp_garp_lower_prio_delay", seconds(d)) }
            if let r = g.garp.lowerPriorityRepeat { out.line("vrrp_garp_lower_prio_repeat", String(r)) }
            out.line("vrrp_version", String(g.vrrpVersion.rawValue))
            if g.vrrpCheckUnicastSource { out.line("vrrp_check_unicast_src") }
            if let m = g.vrrpMulticastGroup4 { out.line("vrrp_mcast_group4", m.description) }
            if let m = g.vrrpMulticastGroup6 { out.line("vrrp_mcast_group6", m.description) }
            out.line("vrrp_down_timer_adverts", String(g.vrrpDownTimerAdverts))
            out.line("vrrp_lower_prio_no_advert", onOff(g.vrrpLowerPriorityNoAdvert))
            out.line("vrrp_higher_prio_send_advert", onOff(g.vrrpHigherPrioritySendAdvert))
            if let d = g.defaultInterface { out.line("default_interface", quote(d)) }
            if g.vrrpStartupDelay > .zero { out.line("vrrp_startup_delay", seconds(g.vrrpStartupDelay)) }
            if let user = g.scriptUser { out.line("script_user", quote(user.user), user.group.map(quote) ?? "") }
            if g.enableScriptSecurity { out.line("enable_script_security") }
            if g.lvsFlush { out.line("lvs_flush") }
            switch g.lvsFlushOnStop {
            case .off: break
            case .all: out.line("lvs_flush_on_stop")
            case .virtualServers: out.line("lvs_flush_on_stop", "VS")
            case .keep: out.line("lvs_keep_on_stop")
            }
            if !g.lvsTimeouts.isEmpty {
                let t = g.lvsTimeouts
                out.line("lvs_timeouts", "tcp", String(t.tcp), "tcpfin", String(t.tcpFin), "udp", String(t.udp))
            }
            notify("startup_script", g.startupScript, &out)
            if g.startupScript != nil || g.startupScriptTimeout != GlobalSettings.defaultLifecycleScriptTimeout {
                out.line("startup_script_timeout", seconds(g.startupScriptTimeout))
            }
            notify("shutdown_script", g.shutdownScript, &out)
            if g.shutdownScript != nil || g.shutdownScriptTimeout != GlobalSettings.defaultLifecycleScriptTimeout {
                out.line("shutdown_script_timeout", seconds(g.shutdownScriptTimeout))
            }
            out.line("control_socket", quote(g.controlSocket))
            out.line("drift_check_interval", seconds(g.driftCheckInterval))
            if let m = g.metricsListen { out.line("metrics_listen", m.address.description, String(m.port)) }
            if g.drainOnRemoval > .zero { out.line("drain_on_removal", seconds(g.drainOnRemoval)) }
            if let ns = g.netNamespace { out.line("net_namespace", quote(ns)) }
            if g.vrrpSkipCheckAdvertAddresses { out.line("vrrp_skip_check_adv_addr") }
            if g.announce != AnnounceSettings() {
                let a = g.announce
                out.line("announce_table", String(a.table))
                out.line("announce_protocol", String(a.routeProtocol))
                out.line("announce_device", a.device)
                out.line("announce_rise", seconds(a.rise))
                out.line("announce_fall", seconds(a.fall))
                out.line("announce_min_uptime", seconds(a.minimumUptime))
                out.line("announce_withdraw_delay", seconds(a.withdrawDelay))
            }
        }
    }

    private static func renderScript(_ s: VRRPScript, _ out: inout Output) {
        out.block("vrrp_script", quote(s.name)) { out in
            out.line("script", quote(s.command))
            out.line("interval", seconds(s.interval))
            out.line("timeout", seconds(s.timeout))
            out.line("weight", String(s.weight), s.reverse ? "reverse" : "")
            out.line("rise", String(s.rise))
            out.line("fall", String(s.fall))
            if let user = s.user { out.line("user", quote(user.user), user.group.map(quote) ?? "") }
            if s.initFail { out.line("init_fail") }
        }
    }

    private static func renderNotify(_ n: NotifyScripts, _ out: inout Output) {
        notify("notify_master", n.master, &out)
        notify("notify_backup", n.backup, &out)
        notify("notify_fault", n.fault, &out)
        notify("notify_stop", n.stop, &out)
        notify("notify", n.any, &out)
    }

    private static func renderTracking(_ scripts: [TrackedScript], _ interfaces: [TrackedInterface], _ out: inout Output) {
        if !interfaces.isEmpty {
            out.block("track_interface") { out in
                for i in interfaces { out.line(quote(i.name), "weight", String(i.weight), i.reverse ? "reverse" : "") }
            }
        }
        if !scripts.isEmpty {
            out.block("track_script") { out in
                for s in scripts {
                    out.line(
                        quote(s.name), s.weight.map { "weight \($0)" } ?? "",
                        s.reverse.map { $0 ? "reverse" : "noreverse" } ?? "")
                }
            }
        }
    }

    private static func renderTrackedFiles(_ files: [TrackedFile], _ out: inout Output) {
        guard !files.isEmpty else { return }
        out.block("track_file") { out in
            for f in files {
                out.line(quote(f.name), f.weight.map { "weight \($0)" } ?? "", f.reverse.map { $0 ? "reverse" : "noreverse" } ?? "")
            }
        }
    }

    private static func renderTrackedProcesses(_ processes: [TrackedProcess], _ out: inout Output) {
        guard !processes.isEmpty else { return }
        out.block("track_process") { out in
            for p in processes {
                out.line(quote(p.name), p.weight.map { "weight \($0)" } ?? "", p.reverse.map { $0 ? "reverse" : "noreverse" } ?? "")
            }
        }
    }

    private static func renderSyncGroup(_ g: SyncGroup, _ out: inout Output) {
        out.block("vrrp_sync_group", quote(g.name)) { out in
            out.block("group") { out in
                for member in g.members { out.line(quote(member.name)) }
            }
            renderNotify(g.notify, &out)
            renderTracking(g.trackScripts, g.trackInterfaces, &out)
            renderTrackedFiles(g.trackFiles, &out)
            renderTrackedProcesses(g.trackProcesses, &out)
        }
    }

    private static func addressLine(_ a: VirtualAddress) -> String {
        var words = [a.prefix.description]
        if let b = a.broadcast { words += ["brd", b.description] }
        if let d = a.device { words += ["dev", quote(d)] }
        if let s = a.scope { words += ["scope", s.rawValue] }
        if let l = a.label { words += ["label", quote(l)] }
        if let p = a.peer { words += ["peer", p.description] }
        words += AddressFlags.words.filter { a.flags.contains($0.1) }.map(\.0)
        if a.duplicateAddressDetection { words.append("-nodad") }
        if let lifetime = a.preferredLifetime { words += ["preferred_lft", String(lifetime)] }
        return words.joined(separator: " ")
    }

    private static func routeLine(_ r: VirtualRoute) -> String {
        var words: [String] = []
        if let s = r.source { words += ["src", s.description] }
        words += r.type == .unicast ? ["to", r.destination.description] : [r.type.rawValue, r.destination.description]
        if let g = r.gateway { words += ["via", g.description] }
        if let d = r.device { words += ["dev", quote(d)] }
        if let s = r.scope { words += ["scope", s.rawValue] }
        if let t = r.table { words += ["table", String(t)] }
        if let m = r.metric { words += ["metric", String(m)] }
        if let p = r.protocolNumber { words += ["protocol", String(p)] }
        if let t = r.tos { words += ["tos", String(t)] }
        if r.onlink { words.append("onlink") }
        for m in r.metrics {
            let name = VRRPInstanceDraft.metricName(m.kind)
            words += [name] + (m.locked ? ["lock"] : []) + [name == "features" ? "ecn" : String(m.value)]
        }
        if r.append { words.append("append") }
        for h in r.nextHops {
            words.append("nexthop")
            if let g = h.gateway { words += ["via", g.description] }
            if let d = h.device { words += ["dev", quote(d)] }
            if h.weight != 1 { words += ["weight", String(h.weight)] }
            if h.onlink { words.append("onlink") }
        }
        return words.joined(separator: " ")
    }

    private static func ruleLine(_ r: StaticRule) -> String {
        var words: [String] = r.family == .ipv6 ? ["inet6"] : []
        if r.invert { words.append("not") }
        if let f = r.from { words += ["from", f.description] }
        if let t = r.to { words += ["to", t.description] }
        if let t = r.tos { words += ["tos", String(t)] }
        if let m = r.fwmark { words += ["fwmark", String(m) + (r.fwmask.map { "/\($0)" } ?? "")] }
        if let i = r.inputInterface { words += ["iif", quote(i)] }
        if let o = r.outputInterface { words += ["oif", quote(o)] }
        if let p = r.priority { words += ["preference", String(p)] }
        switch r.action {
        case .table(let t): words += ["table", String(t)]
        case .goto(let t): words += ["goto", String(t)]
        case .nop: words.append("nop")
        case .blackhole: words.append("blackhole")
        case .unreachable: words.append("unreachable")
        case .prohibit: words.append("prohibit")
        }
        return words.joined(separator: " ")
    }

    private static func renderStatic(_ n: StaticNetwork, _ out: inout Output) {
        if !n.addresses.isEmpty {
            out.block("static_ipaddress") { out in for a in n.addresses { out.line(addressLine(a)) } }
        }
        if !n.routes.isEmpty {
            out.block("static_routes") { out in for r in n.routes { out.line(routeLine(r)) } }
        }
        if !n.rules.isEmpty {
            out.block("static_rules") { out in for r in n.rules { out.line(ruleLine(r)) } }
        }
    }

    private static func renderInstance(_ i: VRRPInstance, _ out: inout Output) {
        out.block("vrrp_instance", quote(i.name)) { out in
            out.line("state", i.initialState.rawValue)
            out.line("interface", quote(i.interface))
            out.line("virtual_router_id", String(i.virtualRouterID))
            out.line("priority", String(i.priority))
            out.line("advert_int", seconds(i.advertInterval))
            out.line("version", String(i.version.rawValue))
            out.line(i.preempt ? "preempt" : "nopreempt")
            out.line("preempt_delay", seconds(i.preemptDelay))
            if let auth = i.authentication {
                out.block("authentication") { out in
                    out.line("auth_type", auth.type.rawValue)
                    out.line("auth_pass", quote(auth.password))
                }
            }
            out.block("virtual_ipaddress") { out in
                for a in i.virtualAddresses { out.line(addressLine(a)) }
            }
            if !i.excludedAddresses.isEmpty {
                out.block("virtual_ipaddress_excluded") { out in
                    for a in i.excludedAddresses { out.line(addressLine(a)) }
                }
            }
            if !i.virtualRoutes.isEmpty {
                out.block("virtual_routes") { out in
                    for r in i.virtualRoutes { out.line(routeLine(r)) }
                }
            }
            if !i.virtualRules.isEmpty {
                out.block("virtual_rules") { out in
                    for r in i.virtualRules { out.line(ruleLine(r)) }
                }
            }
            renderTracking(i.trackScripts, i.trackInterfaces, &out)
            renderTrackedFiles(i.trackFiles, &out)
            renderTrackedProcesses(i.trackProcesses, &out)
            if let s = i.unicastSourceIP { out.line("unicast_src_ip", s.description) }
            if !i.unicastPeers.isEmpty {
                out.block("unicast_peer") { out in
                    for p in i.unicastPeers {
                        let ttl = i.unicastPeerTTLs[p]
                        out.line(p.description, ttl.map { "min_ttl \($0.min) max_ttl \($0.max)" } ?? "")
                    }
                }
            }
            if let ttl = i.unicastTTL { out.line("unicast_ttl", String(ttl)) }
            out.line("down_timer_adverts", String(i.downTimerAdverts))
            out.line("lower_prio_no_advert", onOff(i.lowerPriorityNoAdvert))
            out.line("higher_prio_send_advert", onOff(i.higherPrioritySendAdvert))
            if i.checkUnicastSource { out.line("check_unicast_src") }
            if let m = i.multicastSourceIP { out.line("mcast_src_ip", m.description) }
            if !i.tracksPrimary { out.line("dont_track_primary") }
            if !i.checksAdvertAddresses { out.line("skip_check_adv_addr") }
            if let v = i.virtualMAC {
                out.line("use_vmac", quote(v.interface), v.address.map { String($0, radix: 16) }.joined(separator: ":"))
                if v.transmitOnBase { out.line("vmac_xmit_base") }
            }
            if let m = i.multicastGroup { out.line("mcast_dst_ip", m.description) }
            if i.promoteSecondaries { out.line("promote_secondaries") }
            if i.faultsWithoutPeers { out.line("unicast_fault_no_peer") }
            out.line("garp_master_delay", seconds(i.garp.masterDelay))
            out.line("garp_master_repeat", String(i.garp.masterRepeat))
            out.line("garp_master_refresh", seconds(i.garp.masterRefresh))
            out.line("garp_master_refresh_repeat", String(i.garp.masterRefreshRepeat))
            if let d = i.garp.lowerPriorityDelay { out.line("garp_lower_prio_delay", seconds(d)) }
            if let r = i.garp.lowerPriorityRepeat { out.line("garp_lower_prio_repeat", String(r)) }
            renderNotify(i.notify, &out)
            notify("notify_master_rx_lower_pri", i.notifyMasterRxLowerPriority, &out)
            if i.notify.notifyDeleted {
                if let script = i.notify.deleted { notify("notify_deleted", script, &out) } else { out.line("notify_deleted") }
            }
            if let s = i.lvsSyncDaemonInterface { out.line("lvs_sync_daemon_interface", quote(s)) }
        }
    }

    private static func renderServerGroup(_ g: VirtualServerGroup, _ out: inout Output) {
        out.block("virtual_server_group", quote(g.name)) { out in
            for member in g.members {
                switch member {
                case .range(let first, let last, let port):
                    out.line(first == last ? first.description : "\(first)-\(last)", port == 0 ? "" : String(port))
                case .fwmark(let mark, let family):
                    out.line("fwmark", String(mark), family.map { $0 == .ipv4 ? "inet" : "inet6" } ?? "")
                }
            }
        }
    }

    private static func renderVirtualServer(_ vs: VirtualServer, _ out: inout Output) {
        let key: String
        switch vs.key {
        case .endpoint(let e): key = e.port == 0 ? e.address.description : "\(e.address) \(e.port)"
        case .fwmark(let mark): key = "fwmark \(mark)"
        case .group(let name): key = "group \(quote(name))"
        }
        out.block("virtual_server", key) { out in
            out.line("protocol", vs.protocolType.rawValue)
            out.line("ip_family", vs.family == .ipv4 ? "inet" : "inet6")
            out.line("lb_algo", vs.scheduler.rawValue)
            out.line("lb_kind", vs.forwarding.rawValue)
            if let timeout = vs.persistenceTimeout { out.line("persistence_timeout", String(timeout)) }
            if let granularity = vs.persistenceGranularity { out.line("persistence_granularity", String(granularity)) }
            if let engine = vs.persistenceEngine { out.line("persistence_engine", quote(engine)) }
            if vs.onePacketScheduling { out.line("ops") }
            if vs.schedulerFlags.shPort { out.line("sh-port") }
            if vs.schedulerFlags.shFallback { out.line("sh-fallback") }
            if vs.schedulerFlags.mhPort { out.line("mh-port") }
            if vs.schedulerFlags.mhFallback { out.line("mh-fallback") }
            if vs.schedulerFlags.flag1 { out.line("flag-1") }
            if vs.schedulerFlags.flag2 { out.line("flag-2") }
            if vs.schedulerFlags.flag3 { out.line("flag-3") }
            // keepalived turns a virtual server's alpha on whatever value follows it, so off is written by omission.
            if vs.alpha { out.line("alpha") }
            if vs.omega { out.line("omega") }
            out.line("quorum", String(vs.quorum))
            out.line("hysteresis", String(vs.hysteresis))
            notify("quorum_up", vs.quorumUp, &out)
            notify("quorum_down", vs.quorumDown, &out)
            if let sorry = vs.sorryServer {
                out.line("sorry_server", sorry.endpoint.address.description, sorry.endpoint.port == 0 ? "" : String(sorry.endpoint.port))
                if sorry.inhibit { out.line("sorry_server_inhibit") }
                out.line("sorry_server_lvs_method", sorry.forwarding.rawValue)
            }
            if vs.haSuspend { out.line("ha_suspend") }
            if let drain = vs.drainOnRemoval { out.line("drain_on_removal", seconds(drain)) }
            if vs.announce { out.line("announce") }
            for real in vs.realServers { renderReal(real, &out) }
        }
    }

    private static func renderReal(_ r: RealServer, _ out: inout Output) {
        let port = r.endpoint.port == 0 ? "" : String(r.endpoint.port)
        out.block("real_server", r.endpoint.address.description, port) { out in
            out.line("weight", String(r.weight))
            out.line("lb_kind", r.forwarding.rawValue)
            out.line("inhibit_on_failure", onOff(r.inhibitOnFailure))
            out.line("alpha", onOff(r.alpha))
            notify("notify_up", r.notifyUp, &out)
            notify("notify_down", r.notifyDown, &out)
            if r.upperThreshold != 0 { out.line("uthreshold", String(r.upperThreshold)) }
            if r.lowerThreshold != 0 { out.line("lthreshold", String(r.lowerThreshold)) }
            for check in r.checks { renderCheck(check, &out) }
        }
    }

    private static func renderCheck(_ c: HealthCheck, _ out: inout Output) {
        if c.kind == .misc || c.kind == .file { return renderScriptOrFileCheck(c, &out) }
        out.block(c.kind.rawValue) { out in
            out.line("connect_ip", c.connectIP.description)
            if c.connectPort != 0 { out.line("connect_port", String(c.connectPort)) }
            if let b = c.bindTo { out.line("bindto", b.description) }
            if let p = c.bindPort { out.line("bind_port", String(p)) }
            if let i = c.bindInterface { out.line("bind_if", quote(i)) }
            if let m = c.fwmark { out.line("fwmark", String(m)) }
            out.line("connect_timeout", seconds(c.connectTimeout))
            out.line("retry", String(c.retry))
            out.line("delay_before_retry", seconds(c.delayBeforeRetry))
            out.line("delay_loop", seconds(c.delayLoop))
            out.line("warmup", seconds(c.warmup))
            out.line("alpha", onOff(c.alpha))
            for words in c.network.configLines(c.kind) { out.line(words) }
            guard c.kind == .httpGet || c.kind == .sslGet else { return }
            out.line("http_protocol", c.httpProtocol.rawValue)
            if let v = c.virtualhost { out.line("virtualhost", quote(v)) }
            if c.kind == .sslGet {
                out.line("enable_sni", onOff(c.enableSNI))
                if let n = c.sniName { out.line("sni_name", quote(n)) }
            }
            for url in c.urls {
                out.block("url") { out in
                    out.line("path", quote(url.path))
                    if let d = url.digest { out.line("digest", d) }
                    out.line("status_code", url.statusCodes.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: " "))
                    if let v = url.virtualhost { out.line("virtualhost", quote(v)) }
                    if let r = url.regex {
                        out.line("regex", quote(r.pattern))
                        if r.noMatch { out.line("regex_no_match") }
                        if !r.options.isEmpty { out.line(["regex_options"] + r.options) }
                        if r.minOffset != 0 { out.line("regex_min_offset", String(r.minOffset)) }
                        if let m = r.maxOffset { out.line("regex_max_offset", String(m)) }
                        if let s = r.stack { out.line("regex_stack", String(s.start), String(s.max)) }
                    }
                }
            }
        }
    }

    private static func renderTrackFile(_ f: TrackFile, _ out: inout Output) {
        out.block("track_file", quote(f.name)) { out in
            out.line("file", quote(f.path))
            out.line("weight", String(f.weight), f.reverse ? "reverse" : "")
            if let i = f.initFile { out.line("init_file", String(i.value), i.overwrite ? "overwrite" : "") }
        }
    }

    private static func renderTrackProcess(_ p: TrackProcess, _ out: inout Output) {
        out.block("vrrp_track_process", quote(p.name)) { out in
            out.line(["process", quote(p.process)] + p.parameters.map(quote))
            switch p.parameterMatch {
            case .initial: out.line("param_match", "initial")
            case .partial: out.line("param_match", "partial")
            case .exact where p.parameters.isEmpty: out.line("param_match", "initial")
            case .exact, .none: break
            }
            if p.fullCommand && p.parameterMatch == .none { out.line("full_command") }
            out.line("weight", String(p.weight), p.reverse ? "reverse" : "")
            if p.quorumMax != TrackProcess(name: "", process: "").quorumMax { out.line("quorum_max", String(p.quorumMax)) }
            if p.quorumMax > 0 || p.quorum > 0 { out.line("quorum", String(p.quorum)) }
            if p.forkDelay > .zero { out.line("fork_delay", seconds(p.forkDelay)) }
            if p.terminateDelay > .zero { out.line("terminate_delay", seconds(p.terminateDelay)) }
        }
    }

    private static func renderScriptOrFileCheck(_ c: HealthCheck, _ out: inout Output) {
        out.block(c.kind.rawValue) { out in
            if let f = c.file {
                out.line("track_file", quote(f.trackFile))
                out.line("weight", String(f.weight), f.reverse ? "reverse" : "")
                out.line("delay_loop", seconds(c.delayLoop))
                return
            }
            guard let m = c.misc else { return }
            out.line("misc_path", quote(m.command))
            if let t = m.timeout { out.line("misc_timeout", seconds(t)) }
            if m.dynamic { out.line("misc_dynamic") }
            if let u = m.user { out.line("user", quote(u.user), u.group.map(quote) ?? "") }
            out.line("connect_timeout", seconds(c.connectTimeout))
            out.line("retry", String(c.retry))
            out.line("delay_before_retry", seconds(c.delayBeforeRetry))
            out.line("delay_loop", seconds(c.delayLoop))
            out.line("warmup", seconds(c.warmup))
            out.line("alpha", onOff(c.alpha))
        }
    }
}
