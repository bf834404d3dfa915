import DirectorConfig
import HealthCheck
import VRRPHost

/// Configuration → the health monitor's plans (checks as shared `CheckSpec`s, per-real policy, quorum, sorry
/// server), and the monitor's desired members → destinations for the kernel. Pure.
enum HealthPlans {
    typealias Plan = VirtualServerPlan<Endpoint>

    /// One plan per virtual server, keyed by its identity; a check that cannot be built is reported with where it
    /// was declared and leaves its real without that check (the validator normally catches these first).
    /// `overrides`: the operator's drains and weights, carried in each real's policy.
    static func plans(for configuration: Configuration, overrides: Overrides = Overrides(),
                      files: any ScriptPathInspecting = SystemScriptPaths()) -> (plans: [String: Plan], problems: [String]) {
        plans(for: configuration.virtualServers, of: configuration, overrides: overrides, files: files)
    }

    /// The plans of some of `configuration`'s virtual servers (a reload's changed ones).
    static func plans(for servers: [VirtualServer], of configuration: Configuration, overrides: Overrides = Overrides(),
                      files: any ScriptPathInspecting = SystemScriptPaths()) -> (plans: [String: Plan], problems: [String]) {
        var plans: [String: Plan] = [:]
        var problems: [String] = []
        var cache = SpecCache()
        for vs in servers {
            var reals: [(Endpoint, RealServerPolicy<CheckSpec>)] = []
            for real in vs.realServers {
                var specs: [CheckSpec] = []
                for check in real.checks {
                    do {
                        specs.append(try spec(for: check, globals: configuration.globals, ssl: configuration.ssl, files: files, cache: &cache))
                    } catch {
                        problems.append("\(real.origin): \(check.kind.rawValue) of real_server \(real.endpoint): \(error)")
                    }
                }
                reals.append((real.endpoint, RealServerPolicy(weight: real.weight, inhibitOnFailure: real.inhibitOnFailure, checks: specs,
                                                              override: overrides[vs.identity, real.endpoint])))
            }
            plans[vs.identity] = Plan(
                reals: reals,
                quorum: QuorumPolicy(quorum: Int(vs.quorum), hysteresis: Int(vs.hysteresis), omega: vs.omega),
                sorryServer: vs.sorryServer.map { SorryServerPolicy(inhibit: $0.inhibit) })
        }
        return (plans, problems)
    }

    /// What one plans build has made already. A farm's reals mostly carry the same URL list, and a real in two
    /// virtual servers the same check: each is built once and shared (one digest string, one compiled regex, one
    /// spec), not once per real (heaptrack in the lab at 5000 reals: 0.4 KB a real of URL lists alone).
    struct SpecCache {
        var urls: [[URLCheck]: [HTTPURLCheck]] = [:]
        var specs: Set<CheckSpec> = []
    }

    static func spec(for check: DirectorConfig.HealthCheck, globals: GlobalSettings = GlobalSettings(), ssl: SSLSettings? = nil,
                     files: any ScriptPathInspecting = SystemScriptPaths()) throws(CheckDefinitionError) -> CheckSpec {
        var cache = SpecCache()
        return try spec(for: check, globals: globals, ssl: ssl, files: files, cache: &cache)
    }

    static func spec(for check: DirectorConfig.HealthCheck, globals: GlobalSettings, ssl: SSLSettings?, files: any ScriptPathInspecting,
                     cache: inout SpecCache) throws(CheckDefinitionError) -> CheckSpec {
        let built = try buildSpec(for: check, globals: globals, ssl: ssl, files: files, urls: &cache.urls)
        return cache.specs.insert(built).memberAfterInsert
    }

