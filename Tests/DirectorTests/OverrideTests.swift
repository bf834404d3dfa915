import ControlProtocol
import DirectorConfig
import Foundation
import HealthCheck
import IPVS
import Logging
import NIOPosix
import Platform
import Testing
import VRRPHost

@testable import Director

private let real11 = Endpoint(address: .ipv4(10, 2, 1, 11), port: 8080)
private let real12 = Endpoint(address: .ipv4(10, 2, 1, 12), port: 8080)
private let mark7 = IPVSServiceKey.firewallMark(7, family: .ipv4)

/// A supervisor over the shared fake table, with health running (no checks: every real is live) and a state file.
private func started(_ files: FakeFiles, _ shared: SharedTable, stateFile: String?, metrics: Metrics? = nil) async throws -> (Supervisor, Engine) {
    let engine = try makeEngine(files, shared)
    let dependencies = EngineDependencies(loadConfiguration: { files.load($0) }, openIPVS: { shared.table }, sysctl: FakeSysctl(),
                                          notifier: SystemdNotifier(environment: [:]))
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    let quiet = logger
    let supervisor = Supervisor(engine: engine, logger: quiet, dependencies: dependencies, metrics: metrics, stateFile: stateFile) {
        VRRPHost(configuration: $0, logger: quiet)
    }
    let configuration = try Engine.load(path, dependencies: dependencies, logger: quiet)
    try await supervisor.start(configuration, healthChecks: true, prober: FakeProber(down: []))
    return (supervisor, engine)
}

private func weights(_ shared: SharedTable, _ key: IPVSServiceKey = web) -> [Endpoint: Int32] {
    Dictionary(shared.table.rules.first { $0.key == key }?.destinations.map { ($0.endpoint, $0.weight) } ?? [], uniquingKeysWith: { a, _ in a })
}

private func temporaryStateFile() -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("directord-test-\(UUID().uuidString)")
    return directory.appendingPathComponent("state/overrides.json").path
}

private let peer = ControlPeer(uid: 0, pid: 4242)

@Suite struct RealTargetTests {
    @Test func endpointsInTheFormsOperatorsType() throws {
        #expect(try RealTarget.parseEndpoint("10.0.0.1:80").get() == Endpoint(address: .v4(IPv4Address(10, 0, 0, 1)), port: 80))
        let v6 = try RealTarget.parseEndpoint("[2001:db8::1]:443").get()
        #expect(v6.description == "[2001:db8::1]:443")
        for bad in ["10.0.0.1", "2001:db8::1:80", "[2001:db8::1]80", "10.0.0.1:http", "10.0.0.300:80", "10.0.0.1:70000", ""] {
            #expect(throws: RealTarget.Failure.self, "\(bad)") { try RealTarget.parseEndpoint(bad).get() }
        }
    }

