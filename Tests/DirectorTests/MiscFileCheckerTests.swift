// MISC_CHECK against real processes (through Platform's runner) and FILE_CHECK against real files, and both from
// configuration text to probes.
import DirectorConfig
import Foundation
import Logging
import HealthCheck
import NIOCore
import NIOPosix
import Platform
import Reactor
import Testing
import VRRPHost

@testable import Director

@Suite("MISC_CHECK and FILE_CHECK against processes and files", .serialized)
struct MiscFileCheckerTests {
    let loop = testCheckerThread
    let prober = NetworkProber(scripts: PlatformCheckScripts())

    func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "directord-misc-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func misc(_ command: String, timeout: Duration = .seconds(5), dynamic: Bool = false) -> CheckProbe {
        .misc(MiscCheck(command: command, timeout: timeout, dynamic: dynamic))
    }

    @Test func exitStatusesBecomeVerdicts() async throws {
        #expect(try await prober.probe(misc("true"), on: loop) == .up)
        #expect(try await !prober.probe(misc("false"), on: loop).isUp)
        #expect(try await prober.probe(misc("sh -c 'exit 12'", dynamic: true), on: loop) == .up(weight: .set(10)))
        #expect(try await !prober.probe(misc("/nonexistent/check-script"), on: loop).isUp)
    }

    @Test func aPlainCommandRunsWithoutAShell() {
        #expect(Script.plainWords("/usr/bin/curl -sf http://10.0.0.1/") == ["/usr/bin/curl", "-sf", "http://10.0.0.1/"])
        #expect(Script.plainWords("check --port=80") == ["check", "--port=80"])
        #expect(Script.plainWords("test -f /x && exit 0") == nil)
        #expect(Script.plainWords("echo $HOME") == nil)
        #expect(Script.plainWords("FOO=1 check") == nil)
        #expect(Script.plainWords("check 'quoted arg'") == nil)
    }

    @Test func aHungScriptIsKilledAtItsTimeoutWithItsChildren() async throws {
        let dir = try temporaryDirectory()
        let started = ContinuousClock.now
        let result = try await prober.probe(misc("sh -c 'sleep 30 & echo $! > \(dir)/child; wait'", timeout: .milliseconds(500)), on: loop)
        #expect(result.failure == .scriptFailed("timed out and was killed"))
        #expect(ContinuousClock.now - started < .seconds(5))
        let child = try String(contentsOfFile: dir + "/child", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        try await Task.sleep(for: .milliseconds(100))
        // Gone, or a zombie waiting for init to reap it (the sleep was reparented when its shell was killed).
        let stat = (try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8)) ?? ""
        let state = stat.split(separator: ")").last?.split(separator: " ").first.map(String.init)
        #expect(stat.isEmpty || state == "Z", "the script's background child went with its process group: \(stat)")
    }

    @Test func aScriptWhosePreviousRunIsStillGoingIsNotStartedAgain() async throws {
        // delay_loop 0.1 s against a script that hangs for its 1 s timeout: without the in-flight guard it would be
        // started ten times a second (keepalived issue #2653).
        let dir = try temporaryDirectory()
        let spec = CheckSpec(probe: misc("sh -c 'echo run >> \(dir)/runs; sleep 30'", timeout: .seconds(1)),
                             timing: CheckTiming(delayLoop: .milliseconds(100), retry: 0, warmup: .zero))
        let monitor = try HealthMonitor<String, String>(prober: prober, random: { 0 }) { _ in }
        _ = await monitor.apply(["vs": VirtualServerPlan(reals: [("r", RealServerPolicy(checks: [spec]))])])
        try await Task.sleep(for: .milliseconds(1500))
        _ = await monitor.stop()
        let runs = try String(contentsOfFile: dir + "/runs", encoding: .utf8).split(separator: "\n").count
        #expect((1...2).contains(runs), "\(runs) runs in 1.5 s")
    }

    @Test func aScriptThatPrintsMegabytesDoesNotHoldThem() async throws {
        let before = residentBytes()
        let result = try await prober.probe(misc("head -c 64000000 /dev/zero"), on: loop)
        #expect(result == .up)
        let after = residentBytes()
        if let before, let after { #expect(after - before < 32 << 20, "output is drained, not kept") }
    }

    @Test func theNumberOfScriptsRunningAtOnceIsBounded() async throws {
        let checker = MiscChecker(runner: PlatformCheckScripts(), maximumRunning: 2)
        let check = MiscCheck(command: "sleep 0.3", timeout: .seconds(5))
        let started = ContinuousClock.now
        let results = await withTaskGroup(of: CheckResult.self) { group in
            for _ in 0..<4 { group.addTask { await checker.check(check, on: testCheckerThread) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results == [.up, .up, .up, .up])
        #expect(ContinuousClock.now - started >= .milliseconds(550), "four 0.3 s scripts two at a time take two rounds")
    }

    @Test func aFileCheckFollowsTheFile() async throws {
        let dir = try temporaryDirectory()
        let path = dir + "/state"
        let probe = CheckProbe.file(FileCheck(path: path, weight: 0, reverse: true))
        #expect(try await !prober.probe(probe, on: loop).isUp, "a missing file reads 0: down with reverse")
        try "1\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try await prober.probe(probe, on: loop).isUp)
        try "0".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try await !prober.probe(probe, on: loop).isUp)
        try "".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try await !prober.probe(probe, on: loop).isUp, "empty is 0")
        let weighted = CheckProbe.file(FileCheck(path: path, weight: 3))
        try "4".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try await prober.probe(weighted, on: loop) == .up(weight: .offset(12)))
        try "99999999999".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try await prober.probe(weighted, on: loop) == .up(weight: .offset(12)), "out of range: the last good value")
        try Data(repeating: 0x41, count: 4 << 20).write(to: URL(fileURLWithPath: path))
        #expect(try await prober.probe(weighted, on: loop) == .up(weight: .offset(0)), "megabytes of garbage: 0")
    }

    @Test func configurationBecomesProbes() throws {
        let dir = try temporaryDirectory()
        let result = ConfigurationLoader.parse("""
            track_file maint {
                file \(dir)/maint
                weight 0 reverse
                init_file 1
            }
            virtual_server 10.2.0.1 80 {
                delay_loop 2
                real_server 10.2.1.11 80 {
                    weight 4
                    MISC_CHECK {
                        misc_path "/usr/bin/curl -sf http://10.2.1.11/"
                        misc_timeout 3
                        misc_dynamic
                    }
                    FILE_CHECK {
                        track_file maint
                    }
                }
            }
            """)
        #expect(result.errors.isEmpty, "\(result.errors)")
        let configuration = try #require(result.configuration)
        let plans = HealthPlans.plans(for: configuration).plans
        let checks = try #require(plans.values.first?.reals.first?.1.checks)
        #expect(checks.map(\.probe) == [
            .misc(MiscCheck(command: "/usr/bin/curl -sf http://10.2.1.11/", timeout: .seconds(3), dynamic: true)),
            .file(FileCheck(path: dir + "/maint", weight: 0, reverse: true)),
        ])
        #expect(checks.first?.timing == CheckTiming(delayLoop: .seconds(2), retry: 0, delayBeforeRetry: .seconds(1), warmup: .seconds(2)))
        TrackFileInitializer.prepare(configuration.trackFiles, logger: .init(label: "t"))
        #expect(try String(contentsOfFile: dir + "/maint", encoding: .utf8) == "1\n")
    }

    @Test func enableScriptSecurityRefusesAnInsecureScript() throws {
        let dir = try temporaryDirectory()
        let script = dir + "/check.sh"
        FileManager.default.createFile(atPath: script, contents: Data("#!/bin/sh\nexit 0\n".utf8),
                                       attributes: [.posixPermissions: 0o777])
        let result = ConfigurationLoader.parse("""
            global_defs {
                enable_script_security
                script_user root
            }
            virtual_server 10.2.0.1 80 {
                real_server 10.2.1.11 80 {
                    MISC_CHECK {
                        misc_path \(script)
                    }
                }
            }
            """)
        let configuration = try #require(result.configuration)
        let probe = try #require(HealthPlans.plans(for: configuration).plans.values.first?.reals.first?.1.checks.first?.probe)
        guard case .misc(let misc) = probe else {
            Issue.record("not a MISC_CHECK: \(probe)")
            return
        }
        #expect(misc.refusal?.contains("writable by everyone") == true, "\(misc)")
    }
}

