import ControlProtocol
import DirectorConfig
import Foundation
import IPVS
import Logging
import Platform
import Testing
import VRRPHost

@testable import Director

/// Configuration files the engine "reads", editable by the test.
final class FakeFiles: @unchecked Sendable {
    private let lock = NSLock()
    private var files: [String: String] = [:]

    subscript(path: String) -> String? {
        get { lock.withLock { files[path] } }
        set { lock.withLock { files[path] = newValue } }
    }

    func load(_ path: String) -> LoadResult {
        guard let text = self[path] else { return ConfigurationLoader.parse("include /nonexistent", name: path) }
        return ConfigurationLoader.parse(text, name: path)
    }
}

struct FakeSysctl: SysctlAccess {
    func read(_ key: String) throws(SystemError) -> String { "1" }
    func write(_ key: String, _ value: String) throws(SystemError) {}
}

/// The fake kernel table, shared between the test and the engine actor (tests only touch it between awaits).
final class SharedTable: @unchecked Sendable {
    let table: RecordingIPVSTable
    init(_ services: [IPVSServiceRules] = []) { table = RecordingIPVSTable(services: services) }
}

func webConfig(weight: Int = 3, extraReal: String = "", sorry: String = "") -> String {
    """
    virtual_server 10.2.0.1 80 {
        lb_algo wrr
        lb_kind NAT
        protocol TCP
        \(sorry)
        real_server 10.2.1.11 8080 {
            weight 2
        }
        real_server 10.2.1.12 8080 {
            weight \(weight)
        }
        \(extraReal)
    }
    virtual_server fwmark 7 {
        lb_algo rr
        lb_kind DR
        real_server 10.2.1.31 {
            weight 5
        }
    }
    """
}

func makeSupervisor(_ engine: Engine, _ files: FakeFiles) -> Supervisor {
    let dependencies = EngineDependencies(
        loadConfiguration: { files.load($0) }, openIPVS: { throw IPVSError.unavailable }, sysctl: FakeSysctl(),
        notifier: SystemdNotifier(environment: [:]))
    var quiet = Logger(label: "test")
    quiet.logLevel = .critical
    let logger = quiet
    return Supervisor(engine: engine, logger: logger, dependencies: dependencies) { configuration in
        VRRPHost(configuration: configuration, logger: logger)
    }
}

func makeEngine(_ files: FakeFiles, _ shared: SharedTable, path: String = "/etc/directord/directord.conf") throws -> Engine {
    let dependencies = EngineDependencies(
        loadConfiguration: { files.load($0) }, openIPVS: { shared.table }, sysctl: FakeSysctl(),
        notifier: SystemdNotifier(environment: [:]))
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    let configuration = try Engine.load(path, dependencies: dependencies, logger: logger)
    return Engine(configFile: path, configuration: configuration, logger: logger, dependencies: dependencies)
}

let path = "/etc/directord/directord.conf"
let web = IPVSServiceKey.address(.tcp, IPAddress.ipv4(10, 2, 0, 1), port: 80)
let foreign = IPVSServiceRules(service: IPVSService(key: .address(.tcp, .ipv4(10, 9, 9, 9), port: 25), scheduler: "rr"))

func applied(_ calls: [RecordingIPVSTable.Call]) -> [IPVSOperation] {
    calls.flatMap { call -> [IPVSOperation] in
        if case .apply(let ops) = call { return ops }
        return []
    }
}

@Suite struct EngineTests {
    @Test func startProgramsOwnedServicesAndLeavesForeignOnesAlone() async throws {
        let files = FakeFiles()
        files[path] = webConfig()
        let shared = SharedTable([foreign])
        let engine = try makeEngine(files, shared)
        try await engine.start()
        let keys = Set(shared.table.rules.map(\.key))
        #expect(keys == [web, .firewallMark(7, family: .ipv4), foreign.key])
        let webRules = try #require(shared.table.rules.first { $0.key == web })
        #expect(webRules.service.scheduler == "wrr")
        #expect(webRules.destinations.map(\.weight) == [2, 3])
        #expect(webRules.destinations.allSatisfy { $0.forwarding == .masquerade })
        let fwm = try #require(shared.table.rules.first { $0.key == .firewallMark(7, family: .ipv4) })
        #expect(fwm.destinations.first?.forwarding == .route)
    }

