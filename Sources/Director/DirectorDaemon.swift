import ControlProtocol
import DirectorConfig
import FoundationEssentials
import Glibc
import HealthCheck
import Logging
import Platform
import ServiceLifecycle
import UnixSignals
import VRRPHost

/// Command-line choices that override the configuration file.
public struct DaemonOptions: Sendable {
    public var configFile: String
    /// nil: the configuration's control socket (default /run/directord/directord.sock).
    public var socketPath: String?
    public var pidFile: String?
    /// Keep the IPVS table on stop whatever the configuration says (`--keep-table`).
    public var keepTableOnStop: Bool
    /// Where the operator's drains and weight overrides are kept across restarts (`--state-file`).
    public var stateFile: String

    public init(configFile: String, socketPath: String? = nil, pidFile: String? = nil, keepTableOnStop: Bool = false,
                stateFile: String = DaemonOptions.defaultStateFile) {
        self.configFile = configFile
        self.socketPath = socketPath
        self.pidFile = pidFile
        self.keepTableOnStop = keepTableOnStop
        self.stateFile = stateFile
    }

    public static let defaultStateFile = OverrideStateFile.defaultPath
}

/// directord as one service of a ServiceGroup: SIGTERM/SIGINT shut it down gracefully, SIGHUP reloads.
public final class DirectorDaemon: Service, Sendable {
    let options: DaemonOptions
    let configuration: Configuration
    let logger: Logger
    let dependencies: EngineDependencies
    /// The running supervisor, for the stop signal's thread (`resignVRRP`).
    private let running = LockedValue<Supervisor?>(nil)

    /// Loads the configuration first so that a bad one stops the process before anything touches the kernel.
    public init(options: DaemonOptions, logger: Logger, dependencies: EngineDependencies = EngineDependencies()) throws(ConfigurationRejected) {
        self.options = options
        self.logger = logger
        self.dependencies = dependencies
        self.configuration = try Engine.load(options.configFile, dependencies: dependencies, logger: logger)
    }

    /// Starts VRRP's part of the stop at once, from any thread: MASTERs send priority 0 and release their addresses
    /// while the graceful shutdown is still on its way through the service group (which then finds it done).
    /// Not while announced routes must be withdrawn first (the VIPs keep serving for announce_withdraw_delay).
    public func resignVRRP() {
        running.withLock { $0 }?.signalResign.withLock { $0 }?.resign()
    }

    /// keepalived's `net_namespace`: where the process must run; the caller moves it there before `run`.
    public var netNamespace: String? { configuration.globals.netNamespace }

