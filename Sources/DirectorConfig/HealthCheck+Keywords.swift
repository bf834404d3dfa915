// Keyword tables for HTTP_GET / SSL_GET (with their url blocks) and TCP_CHECK.

struct HealthCheckDraft: Sendable {
    var kind: HealthCheckKind
    var header: ConfigNode
    var connectIP: IPAddress?
    var connectPort: UInt16?
    var bindTo: IPAddress?
    var bindPort: UInt16?
    var fwmark: UInt32?
    var bindInterface: String?
    var inherited = InheritedCheckSettings()
    var urls: [URLDraft] = []
    var httpProtocol: HTTPProtocolVersion = .http10
    var enableSNI = false
    var sniName: String?
    var misc = MiscCheckDraft()
    var file = FileCheckDraft()
    var network = NetworkCheckOptions()
    /// SMTP_CHECK's deprecated `host` blocks, each a checker of its own (NetworkChecks+Keywords.swift).
    var hosts: [HealthCheckDraft] = []

    struct URLDraft: Sendable {
        var header: ConfigNode
        var path: String?
        var digest: String?
        var statusCodes: [ClosedRange<Int>]?
        var virtualhost: String?

        static let keywords = KeywordTable<URLDraft>("url", [
            .value("path") { d, node, log in
                let word = node.arguments[0]
                guard word.text.hasPrefix("/") || word.text.hasPrefix("*") || word.text.hasPrefix("http") else {
                    log.error(word.location, "'path' must start with '/', not '\(word.text)'")
                    return
                }
                if word.text.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7f }) {
                    log.error(word.location, "'path' may not contain spaces or control characters (it goes into the request line)")
                    return
                }
                d.path = word.text
            },
            .value("digest") { d, node, log in
                let word = node.arguments[0]
                guard word.text.utf8.count == 32, word.text.utf8.allSatisfy({ hexValue($0) != nil }) else {
                    log.error(word.location, "'digest' must be 32 hexadecimal characters (an MD5 as genhash prints it), not '\(word.text)' (\(word.text.count) characters)")
                    return
                }
                d.digest = word.text.lowercased()
            },
            .value("status_code", 1...Int.max) { d, node, log in
                var codes: [ClosedRange<Int>] = []
                for word in node.arguments {
                    let parts = word.text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
                    guard let low = log.integer(ConfigWord(String(parts[0]), at: word.location), 100...599, "HTTP status code") else { return }
                    var high = low
                    if parts.count == 2 {
                        guard let h = log.integer(ConfigWord(String(parts[1]), at: word.location), 100...599, "HTTP status code") else { return }
                        high = h
                    }
                    guard low <= high else {
                        log.error(word.location, "status code range '\(word.text)' runs downwards")
                        return
                    }
                    codes.append(low...high)
                }
                d.statusCodes = codes
            },
            .value("virtualhost") { d, node, _ in d.virtualhost = node.arguments[0].text },
            .unsupported("regex", "body regular expressions are not implemented; use 'digest'"),
            .unsupported("regex_no_match", "body regular expressions are not implemented; use 'digest'"),
            .unsupported("regex_options", "body regular expressions are not implemented; use 'digest'"),
            .unsupported("regex_stack", "body regular expressions are not implemented; use 'digest'"),
            .unsupported("regex_min_offset", "body regular expressions are not implemented; use 'digest'"),
            .unsupported("regex_max_offset", "body regular expressions are not implemented; use 'digest'"),
        ])
    }

    /// What every checker accepts: where to connect from and to, and the inherited timing.
    static let connectionKeywords: [Keyword<HealthCheckDraft>] = [
        .value("connect_ip") { d, node, log in d.connectIP = log.address(node.arguments[0], "'connect_ip'") },
        .value("connect_port") { d, node, log in d.connectPort = log.port(node.arguments[0], "'connect_port'") },
        .value("bindto") { d, node, log in d.bindTo = log.address(node.arguments[0], "'bindto'") },
        .value("bind_port") { d, node, log in d.bindPort = log.port(node.arguments[0], "'bind_port'") },
        .value("bind_if") { d, node, log in
            let word = node.arguments[0]
            guard (1...15).contains(word.text.utf8.count), !word.text.contains("/"),
                  !word.text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7f })
            else {
                log.error(word.location, "'bind_if' must be an interface name (1-15 characters, no '/' or spaces)")
                return
            }
            d.bindInterface = word.text
        },
        .value("fwmark") { d, node, log in
            // keepalived: 0 (its default) is no mark.
            if let v = log.integer(node.arguments[0], 0...Int(UInt32.max), "'fwmark'") { d.fwmark = v == 0 ? nil : UInt32(v) }
        },
        .ignored("log_all_failures", "directord logs every health transition with its reason"),
    ] + InheritedCheckSettings.keywords(\HealthCheckDraft.inherited).filter { $0.name != "inhibit_on_failure" }

    static let tcpKeywords = KeywordTable<HealthCheckDraft>("TCP_CHECK", connectionKeywords + [
        .ignored("nb_get_retry", "keepalived 2.2.7 reads it only in HTTP_GET and SSL_GET, and ignores it here as an unknown keyword; write 'retry'"),
    ])

    static let httpKeywords = KeywordTable<HealthCheckDraft>("HTTP_GET or SSL_GET", connectionKeywords + [
        .block("url") { d, node, log in
            var url = URLDraft(header: node)
            URLDraft.keywords.apply(node.block ?? [], to: &url, log: &log)
            d.urls.append(url)
        },
        .value("nb_get_retry") { d, node, log in
            // keepalived 2.2.7 (check_http.c) reads it as 'retry', with a deprecation warning.
            log.warning(node.location, "'nb_get_retry' is deprecated: read as 'retry', as keepalived does; write 'retry'")
            if let v = log.integer(node.arguments[0], 0...1000, "'nb_get_retry'") { d.inherited.retry = v }
        },
        .value("http_protocol") { d, node, log in
            if let v = log.choice(node.arguments[0], "'http_protocol'", [("1.0", HTTPProtocolVersion.http10), ("1.0C", .http10Close), ("1.1", .http11)]) {
                d.httpProtocol = v
            }
        },
        .value("enable_sni", 0...1) { d, node, log in
            guard d.kind == .sslGet else {
                log.error(node.location, "'enable_sni' applies to SSL_GET only")
                return
            }
            if let v = log.flag(node) { d.enableSNI = v }
        },
        .value("sni_name") { d, node, log in
            guard d.kind == .sslGet else {
                log.error(node.location, "'sni_name' applies to SSL_GET only")
                return
            }
            d.sniName = node.arguments[0].text
        },
        .ignored("fast_recovery", "directord checks every url of a checker in the same round"),
    ])

    func resolve(real: Endpoint, defaults: InheritedCheckSettings, log: inout DiagnosticLog) -> HealthCheck? {
        let settings = inherited.over(defaults)
        if kind == .misc { return resolveMisc(real: real, settings: settings, log: &log) }
        if kind == .file { return resolveFile(real: real, settings: settings, log: &log) }
        var urls: [URLCheck] = []
        var ok = true
        for draft in self.urls {
            guard let path = draft.path else {
                log.error(draft.header.location, "'url' has no 'path'")
                ok = false
                continue
            }
            urls.append(URLCheck(path: path, digest: draft.digest, statusCodes: draft.statusCodes ?? URLCheck.defaultStatusCodes, virtualhost: draft.virtualhost))
        }
        if (kind == .httpGet || kind == .sslGet) && self.urls.isEmpty {
            log.error(header.location, "\(kind.rawValue) has no 'url' block to fetch")
            ok = false
        }
        let connectIP = connectIP ?? real.address
        if let bindTo, bindTo.family != connectIP.family {
            log.error(header.location, "\(kind.rawValue) binds to \(bindTo.family.rawValue) address \(bindTo) but connects to \(connectIP)")
            ok = false
        }
        // keepalived's check_conn_opts: the kernel cannot pick the interface of a link-local address.
        if connectIP.isIPv6LinkLocal && bindInterface == nil {
            log.error(header.location, "\(kind.rawValue) connects to link-local address \(connectIP): it needs 'bind_if' (as in keepalived)")
            ok = false
        }
        if let bindTo, bindTo.isIPv6LinkLocal, bindInterface == nil {
            log.warning(header.location, "\(kind.rawValue) binds to link-local address \(bindTo) without 'bind_if': the kernel refuses the bind, so every check fails (as in keepalived)")
        }
        let connectPort = connectPort ?? real.port
        if connectPort == 0 && kind != .ping {
            log.error(header.location, "\(kind.rawValue) has no port to connect to: give the real server a port or set 'connect_port'")
            ok = false
        }
        guard ok else { return nil }
        var check = HealthCheck(
            kind: kind, connectIP: connectIP, connectPort: connectPort, bindTo: bindTo, bindPort: bindPort,
            connectTimeout: settings.connectTimeout ?? HealthCheck.defaultConnectTimeout,
            retry: settings.retry ?? (kind == .dns ? NetworkCheckOptions.defaultDNSRetry : HealthCheck.defaultRetry),
            delayBeforeRetry: settings.delayBeforeRetry ?? (kind == .dns ? settings.delayLoop ?? HealthCheck.defaultDelayLoop : nil),
            delayLoop: settings.delayLoop ?? HealthCheck.defaultDelayLoop, warmup: settings.warmup,
            alpha: settings.alpha ?? false, urls: urls, httpProtocol: httpProtocol,
            virtualhost: kind == .httpGet || kind == .sslGet ? settings.virtualhost : nil, enableSNI: enableSNI, sniName: sniName)
        check.network = network
        check.fwmark = fwmark
        check.bindInterface = bindInterface
        return check
    }
}