    @Test func aRestartOnAMatchingTableMakesNoKernelOperation() async throws {
        let files = FakeFiles()
        files[path] = webConfig()
        let shared = SharedTable()
        try await makeEngine(files, shared).start()
        shared.table.clearCalls()
        try await makeEngine(files, shared).start()
        #expect(applied(shared.table.calls).isEmpty)
    }

    @Test func driftIsRepairedAndReported() async throws {
        let files = FakeFiles()
        files[path] = webConfig()
        let shared = SharedTable()
        let engine = try makeEngine(files, shared)
        try await engine.start()
        let real = IPVSDestination(address: .ipv4(10, 2, 1, 11), port: 8080, forwarding: .masquerade, weight: 2)
        _ = try shared.table.apply([.deleteDestination(web, real.endpoint)])
        #expect(await engine.repairDrift().count == 1)
        #expect(shared.table.rules.first { $0.key == web }?.destinations.count == 2)
        #expect(await engine.repairDrift().isEmpty)
    }

    @Test func driftChecksStretchWhenOneIsSlow() {
        // A quick check keeps the configured interval; a slow one pushes the next 20 times its own duration away.
        #expect(DriftSchedule.nextWait(interval: .seconds(5), lastCheck: .milliseconds(40)) == .seconds(5))
        #expect(DriftSchedule.nextWait(interval: .seconds(5), lastCheck: .milliseconds(250)) == .seconds(5))
        #expect(DriftSchedule.nextWait(interval: .seconds(5), lastCheck: .milliseconds(1500)) == .seconds(30))
        #expect(DriftSchedule.nextWait(interval: .seconds(1), lastCheck: .zero) == .seconds(1))
        // What is left of the wait, as the daemon asks every second; nil while the check is off.
        #expect(DriftSchedule.remaining(interval: .seconds(5), lastCheck: .milliseconds(40), elapsed: .seconds(2)) == .seconds(3))
        #expect(DriftSchedule.remaining(interval: .seconds(5), lastCheck: .milliseconds(1500), elapsed: .seconds(6)) == .seconds(24))
        #expect(DriftSchedule.remaining(interval: .seconds(5), lastCheck: .zero, elapsed: .seconds(7)) == .zero)
        #expect(DriftSchedule.remaining(interval: .zero, lastCheck: .zero, elapsed: .seconds(7)) == nil)
    }

    @Test func reloadAppliesOnlyTheDifference() async throws {
        let files = FakeFiles()
        files[path] = webConfig()
        let shared = SharedTable()
        let engine = try makeEngine(files, shared)
        try await engine.start()
        shared.table.clearCalls()
        files[path] = webConfig(weight: 4, extraReal: "real_server 10.2.1.13 8080 { weight 1 }")
        let response = await makeSupervisor(engine, files).reload(file: path)
        #expect(response.ok)
        let ops = applied(shared.table.calls)
        #expect(ops.count == 2)
        #expect(ops.contains { if case .updateDestination = $0 { true } else { false } })
        #expect(ops.contains { if case .addDestination = $0 { true } else { false } })
        #expect(!shared.table.calls.contains(.services), "a reload plans from memory, without a dump")
    }

    @Test func anInvalidReloadChangesNothingAndSaysWhere() async throws {
        let files = FakeFiles()
        files[path] = webConfig()
        let shared = SharedTable()
        let engine = try makeEngine(files, shared)
        try await engine.start()
        let before = shared.table.rules
        shared.table.clearCalls()
        files[path] = webConfig() + "\nvirtual_server 10.2.0.9 80 {\n    lb_algo nosuch\n}\n"
        let response = await makeSupervisor(engine, files).reload(file: path)
        #expect(!response.ok)
        #expect(response.message.contains("\(path):"))
        #expect(response.message.contains("nosuch"))
        #expect(applied(shared.table.calls).isEmpty)
        #expect(shared.table.rules == before)
        #expect(await engine.status().lastReload?.ok == false)
    }