    public func run() async throws {
        // First: from now on a SIGHUP waits in this sequence (the one caught before is in EarlyHangup).
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        // keepalived runs startup_script before anything else starts, and waits for it.
        await LifecycleScripts.run(.startup, configuration.globals, runner: ProcessScriptRunner(), logger: logger)
        // Each health check in flight holds a socket: raise the soft open-file limit (often 1024) to the hard one.
        switch OpenFileLimit.raise() {
        case .success(let (before, after)) where after > before:
            logger.info("open-file limit raised from \(before) to \(after)")
        case .success: break
        case .failure(let error):
            logger.warning("cannot raise the open-file limit: \(error); health checks in flight are limited to \(OpenFileLimit.checkBudget(limit: OpenFileLimit.current()))")
        }
        let metrics = configuration.globals.metricsListen.map { _ in Metrics() }
        var dependencies = self.dependencies
        if dependencies.ownership == nil { dependencies.ownership = OwnershipFile(besideStateFile: options.stateFile) }
        let engine = Engine(configFile: options.configFile, configuration: configuration, logger: logger,
                            dependencies: dependencies, metrics: metrics)
        let logger = self.logger
        let supervisor = Supervisor(engine: engine, logger: logger, dependencies: dependencies, metrics: metrics,
                                    stateFile: options.stateFile) { configuration in
            // track_file in VRRP reads its file as FILE_CHECK does (keepalived's strtol over the first 127 bytes).
            VRRPHost(
                configuration: configuration, logger: logger,
                dependencies: .system(trackFileValue: { FileCheck.parseValue(FileChecker.read($0)) }))
        }
        running.withLock { $0 = supervisor }
        // One thread serves the control socket and the metrics; the health checks and VRRP have threads of their own.
        let serving = try ServingLoop(logger: logger)
        try serving.start()
        try await supervisor.start(configuration, healthChecks: true)
        if let endpoint = configuration.globals.metricsListen, let metrics {
            _ = try MetricsServer.start(at: endpoint, on: serving, metrics: metrics, logger: logger)
            logger.notice("metrics at http://\(endpoint)/metrics")
        }
        let configFile = options.configFile
        let socketPath = options.socketPath ?? configuration.globals.controlSocket
        let control = try ControlServer.start(path: socketPath, on: serving, logger: logger) { request, peer in
            switch request {
            case .status: return ControlResponse(ok: true, status: await supervisor.status())
            case .reload: return await supervisor.reload(file: configFile)
            case .diff(let file): return await supervisor.diff(file: file)
            case .override(let virtualServer, let real, let change):
                return await supervisor.override(virtualServer: virtualServer, real: real, change: change, peer: peer)
            case .drainProgress(let virtualServer, let real):
                return await supervisor.drainProgress(virtualServer: virtualServer, real: real)
            case .withdraw(let virtualServer, let withdrawn):
                return await supervisor.setWithdrawn(virtualServer: virtualServer, withdrawn: withdrawn, peer: peer)
            }
        }
        if let pidFile = options.pidFile { writePIDFile(pidFile) }
        logger.notice("directord running", metadata: ["config": "\(options.configFile)", "socket": "\(socketPath)"])
        dependencies.notifier.ready(status: await engine.statusLine())

        if EarlyHangup.arrived {
            logger.notice("a SIGHUP came while directord was starting: reloading now")
            _ = await supervisor.reload(file: configFile)
        }
        let drift = configuration.globals.driftCheckInterval
        let watchdog = dependencies.notifier.watchdogInterval
        let notifier = dependencies.notifier
        await withDiscardingTaskGroup { tasks in
            tasks.addTask {
                for await _ in hangups { _ = await supervisor.reload(file: configFile) }
            }
            tasks.addTask {
                // The interval is the running configuration's, read again at least every second (a reload may
                // change it or turn the check on or off). The start's read-back of the table was a drift check
                // too: its cost spaces the first one.
                var since = ContinuousClock.now
                while !Task.isCancelled {
                    let interval = await supervisor.runningConfiguration?.globals.driftCheckInterval ?? drift
                    let left = DriftSchedule.remaining(
                        interval: interval, lastCheck: await engine.lastReadBack, elapsed: .now - since)
                    if left == .zero {
                        await engine.repairDrift()
                        since = .now
                        continue
                    }
                    if left == nil { since = .now }
                    guard (try? await Task.sleep(for: min(left ?? .seconds(1), .seconds(1)))) != nil else { break }
                }
            }
            tasks.addTask {
                // drain_on_removal: reals a reload removed leave the table once their connections end; the drain
                // gauges follow the kernel's connection counts.
                while (try? await Task.sleep(for: .seconds(1))) != nil {
                    await engine.reapRemoved()
                    await supervisor.refreshOverrideMetrics()
                    await supervisor.tickAnnouncements()
                }
            }
            if let watchdog {
                tasks.addTask {
                    while (try? await Task.sleep(for: watchdog / 2)) != nil { notifier.watchdog() }
                }
            }
            try? await gracefulShutdown()
            // Announced VIPs go first: the routers move new flows to the other directors while this one still
            // serves what reaches it, for announce_withdraw_delay.
            let linger = await supervisor.withdrawAnnouncements()
            if linger > .zero {
                logger.notice("routes withdrawn; serving for \(linger) more while the routers converge")
                try? await Task.sleep(for: linger)
            }
            // VRRP resigns before anything else winds down (a drift check in progress can take seconds on a big
            // table, and the task group waits for it): the backup takes over after its skew time, not later.
            await supervisor.resignVRRP()
            tasks.cancelAll()
        }

        logger.notice("directord winding down: health checks, the IPVS table, addresses")
        dependencies.notifier.stopping()
        // The running configuration's stop mode: a reload may have changed lvs_flush_on_stop.
        let running = await supervisor.runningConfiguration ?? configuration
        await supervisor.stop(mode: Self.stopMode(running, keepTable: options.keepTableOnStop))
        control.stop()
        serving.stop()
        // After the table and the addresses are cleaned up, as keepalived runs it once its children are gone; the
        // running configuration's (a reload may have changed it).
        await LifecycleScripts.run(.shutdown, running.globals, runner: ProcessScriptRunner(), logger: logger)
        if let pidFile = options.pidFile { unlink(pidFile) }
    }

    static func stopMode(_ configuration: Configuration, keepTable: Bool) -> Engine.StopMode {
        if keepTable { return .keep }
        switch configuration.globals.lvsFlushOnStop {
        case .all: return .flushAll
        case .keep: return .keep
        case .off, .virtualServers: return .removeOwned
        }
    }

    func writePIDFile(_ path: String) {
        do {
            try "\(getpid())\n".write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            logger.error("cannot write the pid file \(path): \(error)")
        }
    }
}
