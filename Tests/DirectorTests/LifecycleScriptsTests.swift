import DirectorConfig
import Foundation
import Logging
@testable import Platform
import Testing
import VRRPHost

@testable import Director

/// startup_script and shutdown_script: parsed as keepalived 2.2.7 reads them, run once with their timeout, refused
/// by enable_script_security like any script, never fatal.
@Suite struct LifecycleScriptsTests {
    final class RecordingRunner: ScriptRunning, @unchecked Sendable {
        private let lock = NSLock()
        private var recorded: [(Script, Duration)] = []
        var outcome = ScriptOutcome.exited(0)
        var runs: [(Script, Duration)] { lock.withLock { recorded } }

        func run(_ script: Script, timeout: Duration) async -> ScriptResult {
            lock.withLock { recorded.append((script, timeout)) }
            return ScriptResult(outcome: outcome, output: "")
        }
    }

    /// Every path exists, owned by root and writable by its owner only, unless listed in `weak`.
    struct Files: ScriptPathInspecting {
        var weak: Set<String> = []
        var searchPath: [String] { ["/usr/bin"] }
        func status(of path: String) -> FileStatus? {
            FileStatus(uid: weak.contains(path) ? 1000 : 0, gid: 0, mode: UInt32(S_IFREG) | 0o755)
        }
        func canonicalPath(_ path: String) -> String? { path }
        func userExists(_ name: String) -> Bool { name == "root" || name == "nobody" }
        func groupExists(_ name: String) -> Bool { false }
    }

    static var quiet: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    func globals(_ text: String) throws -> GlobalSettings {
        let result = ConfigurationLoader.parse("global_defs {\n\(text)\n}\n")
        #expect(result.errors.isEmpty, "\(result.errors)")
        return try #require(result.configuration).globals
    }

    @Test func parsedWithKeepalivedsDefaultsAndRoundTripped() throws {
        let g = try globals(" startup_script \"/usr/local/bin/up --now\" nobody\n shutdown_script /usr/local/bin/down\n shutdown_script_timeout 30")
        #expect(g.startupScript == NotifyScript(command: "/usr/local/bin/up --now", user: ScriptUser(user: "nobody")))
        #expect(g.startupScriptTimeout == .seconds(10), "keepalived's default")
        #expect(g.shutdownScript?.command == "/usr/local/bin/down" && g.shutdownScriptTimeout == .seconds(30))
        let config = Configuration(globals: g)
        #expect(ConfigurationLoader.parse(ConfigurationWriter.render(config)).configuration == config)
        let timeoutOnly = Configuration(globals: try globals(" startup_script_timeout 3"))
        #expect(ConfigurationLoader.parse(ConfigurationWriter.render(timeoutOnly)).configuration == timeoutOnly)

        let twice = ConfigurationLoader.parse("global_defs {\n startup_script /a\n startup_script /b\n}\n")
        #expect(twice.warnings.count == 1 && twice.configuration?.globals.startupScript?.command == "/a", "the first counts, as in keepalived")
        for bad in ["startup_script_timeout 0", "shutdown_script_timeout 1001", "startup_script \"\""] {
            #expect(!ConfigurationLoader.parse("global_defs {\n \(bad)\n}\n").errors.isEmpty, "\(bad)")
        }
    }

    @Test func runsWithItsTimeoutAndItsUser() async throws {
        let runner = RecordingRunner()
        runner.outcome = .exited(3)
        let g = try globals(" startup_script \"/usr/local/bin/up --now\" nobody\n startup_script_timeout 4\n shutdown_script /usr/local/bin/down")
        let result = await LifecycleScripts.run(.startup, g, runner: runner, files: Files(), logger: Self.quiet)
        #expect(result?.outcome == .exited(3), "a failing script is reported, not fatal")
        #expect(runner.runs.map(\.0) == [Script(command: "/usr/local/bin/up --now", user: "nobody")])
        #expect(runner.runs.map(\.1) == [.seconds(4)])
        await LifecycleScripts.run(.shutdown, g, runner: runner, files: Files(), logger: Self.quiet)
        #expect(runner.runs.last?.0 == Script(command: "/usr/local/bin/down") && runner.runs.last?.1 == .seconds(10))
        #expect(await LifecycleScripts.run(.startup, try globals(""), runner: runner, files: Files(), logger: Self.quiet) == nil)
        #expect(runner.runs.count == 2)
    }

    @Test func scriptSecurityRefusesAnInsecureRootScript() async throws {
        let runner = RecordingRunner()
        let g = try globals(" enable_script_security\n script_user root\n startup_script /home/joe/up")
        #expect(await LifecycleScripts.run(.startup, g, runner: runner, files: Files(weak: ["/home/joe/up"]), logger: Self.quiet) == nil)
        #expect(runner.runs.isEmpty)
    }

    @Test func aHungScriptIsKilledAtItsTimeout() async throws {
        let g = try globals(" startup_script \"sleep 30\"\n startup_script_timeout 1")
        let started = ContinuousClock.now
        let result = await LifecycleScripts.run(.startup, g, runner: ProcessScriptRunner(), logger: Self.quiet)
        #expect(result?.outcome == .timedOut)
        #expect(ContinuousClock.now - started < .seconds(10))
    }
}
