import ControlProtocol
import DirectorConfig
import HealthCheck

/// The operator's runtime controls: drain, undrain and weight without a reload. An override is part of the
/// health plan, so health still overrules it (a real down by its checks stays out) and quorum, the sorry server and
/// the quorum scripts see a drained real as not live.
extension Supervisor {
    func loadOverrides(for configuration: Configuration) {
        guard let stateFile else { return }
        switch stateFile.load() {
        case .success(let entries):
            overrides = Overrides(entries)
            pruneOverrides(to: configuration)
            if !overrides.isEmpty {
                logger.notice("operator overrides restored from \(stateFile.path): \(Self.describe(overrides.entries))")
            }
        case .failure(let failure):
            logger.error("\(failure); starting without the operator's overrides (the file is replaced at the next change)")
        }
    }

    /// Overrides of reals a reload removed go with them (one that returns later starts at its configured weight).
    func pruneOverrides(to configuration: Configuration) {
        let dropped = overrides.prune(to: configuration)
        guard !dropped.isEmpty else { return }
        logger.notice("overrides dropped with their reals, no longer configured: \(dropped.joined(separator: ", "))")
        saveOverrides()
    }

    func saveOverrides() {
        guard let stateFile else { return }
        if case .failure(let failure) = stateFile.save(overrides.entries) {
            logger.error("\(failure); the overrides hold until directord stops, not across a restart")
        }
    }

    /// `directorctl drain`, `undrain` and `weight`: changes the overrides of the reals named, applies at once what
    /// that changes in the kernel, and logs who asked and what changed.
    public func override(virtualServer: String?, real: String, change: OverrideChange, peer: ControlPeer?) async -> ControlResponse {
        let who = peer?.description ?? "an unknown peer"
        guard let configuration else { return ControlResponse(ok: false, message: "directord has not started yet") }
        if case .weight(let weight) = change, !(0...65535).contains(weight) {
            return ControlResponse(ok: false, message: "weight \(weight) is out of range (0-65535)")
        }
        let selected: [RealTarget.Selected]
        switch RealTarget.resolve(virtual: virtualServer, real: real, in: configuration) {
        case .success(let s): selected = s
        case .failure(let failure):
            logger.notice("\(change) of \(real) asked by \(who) refused: \(failure)")
            return ControlResponse(ok: false, message: failure.description)
        }
        var changed: [String] = []
        for s in selected {
            let identity = s.virtualServer.identity
            let before = overrides[identity, s.real.endpoint]
            var after = before
            switch change {
            case .drain: after.drained = true
            case .undrain: after.drained = false
            case .weight(let weight): after.weight = weight
            case .resetWeight: after.weight = nil
            }
            guard after != before else { continue }
            overrides[identity, s.real.endpoint] = after
            changed.append("real \(s.real.endpoint) of virtual_server \(RealTarget.name(of: s.virtualServer))")
        }
        guard !changed.isEmpty else {
            logger.notice("\(change) of \(real) asked by \(who): already so, nothing changed")
            return ControlResponse(ok: true, message: "nothing changed: already so", drains: await progress(selected))
        }
        saveOverrides()
        var problems: [String] = []
        do {
            let seeded = try await applyHealth(configuration)
            for identity in Set(selected.map(\.virtualServer.identity)) {
                if let destinations = seeded[identity] { await engine.updateDestinations(for: identity, destinations) }
            }
        } catch {
            problems.append("\(error)")
        }
        logger.notice("\(change) asked by \(who): \(changed.joined(separator: ", "))")
        guard problems.isEmpty else {
            let message = "\(change) recorded but not applied: \(problems.joined(separator: "; "))"
            logger.error("\(message)")
            return ControlResponse(ok: false, message: message)
        }
        return ControlResponse(ok: true, message: "\(change): \(changed.joined(separator: ", "))", drains: await progress(selected))
    }

    /// The connections left on the reals named, for `directorctl drain --wait`.
    public func drainProgress(virtualServer: String?, real: String) async -> ControlResponse {
        guard let configuration else { return ControlResponse(ok: false, message: "directord has not started yet") }
        switch RealTarget.resolve(virtual: virtualServer, real: real, in: configuration) {
        case .success(let selected): return ControlResponse(ok: true, drains: await progress(selected))
        case .failure(let failure): return ControlResponse(ok: false, message: failure.description)
        }
    }

    func progress(_ selected: [RealTarget.Selected]) async -> [DrainProgress] {
        var connections: [String: [Endpoint: IPVSConnectionCount]] = [:]
        for identity in Set(selected.map(\.virtualServer.identity)) {
            connections[identity] = await engine.connections(of: identity)
        }
        return selected.map { s in
            let count = connections[s.virtualServer.identity]?[s.real.endpoint]
            return DrainProgress(virtualServer: RealTarget.name(of: s.virtualServer), real: s.real.endpoint.description,
                                 drained: overrides[s.virtualServer.identity, s.real.endpoint].drained,
                                 activeConnections: count?.active, inactiveConnections: count?.inactive)
        }
    }

    /// Fills each real's override into a status, with the kernel's connection counts where a drain is in progress.
    func addOverrides(to status: inout DaemonStatus) async {
        for (v, vs) in status.virtualServers.enumerated() {
            guard let reals = overrides.byServer[vs.name] else { continue }
            let connections = reals.values.contains(where: \.drained) ? await engine.connections(of: vs.name) : [:]
            for (r, real) in vs.reals.enumerated() {
                guard let endpoint = try? RealTarget.parseEndpoint(real.address).get(), let o = reals[endpoint] else { continue }
                status.virtualServers[v].reals[r].drained = o.drained ? true : nil
                status.virtualServers[v].reals[r].weightOverride = o.weight
                if o.drained, let count = connections[endpoint] {
                    status.virtualServers[v].reals[r].activeConnections = count.active
                    status.virtualServers[v].reals[r].inactiveConnections = count.inactive
                }
            }
        }
    }

    /// Keeps the override gauges current: every real that has or had an override since start, with the connections
    /// left on drained ones (read from the kernel, so only for virtual servers with a drain). Every second.
    public func refreshOverrideMetrics() async {
        guard let metrics, let configuration else { return }
        for vs in configuration.virtualServers {
            let reals = overrides.byServer[vs.identity] ?? [:]
            guard !reals.isEmpty || reportedOverrides.contains(vs.identity) else { continue }
            let connections = reals.values.contains(where: \.drained) ? await engine.connections(of: vs.identity) : [:]
            for real in vs.realServers {
                let o = reals[real.endpoint] ?? RealOverride()
                metrics.realOverride(vs.identity, real.endpoint.description, drained: o.drained, weight: o.weight,
                                     activeConnections: connections[real.endpoint]?.active)
            }
            if reals.isEmpty { reportedOverrides.remove(vs.identity) } else { reportedOverrides.insert(vs.identity) }
        }
    }

    static func describe(_ entries: [OverrideStateFile.Entry]) -> String {
        entries.map { e in
            "real \(e.real) of virtual_server \(e.virtualServer)"
                + (e.drained ? " drained" : "") + (e.weight.map { " weight \($0)" } ?? "")
        }.joined(separator: ", ")
    }
}