    private static func buildSpec(for check: DirectorConfig.HealthCheck, globals: GlobalSettings, ssl: SSLSettings?,
                                  files: any ScriptPathInspecting, urls urlCache: inout [[URLCheck]: [HTTPURLCheck]])
        throws(CheckDefinitionError) -> CheckSpec {
        let connect = Endpoint(address: check.connectIP, port: check.connectPort)
        let timing = CheckTiming(delayLoop: check.delayLoop, retry: check.retry, delayBeforeRetry: check.delayBeforeRetry,
                                 warmup: check.warmup, alpha: check.alpha)
        let socket = CheckSocketOptions(mark: check.fwmark, interface: check.bindInterface)
        let probe: CheckProbe
        switch check.kind {
        case .tcp:
            var tcp = try TCPCheck(connect: connect, bindAddress: check.bindTo, bindPort: Int(check.bindPort ?? 0),
                                   connectTimeout: check.connectTimeout)
            tcp.socket = socket
            probe = .tcp(tcp)
        case .httpGet, .sslGet:
            var urls: [HTTPURLCheck] = []
            if let built = urlCache[check.urls] {
                urls = built
            } else {
                for url in check.urls {
                    var fetch = try HTTPURLCheck(path: url.path, digest: url.digest, statusCodes: try StatusCodeSet(url.statusCodes),
                                                 virtualhost: url.virtualhost)
                    if let r = url.regex {
                        fetch.regex = URLRegexCheck(regex: try BodyRegex(pattern: r.pattern, options: r.compileFlags), noMatch: r.noMatch,
                                                    minOffset: r.minOffset, maxOffset: r.maxOffset)
                    }
                    urls.append(fetch)
                }
                urlCache[check.urls] = urls
            }
            var http = try HTTPCheck(
                urls: urls, connect: connect, bindAddress: check.bindTo, bindPort: Int(check.bindPort ?? 0),
                connectTimeout: check.connectTimeout,
                protocolVersion: HTTPRequestVersion(rawValue: check.httpProtocol.rawValue) ?? .http10,
                tls: check.kind == .sslGet ? TLSOptions(enableSNI: check.enableSNI, sniName: check.sniName, identity: ssl.map(identity)) : nil,
                virtualhost: check.virtualhost)
            http.socket = socket
            probe = .http(http)
        case .misc:
            guard let misc = check.misc else { throw .noScript }
            probe = miscProbe(misc, check: check, globals: globals, files: files)
        case .file:
            guard let file = check.file else { throw .noScript }
            probe = fileProbe(file)
        case .smtp, .dns, .udp, .ping:
            probe = try networkProbe(for: check, connect: connect, socket: socket)
        }
        return CheckSpec(probe: probe, timing: timing)
    }

    /// The `SSL` block as the files the TLS context loads.
    static func identity(_ ssl: SSLSettings) -> TLSClientIdentity {
        TLSClientIdentity(certificateFile: ssl.certificate, keyFile: ssl.key, password: ssl.password, caFile: ssl.ca)
    }

    /// The client identity to load before the checks start: only when an SSL_GET uses it (keepalived's
    /// ssl_required), so an `SSL` block without SSL_GET reads no file.
    static func requiredIdentity(_ configuration: Configuration) -> TLSClientIdentity? {
        guard let ssl = configuration.ssl,
              configuration.virtualServers.contains(where: { $0.realServers.contains { $0.checks.contains { $0.kind == .sslGet } } })
        else { return nil }
        return identity(ssl)
    }

    /// The monitor's members for one virtual server as kernel destinations (the sorry server with its own method).
    static func destinations(_ members: [DesiredMember<Endpoint>], of vs: VirtualServer) -> [DesiredDestination] {
        members.compactMap { member in
            switch member {
            case .real(let endpoint, let weight):
                guard let real = vs.realServers.first(where: { $0.endpoint == endpoint }) else { return nil }
                return DesiredDestination(endpoint: endpoint, weight: weight, forwarding: real.forwarding,
                                          upperThreshold: real.upperThreshold, lowerThreshold: real.lowerThreshold)
            case .sorryServer(let weight):
                guard let sorry = vs.sorryServer else { return nil }
                return DesiredDestination(endpoint: sorry.endpoint, weight: weight, forwarding: sorry.forwarding)
            }
        }
    }
}
