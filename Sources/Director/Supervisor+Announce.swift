import CPlatform
import ControlProtocol
import DirectorConfig
import FoundationEssentials
import Glibc
import Platform

/// Active-active directors: the host route of each healthy VIP in the kernel, for the operator's routing daemon to
/// announce. The decisions are `AnnouncePolicy`'s; this only feeds it and turns its actions into routes.
extension Supervisor {
    /// After the table is programmed: routes a crashed run left for these VIPs go first (nothing is announced
    /// before `announce_min_uptime`), then the policy decides.
    func startAnnouncements(_ configuration: Configuration) {
        guard configuration.virtualServers.contains(where: \.announce) else { return }
        announcer = AnnouncePolicy(settings: configuration.globals.announce, startedAt: dependencies.now())
        for address in Set(configuration.virtualServers.filter(\.announce).compactMap(Self.address)) {
            try? dependencies.network.remove(route(for: address, configuration.globals.announce))
        }
        refreshAnnouncements()
    }

    static func address(of vs: VirtualServer) -> IPAddress? {
        if case .endpoint(let e) = vs.key { e.address } else { nil }
    }

    /// Each announced VIP's health from the quorum of every `announce` virtual server on it.
    func announceHealth(_ configuration: Configuration) -> [IPAddress: AnnouncePolicy.Health] {
        var health: [IPAddress: AnnouncePolicy.Health] = [:]
        for vs in configuration.virtualServers where vs.announce {
            guard let address = Self.address(of: vs) else { continue }
            if health[address] == nil { health[address] = .healthy }
            if quorumUp[vs.identity] == false, health[address]?.problem == nil {
                health[address] = AnnouncePolicy.Health(problem: "quorum lost on virtual_server \(vs.identity)")
            }
        }
        return health
    }

    /// The health side or the configuration changed: let the policy decide again, and apply what it says.
    func refreshAnnouncements() {
        guard var policy = announcer, let configuration else { return }
        let actions = policy.update(announceHealth(configuration), now: dependencies.now())
        announcer = policy
        perform(actions, configuration.globals.announce)
    }

    /// Every second: damping lets VIPs through as their time comes.
    public func tickAnnouncements() {
        guard var policy = announcer, let configuration else { return }
        let actions = policy.tick(now: dependencies.now())
        announcer = policy
        perform(actions, configuration.globals.announce)
    }

    /// The first step of a stop: every route goes, so the routers move the traffic to the other directors while
    /// this one still serves it. Answers how long to keep serving (`announce_withdraw_delay`), zero if nothing
    /// was announced.
    public func withdrawAnnouncements() -> Duration {
        guard var policy = announcer, let configuration else { return .zero }
        let actions = policy.stop(now: dependencies.now())
        announcer = policy
        perform(actions, configuration.globals.announce)
        return actions.isEmpty ? .zero : configuration.globals.announce.withdrawDelay
    }

    func perform(_ actions: [AnnouncePolicy.Action], _ settings: AnnounceSettings) {
        for action in actions {
            switch action {
            case .announce(let address):
                do {
                    _ = try dependencies.network.add(route(for: address, settings))
                    logger.notice("announcing \(address): route \(route(for: address, settings)) added for the routing daemon")
                } catch {
                    logger.error("cannot announce \(address): \(error)")
                }
            case .withdraw(let address):
                let reason = announcer?.vips[address]?.reason ?? "no longer configured"
                do {
                    try dependencies.network.remove(route(for: address, settings))
                    logger.warning("withdrawing \(address) (\(reason)): route removed")
                } catch let error where error.errno == ESRCH || error.errno == EADDRNOTAVAIL {
                    logger.warning("withdrawing \(address) (\(reason)): its route was already gone")
                } catch {
                    logger.error("cannot withdraw \(address) (\(reason)): \(error)")
                }
            }
        }
        guard let metrics, let configuration else { return }
        for action in actions {
            let address = switch action {
            case .announce(let a), .withdraw(let a): a
            }
            for vs in configuration.virtualServers where vs.announce && Self.address(of: vs) == address {
                metrics.announced(vs.identity, announcer?.vips[address]?.announced ?? false)
            }
        }
    }

    /// RT_SCOPE_LINK.
    static var linkScope: UInt8 { 253 }

    func route(for address: IPAddress, _ settings: AnnounceSettings) -> HostRoute {
        let (family, bytes) = switch address {
        case .v4(let a): (AF_INET, a.bytes)
        case .v6(let a): (AF_INET6, a.bytes)
        }
        // A device route: IPv4 gives it link scope as `ip route add ... dev lo` does; IPv6 routes are global.
        return HostRoute(family: family, destination: bytes, prefixLength: address.family.maximumPrefixLength,
                         interface: settings.device, table: settings.table,
                         scope: family == AF_INET ? Self.linkScope : nil, routeProtocol: settings.routeProtocol)
    }

    /// `directorctl withdraw` / `announce`: the operator takes VIPs out of (or back into) the routers' ECMP while
    /// the director keeps serving what still reaches it.
    public func setWithdrawn(virtualServer: String?, withdrawn: Bool, peer: ControlPeer?) -> ControlResponse {
        let who = peer?.description ?? "an unknown peer"
        guard let configuration, var policy = announcer else {
            return ControlResponse(ok: false, message: "no virtual_server has 'announce' here")
        }
        var addresses: Set<IPAddress> = []
        for vs in configuration.virtualServers where vs.announce {
            guard let virtualServer else {
                if let a = Self.address(of: vs) { addresses.insert(a) }
                continue
            }
            switch RealTarget.matches(virtualServer, vs) {
            case .success(true): if let a = Self.address(of: vs) { addresses.insert(a) }
            case .success(false): continue
            case .failure(let failure): return ControlResponse(ok: false, message: failure.description)
            }
        }
        guard !addresses.isEmpty else {
            let names = configuration.virtualServers.filter(\.announce).map(RealTarget.name)
            return ControlResponse(ok: false, message: "no announced virtual server \(virtualServer ?? ""); the announced ones are: \(RealTarget.list(names))")
        }
        let actions = policy.setWithdrawn(addresses, withdrawn, now: dependencies.now())
        announcer = policy
        perform(actions, configuration.globals.announce)
        let verb = withdrawn ? "withdraw" : "announce"
        let list = addresses.sorted().map(\.description).joined(separator: ", ")
        logger.notice("\(verb) of \(list) asked by \(who): \(actions.isEmpty ? "no route changed" : "\(actions.count) route(s) changed")")
        return ControlResponse(ok: true, message: "\(verb): \(list)" + (actions.isEmpty ? " (no route changed now)" : ""))
    }

    /// Fills each announced virtual server's announcement into a status.
    func addAnnouncements(to status: inout DaemonStatus) {
        guard let policy = announcer, let configuration else { return }
        let announced = Dictionary(configuration.virtualServers.filter(\.announce).map { ($0.identity, $0) }, uniquingKeysWith: { a, _ in a })
        for (v, vs) in status.virtualServers.enumerated() {
            guard let server = announced[vs.name], let address = Self.address(of: server), let state = policy.vips[address] else { continue }
            status.virtualServers[v].announced = state.announced
            status.virtualServers[v].announcedSince = state.since.timeIntervalSince1970
            status.virtualServers[v].announceReason = state.reason
        }
    }
}
