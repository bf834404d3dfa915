import ControlProtocol
import DirectorConfig
import Foundation
import Logging
import Platform
import VRRPHost

/// Coordinates the parts of a running director — the IPVS engine and the VRRP host — for the operations that
/// span them: reload (validate once, then each part applies its own difference), diff, status and stop.
public actor Supervisor {
    let engine: Engine
    let logger: Logger
    let dependencies: EngineDependencies
    let makeVRRP: @Sendable (Configuration) -> VRRPHost
    private var vrrp: VRRPHost?
    private var vrrpEvents: Task<Void, Never>?

    public init(engine: Engine, logger: Logger, dependencies: EngineDependencies,
                makeVRRP: @escaping @Sendable (Configuration) -> VRRPHost) {
        self.engine = engine
        self.logger = logger
        self.dependencies = dependencies
        self.makeVRRP = makeVRRP
    }

    /// IPVS first (so the table is programmed before this director can become MASTER), then VRRP.
    public func start(_ configuration: Configuration) async throws {
        try await engine.start()
        if !configuration.vrrpInstances.isEmpty { try startVRRP(configuration) }
    }

    private func startVRRP(_ configuration: Configuration) throws {
        let host = makeVRRP(configuration)
        try host.start()
        vrrp = host
        let notifier = dependencies.notifier
        let logger = self.logger
        vrrpEvents = Task {
            for await event in host.events {
                switch event {
                case .instanceState(let instance, let from, let to, let priority, let reason):
                    logger.notice("vrrp_instance \(instance): \(from) -> \(to) (priority \(priority)): \(reason)")
                    notifier.status("vrrp_instance \(instance) \(to)")
                case .groupState(let group, let from, let to):
                    logger.notice("vrrp_sync_group \(group): \(from) -> \(to)")
                    notifier.status("vrrp_sync_group \(group) \(to)")
                case .problem(let text):
                    logger.error("VRRP: \(text)")
                }
            }
        }
    }

    // MARK: Reload and diff

    public func reload(file: String) async -> ControlResponse {
        dependencies.notifier.reloading()
        defer { dependencies.notifier.send("READY=1") }
        let next: Configuration
        do { next = try Engine.load(file, dependencies: dependencies, logger: logger) } catch {
            let message = "reload rejected, the running configuration is unchanged:\n\(error.description)"
            logger.error("\(message)")
            await engine.recordReload(ok: false, message: message)
            return ControlResponse(ok: false, message: message)
        }
        var (plan, failure) = await engine.adopt(next)
        var problems = failure.map { [$0] } ?? []
        if let vrrp {
            plan.vrrpChanges = vrrp.reload(to: next)
        } else if !next.vrrpInstances.isEmpty {
            do {
                try startVRRP(next)
                plan.vrrpChanges = next.vrrpInstances.map { "start vrrp_instance \($0.name)" }
            } catch {
                problems.append("VRRP could not start: \(error)")
            }
        }
        let ok = problems.isEmpty
        let message = ok
            ? (plan.isEmpty ? "reloaded: nothing changed" : "reloaded: \(plan.ipvsOperations.count) IPVS operations, \(plan.vrrpChanges.count) VRRP changes")
            : "reload applied with errors:\n" + problems.joined(separator: "\n")
        if ok { logger.notice("\(message)") } else { logger.error("\(message)") }
        await engine.recordReload(ok: ok, message: message)
        return ControlResponse(ok: ok, message: message, plan: plan)
    }

    public func diff(file: String) async -> ControlResponse {
        let next: Configuration
        do { next = try Engine.load(file, dependencies: dependencies, logger: logger) } catch {
            return ControlResponse(ok: false, message: error.description)
        }
        var plan = await engine.plan(for: next)
        if let vrrp {
            plan.vrrpChanges = vrrp.plan(for: next)
        } else {
            plan.vrrpChanges = next.vrrpInstances.map { "start vrrp_instance \($0.name)" }
        }
        return ControlResponse(ok: true, plan: plan)
    }

    public func status() async -> DaemonStatus {
        var status = await engine.status()
        if let vrrp {
            let (instances, groups) = vrrp.status()
            status.instances = instances
            status.syncGroups = groups
        }
        return status
    }

    /// VRRP resigns first (priority 0: the peer takes over after skew time), then the table is cleaned up.
    public func stop(mode: Engine.StopMode, vrrpDeadline: Duration = .seconds(5)) async {
        if let vrrp { await vrrp.shutdown(deadline: vrrpDeadline) }
        vrrpEvents?.cancel()
        await engine.stop(mode: mode)
    }
}
