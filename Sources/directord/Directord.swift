// directord: the LVS director daemon (entry point; the work lives in the library modules).
import ArgumentParser
import Director
import DirectorConfig
import FoundationEssentials
import Glibc
import Logging
import Platform
import ServiceLifecycle
import VRRPHost

/// Sets up the allocator, then runs the command. The settings must come before the first thread other than main
/// allocates: `run` already runs on a thread of the concurrency pool, which by then has an arena of its own.
@main
enum DirectordEntry {
    static func main() async {
        // One allocator arena for every thread (health, VRRP, serving, the concurrency pool): what one thread frees
        // another reuses, and each thread's malloc cache keeps the small allocations off the arena's lock. In the
        // lab at 5000 reals the one arena held 22.3 MB of anonymous memory where two held 26.8.
        Memory.limitArenas(1)
        // 4 KB pages only: huge pages count whole in the RSS however little of them the allocator uses.
        Memory.disableTransparentHugePages()
        await Directord.main()
    }
}

struct Directord: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "directord",
        abstract: "Keep the kernel's IPVS table and the virtual addresses right for a pair of LVS directors.",
        discussion: """
            Runs in the foreground and logs to stderr (systemd's journal picks it up). SIGTERM or SIGINT: graceful \
            stop. SIGHUP: reload the configuration (an invalid one is rejected and the running one kept).
            Exit status: 0 after a clean stop or a valid --check, 1 for an invalid configuration, 2 for bad usage, \
            3 when the daemon could not start (IPVS unavailable, not root, socket in use).
            """
    )

    @Option(name: [.customShort("f"), .customLong("config-file")], help: "Main configuration file.")
    var configFile: String = "/etc/directord/directord.conf"

    @Option(
        name: [.customShort("i"), .customLong("config-id")],
        help: "The id that @ID and @^ID configuration lines are compared with (default: the host name up to its first dot).")
    var configID: String = ConfigurationLoader.defaultConfigID()

    @Flag(
        name: [.customShort("t"), .customLong("check")],
        help: "Check the configuration and exit: 0 when valid (warnings on stderr), 1 with every error on stderr.")
    var check = false

    @Flag(name: .customLong("dump"), help: "Print the effective configuration (includes expanded, defaults applied) and exit.")
    var dump = false

    @Option(name: .customLong("pid-file"), help: "Write the process id to this file while running.")
    var pidFile: String?

    @Option(name: .customLong("socket"), help: "Control socket for directorctl (default: the configuration's, /run/directord/directord.sock).")
    var socket: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Option(name: .customLong("log-format"), help: "text or json (one object per line).")
    var logFormat: String = "text"

    @Flag(name: .customLong("keep-table-on-stop"),
          help: "Leave the IPVS entries in place on stop, so a restart adopts them with no kernel operation.")
    var keepTableOnStop = false

    @Option(name: .customLong("state-file"),
            help: "Where the operator's drains and weight overrides are kept across restarts (mode 0600, replaced atomically).")
    var stateFile: String = DaemonOptions.defaultStateFile

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level '\(logLevel)'") }
        guard ["text", "json"].contains(logFormat) else { throw ValidationError("--log-format is text or json, not '\(logFormat)'") }
    }

    mutating func run() async throws {
        if check || dump {
            let report = ConfigurationCheck.report(
                path: configFile, dump: dump, program: "directord", loader: ConfigurationLoader(configID: configID),
                hostChecks: { ScriptPolicy.audit($0) })
            print(report.output, terminator: "")
            StandardError.write(report.messages)
            throw ExitCode(report.valid ? 0 : 1)
        }
        // From here a SIGHUP must not kill a director that is still starting (the daemon reloads once it runs).
        EarlyHangup.hold()
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let json = logFormat == "json"
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "directord")
        let daemon: DirectorDaemon
        do {
            daemon = try DirectorDaemon(
                options: DaemonOptions(configFile: configFile, socketPath: socket, pidFile: pidFile, keepTableOnStop: keepTableOnStop,
                                       stateFile: stateFile),
                logger: logger,
                // Start and every reload read the configuration with the same config id.
                dependencies: EngineDependencies(loadConfiguration: { [configID, cache = ParseCache()] in
                    // Start, reload and diff share the cache: a reload reads again only the blocks that changed.
                    ConfigurationLoader(configID: configID, cache: cache).load(path: $0)
                }))
        } catch {
            StandardError.write("\(error.description)\ndirectord: \(configFile): invalid configuration, not started\n")
            throw ExitCode(1)
        }
        if let name = daemon.netNamespace {
            do {
                switch try NetworkNamespace.enter(name) {
                case .alreadyInside:
                    logger.notice("running in network namespace \(name)")
                case .entered:
                    // Every thread but this one is still outside: start again from inside (same pid, one thread).
                    let failure = NetworkNamespace.reexecute(arguments: CommandLine.arguments)
                    StandardError.write("directord: net_namespace \(name): \(failure)\n")
                    throw ExitCode(3)
                }
            } catch let error as SystemError {
                let hint = error.errno == ENOENT ? " (create it with 'ip netns add \(name)')" : ""
                StandardError.write("directord: net_namespace \(name): \(error)\(hint)\n")
                throw ExitCode(3)
            }
        }
        // SIGTERM and SIGINT come to a thread of directord's own, not through the service group's signal handling
        // (Dispatch, then the concurrency pool): VRRP resigns from that thread at once, then the graceful shutdown
        // runs as before.
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: daemon)], gracefulShutdownSignals: [], logger: logger))
        let stopping = LockedValue(false)
        do {
            try StopSignals.handle { signal in
                let name = signal == SIGINT ? "SIGINT" : "SIGTERM"
                guard !stopping.withLock({ let was = $0; $0 = true; return was }) else {
                    logger.notice("\(name) again: directord is already stopping")
                    return
                }
                logger.notice("directord stopping (\(name))")
                daemon.resignVRRP()
                Task { await group.triggerGracefulShutdown() }
            }
        } catch {
            StandardError.write("directord: cannot catch the stop signals: \(error)\n")
            throw ExitCode(3)
        }
        do {
            try await group.run()
        } catch {
            logger.critical("directord stopped: \(error)")
            throw ExitCode(3)
        }
    }
}