    @Test func diffPlansWithoutApplying() async throws {
        let files = FakeFiles()
        files[path] = webConfig()
        files["/tmp/next.conf"] = webConfig(weight: 9)
        let shared = SharedTable()
        let engine = try makeEngine(files, shared)
        try await engine.start()
        shared.table.clearCalls()
        let response = await makeSupervisor(engine, files).diff(file: "/tmp/next.conf")
        #expect(response.ok)
        #expect(response.plan?.ipvsOperations.count == 1)
        #expect(applied(shared.table.calls).isEmpty)
    }

    @Test func healthUpdatesApplyTheDeltaWithoutADump() async throws {
        let files = FakeFiles()
        files[path] = webConfig(sorry: "sorry_server 10.2.9.9 8080")
        let shared = SharedTable()
        let engine = try makeEngine(files, shared)
        try await engine.start()
        shared.table.clearCalls()
        let sorry = DesiredDestination(endpoint: Endpoint(address: .v4(IPv4Address(10, 2, 9, 9)), port: 8080), weight: 1, forwarding: .nat)
        await engine.updateDestinations(for: "10.2.0.1 80 TCP", [sorry])
        #expect(!shared.table.calls.contains(.services))
        let ops = applied(shared.table.calls)
        // The sorry server goes in before the reals leave: the service is never empty.
        #expect(ops.first.map { if case .addDestination = $0 { true } else { false } } == true)
        #expect(shared.table.rules.first { $0.key == web }?.destinations.map(\.address) == [.ipv4(10, 2, 9, 9)])
    }

    @Test func aHealthChangeTouchesItsOwnVirtualServerOnly() async throws {
        let files = FakeFiles()
        files[path] = webConfig()
        let shared = SharedTable()
        let engine = try makeEngine(files, shared)
        try await engine.start()
        // Someone removes the fwmark service behind directord's back: that is the drift check's business, not the
        // health change's, which plans the one virtual server it concerns (its cost does not grow with the table).
        let fwmark = IPVSServiceKey.firewallMark(7, family: .ipv4)
        _ = try shared.table.apply([.deleteService(fwmark)])
        shared.table.clearCalls()
        let one = DesiredDestination(endpoint: Endpoint(address: .v4(IPv4Address(10, 2, 1, 11)), port: 8080), weight: 2, forwarding: .nat)
        await engine.updateDestinations(for: "10.2.0.1 80 TCP", [one])
        let ops = applied(shared.table.calls)
        #expect(ops.count == 1 && ops.allSatisfy { $0.serviceKey == web }, "\(ops)")
        #expect(await engine.repairDrift().count == 2, "the drift check still restores the fwmark service and its real")
    }

    @Test func stopModes() async throws {
        for (mode, remaining) in [(Engine.StopMode.removeOwned, 1), (.keep, 3), (.flushAll, 0)] {
            let files = FakeFiles()
            files[path] = webConfig()
            let shared = SharedTable([foreign])
            let engine = try makeEngine(files, shared)
            try await engine.start()
            shared.table.clearCalls()
            await engine.stop(mode: mode)
            #expect(shared.table.rules.count == remaining, "\(mode)")
            if mode == .removeOwned {
                // One delete per service: the kernel drops the destinations with it; no dump first.
                #expect(applied(shared.table.calls).count == 2)
                #expect(!shared.table.calls.contains(.services))
            }
        }
    }

    @Test func stopToleratesAServiceAlreadyGone() async throws {
        let files = FakeFiles()
        files[path] = webConfig()
        let shared = SharedTable([foreign])
        let engine = try makeEngine(files, shared)
        try await engine.start()
        _ = try shared.table.apply([.deleteService(web)])
        await engine.stop(mode: .removeOwned)
        #expect(shared.table.rules.map(\.key) == [foreign.key])
    }

    @Test func ipvsUnavailableFailsTheStartAndTouchesNothing() async throws {
        let files = FakeFiles()
        files[path] = webConfig()
        let dependencies = EngineDependencies(
            loadConfiguration: { files.load($0) }, openIPVS: { throw IPVSError.unavailable }, sysctl: FakeSysctl(),
            notifier: SystemdNotifier(environment: [:]))
        let configuration = try Engine.load(path, dependencies: dependencies, logger: Logger(label: "t"))
        let engine = Engine(configFile: path, configuration: configuration, logger: Logger(label: "t"), dependencies: dependencies)
        await #expect(throws: IPVSError.unavailable) { try await engine.start() }
    }
}