    @Test func virtualServersByProtocolMarkAndGroup() throws {
        let config = try #require(ConfigurationLoader.parse("""
            virtual_server 10.2.0.1 80 { protocol TCP
                real_server 10.2.1.11 8080 { } }
            virtual_server 10.2.0.1 80 { protocol UDP
                real_server 10.2.1.11 8080 { } }
            virtual_server fwmark 7 { protocol TCP
                real_server 10.2.1.11 8080 { } }
            virtual_server_group web { 10.2.0.5 80 }
            virtual_server group web { protocol TCP
                real_server 10.2.1.12 8080 { } }
            """).configuration)
        func names(_ v: String?, _ r: String) throws -> [String] {
            try RealTarget.resolve(virtual: v, real: r, in: config).get().map { RealTarget.name(of: $0.virtualServer) }
        }
        #expect(try names("10.2.0.1:80", "10.2.1.11:8080") == ["10.2.0.1:80"])
        #expect(try names("udp:10.2.0.1:80", "10.2.1.11:8080") == ["udp:10.2.0.1:80"])
        #expect(try names("fwmark:7", "10.2.1.11:8080") == ["fwmark:7"])
        #expect(try names("group:web", "10.2.1.12:8080") == ["group:web"])
        #expect(try names(nil, "10.2.1.11:8080") == ["10.2.0.1:80", "udp:10.2.0.1:80", "fwmark:7"])
        let unknown = RealTarget.resolve(virtual: "10.2.0.9:80", real: "10.2.1.11:8080", in: config)
        #expect(unknown.failureText?.contains("no virtual server 10.2.0.9:80; the configured ones are: 10.2.0.1:80, udp:10.2.0.1:80, fwmark:7, group:web") == true)
        let stranger = RealTarget.resolve(virtual: "10.2.0.1:80", real: "10.2.1.99:8080", in: config)
        #expect(stranger.failureText == "real 10.2.1.99:8080 is not in virtual server 10.2.0.1:80; its reals are: 10.2.1.11:8080")
        let nowhere = RealTarget.resolve(virtual: nil, real: "10.2.1.99:8080", in: config)
        #expect(nowhere.failureText == "real 10.2.1.99:8080 is in no virtual server; the configured reals are: 10.2.1.11:8080, 10.2.1.12:8080")
    }
}

extension Result {
    var failureText: String? { if case .failure(let e) = self { "\(e)" } else { nil } }
}

@Suite struct OverrideStateFileTests {
    @Test func roundTripAtomicallyWithMode0600() throws {
        let file = OverrideStateFile(path: temporaryStateFile())
        #expect(try file.load().get() == [], "no file yet: no overrides")
        let entries = [OverrideStateFile.Entry(virtualServer: "10.2.0.1 80 TCP", real: "10.2.1.11:8080", drained: true, weight: nil),
                       OverrideStateFile.Entry(virtualServer: "fwmark 7 TCP", real: "[2001:db8::1]:80", drained: false, weight: 9)]
        try file.save(entries).get()
        #expect(try file.load().get() == entries)
        var info = stat()
        #expect(stat(file.path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(access(file.path + ".new", F_OK) != 0, "the temporary file was renamed into place")
        #expect(Overrides(entries).entries == entries)
    }

    @Test func aCorruptOrForeignFileIsAnErrorThatNamesIt() throws {
        let path = temporaryStateFile()
        let file = OverrideStateFile(path: path)
        try file.save([]).get()
        for garbage in ["{\"version\":1,\"overrides\":[{\"real\":", "not json at all", "{\"version\":2,\"overrides\":[]}", "\u{0}\u{1}"] {
            try garbage.write(toFile: path, atomically: false, encoding: .utf8)
            let failure = try #require(file.load().failureText, "\(garbage)")
            #expect(failure.contains(path))
        }
    }

    @Test func pruningDropsRealsNoLongerConfigured() throws {
        let config = try #require(ConfigurationLoader.parse("virtual_server 10.2.0.1 80 { protocol TCP\n real_server 10.2.1.11 8080 { } }").configuration)
        var overrides = Overrides([
            .init(virtualServer: "10.2.0.1 80 TCP", real: "10.2.1.11:8080", drained: true, weight: nil),
            .init(virtualServer: "10.2.0.1 80 TCP", real: "10.2.1.12:8080", drained: true, weight: nil),
            .init(virtualServer: "10.2.0.9 80 TCP", real: "10.2.1.11:8080", drained: false, weight: 3),
        ])
        #expect(overrides.prune(to: config) == ["real 10.2.1.11:8080 of virtual_server 10.2.0.9 80 TCP", "real 10.2.1.12:8080 of virtual_server 10.2.0.1 80 TCP"])
        #expect(overrides.entries.map(\.real) == ["10.2.1.11:8080"])
    }
}

@Suite struct OverrideSupervisorTests {
    @Test func drainSetsWeightZeroAndUndrainRestoresIt() async throws {
        let files = FakeFiles()
        files[path] = webConfig(weight: 3)
        let shared = SharedTable()
        let (supervisor, _) = try await started(files, shared, stateFile: nil)
        #expect(weights(shared) == [real11: 2, real12: 3])
        shared.table.setConnections(web, real11, active: 4, inactive: 1)
        let drained = await supervisor.override(virtualServer: "10.2.0.1:80", real: "10.2.1.11:8080", change: .drain, peer: peer)
        #expect(drained.ok, "\(drained.message)")
        #expect(weights(shared) == [real11: 0, real12: 3], "in the table at 0: its connections go on")
        #expect(drained.drains == [DrainProgress(virtualServer: "10.2.0.1:80", real: "10.2.1.11:8080", drained: true,
                                                 activeConnections: 4, inactiveConnections: 1)])
        var status = await supervisor.status()
        var r = try #require(status.virtualServers.first?.reals.first)
        #expect(r.drained == true && r.kernelWeight == 0 && r.activeConnections == 4)
        #expect(r.up, "drained is not down: its checks still pass")
        #expect(r.overrideSummary == "draining, 4 active connections")
        #expect(status.virtualServers.first?.liveWeight == 3)
        shared.table.setConnections(web, real11, active: 0)
        status = await supervisor.status()
        r = try #require(status.virtualServers.first?.reals.first)
        #expect(r.overrideSummary == "drained")
        let again = await supervisor.override(virtualServer: "10.2.0.1:80", real: "10.2.1.11:8080", change: .drain, peer: peer)
        #expect(again.ok && again.message.hasPrefix("nothing changed"))
        let undrained = await supervisor.override(virtualServer: "10.2.0.1:80", real: "10.2.1.11:8080", change: .undrain, peer: peer)
        #expect(undrained.ok)
        #expect(weights(shared) == [real11: 2, real12: 3])
        await supervisor.stop(mode: .keep)
    }

    @Test func weightOverrideAndReset() async throws {
        let files = FakeFiles()
        files[path] = webConfig(weight: 3)
        let shared = SharedTable()
        let (supervisor, _) = try await started(files, shared, stateFile: nil)
        #expect(await supervisor.override(virtualServer: "10.2.0.1:80", real: "10.2.1.12:8080", change: .weight(9), peer: peer).ok)
        #expect(weights(shared) == [real11: 2, real12: 9])
        let status = await supervisor.status()
        #expect(status.virtualServers.first?.reals.last?.weightOverride == 9)
        #expect(status.virtualServers.first?.reals.last?.overrideSummary == "weight overridden to 9")
        let out = await supervisor.override(virtualServer: "10.2.0.1:80", real: "10.2.1.12:8080", change: .weight(70000), peer: peer)
        #expect(!out.ok && out.message.contains("0-65535"))
        #expect(await supervisor.override(virtualServer: "10.2.0.1:80", real: "10.2.1.12:8080", change: .resetWeight, peer: peer).ok)
        #expect(weights(shared) == [real11: 2, real12: 3])
        await supervisor.stop(mode: .keep)
    }

    @Test func unknownNamesAreRefusedWithWhatExists() async throws {
        let files = FakeFiles()
        files[path] = webConfig()
        let shared = SharedTable()
        let (supervisor, _) = try await started(files, shared, stateFile: nil)
        let before = shared.table.rules
        let unknown = await supervisor.override(virtualServer: "10.2.0.9:80", real: "10.2.1.11:8080", change: .drain, peer: peer)
        #expect(!unknown.ok && unknown.message.contains("the configured ones are: 10.2.0.1:80, fwmark:7"))
        let stranger = await supervisor.override(virtualServer: "fwmark:7", real: "10.2.1.11:8080", change: .drain, peer: peer)
        #expect(!stranger.ok && stranger.message.contains("its reals are: 10.2.1.31:0"))
        #expect(shared.table.rules == before)
        await supervisor.stop(mode: .keep)
    }

    @Test func drainAllCoversEveryVirtualServerOfTheReal() async throws {
        let files = FakeFiles()
        files[path] = webConfig().replacingOccurrences(of: "real_server 10.2.1.31 {", with: "real_server 10.2.1.11 8080 {\n weight 4\n }\n real_server 10.2.1.31 {")
        let shared = SharedTable()
        let (supervisor, _) = try await started(files, shared, stateFile: nil)
        let response = await supervisor.override(virtualServer: nil, real: "10.2.1.11:8080", change: .drain, peer: peer)
        #expect(response.ok)
        #expect(response.drains?.map(\.virtualServer) == ["10.2.0.1:80", "fwmark:7"])
        #expect(weights(shared)[real11] == 0)
        #expect(weights(shared, mark7)[real11] == 0)
        #expect(await supervisor.override(virtualServer: nil, real: "10.2.1.11:8080", change: .undrain, peer: peer).ok)
        #expect(weights(shared)[real11] == 2)
        #expect(weights(shared, mark7)[real11] == 4)
        await supervisor.stop(mode: .keep)
    }

    @Test func overridesSurviveAReloadAndARestartAndLeaveWithTheirReal() async throws {
        let files = FakeFiles()
        files[path] = webConfig(weight: 3)
        let shared = SharedTable()
        let stateFile = temporaryStateFile()
        let (supervisor, _) = try await started(files, shared, stateFile: stateFile)
        #expect(await supervisor.override(virtualServer: "10.2.0.1:80", real: "10.2.1.11:8080", change: .drain, peer: peer).ok)
        #expect(await supervisor.override(virtualServer: "10.2.0.1:80", real: "10.2.1.12:8080", change: .weight(6), peer: peer).ok)
        // A reload that changes the configured weight keeps both overrides.
        files[path] = webConfig(weight: 5)
        #expect(await supervisor.reload(file: path).ok)
        #expect(weights(shared) == [real11: 0, real12: 6])
        await supervisor.stop(mode: .keep)
        // A new process over the same table and state file: the overrides are in force from its first table.
        let (restarted, _) = try await started(files, shared, stateFile: stateFile)
        #expect(weights(shared) == [real11: 0, real12: 6])
        // A reload that removes real 12 drops its override; it comes back at its configured weight.
        files[path] = webConfig(weight: 5).replacingOccurrences(of: "real_server 10.2.1.12 8080", with: "real_server 10.2.1.13 8080")
        #expect(await restarted.reload(file: path).ok)
        files[path] = webConfig(weight: 5)
        #expect(await restarted.reload(file: path).ok)
        #expect(weights(shared) == [real11: 0, real12: 5])
        #expect(try OverrideStateFile(path: stateFile).load().get().map(\.real) == ["10.2.1.11:8080"])
        await restarted.stop(mode: .keep)
    }

    @Test func theMetricsShowDrainsWeightsAndTheConnectionsLeft() async throws {
        let files = FakeFiles()
        files[path] = webConfig(weight: 3)
        let shared = SharedTable()
        let metrics = Metrics()
        let (supervisor, _) = try await started(files, shared, stateFile: nil, metrics: metrics)
        #expect(await supervisor.override(virtualServer: "10.2.0.1:80", real: "10.2.1.11:8080", change: .drain, peer: peer).ok)
        #expect(await supervisor.override(virtualServer: "10.2.0.1:80", real: "10.2.1.12:8080", change: .weight(8), peer: peer).ok)
        shared.table.setConnections(web, real11, active: 3)
        await supervisor.refreshOverrideMetrics()
        var text = String(decoding: metrics.render(), as: UTF8.self)
        let labels11 = "{virtual_server=\"10.2.0.1 80 TCP\",real_server=\"10.2.1.11:8080\"}"
        let labels12 = "{virtual_server=\"10.2.0.1 80 TCP\",real_server=\"10.2.1.12:8080\"}"
        #expect(text.contains("directord_real_server_drained\(labels11) 1.0"))
        #expect(text.contains("directord_real_server_drain_active_connections\(labels11) 3.0"))
        #expect(text.contains("directord_real_server_weight_override\(labels12) 8.0"))
        #expect(await supervisor.override(virtualServer: "10.2.0.1:80", real: "10.2.1.11:8080", change: .undrain, peer: peer).ok)
        #expect(await supervisor.override(virtualServer: "10.2.0.1:80", real: "10.2.1.12:8080", change: .resetWeight, peer: peer).ok)
        await supervisor.refreshOverrideMetrics()
        text = String(decoding: metrics.render(), as: UTF8.self)
        #expect(text.contains("directord_real_server_drained\(labels11) 0.0"))
        #expect(text.contains("directord_real_server_drain_active_connections\(labels11) -1.0"))
        #expect(text.contains("directord_real_server_weight_override\(labels12) -1.0"))
        await supervisor.stop(mode: .keep)
    }

    @Test func statusShowsTheQuorumThePolicyHoldsWithItsHysteresis() async throws {
        let files = FakeFiles()
        // 2 + 3 = 5 live; quorum 4 with hysteresis 1 is lost only below 3.
        files[path] = webConfig(weight: 3).replacingOccurrences(of: "lb_algo wrr", with: "lb_algo wrr\n quorum 4\n hysteresis 1")
        let shared = SharedTable()
        let (supervisor, _) = try await started(files, shared, stateFile: nil)
        #expect(await supervisor.override(virtualServer: "10.2.0.1:80", real: "10.2.1.11:8080", change: .drain, peer: peer).ok)
        var vs = try #require(await supervisor.status().virtualServers.first)
        #expect(vs.liveWeight == 3 && vs.quorumUp, "3 is inside the band: quorum holds (the table alone says 3 < 4)")
        #expect(await supervisor.override(virtualServer: "10.2.0.1:80", real: "10.2.1.12:8080", change: .weight(2), peer: peer).ok)
        vs = try #require(await supervisor.status().virtualServers.first)
        #expect(vs.liveWeight == 2 && !vs.quorumUp)
        await supervisor.stop(mode: .keep)
    }

    @Test func aCorruptStateFileIsIgnoredNotFatal() async throws {
        let files = FakeFiles()
        files[path] = webConfig(weight: 3)
        let shared = SharedTable()
        let stateFile = temporaryStateFile()
        try OverrideStateFile(path: stateFile).save([]).get()
        try "{ garbage".write(toFile: stateFile, atomically: false, encoding: .utf8)
        let (supervisor, _) = try await started(files, shared, stateFile: stateFile)
        #expect(weights(shared) == [real11: 2, real12: 3])
        #expect(await supervisor.override(virtualServer: "10.2.0.1:80", real: "10.2.1.12:8080", change: .drain, peer: peer).ok)
        #expect(try OverrideStateFile(path: stateFile).load().get().map(\.real) == ["10.2.1.12:8080"], "replaced at the next change")
        await supervisor.stop(mode: .keep)
    }
}

@Suite struct DrainOnRemovalTests {
    /// An engine whose clock the test moves.
    final class Clock: @unchecked Sendable {
        private let lock = NSLock()
        private var value = Date(timeIntervalSince1970: 1_000_000)
        var now: Date { lock.withLock { value } }
        func advance(_ seconds: Double) { lock.withLock { value = value.addingTimeInterval(seconds) } }
    }

    func engine(_ files: FakeFiles, _ shared: SharedTable, _ clock: Clock) throws -> Engine {
        let dependencies = EngineDependencies(
            loadConfiguration: { files.load($0) }, openIPVS: { shared.table }, sysctl: FakeSysctl(),
            notifier: SystemdNotifier(environment: [:]), now: { clock.now })
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return Engine(configFile: path, configuration: try Engine.load(path, dependencies: dependencies, logger: logger),
                      logger: logger, dependencies: dependencies)
    }

    func load(_ files: FakeFiles) throws -> Configuration {
        try #require(files.load(path).configuration)
    }

    @Test func aRemovedRealStaysAtWeightZeroUntilItsConnectionsEnd() async throws {
        let files = FakeFiles()
        files[path] = "global_defs {\n drain_on_removal 60\n}\n" + webConfig(weight: 3)
        let shared = SharedTable()
        let clock = Clock()
        let engine = try engine(files, shared, clock)
        try await engine.start()
        shared.table.setConnections(web, real12, active: 2)
        files[path] = "global_defs {\n drain_on_removal 60\n}\n" + webConfig(weight: 3).replacingOccurrences(of: "real_server 10.2.1.12 8080", with: "real_server 10.2.1.13 8080")
        shared.table.clearCalls()
        let (plan, error) = await engine.adopt(try load(files))
        #expect(error == nil)
        #expect(plan.ipvsOperations.contains("update real server 10.2.1.12:8080 in TCP 10.2.0.1:80"))
        #expect(!plan.ipvsOperations.contains { $0.hasPrefix("delete real server 10.2.1.12") })
        #expect(weights(shared)[real12] == 0)
        let status = await engine.status()
        let removing = try #require(status.virtualServers.first?.reals.first { $0.address == "10.2.1.12:8080" })
        #expect(removing.removing == true && removing.activeConnections == 2)
        #expect(removing.overrideSummary == "removing, 2 active connections")
        // Connections still open: it stays, and drift repair does not take it out either.
        #expect(await engine.reapRemoved().isEmpty)
        #expect(await engine.repairDrift().isEmpty)
        #expect(weights(shared)[real12] == 0)
        shared.table.setConnections(web, real12, active: 0, inactive: 3)
        #expect(await engine.reapRemoved() == ["real 10.2.1.12:8080 of virtual_server 10.2.0.1 80 TCP deleted: no active connection left"])
        #expect(weights(shared)[real12] == nil)
        #expect(await engine.status().virtualServers.first?.reals.contains { $0.address == "10.2.1.12:8080" } == false)
    }

    @Test func theTimeoutEndsTheWaitAndTheVirtualServerSettingWins() async throws {
        let files = FakeFiles()
        let vsDrain = webConfig(weight: 3).replacingOccurrences(of: "lb_algo wrr", with: "lb_algo wrr\n drain_on_removal 10")
        files[path] = vsDrain
        let shared = SharedTable()
        let clock = Clock()
        let engine = try engine(files, shared, clock)
        try await engine.start()
        shared.table.setConnections(web, real12, active: 5)
        files[path] = vsDrain.replacingOccurrences(of: "real_server 10.2.1.12 8080", with: "real_server 10.2.1.13 8080")
        _ = await engine.adopt(try load(files))
        clock.advance(9)
        #expect(await engine.reapRemoved().isEmpty)
        clock.advance(2)
        #expect(await engine.reapRemoved() == ["real 10.2.1.12:8080 of virtual_server 10.2.0.1 80 TCP deleted: drain_on_removal time is up with 5 active connections"])
        #expect(weights(shared)[real12] == nil)
    }

    @Test func withoutTheOptionARemovedRealIsDeletedAtOnceAsKeepalivedDoes() async throws {
        let files = FakeFiles()
        files[path] = webConfig(weight: 3)
        let shared = SharedTable()
        let engine = try engine(files, shared, Clock())
        try await engine.start()
        shared.table.setConnections(web, real12, active: 5)
        files[path] = webConfig(weight: 3).replacingOccurrences(of: "real_server 10.2.1.12 8080", with: "real_server 10.2.1.13 8080")
        let (plan, _) = await engine.adopt(try load(files))
        #expect(plan.ipvsOperations.contains("delete real server 10.2.1.12:8080 from TCP 10.2.0.1:80"))
        #expect(weights(shared)[real12] == nil)
    }

    @Test func aRealAddedBackBeforeItsConnectionsEndReturnsAtItsWeight() async throws {
        let files = FakeFiles()
        let config = "global_defs {\n drain_on_removal 60\n}\n" + webConfig(weight: 3)
        files[path] = config
        let shared = SharedTable()
        let engine = try engine(files, shared, Clock())
        try await engine.start()
        shared.table.setConnections(web, real12, active: 1)
        files[path] = config.replacingOccurrences(of: "real_server 10.2.1.12 8080", with: "real_server 10.2.1.13 8080")
        _ = await engine.adopt(try load(files))
        files[path] = config
        _ = await engine.adopt(try load(files))
        #expect(weights(shared)[real12] == 3)
        // 13, which that reload removed, had no connection: it goes; 12 is back at its weight and stays.
        #expect(await engine.reapRemoved() == ["real 10.2.1.13:8080 of virtual_server 10.2.0.1 80 TCP deleted: no active connection left"])
        #expect(weights(shared)[real12] == 3)
    }
}