/// This process's resident set from /proc/self/statm, in bytes.
func residentBytes() -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Answers every MISC_CHECK with the exit status the test sets.
final class ExitProber: CheckProber, @unchecked Sendable {
    var status: Int32 = 0
    func probe(_ probe: CheckProbe, on reactor: Reactor, done: @escaping (CheckResult) -> Void) {
        guard case .misc(let check) = probe else { return done(.up) }
        done(MiscCheck.result(of: .exited(status), dynamic: check.dynamic))
    }
}

@Suite struct DynamicWeightSupervisorTests {
    @Test func misc_dynamicSetsTheWeightTheKernelGets() async throws {
        let files = FakeFiles()
        files[path] = """
            virtual_server 10.2.0.1 80 {
                lb_algo wrr
                lb_kind NAT
                protocol TCP
                delay_loop 0.05
                real_server 10.2.1.11 80 {
                    weight 3
                    MISC_CHECK {
                        misc_path /usr/local/bin/weight
                        misc_dynamic
                        warmup 0
                    }
                }
            }
            """
        let shared = SharedTable()
        let engine = try makeEngine(files, shared)
        let supervisor = makeSupervisor(engine, files)
        let configuration = try Engine.load(path, dependencies: EngineDependencies(loadConfiguration: { files.load($0) }), logger: Logger(label: "t"))
        let prober = ExitProber()
        try await supervisor.start(configuration, healthChecks: true, prober: prober)
        func weights() async -> [Int32] { await engine.desiredRules().first?.destinations.map(\.weight) ?? [] }
        func waitFor(_ expected: [Int32]) async throws {
            for _ in 0..<100 where await weights() != expected { try await Task.sleep(for: .milliseconds(20)) }
            #expect(await weights() == expected)
        }
        try await waitFor([3])
        prober.status = 9
        try await waitFor([7])
        prober.status = 1
        try await waitFor([])
        prober.status = 0
        try await waitFor([3])
        await supervisor.stop(mode: .keep)
    }
}
