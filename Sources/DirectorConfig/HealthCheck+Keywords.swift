// Keyword tables for HTTP_GET / SSL_GET (with their url blocks) and TCP_CHECK.
import Addresses
import CPCRE2

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
        var regex: ConfigWord?
        var regexNoMatch: ConfigNode?
        var regexOptions: [String] = []
        var regexOptionsNode: ConfigNode?
        var regexMinOffset = 0
        var regexMaxOffset: Int?
        var regexStack: (Int, Int)?
        var regexStackNode: ConfigNode?

        /// keepalived's regex_options names (check_http.c), with their PCRE2 flags.
        static let regexOptionFlags: [String: UInt32] = [
            "allow_empty_class": UInt32(PCRE2_ALLOW_EMPTY_CLASS), "alt_bsux": UInt32(PCRE2_ALT_BSUX),
            "auto_callout": UInt32(PCRE2_AUTO_CALLOUT), "caseless": UInt32(PCRE2_CASELESS),
            "dollar_endonly": UInt32(PCRE2_DOLLAR_ENDONLY), "dotall": UInt32(PCRE2_DOTALL), "dupnames": UInt32(PCRE2_DUPNAMES),
            "extended": UInt32(PCRE2_EXTENDED), "firstline": UInt32(PCRE2_FIRSTLINE),
            "match_unset_backref": UInt32(PCRE2_MATCH_UNSET_BACKREF), "multiline": UInt32(PCRE2_MULTILINE),
            "never_ucp": UInt32(PCRE2_NEVER_UCP), "never_utf": UInt32(PCRE2_NEVER_UTF),
            "no_auto_capture": UInt32(PCRE2_NO_AUTO_CAPTURE), "no_auto_possess": UInt32(PCRE2_NO_AUTO_POSSESS),
            "no_dotstar_anchor": UInt32(PCRE2_NO_DOTSTAR_ANCHOR), "no_start_optimize": UInt32(PCRE2_NO_START_OPTIMIZE),
            "ucp": UInt32(PCRE2_UCP), "ungreedy": UInt32(PCRE2_UNGREEDY), "utf": UInt32(PCRE2_UTF),
            "never_backslash_c": UInt32(PCRE2_NEVER_BACKSLASH_C), "alt_circumflex": UInt32(PCRE2_ALT_CIRCUMFLEX),
            "alt_verbnames": UInt32(PCRE2_ALT_VERBNAMES), "use_offset_limit": UInt32(PCRE2_USE_OFFSET_LIMIT),
        ]

        /// The compile error of `pattern` under `options`, as PCRE2 words it, or nil.
        static func regexProblem(_ pattern: String, options: [String]) -> String? {
            let flags = URLRegex(pattern: pattern, options: options).compileFlags
            var code: Int32 = 0
            var offset = 0
            let bytes = Array(pattern.utf8)
            let compiled = bytes.withUnsafeBufferPointer { pcre2_compile_8($0.baseAddress, $0.count, flags, &code, &offset, nil) }
            if let compiled {
                pcre2_code_free_8(compiled)
                return nil
            }
            var buffer = [UInt8](repeating: 0, count: 256)
            let length = pcre2_get_error_message_8(code, &buffer, buffer.count)
            return "at offset \(offset): " + (length > 0 ? String(decoding: buffer.prefix(Int(length)), as: UTF8.self) : "error \(code)")
        }

        /// The url's regex, checked, or nil without one (its modifiers then draw a warning: they do nothing).
        func resolveRegex(log: inout DiagnosticLog) -> (ok: Bool, regex: URLRegex?) {
            guard let word = regex else {
                for node in [regexNoMatch, regexOptionsNode, regexStackNode].compactMap({ $0 }) {
                    log.warning(node.location, "'\(node.name)' does nothing without 'regex'")
                }
                return (true, nil)
            }
            if let problem = Self.regexProblem(word.text, options: regexOptions) {
                log.error(word.location, "'regex' does not compile \(problem)")
                return (false, nil)
            }
            if let max = regexMaxOffset, max < regexMinOffset {
                log.warning(word.location, "regex_max_offset \(max) is below regex_min_offset \(regexMinOffset): the regex can never match")
            }
            var result = URLRegex(pattern: word.text, options: regexOptions, noMatch: regexNoMatch != nil,
                                  minOffset: regexMinOffset, maxOffset: regexMaxOffset)
            result.stack = regexStack.map { (start: $0.0, max: $0.1) }
            return (true, result)
        }

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
            .value("regex") { d, node, log in
                guard !node.arguments[0].text.isEmpty else {
                    log.error(node.arguments[0].location, "'regex' is empty")
                    return
                }
                d.regex = node.arguments[0]
            },
            .value("regex_no_match", 0...0) { d, node, _ in d.regexNoMatch = node },
            .value("regex_options", 1...Int.max) { d, node, log in
                d.regexOptionsNode = node
                for word in node.arguments {
                    // keepalived skips a name it does not know without a word; say so.
                    guard regexOptionFlags[word.text] != nil else {
                        log.warning(word.location, "unknown regex option '\(word.text)' is ignored, as keepalived ignores it")
                        continue
                    }
                    if !d.regexOptions.contains(word.text) { d.regexOptions.append(word.text) }
                }
            },
            .value("regex_min_offset") { d, node, log in
                if let v = log.integer(node.arguments[0], 0...Int(Int32.max), "'regex_min_offset'") { d.regexMinOffset = v }
            },
            .value("regex_max_offset") { d, node, log in
                if let v = log.integer(node.arguments[0], 0...Int(Int32.max), "'regex_max_offset'") { d.regexMaxOffset = v }
            },
            .value("regex_stack", 2...2) { d, node, log in
                guard let start = log.integer(node.arguments[0], 0...Int(Int32.max), "'regex_stack' start"),
                      let max = log.integer(node.arguments[1], 0...Int(Int32.max), "'regex_stack' max")
                else { return }
                guard start <= max else {
                    log.error(node.arguments[0].location, "'regex_stack' start \(start) is above its max \(max)")
                    return
                }
                d.regexStack = (start, max)
                d.regexStackNode = node
            },
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
            let (regexOK, regex) = draft.resolveRegex(log: &log)
            if !regexOK { ok = false }
            urls.append(URLCheck(path: path, digest: draft.digest, statusCodes: draft.statusCodes ?? URLCheck.defaultStatusCodes, virtualhost: draft.virtualhost,
                                 regex: regex))
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
